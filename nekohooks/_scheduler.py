"""Periodic jobs, the engine: run coroutine functions on their schedules, many on one heap.

* **One heap, one task.** A :class:`Scheduler` keeps all its jobs' next deadlines in one heap and
  sleeps until the earliest: a waiting job is a small record, not a task (100,000 jobs fit in
  well under 1 KiB each), and a task is spawned only for a run. :func:`run_schedule` is the
  one-job form.
* **Absolute deadlines, no drift.** :class:`Every` ticks on a fixed grid,
  ``start + first_in + k * seconds`` (plus fresh jitter per tick, never accumulated), each a trio
  deadline; a run's own duration never moves the grid.
* **Skip on overrun.** Each run is a child task of the scheduler's nursery, so the grid keeps
  ticking while a run is going; a tick that finds the previous run still going is skipped and
  counted, never stacked: at most one run at a time.
* **Coalesce.** If the scheduler wakes late, past several ticks, it runs once, counts the others as
  coalesced, and carries on at the next tick in the future, still on the original grid.
* **Wall clock for cron.** :class:`Cron` times are wall-clock times in a zone (croniter with
  zoneinfo-aware datetimes), while trio sleeps on its monotonic clock: each fire time is converted
  to a trio deadline, and the wall clock is read again on waking (and at least once a minute, which
  notices a suspended machine or a clock set forward). Woken early means sleep again; the next fire
  time is always searched after the last one, so no fire time runs twice.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn

import attrs
import trio

from ._errors import PLUGIN_FAULTS
from ._schedule import Cron, Every, JobState, Schedule, fire_times, next_fire

__all__ = ["Scheduler", "run_schedule"]

_WALL_CLOCK_POLL = 60.0
"""The longest a cron schedule sleeps without reading the wall clock again (seconds)."""

_SHARED_RNG = random.Random()
"""Jitter for schedules given no ``rng``: one generator, not 2.5 KB of state per job."""


Job = Callable[[], Awaitable[object]]
ErrorHandler = Callable[[BaseException], None]


@attrs.define(eq=False)
class _Entry:
    """One job on a :class:`Scheduler`'s heap: what to run, its counters, where its grid is.

    :class:`Every`: tick ``k`` is due at ``origin + k * seconds`` (trio time) plus jitter.
    :class:`Cron`: the fire time ``fire`` (epoch seconds) is due at ``fire`` plus jitter on
    the wall clock. ``due`` is that tick's jittered due time, on the schedule's own clock.
    """

    schedule: Schedule
    run_once: Job
    state: JobState
    timeout: float | None
    on_error: ErrorHandler | None
    name: str | None
    origin: float = 0.0
    k: int = 0
    fire: float = 0.0
    due: float = 0.0


class Scheduler:
    """Many periodic jobs on one deadline heap, woken by one task: :meth:`add` them, then
    :meth:`run` it.

    A job costs a small record and a heap slot, not a task: a task is spawned only for a run,
    when the job fires. Each job keeps the semantics of :func:`run_schedule` (its own grid,
    skip and coalesce counting, at most one run at a time, timeouts, jitter, cron on the wall
    clock); jobs due at the same moment start in the order they were added.
    """

    def __init__(
        self, *, wall_clock: Callable[[], float] = time.time, rng: random.Random | None = None
    ) -> None:
        self._wall_clock = wall_clock
        self._rng = _SHARED_RNG if rng is None else rng
        self._heap: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()
        self._nursery: trio.Nursery | None = None
        self._wake: trio.CancelScope | None = None

    def add(
        self,
        schedule: Schedule,
        run_once: Job,
        *,
        state: JobState,
        timeout: float | None = None,
        on_error: ErrorHandler | None = None,
        name: str | None = None,
    ) -> None:
        """Schedule ``await run_once()``; its grid starts now (call from the trio thread).

        Args:
          schedule: when to run; :class:`Every` follows trio's clock, :class:`Cron` the wall
            clock.
          run_once: the job, called with no arguments once per run.
          state: where the counters go (also read by the host while this runs).
          timeout: per-run limit in seconds, or ``None`` for none.
          on_error: called with each run's exception or ``TimeoutError``.
          name: the name of each run's task (default: trio's name for :meth:`run`'s helper).

        Raises:
          ValueError: ``timeout`` is not a positive number.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(
                f"timeout must be a positive number of seconds or None, got {timeout!r}"
            )
        entry = _Entry(schedule, run_once, state, timeout, on_error, name)
        if isinstance(schedule, Every):
            first = schedule.seconds if schedule.first_in is None else schedule.first_in
            entry.origin = trio.current_time() + first
            entry.due = entry.origin + _jitter(self._rng, schedule.jitter)
            self._push(entry.due, entry)
        else:
            self._plan_cron(entry, schedule, after=self._wall_clock())

    async def run(self) -> NoReturn:
        """Start each job's runs as they fall due, until cancelled.

        Cancellation: cancelling this cancels the runs in flight (each sees ``Cancelled``) and,
        once they have unwound, raises ``Cancelled``: it never returns and leaves no task.
        """
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            while True:
                with trio.CancelScope(
                    deadline=self._heap[0][0] if self._heap else math.inf
                ) as wake:
                    self._wake = wake
                    await trio.sleep_forever()
                self._fire_due()
        raise AssertionError("unreachable: the loop only ends by raising")

    def _push(self, deadline: float, entry: _Entry) -> None:
        heapq.heappush(self._heap, (deadline, next(self._order), entry))
        if self._wake is not None and deadline < self._wake.deadline:
            self._wake.deadline = deadline

    def _fire_due(self) -> None:
        heap, now = self._heap, trio.current_time()
        due = []
        while heap and heap[0][0] <= now:  # all of them first: none is looked at twice
            due.append(heapq.heappop(heap)[2])
        for entry in due:
            if isinstance(entry.schedule, Every):
                self._fire_every(entry, entry.schedule, now)
            else:
                self._fire_cron(entry, entry.schedule, now)

    def _fire_every(self, entry: _Entry, every: Every, now: float) -> None:
        # The next tick is the first grid point after now; any passed meanwhile fold into this.
        following = max(entry.k + 1, math.floor((now - entry.origin) / every.seconds) + 1)
        self._tick(entry, now, lateness=now - entry.due, missed=following - entry.k - 1)
        entry.k = following
        entry.due = entry.origin + following * every.seconds + _jitter(self._rng, every.jitter)
        self._push(entry.due, entry)

    def _fire_cron(self, entry: _Entry, cron: Cron, now: float) -> None:
        wall = self._wall_clock()
        if wall < entry.due:  # woken early, or the wall clock went back: wait again
            self._push(now + min(entry.due - wall, _WALL_CLOCK_POLL), entry)
            return
        passed = itertools.takewhile(lambda t: t <= wall, fire_times(cron, entry.fire))
        self._tick(entry, now, lateness=wall - entry.due, missed=sum(1 for _ in passed))
        # wall >= due >= fire: later fire times only, even if the wall clock goes back
        self._plan_cron(entry, cron, after=wall)

    def _plan_cron(self, entry: _Entry, cron: Cron, *, after: float) -> None:
        fire = next_fire(cron, after=after)
        if fire is None:  # the expression never matches again: the job just stays idle
            return
        entry.fire = fire
        entry.due = fire + _jitter(self._rng, cron.jitter)
        wait = min(entry.due - self._wall_clock(), _WALL_CLOCK_POLL)
        self._push(trio.current_time() + max(wait, 0.0), entry)

    def _tick(self, entry: _Entry, now: float, *, lateness: float, missed: int) -> None:
        """A tick of ``entry`` is due, ``lateness`` seconds late, ``missed`` earlier ones unseen."""
        state = entry.state
        state.coalesced += missed
        if state.running:
            state.skipped += 1
            return
        state.running = True
        state.runs += 1
        state.last_started = now
        state.max_lateness = max(state.max_lateness, lateness)
        assert self._nursery is not None
        self._nursery.start_soon(self._run, entry, name=entry.name)

    async def _run(self, entry: _Entry) -> None:
        state = entry.state
        error: BaseException | None = None
        try:
            if entry.timeout is None:
                await entry.run_once()
                state.completed += 1
            else:
                with trio.move_on_after(entry.timeout) as scope:
                    await entry.run_once()
                if scope.cancelled_caught:
                    state.timeouts += 1
                    error = TimeoutError(f"periodic run timed out after {entry.timeout:g}s")
                else:
                    state.completed += 1
        except PLUGIN_FAULTS as exc:  # plugin code: contained (a KeyboardInterrupt is not)
            state.failures += 1
            error = exc
        finally:
            state.running = False
        if error is not None:
            state.last_error = error
            if entry.on_error is not None:
                entry.on_error(error)


