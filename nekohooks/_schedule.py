"""Periodic schedules, the records: an interval (:class:`Every`) or a cron expression in a time
zone (:class:`Cron`, :func:`daily`), their next fire times, and a job's counters
(:class:`JobState`). Pure: no trio; the engine that runs them is :mod:`nekohooks._scheduler`.

Cron times are wall-clock times in a zone (croniter with zoneinfo-aware datetimes); the next fire
time is always searched strictly after a given time, so no fire time is returned twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

__all__ = [
    "Cron",
    "Every",
    "JobState",
    "Schedule",
    "daily",
    "describe",
    "fire_times",
    "next_fire",
]


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
    from croniter import CroniterError, croniter  # here: croniter costs ~10 ms to import

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


def fire_times(cron: Cron, after: float) -> Iterator[float]:
    """The fire times of ``cron`` (epoch seconds) strictly after ``after``, in order."""
    from croniter import CroniterBadDateError, croniter

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
    return next(fire_times(schedule, after), None)


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
