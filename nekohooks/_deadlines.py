"""Entry-call deadlines: one timer task per plugin run cancels the calls whose time is up."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import trio

__all__ = ["CallDeadlines"]


class CallDeadlines:
    """The cancel scopes of a plugin's in-flight calls, and one timer task for their timeouts.

    A ``CancelScope`` with a deadline costs about 2 µs more to enter and leave than one
    without (trio registers and unregisters the deadline), a third of a call's cost. So each
    call's scope has no deadline; it joins the set of calls due at the same 10 ms tick, and
    :meth:`expire`, one task per plugin run, cancels a tick's leftovers when it comes. A call
    thus times out at most 10 ms after its timeout. Calls still running ``grace`` after that
    ignore cancellation; ``on_deaf(count)`` reports them (their callers stay held).
    """

    TICK = 0.01

    def __init__(self, on_deaf: Callable[[int], None], grace: float) -> None:
        self._due: dict[float, set[trio.CancelScope]] = {}
        self._ticks: list[float] = []  # heap of the keys of _due
        self._timer: trio.CancelScope | None = None
        # Timed-out calls still running ``grace`` after their tick ignore cancellation: a
        # caller's task runs its entry, so it stays held; ``on_deaf(n)`` reports them.
        self._on_deaf, self._grace = on_deaf, grace
        self._overdue: list[tuple[float, int, set[trio.CancelScope]]] = []

    def add(self, scope: trio.CancelScope, timeout: float) -> set[trio.CancelScope]:
        """Register ``scope`` to be cancelled ``timeout`` seconds from now; return its set,
        from which the caller discards it when the call ends."""
        tick = math.ceil((trio.current_time() + timeout) / self.TICK) * self.TICK
        calls = self._due.get(tick)
        if calls is None:
            calls = self._due[tick] = set()
            heapq.heappush(self._ticks, tick)
            if self._timer is not None and tick < self._timer.deadline:
                self._timer.deadline = tick
        calls.add(scope)
        return calls

    def cancel_all(self) -> None:
        """Cancel every registered call now (the plugin is stopping)."""
        for calls in self._due.values():
            for scope in calls:
                scope.cancel()

    async def expire(self) -> None:
        """Cancel calls as their tick passes, until cancelled (with the plugin's run); report
        those still running ``grace`` later."""
        while True:
            due = min(
                self._ticks[0] if self._ticks else math.inf,
                self._overdue[0][0] if self._overdue else math.inf,
            )
            with trio.CancelScope(deadline=due) as timer:
                self._timer = timer
                await trio.sleep_forever()
            now = trio.current_time()
            while self._ticks and self._ticks[0] <= now:
                tick = heapq.heappop(self._ticks)
                calls = self._due.pop(tick)
                for scope in calls:
                    scope.cancel()
                if calls:
                    heapq.heappush(self._overdue, (tick + self._grace, id(calls), calls))
            while self._overdue and self._overdue[0][0] <= now:
                calls = heapq.heappop(self._overdue)[2]
                if calls:
                    self._on_deaf(len(calls))
