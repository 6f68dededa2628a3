"""Periodic jobs: interval and cron schedules run on absolute deadlines.

* **No drift.** Deadlines are computed on a fixed grid (``start + k * interval``) and awaited with
  ``trio.sleep_until``; the job's own run time never shifts the next tick.
* **Skip on overrun.** Each run is a child task; a tick that arrives while the previous run is
  still going is skipped and counted, never stacked.
* **Coalesce.** If the scheduler wakes late past several ticks, it runs once and continues at
  the next grid point in the future.
* **Wall clock for cron.** Cron times are wall-clock times in a zone (croniter + zoneinfo), while
  trio sleeps on a monotonic clock: each fire time is converted to a trio deadline, and the
  wall clock is re-checked after waking.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import trio
from croniter import croniter

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


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"interval must be positive seconds, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


def _valid_cron(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not croniter.is_valid(value):
        raise ValueError(f"invalid cron expression {value!r}")


def _valid_tz(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc


@attrs.frozen
class Every:
    """Run every ``seconds``, first after ``first_in`` (default: one interval)."""

    seconds: float = attrs.field(validator=_positive)
    jitter: float = attrs.field(default=0.0, validator=_non_negative)
    first_in: float | None = None


@attrs.frozen
class Cron:
    """Run at the wall-clock times of a cron expression in zone ``tz`` (default: local)."""

    expr: str = attrs.field(validator=_valid_cron)
    tz: str | None = attrs.field(default=None, validator=_valid_tz)
    jitter: float = attrs.field(default=0.0, validator=_non_negative)


Schedule = Every | Cron

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def daily(at: str, *, tz: str | None = None, jitter: float = 0.0) -> Cron:
    """Every day at ``at`` ("09:00") in zone ``tz``."""
    match = _HHMM.match(at.strip())
    if match is None:
        raise ValueError(f"daily time must be HH:MM (00:00 to 23:59), got {at!r}")
    return Cron(f"{int(match[2])} {int(match[1])} * * *", tz=tz, jitter=jitter)


def describe(schedule: Schedule) -> str:
    """Human text for a schedule, e.g. ``every 60s`` or ``cron '0 9 * * *' (Europe/Berlin)``."""
    if isinstance(schedule, Every):
        return f"every {schedule.seconds:g}s"
    return f"cron {schedule.expr!r} ({schedule.tz or 'local'})"


def next_fire(schedule: Schedule, *, after: float) -> float:
    """The next fire time (epoch seconds) strictly after ``after``."""
    if isinstance(schedule, Every):
        return after + schedule.seconds
    zone = ZoneInfo(schedule.tz) if schedule.tz else None
    start = (
        datetime.fromtimestamp(after, tz=zone)
        if zone
        else datetime.fromtimestamp(after).astimezone()
    )
    fire: float = croniter(schedule.expr, start).get_next(float)
    return fire


@attrs.define(eq=False)
class JobState:
    """Counters and state of one periodic job, read by the host for status."""

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


async def run_schedule(
    schedule: Schedule,
    run_once: Callable[[], Awaitable[object]],
    *,
    state: JobState,
    timeout: float | None = None,  # noqa: ASYNC109 - a per-run limit, not for this call
    wall_clock: Callable[[], float] = time.time,
    on_error: Callable[[BaseException], None] | None = None,
    rng: random.Random | None = None,
) -> NoReturn:
    """Run ``run_once`` on ``schedule`` until cancelled.

    On cancel, an in-flight run is cancelled with it, and this raises ``Cancelled``. A run's
    ``Exception`` (or its ``timeout``) is counted and passed to ``on_error``; the schedule goes on.
    """
    rng = rng or random.Random()

    async def one_run(deadline: float) -> None:
        state.running = True
        state.runs += 1
        now = trio.current_time()
        state.last_started = now
        state.max_lateness = max(state.max_lateness, now - deadline)
        try:
            with trio.move_on_after(timeout if timeout is not None else float("inf")) as scope:
                await run_once()
            if scope.cancelled_caught:
                state.timeouts += 1
                error = TimeoutError(f"periodic run timed out after {timeout:g}s")
                state.last_error = error
                if on_error is not None:
                    on_error(error)
            else:
                state.completed += 1
        except Exception as exc:
            state.failures += 1
            state.last_error = exc
            if on_error is not None:
                on_error(exc)
        finally:
            state.running = False

    async with trio.open_nursery() as nursery:
        if isinstance(schedule, Every):
            base = trio.current_time() + (
                schedule.first_in if schedule.first_in is not None else schedule.seconds
            )
            k = 0
            while True:
                grid = base + k * schedule.seconds
                deadline = grid + (rng.uniform(0, schedule.jitter) if schedule.jitter else 0.0)
                await trio.sleep_until(deadline)
                now = trio.current_time()
                if state.running:
                    state.skipped += 1
                else:
                    nursery.start_soon(one_run, deadline)
                # next grid point strictly in the future; missed ones are folded into this run
                nxt = int((now - base) // schedule.seconds) + 1
                if nxt > k + 1:
                    state.coalesced += nxt - k - 1
                k = max(k + 1, nxt)
        else:
            last_fired: float | None = None
            while True:
                fire = next_fire(
                    schedule,
                    after=wall_clock() if last_fired is None else max(wall_clock(), last_fired),
                )
                jitter = rng.uniform(0, schedule.jitter) if schedule.jitter else 0.0
                while True:
                    remaining = fire + jitter - wall_clock()
                    if remaining <= 0:
                        break
                    await trio.sleep_until(trio.current_time() + remaining)
                last_fired = fire
                if state.running:
                    state.skipped += 1
                else:
                    nursery.start_soon(one_run, trio.current_time())
    raise AssertionError("unreachable")
