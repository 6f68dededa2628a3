"""run_schedule on its own: errors, timeouts, jitter, coalescing, cancellation, validation."""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing

from nekohooks import Cron, Every, daily
from nekohooks._schedule import JobState, run_schedule


async def test_errors_and_timeouts_are_counted_and_the_schedule_goes_on(autojump_clock) -> None:
    state = JobState()
    errors: list[BaseException] = []
    calls = 0

    async def job() -> None:
        nonlocal calls
        calls += 1
        if calls % 3 == 1:
            raise ValueError("bad tick")
        if calls % 3 == 2:
            await trio.sleep(100)  # past the 5 s per-run timeout

    with trio.move_on_after(10 * 60 + 1):
        await run_schedule(Every(60), job, state=state, timeout=5, on_error=errors.append)
    assert state.runs == 10
    assert (state.failures, state.timeouts, state.completed) == (4, 3, 3)
    assert len(errors) == 7 and isinstance(errors[0], ValueError)
    assert isinstance(errors[1], TimeoutError)


async def test_jitter_stays_within_bounds_and_does_not_accumulate(autojump_clock) -> None:
    starts: list[float] = []

    async def job() -> None:
        starts.append(trio.current_time())

    t0 = trio.current_time()
    with trio.move_on_after(100 * 10 + 5):
        await run_schedule(Every(10, jitter=2), job, state=JobState(), rng=random.Random(7))
    offsets = [s - t0 - 10 * (k + 1) for k, s in enumerate(starts)]
    assert len(starts) == 100
    assert all(0 <= o < 2 for o in offsets)
    assert len({round(o, 6) for o in offsets}) > 50  # really random, yet on the grid


def test_missed_ticks_are_coalesced_into_one_run() -> None:
    clock = trio.testing.MockClock()  # no autojump: time moves only when we say so
    starts: list[float] = []

    async def job() -> None:
        starts.append(trio.current_time())

    async def main() -> None:
        state = JobState()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: run_schedule(Every(10), job, state=state))
            await trio.testing.wait_all_tasks_blocked()
            clock.jump(10)
            await trio.testing.wait_all_tasks_blocked()
            clock.jump(35)  # the loop was stuck: ticks at 20, 30 and 40 pass unseen
            await trio.testing.wait_all_tasks_blocked()
            clock.jump(5)
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        assert starts == [10, 45, 50]  # one late run for the missed ticks, then back on the grid
        assert state.coalesced == 2

    trio.run(main, clock=clock)


async def test_cancel_cancels_the_run_in_flight(autojump_clock) -> None:
    seen: list[str] = []

    async def job() -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            seen.append("cancelled")
            raise

    with trio.move_on_after(15):
        await run_schedule(Every(10), job, state=JobState())
    assert seen == ["cancelled"]


def test_bad_schedules_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="positive"):
        Every(0)
    with pytest.raises(ValueError, match="invalid cron expression"):
        Cron("61 * * * *")
    with pytest.raises(ValueError, match="unknown time zone"):
        Cron("0 9 * * *", tz="Mars/Olympus")
    with pytest.raises(ValueError, match="HH:MM"):
        daily("25:00")
    assert daily("9:05", tz="UTC") == Cron("5 9 * * *", tz="UTC")