def _jitter(rng: random.Random, jitter: float) -> float:
    return rng.uniform(0, jitter) if jitter else 0.0


async def run_schedule(
    schedule: Schedule,
    run_once: Job,
    *,
    state: JobState,
    timeout: float | None = None,  # noqa: ASYNC109 - bounds each run, not this call
    wall_clock: Callable[[], float] = time.time,
    on_error: ErrorHandler | None = None,
    rng: random.Random | None = None,
) -> NoReturn:
    """Run ``await run_once()`` on ``schedule`` until cancelled, counting everything in ``state``.

    Each run is a child task; a tick while a run is still going is skipped, and ticks missed by
    a late wake are folded into one run. A run that raises (an ``Exception`` or ``SystemExit``:
    plugin code must not end the host; a ``KeyboardInterrupt`` propagates) is counted as a
    failure; a run longer than ``timeout`` seconds is cancelled and counted as a timeout, with a
    ``TimeoutError`` as its error. Either way the error is stored in ``state.last_error``, passed
    to ``on_error``, and the schedule goes on.

    Args:
      schedule: when to run; :class:`Every` follows trio's clock, :class:`Cron` ``wall_clock``.
      run_once: the job, called with no arguments once per run.
      state: where the counters go (also read by the host while this runs).
      timeout: per-run limit in seconds, or ``None`` for none.
      wall_clock: epoch seconds now, for cron schedules; inject it in tests.
      on_error: called with each run's exception or ``TimeoutError``.
      rng: the jitter source (default: one generator shared by all schedules).

    Raises:
      ValueError: ``timeout`` is not a positive number.

    Cancellation: cancelling this cancels the run in flight (it sees ``Cancelled``) and, once the
    run has unwound, raises ``Cancelled``: it never returns, and leaves no task behind.
    """
    scheduler = Scheduler(wall_clock=wall_clock, rng=rng)
    scheduler.add(schedule, run_once, state=state, timeout=timeout, on_error=on_error)
    await scheduler.run()
