"""Periodic jobs: run a coroutine function on an interval or a cron schedule.

* **Absolute deadlines, no drift.** :class:`Every` ticks on a fixed grid,
  ``start + first_in + k * seconds`` (plus fresh jitter per tick, never accumulated), awaited with
  ``trio.sleep_until``; a run's own duration never moves the grid.
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

import itertools
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import trio
from croniter import CroniterBadDateError, CroniterError, croniter

from ._errors import PLUGIN_FAULTS

__all__ = [
    "Cron",
    "Every",
    "JobState",
    "Schedule",
    "daily",
    "describe",
    "next_fire",
    "run_schedule",
]

_SHARED_RNG = random.Random()
"""Jitter for schedules given no ``rng``: one generator, not 2.5 KB of state per job."""

_WALL_CLOCK_POLL = 60.0
"""The longest a cron schedule sleeps without reading the wall clock again (seconds)."""


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number of seconds, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be zero or more seconds, got {value!r}")


def _jitter_below_interval(
    instance: Every, attribute: attrs.Attribute[float], value: float
) -> None:
    _non_negative(instance, attribute, value)
    if value >= instance.seconds:
        raise ValueError(
            f"jitter must be smaller than the interval ({instance.seconds!r}s), got {value!r}"
        )


def _valid_cron(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        croniter(value)
    except CroniterError as exc:
        raise ValueError(f"invalid cron expression {value!r}: {exc}") from None


def _valid_tz(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {value!r}: expected an IANA name such as 'Europe/Berlin'"
        ) from None


@attrs.frozen
class Every:
    """Run every ``seconds``; the first run after ``first_in`` (default: one interval).

    Each tick is delayed by a fresh ``uniform(0, jitter)`` seconds, which must be smaller than
    the interval; the grid itself never moves.
    """

    seconds: float = attrs.field(validator=_positive)
    jitter: float = attrs.field(default=0.0, validator=_jitter_below_interval)
    first_in: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_non_negative)
    )


@attrs.frozen
class Cron:
    """Run at the wall-clock times of cron expression ``expr`` in IANA zone ``tz``.

    ``tz=None`` means the machine's local zone. Each fire time is delayed by a fresh
    ``uniform(0, jitter)`` seconds.
    """

    expr: str = attrs.field(validator=[attrs.validators.instance_of(str), _valid_cron])
    tz: str | None = attrs.field(default=None, validator=_valid_tz)
    jitter: float = attrs.field(default=0.0, validator=_non_negative)


Schedule = Every | Cron

_HH_MM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def daily(at: str, *, tz: str | None = None, jitter: float = 0.0) -> Cron:
    """Every day at ``at`` (``"09:00"`` or ``"9:05"``) on the wall clock of zone ``tz``."""
    match = _HH_MM.fullmatch(at)
    if match is None:
        raise ValueError(f"daily time must be HH:MM between 00:00 and 23:59, got {at!r}")
    return Cron(f"{int(match[2])} {int(match[1])} * * *", tz=tz, jitter=jitter)


def describe(schedule: Schedule) -> str:
    """Human text for a listing: ``every 60s`` or ``cron '0 9 * * *' (Europe/Berlin)``."""
    if isinstance(schedule, Every):
        text = f"every {schedule.seconds:.10g}s"
    else:
        text = f"cron {schedule.expr!r} ({schedule.tz or 'local time'})"
    if schedule.jitter:
        text += f", jitter up to {schedule.jitter:.10g}s"
    return text


def _fire_times(cron: Cron, after: float) -> Iterator[float]:
    """The fire times of ``cron`` (epoch seconds) strictly after ``after``, in order."""
    if cron.tz is None:
        # Naive local datetimes: .timestamp() applies the machine's own DST rules to each time.
        start = datetime.fromtimestamp(after)
    else:
        start = datetime.fromtimestamp(after, ZoneInfo(cron.tz))
    times = croniter(cron.expr, start)
    while True:
        try:
            fire: datetime = times.get_next(datetime)
        except CroniterBadDateError:  # the expression matches no further date (e.g. 30 February)
            return
        if fire.timestamp() > after:
            yield fire.timestamp()


def next_fire(schedule: Schedule, *, after: float) -> float | None:
    """When ``schedule`` next fires, in epoch seconds, strictly after ``after`` (epoch seconds).

    For :class:`Cron` this is exact; ``None`` if the expression never matches again. For
    :class:`Every` it is ``after + seconds``, a hint for listings: intervals run on trio's clock.
    """
    if isinstance(schedule, Every):
        return after + schedule.seconds
    return next(_fire_times(schedule, after), None)


@attrs.define(eq=False)
class JobState:
    """Counters and state of one periodic job, updated by :func:`run_schedule`, read for status.

    ``skipped`` counts ticks that found the previous run still going; ``coalesced`` counts ticks
    folded into a late run. ``last_started`` is trio clock time; ``max_lateness`` is the worst
    delay of a run's start past its (jittered) deadline, on trio's clock for :class:`Every` and
    on the wall clock for :class:`Cron`.
    """

    runs: int = 0
    completed: int = 0
    failures: int = 0
    timeouts: int = 0
    skipped: int = 0
    coalesced: int = 0
    running: bool = False
    last_error: BaseException | None = None
    last_started: float | None = None
    max_lateness: float = 0.0


@attrs.define(eq=False)
class _Runs:
    """Starts runs for the tick loops: at most one at a time, each in its own task."""

    run_once: Callable[[], Awaitable[object]]
    state: JobState
    timeout: float | None
    on_error: Callable[[BaseException], None] | None
    nursery: trio.Nursery

    def tick(self, *, lateness: float, missed: int) -> None:
        """A tick is due ``lateness`` seconds late and ``missed`` earlier ticks passed unseen."""
        state = self.state
        state.coalesced += missed
        if state.running:
            state.skipped += 1
            return
        state.running = True
        state.runs += 1
        state.last_started = trio.current_time()
        state.max_lateness = max(state.max_lateness, lateness)
        self.nursery.start_soon(self._run)

    async def _run(self) -> None:
        state = self.state
        error: BaseException | None = None
        try:
            with trio.move_on_after(math.inf if self.timeout is None else self.timeout) as scope:
                await self.run_once()
            if scope.cancelled_caught:
                state.timeouts += 1
                error = TimeoutError(f"periodic run timed out after {self.timeout:g}s")
            else:
                state.completed += 1
        except PLUGIN_FAULTS as exc:  # plugin code: contained (a KeyboardInterrupt is not)
            state.failures += 1
            error = exc
        finally:
            state.running = False
        if error is not None:
            state.last_error = error
            if self.on_error is not None:
                self.on_error(error)


def _jitter(rng: random.Random, jitter: float) -> float:
    return rng.uniform(0, jitter) if jitter else 0.0


async def _tick_every(every: Every, runs: _Runs, rng: random.Random) -> NoReturn:
    first = trio.current_time() + (every.seconds if every.first_in is None else every.first_in)
    k = 0
    while True:
        deadline = first + k * every.seconds + _jitter(rng, every.jitter)
        await trio.sleep_until(deadline)
        now = trio.current_time()
        # The next tick is the first grid point after now; any passed meanwhile fold into this run.
        following = max(k + 1, math.floor((now - first) / every.seconds) + 1)
        runs.tick(lateness=now - deadline, missed=following - k - 1)
        k = following


async def _tick_cron(
    cron: Cron, runs: _Runs, rng: random.Random, wall_clock: Callable[[], float]
) -> NoReturn:
    after = wall_clock()
    while True:
        fire = next_fire(cron, after=after)
        if fire is None:
            await trio.sleep_forever()
        due = fire + _jitter(rng, cron.jitter)
        # Polling is the point: nothing signals that the wall clock reached ``due``.
        while (now := wall_clock()) < due:  # noqa: ASYNC110
            await trio.sleep_until(trio.current_time() + min(due - now, _WALL_CLOCK_POLL))
        missed = sum(1 for _ in itertools.takewhile(lambda t: t <= now, _fire_times(cron, fire)))
        runs.tick(lateness=now - due, missed=missed)
        after = now  # now >= due >= fire: later fire times only, even if the wall clock goes back


async def run_schedule(
    schedule: Schedule,
    run_once: Callable[[], Awaitable[object]],
    *,
    state: JobState,
    timeout: float | None = None,  # noqa: ASYNC109 - bounds each run, not this call
    wall_clock: Callable[[], float] = time.time,
    on_error: Callable[[BaseException], None] | None = None,
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
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    rng = _SHARED_RNG if rng is None else rng
    async with trio.open_nursery() as nursery:
        runs = _Runs(run_once, state, timeout, on_error, nursery)
        if isinstance(schedule, Every):
            await _tick_every(schedule, runs, rng)
        else:
            await _tick_cron(schedule, runs, rng, wall_clock)
    raise AssertionError("unreachable: the tick loops only end by raising")
