"""The periodic-job schedules and their scheduler on their own, on trio's MockClock: no real sleeps.

Interval jobs are driven by the autojumping clock; cron jobs by a wall clock tied to it
(``epoch + trio time``), which a test can also move on its own, as a suspend or an NTP fix would.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trio
import trio.testing

from nekohooks._schedule import (
    Cron,
    Every,
    JobState,
    Schedule,
    daily,
    describe,
    next_fire,
)
from nekohooks._scheduler import _WALL_CLOCK_POLL, Scheduler, run_schedule

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


async def run_for(
    seconds: float, schedule: Schedule, job: Callable[[], Awaitable[object]], **kw: Any
) -> None:
    """Run ``schedule`` for ``seconds`` of trio time, then cancel it."""
    with trio.move_on_after(seconds):
        await run_schedule(schedule, job, **kw)


def wall_clock_from(epoch: datetime) -> Callable[[], float]:
    """A wall clock that reads ``epoch`` now and then follows trio's clock."""
    offset = epoch.timestamp() - trio.current_time()
    return lambda: offset + trio.current_time()


# ---- intervals: absolute deadlines -----------------------------------------------------------


@pytest.mark.parametrize(("extra", "expected"), [(-0.001, 1439), (+0.001, 1440)])
async def test_every_minute_for_a_day_runs_1440_times(
    autojump_clock: trio.testing.MockClock, extra: float, expected: int
) -> None:
    # The first run is one interval after the start, so runs are due at 60, 120, ..., 86400 s:
    # the last one starts only if the schedule is still alive at exactly 24 h.
    t0 = trio.current_time()
    starts: list[float] = []

    async def job() -> None:
        starts.append(trio.current_time() - t0)

    state = JobState()
    await run_for(24 * 3600 + extra, Every(60), job, state=state)
    assert len(starts) == state.runs == state.completed == expected
    assert starts == [60.0 * k for k in range(1, expected + 1)]


