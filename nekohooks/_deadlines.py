"""Entry-call deadlines: one timer task per plugin run cancels the calls whose time is up."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
from collections.abc import Callable
from typing import Protocol

import trio

__all__ = ["CallDeadlines", "Cancellable"]


class Cancellable(Protocol):
    """What a call registers: its ``trio.CancelScope``, or anything else cancelled by a call."""

    def cancel(self) -> None: ...


class CallDeadlines:
    """The cancel scopes of a plugin's in-flight calls, and one timer task for their timeouts.

    A ``CancelScope`` with a deadline costs about 2 µs more to enter and leave than one
    without (trio registers and unregisters the deadline), and even reading the clock per call
    is a tenth of what nekohooks may add to a call. So a call's scope has no deadline and
    registering it reads no clock: it joins the set of calls with its timeout in the current
    *window*, which opens (one clock read) with the first call after the previous window
    closed and stays open ``TICK`` seconds. When :meth:`expire`, one task per plugin run
    (started by the first call of the run, if :meth:`serve_in` was used: a plugin that is never
    called costs no task), closes a window, each of its sets falls due ``timeout`` after the close, and the calls
    still in a set then are cancelled. A call thus times out between its timeout and ``TICK``
    after it. Calls still running ``grace`` after that ignore cancellation; ``on_deaf(count)``
    reports them (their callers stay held).
    """

    TICK = 0.01

    def __init__(self, on_deaf: Callable[[int], None], grace: float) -> None:
        self.window: dict[float, set[Cancellable]] = {}  # the open window's calls by timeout
        self._closes = math.inf  # when the open window closes (inf: no window is open)
        self._due: list[tuple[float, int, set[Cancellable]]] = []  # heap of closed sets
        self._overdue: list[tuple[float, int, set[Cancellable]]] = []  # heap, + grace
        self._order = itertools.count()  # ties in the heaps never compare the sets
        self._timer: trio.CancelScope | None = None
        self._on_deaf, self._grace = on_deaf, grace
        self._nursery: trio.Nursery | None = None  # where the first call starts expire()
        self._name = ""

    def serve_in(self, nursery: trio.Nursery, name: str) -> None:
        """Start :meth:`expire` in ``nursery`` (task ``name``) when the first call comes."""
        self._nursery, self._name, self._timer = nursery, name, None

    def add(self, scope: Cancellable, timeout: float) -> set[Cancellable]:
        """Register ``scope`` to be cancelled ``timeout`` (to ``timeout + TICK``) seconds from
        now; return its set, from which the caller discards it when the call ends."""
        calls = self.window.get(timeout)
        if calls is None:
            calls = self.open(timeout)
        calls.add(scope)
        return calls

    def open(self, timeout: float) -> set[Cancellable]:
        """The open window's set for ``timeout``, made now (the hot path inlines :meth:`add`:
        ``window.get(timeout)``, this on a miss, then ``set.add``)."""
        calls = self.window[timeout] = set()
        if self._closes == math.inf:  # the first call of a new window
            self._closes = trio.current_time() + self.TICK
            if self._nursery is not None:  # the run's first call: its timer starts now
                nursery, self._nursery = self._nursery, None
                with contextlib.suppress(RuntimeError):  # the run is over, its calls cancelled
                    nursery.start_soon(self.expire, name=self._name)
            elif self._timer is not None and self._closes < self._timer.deadline:
                self._timer.deadline = self._closes
        return calls

    def cancel_all(self) -> None:
        """Cancel every registered call now (the plugin is stopping)."""
        for calls in itertools.chain(self.window.values(), (due[2] for due in self._due)):
            for scope in calls:
                scope.cancel()

    async def expire(self) -> None:
        """Close windows, cancel the calls whose time is up, and report those still running
        ``grace`` later; until cancelled (with the plugin's run), which leaves calls alone."""
        while True:
            with trio.CancelScope(deadline=self._next()) as timer:
                self._timer = timer
                await trio.sleep_forever()
            now = trio.current_time()
            if self._closes <= now:
                for timeout, calls in self.window.items():
                    if calls:  # calls that ended are gone from their set
                        due = (self._closes + timeout, next(self._order), calls)
                        heapq.heappush(self._due, due)
                self.window, self._closes = {}, math.inf
            while self._due and self._due[0][0] <= now:
                calls = heapq.heappop(self._due)[2]
                for scope in calls:
                    scope.cancel()
                if calls:
                    heapq.heappush(self._overdue, (now + self._grace, next(self._order), calls))
            while self._overdue and self._overdue[0][0] <= now:
                calls = heapq.heappop(self._overdue)[2]
                if calls:
                    self._on_deaf(len(calls))

    def _next(self) -> float:
        """When the timer must wake next."""
        return min(
            self._closes,
            self._due[0][0] if self._due else math.inf,
            self._overdue[0][0] if self._overdue else math.inf,
        )
