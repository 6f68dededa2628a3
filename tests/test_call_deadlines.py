"""An entry that ignores cancellation, called through ``host.call`` in an embedding application.

Entries run in their caller's task (that is what keeps ``host.call`` within a few microseconds
of a bare ``CancelScope``), so a trio entry that swallows ``trio.Cancelled`` holds its caller;
the host reports it ``terminate_grace`` after the timeout, as a fault of the plugin and an
event, instead of waiting in silence. (``neko call`` exits regardless: tests/test_cli.py.)
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import trio
import trio.testing

from nekohooks import HostConfig, Limits, NekoPluginBase, open_host, plugin_entry
from nekohooks._deadlines import CallDeadlines
from nekohooks.errors import EntryTimeout
from nekohooks.records import EventKind


class Deaf(NekoPluginBase):
    released = False

    @plugin_entry(id="deaf", timeout=0.2)
    async def deaf(self) -> str:
        while not Deaf.released:  # once cancelled, each sleep raises at once: it spins
            with contextlib.suppress(trio.Cancelled):  # swallowed: the timeout cannot stop it
                await trio.sleep(10)
        return "finally"

    @plugin_entry(id="slow", timeout=2)
    async def slow(self) -> None:
        await trio.sleep(100)  # an ordinary slow entry: it unwinds when cancelled


async def test_a_call_that_ignores_its_timeout_is_reported_after_the_grace(
    tmp_path: Path,
) -> None:
    # Real time: a task that swallows Cancelled spins, so a MockClock would never move.
    Deaf.released = False
    config = HostConfig(home=tmp_path, limits=Limits(terminate_grace=0.5))
    async with open_host(config, plugins={"deaf": Deaf}, watchdog=False) as host:
        with host.events.subscribe() as events:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(host.call, "deaf.deaf")
                await trio.sleep(0.2 + 0.5 - 0.15)
                assert host.status("deaf").last_error is None  # not before the grace is over
                await trio.sleep(0.3)
                status = host.status("deaf")
                assert status.phase == "entry"
                assert status.last_error == (
                    "1 call(s) still running 0.5s after their timeout: an entry ignores "
                    "cancellation, and its caller keeps waiting"
                )
                faults = []
                while (event := events.receive_nowait()) is not None:
                    if event.kind is EventKind.FAULT:
                        faults.append(event.data["error"])
                assert faults == [status.last_error]
                Deaf.released = True  # let the test end: the entry returns at its next turn


async def test_calls_that_stop_at_their_timeout_are_not_reported(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    config = HostConfig(home=tmp_path, limits=Limits(terminate_grace=3))

    async def times_out(host: object) -> None:
        with pytest.raises(EntryTimeout):
            await host.call("deaf.slow")  # type: ignore[attr-defined]

    async with open_host(config, plugins={"deaf": Deaf}, watchdog=False) as host:
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(times_out, host)
        await trio.sleep(10)
        assert host.status("deaf").last_error is None


async def _cancelled_at(deadlines: CallDeadlines, seconds: float) -> float:
    """Run a call registered with ``deadlines`` (timeout ``seconds``) until its scope is
    cancelled; return when."""
    scope = trio.CancelScope()
    calls = deadlines.add(scope, seconds)
    try:
        with scope:
            await trio.sleep_forever()
    finally:
        calls.discard(scope)
    return trio.current_time()


async def test_each_call_is_cancelled_within_a_tick_after_its_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    deaf: list[int] = []
    deadlines = CallDeadlines(deaf.append, grace=1.0)
    tick = CallDeadlines.TICK
    ended: dict[str, tuple[float, float]] = {}

    async def call(name: str, seconds: float, after: float) -> None:
        await trio.sleep(after)
        start = trio.current_time()
        ended[name] = (start, await _cancelled_at(deadlines, seconds) - start)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(deadlines.expire)
        async with trio.open_nursery() as calls:
            calls.start_soon(call, "first", 1.0, 0)  # opens a window
            calls.start_soon(call, "same window", 1.0, tick / 2)
            calls.start_soon(call, "other timeout", 0.25, tick / 4)
            calls.start_soon(call, "next window", 1.0, 3 * tick)
            calls.start_soon(call, "much later", 5.0, 2.0)  # the timer slept long before it
        nursery.cancel_scope.cancel()
    for name, timeout in [
        ("first", 1.0),
        ("same window", 1.0),
        ("other timeout", 0.25),
        ("next window", 1.0),
        ("much later", 5.0),
    ]:
        lasted = ended[name][1]
        assert timeout <= lasted <= timeout + tick + 1e-9, (name, lasted)
    assert deaf == []  # every call unwound when cancelled


async def test_calls_still_running_a_grace_after_their_timeout_are_reported_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    deaf: list[int] = []
    deadlines = CallDeadlines(deaf.append, grace=0.5)
    scopes = [trio.CancelScope() for _ in range(3)]
    for scope in scopes:
        deadlines.add(scope, 1.0)  # never discarded: their calls ignore cancellation
    async with trio.open_nursery() as nursery:
        nursery.start_soon(deadlines.expire)
        await trio.sleep(1.0 + CallDeadlines.TICK + 0.4)
        assert all(scope.cancel_called for scope in scopes) and deaf == []
        await trio.sleep(0.2)
        assert deaf == [3]
        await trio.sleep(10)
        assert deaf == [3]
        nursery.cancel_scope.cancel()


async def test_cancel_all_reaches_open_and_closed_windows(
    autojump_clock: trio.testing.MockClock,
) -> None:
    deadlines = CallDeadlines(lambda count: None, grace=1.0)
    early, late = trio.CancelScope(), trio.CancelScope()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(deadlines.expire)
        deadlines.add(early, 60.0)
        await trio.sleep(1.0)  # early's window closed: its set waits in the heap
        deadlines.add(late, 60.0)  # a new window is open
        assert not early.cancel_called and not late.cancel_called
        deadlines.cancel_all()
        assert early.cancel_called and late.cancel_called
        nursery.cancel_scope.cancel()


def _task_names() -> list[str]:
    names, stack = [], [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is not None:
            names.append(task.name)
            stack.extend(t for n in task.child_nurseries for t in n.child_tasks)
    return names


async def test_a_plugin_s_timer_task_starts_with_its_first_call(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """1,000 plugins that nobody calls keep no timer task each; the first call starts one."""
    async with open_host(HostConfig(home=tmp_path), plugins={"deaf": Deaf}) as host:
        assert "deaf:call-timeouts" not in _task_names()
        with pytest.raises(EntryTimeout):  # and its timeout is kept
            await host.call("deaf.slow")
        assert _task_names().count("deaf:call-timeouts") == 1
        with pytest.raises(EntryTimeout):
            await host.call("deaf.slow")
        assert _task_names().count("deaf:call-timeouts") == 1