async def test_first_in_sets_the_first_run_and_the_grid(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def starts_of(schedule: Every) -> list[float]:
        t0 = trio.current_time()
        starts: list[float] = []

        async def job() -> None:
            starts.append(trio.current_time() - t0)

        await run_for(130, schedule, job, state=JobState())
        return starts

    assert await starts_of(Every(60, first_in=0)) == [0, 60, 120]
    assert await starts_of(Every(60, first_in=5)) == [5, 65, 125]
    assert await starts_of(Every(60)) == [60, 120]


async def test_a_job_that_takes_time_does_not_drift_the_grid(
    autojump_clock: trio.testing.MockClock,
) -> None:
    t0 = trio.current_time()
    scheduled: list[float] = []
    naive: list[float] = []

    async def job(into: list[float]) -> None:
        into.append(trio.current_time() - t0)
        await trio.sleep(2)

    state = JobState()
    await run_for(1000.5, Every(10), lambda: job(scheduled), state=state)
    assert scheduled == [10.0 * k for k in range(1, 101)]
    assert state.max_lateness == 0 and state.skipped == 0

    # The naive loop, `await job(); await sleep(10)`, slips by the job's 2 s on every tick.
    t0 = trio.current_time()
    with trio.move_on_after(1000.5):
        while True:
            await trio.sleep(10)
            await job(naive)
    assert len(naive) == 83  # 10, 22, 34, ..., 994: 17 fewer than the grid's 100
    assert [b - a for a, b in itertools.pairwise(naive)] == [12.0] * 82


async def test_a_slow_run_makes_ticks_skip_never_stack(
    autojump_clock: trio.testing.MockClock,
) -> None:
    t0 = trio.current_time()
    live = peak = 0
    starts: list[float] = []

    async def job() -> None:
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        starts.append(trio.current_time() - t0)
        try:
            await trio.sleep(25)
        finally:
            live -= 1

    state = JobState()
    await run_for(100.5, Every(10), job, state=state)
    # Ticks at 10..100: a run starts at 10, 40, 70, 100; the two ticks during each run are skipped.
    assert starts == [10, 40, 70, 100]
    assert peak == 1
    assert (state.runs, state.completed, state.skipped) == (4, 3, 6)
    assert state.coalesced == 0 and not state.running


async def test_ticks_missed_by_a_late_wake_fold_into_one_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The first run hogs the event loop for 35 s (as `time.sleep(35)` would on a real clock), so
    # the scheduler wakes at 45 for the tick due at 20; the ticks at 30 and 40 passed unseen.
    t0 = trio.current_time()
    starts: list[float] = []

    async def job() -> None:
        starts.append(trio.current_time() - t0)
        if len(starts) == 1:
            autojump_clock.jump(35)

    state = JobState()
    await run_for(60.5, Every(10), job, state=state)
    assert starts == [10, 45, 50, 60]  # one late run, then back on the original grid
    assert state.coalesced == 2 and state.skipped == 0
    assert state.max_lateness == 25


# ---- outcomes: timeouts, errors, cancellation -------------------------------------------------


async def test_timeouts_and_errors_are_counted_and_the_schedule_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    t0 = trio.current_time()
    errors: list[BaseException] = []
    starts: list[float] = []

    async def job() -> None:
        starts.append(trio.current_time() - t0)
        n = len(starts)
        if n % 3 == 1:
            raise ValueError(f"bad tick {n}")
        if n % 3 == 2:
            await trio.sleep(100)  # past the 5 s timeout

    state = JobState()
    await run_for(600.5, Every(60), job, state=state, timeout=5, on_error=errors.append)
    assert starts == [60.0 * k for k in range(1, 11)]
    assert (state.runs, state.failures, state.timeouts, state.completed) == (10, 4, 3, 3)
    assert [type(e) for e in errors] == [ValueError, TimeoutError] * 3 + [ValueError]
    assert str(errors[1]) == "periodic run timed out after 5s"
    assert state.last_error is errors[-1] and str(errors[-1]) == "bad tick 10"


async def test_a_timeout_must_be_positive() -> None:
    async def job() -> None:
        pass

    with pytest.raises(ValueError, match="timeout must be a positive number"):
        await run_schedule(Every(1), job, state=JobState(), timeout=0)


def count_tasks(task: trio.lowlevel.Task) -> int:
    return 1 + sum(count_tasks(t) for n in task.child_nurseries for t in n.child_tasks)


async def test_cancelling_cancels_the_run_in_flight_and_leaves_no_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    root = trio.lowlevel.current_root_task()
    assert root is not None
    before = count_tasks(root)
    seen: list[str] = []
    state = JobState()

    async def job() -> None:
        try:
            seen.append("started")
            await trio.sleep_forever()
        except trio.Cancelled:
            seen.append("cancelled")
            raise

    with trio.move_on_after(15) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: run_schedule(Every(10), job, state=state))
            await trio.sleep(12)
            assert state.running and count_tasks(root) == before + 2  # the schedule and its run
            await trio.sleep_forever()
    assert scope.cancelled_caught  # run_schedule ended only by raising Cancelled
    assert seen == ["started", "cancelled"]
    assert not state.running and state.completed == state.failures == state.timeouts == 0
    assert count_tasks(root) == before


# ---- many jobs on one scheduler ---------------------------------------------------------------


async def test_one_scheduler_keeps_each_jobs_grid_with_one_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    root = trio.lowlevel.current_root_task()
    assert root is not None
    t0 = trio.current_time()
    wall = wall_clock_from(datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    starts: dict[str, list[float]] = {"fast": [], "slow": [], "offset": [], "cron": []}
    states = {name: JobState() for name in starts}

    def job(name: str, seconds: float = 0) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            starts[name].append(trio.current_time() - t0)
            await trio.sleep(seconds)

        return run

    scheduler = Scheduler(wall_clock=wall)
    scheduler.add(Every(10), job("fast"), state=states["fast"])
    scheduler.add(Every(30), job("slow", 45), state=states["slow"])  # overruns: skips ticks
    scheduler.add(Every(25, first_in=5), job("offset"), state=states["offset"])
    scheduler.add(Cron("*/1 * * * *", tz="UTC"), job("cron"), state=states["cron"])
    before = count_tasks(root)
    with trio.move_on_after(120.5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(scheduler.run)
            await trio.sleep(1)
            assert count_tasks(root) == before + 1  # four waiting jobs: one task, no run yet
            await trio.sleep_forever()
    assert starts["fast"] == [10.0 * k for k in range(1, 13)]
    assert starts["slow"] == [30, 90]  # 60 and 120 find the previous run still going
    assert (states["slow"].skipped, states["slow"].completed) == (2, 1)
    assert starts["offset"] == [5, 30, 55, 80, 105]
    assert starts["cron"] == [60, 120]
    assert all(s.max_lateness == 0 and s.coalesced == 0 for s in states.values())
    assert count_tasks(root) == before


async def test_a_job_added_while_the_scheduler_sleeps_wakes_it_in_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    t0 = trio.current_time()
    starts: list[tuple[str, float]] = []

    def job(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            starts.append((name, trio.current_time() - t0))

        return run

    scheduler = Scheduler()
    scheduler.add(Every(1000), job("rare"), state=JobState())
    with trio.move_on_after(1000.5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(scheduler.run)
            await trio.sleep(5)  # the scheduler sleeps until 1000
            scheduler.add(Every(300, first_in=2), job("added"), state=JobState())
            await trio.sleep_forever()
    assert starts == [("added", 7), ("added", 307), ("added", 607), ("added", 907), ("rare", 1000)]


async def test_a_failing_or_hanging_job_leaves_its_neighbours_on_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    t0 = trio.current_time()
    healthy: list[float] = []
    errors: list[BaseException] = []

    async def ok() -> None:
        healthy.append(trio.current_time() - t0)

    async def boom() -> None:
        raise RuntimeError("boom")

    async def hang() -> None:
        await trio.sleep_forever()

    scheduler = Scheduler()
    states = [JobState() for _ in range(3)]
    scheduler.add(Every(10), boom, state=states[0], on_error=errors.append)
    scheduler.add(Every(10), hang, state=states[1], timeout=15, on_error=errors.append)
    scheduler.add(Every(10), ok, state=states[2])
    with trio.move_on_after(60.5):
        await scheduler.run()
    assert healthy == [10, 20, 30, 40, 50, 60]
    assert (states[0].runs, states[0].failures) == (6, 6)
    # hang: runs at 10 (timed out at 25), 30 (at 45), 50; ticks at 20, 40 and 60 are skipped
    assert (states[1].runs, states[1].timeouts, states[1].skipped) == (3, 2, 3)
    assert [type(e) for e in errors].count(TimeoutError) == 2


# ---- jitter --------------------------------------------------------------------------------


async def test_jitter_is_fresh_per_tick_bounded_and_never_accumulates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    t0 = trio.current_time()
    starts: list[float] = []

    async def job() -> None:
        starts.append(trio.current_time() - t0)

    # Ticks are due at 10 k + jitter_k; every one up to k = 99 (at most 992 s) is due by 995 s.
    await run_for(995, Every(10, jitter=2), job, state=JobState(), rng=random.Random(7))
    assert len(starts) == 99
    offsets = [s - 10 * k for k, s in enumerate(starts, start=1)]
    expected = random.Random(7)
    assert offsets == pytest.approx([expected.uniform(0, 2) for _ in offsets], abs=1e-9)
    assert all(0 <= o < 2 for o in offsets)


# ---- cron: wall clock, zones, DST ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_day", "gaps"),
    [
        (datetime(2026, 3, 26, 12, tzinfo=BERLIN), [24, 23, 24, 24, 24]),  # spring: 29 March
        (datetime(2026, 10, 22, 12, tzinfo=BERLIN), [24, 25, 24, 24, 24]),  # autumn: 25 October
    ],
)
async def test_daily_nine_oclock_across_dst(
    autojump_clock: trio.testing.MockClock, first_day: datetime, gaps: list[int]
) -> None:
    wall = wall_clock_from(first_day)
    fired: list[datetime] = []
    trio_times: list[float] = []

    async def job() -> None:
        fired.append(datetime.fromtimestamp(wall(), BERLIN))
        trio_times.append(trio.current_time())

    state = JobState()
    await run_for(6 * 86400, daily("09:00", tz="Europe/Berlin"), job, state=state, wall_clock=wall)
    assert [f.date() for f in fired] == [(first_day + timedelta(d)).date() for d in range(1, 7)]
    assert all((f.hour, f.minute, f.second) == (9, 0, 0) for f in fired)
    assert state.max_lateness < 1e-3
    assert [round((b - a) / 3600, 6) for a, b in itertools.pairwise(trio_times)] == gaps


@pytest.fixture
def berlin_local_time() -> Iterator[None]:
    """Make the process's local zone Berlin's rules (POSIX form: no zone files needed)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3")
    time.tzset()
    yield
    mp.undo()
    time.tzset()


async def test_cron_without_a_zone_follows_local_time_across_dst(
    autojump_clock: trio.testing.MockClock, berlin_local_time: None
) -> None:
    wall = wall_clock_from(datetime(2026, 3, 27, 12, tzinfo=BERLIN))
    fired: list[datetime] = []

    async def job() -> None:
        fired.append(datetime.fromtimestamp(wall(), BERLIN))

    await run_for(3 * 86400, Cron("0 9 * * *"), job, state=JobState(), wall_clock=wall)
    assert [(f.day, f.hour, f.minute) for f in fired] == [(28, 9, 0), (29, 9, 0), (30, 9, 0)]


async def test_a_fire_time_never_runs_twice_when_the_wall_clock_goes_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    offset = start.timestamp() - trio.current_time()
    fired: list[str] = []

    def wall() -> float:
        return offset + trio.current_time()

    async def job() -> None:
        nonlocal offset
        fired.append(datetime.fromtimestamp(wall(), UTC).strftime("%H:%M"))
        if len(fired) == 1:
            offset -= 1800  # right after the 01:00 run, the clock is set back to 00:30

    state = JobState()
    await run_for(3 * 3600, Cron("0 * * * *", tz="UTC"), job, state=state, wall_clock=wall)
    # 01:00 does not come again; 02:00 is 90 minutes of real time later.
    assert fired == ["01:00", "02:00"]
    assert state.runs == 2 and state.coalesced == 0


async def test_cron_catches_up_after_the_wall_clock_jumps_forward(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A suspended laptop: the monotonic clock stood still while the wall clock moved on an hour.
    t0 = trio.current_time()
    offset = datetime(2026, 1, 1, 0, 0, tzinfo=UTC).timestamp() - t0
    fired: list[tuple[str, float]] = []

    def wall() -> float:
        return offset + trio.current_time()

    async def job() -> None:
        fired.append(
            (datetime.fromtimestamp(wall(), UTC).strftime("%H:%M"), trio.current_time() - t0)
        )

    async def resume_after_suspend() -> None:
        nonlocal offset
        await trio.sleep(601)
        offset += 3600

    state = JobState()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(resume_after_suspend)
        await run_for(1200.5, Cron("*/10 * * * *", tz="UTC"), job, state=state, wall_clock=wall)
    (first, at_first), (late, at_late), (back, at_back) = fired
    assert (first, at_first) == ("00:10", 600)
    # Noticed within one wall-clock poll: one run for 00:20 ... 01:10, five of them folded.
    assert late == "01:11" and 601 < at_late <= 601 + _WALL_CLOCK_POLL
    assert state.coalesced == 5 and state.max_lateness == pytest.approx(51 * 60)
    assert (back, at_back) == ("01:20", 1200)


async def test_cron_jitter_delays_each_fire_within_bounds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    wall = wall_clock_from(datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    delays: list[float] = []

    async def job() -> None:
        delays.append(wall() % 3600)

    schedule = Cron("0 * * * *", tz="UTC", jitter=300)
    await run_for(
        10 * 3600 + 301, schedule, job, state=JobState(), wall_clock=wall, rng=random.Random(3)
    )
    expected = random.Random(3)
    assert delays == pytest.approx([expected.uniform(0, 300) for _ in range(10)], abs=1e-3)
    assert all(0 <= d < 300 for d in delays)


async def test_a_cron_that_never_fires_just_waits(autojump_clock: trio.testing.MockClock) -> None:
    state = JobState()
    wall = wall_clock_from(datetime(2026, 1, 1, tzinfo=UTC))

    async def job() -> None:
        pass

    await run_for(3 * 365 * 86400, Cron("0 0 30 2 *", tz="UTC"), job, state=state, wall_clock=wall)
    assert state.runs == 0


# ---- the schedule records -------------------------------------------------------------------


def test_next_fire_is_strictly_after_and_zone_aware() -> None:
    nine = datetime(2026, 3, 28, 9, 0, tzinfo=BERLIN).timestamp()
    schedule = daily("09:00", tz="Europe/Berlin")
    assert next_fire(schedule, after=nine - 1) == nine
    sunday = next_fire(schedule, after=nine)  # strictly after: not 09:00 today again
    assert sunday == datetime(2026, 3, 29, 9, 0, tzinfo=BERLIN).timestamp() == nine + 23 * 3600
    assert next_fire(Cron("0 0 30 2 *", tz="UTC"), after=nine) is None
    assert next_fire(Every(60), after=1000.0) == 1060.0


def test_describe() -> None:
    assert describe(Every(60)) == "every 60s"
    assert describe(Every(0.5, jitter=0.25)) == "every 0.5s, jitter up to 0.25s"
    assert describe(daily("09:00", tz="Europe/Berlin")) == "cron '0 9 * * *' (Europe/Berlin)"
    assert (
        describe(Cron("*/5 * * * *", jitter=30))
        == "cron '*/5 * * * *' (local time), jitter up to 30s"
    )


def test_daily_accepts_h_mm_and_hh_mm() -> None:
    assert daily("9:05", tz="UTC") == Cron("5 9 * * *", tz="UTC")
    assert daily("00:00") == Cron("0 0 * * *")
    assert daily("23:59", jitter=5) == Cron("59 23 * * *", jitter=5)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Every(0), "seconds must be a positive number of seconds, got 0"),
        (lambda: Every(-5), "seconds must be a positive"),
        (lambda: Every(math.nan), "seconds must be a positive"),
        (lambda: Every(10, jitter=-1), "jitter must be zero or more seconds"),
        (lambda: Every(10, jitter=10), r"jitter must be smaller than the interval \(10s\)"),
        (lambda: Every(10, first_in=-1), "first_in must be zero or more seconds"),
        (lambda: Cron("61 * * * *"), r"invalid cron expression '61 \* \* \* \*': .*out of range"),
        (lambda: Cron("every day"), "invalid cron expression 'every day': Exactly 5, 6 or 7"),
        (lambda: Cron("0 9 * * *", tz="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (lambda: Cron("0 9 * * *", tz="Europe"), "unknown time zone 'Europe'"),
        (lambda: Cron("0 9 * * *", jitter=-1), "jitter must be zero or more seconds"),
        (lambda: daily("25:00"), "daily time must be HH:MM between 00:00 and 23:59, got '25:00'"),
        (lambda: daily("09:60"), "daily time must be HH:MM"),
        (lambda: daily("9"), "daily time must be HH:MM"),
        (lambda: daily("09:00", tz="Nowhere/Land"), "unknown time zone 'Nowhere/Land'"),
    ],
)
def test_bad_schedules_are_refused_with_a_clear_message(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()
