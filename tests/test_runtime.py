"""The trio host: calls, timeouts, periodic jobs, supervision and shutdown, on a MockClock."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import trio
import trio.testing

from nekohooks import (
    HostConfig,
    Limits,
    NekoPluginBase,
    RestartPolicy,
    hookimpl,
    open_host,
    periodic,
    plugin_entry,
)
from nekohooks.errors import (
    EntryFailed,
    EntryNotFound,
    EntryTimeout,
    InvalidArguments,
    PluginUnavailable,
)
from nekohooks.records import PluginState


class Counter(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.ticks: list[float] = []
        self.terminated = 0

    @periodic(every=60)
    async def tick(self):
        self.ticks.append(trio.current_time())
        await trio.sleep(2)  # a job that takes time must not shift the grid

    @plugin_entry(id="ticks")
    async def count(self):
        return len(self.ticks)

    @plugin_entry(id="slow")
    async def slow(self, seconds: float):
        await trio.sleep(seconds)
        return "done"

    @plugin_entry(id="boom")
    async def boom(self):
        raise ValueError("kaboom")

    async def terminate(self):
        self.terminated += 1


async def test_24h_of_a_60s_job_fires_exactly_1440_times(config, autojump_clock) -> None:
    async with open_host(config, plugins={"c": Counter}, watchdog=False) as host:
        await trio.sleep(24 * 3600 + 1)
        assert await host.call("c.ticks") == 1440
        ticks = host.runners["c"].instance.ticks
        status = host.status("c")
    assert status.job_runs == {"tick": 1440}
    assert status.job_skipped == {"tick": 0}
    # absolute deadlines: the 2 s the job takes never shifts the grid
    assert [b - a for a, b in itertools.pairwise(ticks)] == [60] * 1439


async def test_calls_validate_time_out_and_fail_without_killing_the_plugin(
    config, autojump_clock
) -> None:
    async with open_host(config, plugins={"c": Counter}, watchdog=False) as host:
        with pytest.raises(InvalidArguments) as bad:
            await host.call("c.slow", seconds=1, secs=1)
        assert bad.value.argument == "secs" and bad.value.plugin == "c"
        with pytest.raises(InvalidArguments, match="missing required argument 'seconds'"):
            await host.call("c.slow")
        with pytest.raises(EntryTimeout) as late:
            await host.call("c.slow", seconds=10_000)
        assert late.value.timeout == config.limits.entry_timeout
        with pytest.raises(EntryFailed, match="kaboom") as failed:
            await host.call("c.boom")
        assert isinstance(failed.value.__cause__, ValueError)
        with pytest.raises(EntryNotFound, match="entries: ticks, slow, boom"):
            await host.call("c.nope")
        assert await host.call("c.slow", seconds=1) == "done"
        assert host.status("c").state is PluginState.RUNNING


class Sleeper(NekoPluginBase):
    @plugin_entry(id="sleep", timeout=5)
    async def sleep(self, seconds: float) -> float:
        await trio.sleep(seconds)
        return seconds

    @plugin_entry(id="sleep_long", timeout=30)
    async def sleep_long(self, seconds: float) -> float:
        await trio.sleep(seconds)
        return seconds


async def test_concurrent_calls_time_out_each_at_its_own_deadline(config, autojump_clock) -> None:
    """Timeouts share one timer per plugin; each call still ends within 10 ms of its own."""
    ended: dict[str, float | str] = {}

    async def call(label: str, target: str, seconds: float, delay: float) -> None:
        await trio.sleep(delay)
        start = trio.current_time()
        try:
            await host.call(target, seconds=seconds)
        except EntryTimeout:
            ended[label] = trio.current_time() - start
        except PluginUnavailable:
            ended[label] = "unavailable"
        else:
            ended[label] = -(trio.current_time() - start)  # negative: it finished in time

    async with open_host(config, plugins={"s": Sleeper}, watchdog=False) as host:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(call, "long-first", "s.sleep_long", 100, 0)
            nursery.start_soon(call, "short-later", "s.sleep", 100, 1.003)  # earlier deadline
            nursery.start_soon(call, "in-time", "s.sleep", 4.99, 2)
        stopping = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(call, "cut-by-stop", "s.sleep_long", 100, 0)
            await trio.sleep(1)
            await host.runners["s"].stop()
    assert 5 <= ended["short-later"] <= 5.01 + 1e-9  # at most one 10 ms tick late
    assert 30 <= ended["long-first"] <= 30.01 + 1e-9
    assert ended["in-time"] == -4.99
    assert trio.current_time() - stopping < 2  # stop cancelled the in-flight call at once
    assert ended["cut-by-stop"] == "unavailable"


class SlowStart(NekoPluginBase):
    async def startup(self):
        await trio.sleep(20)


async def test_startups_run_concurrently(config, autojump_clock) -> None:
    plugins = {f"s{i}": type(f"S{i}", (SlowStart,), {}) for i in range(20)}
    start = trio.current_time()
    async with open_host(config, plugins=plugins, watchdog=False) as host:
        assert trio.current_time() - start == pytest.approx(20, abs=1)
        assert all(s.state is PluginState.RUNNING for s in host.statuses())


class Crashy(NekoPluginBase):
    starts = 0

    @plugin_entry(id="status")
    async def status(self):
        return "never reached once failed"

    async def startup(self):
        type(self).starts += 1
        self.ctx.tasks.start("worker", self.worker)

    async def worker(self):
        await trio.sleep(1)
        raise RuntimeError("worker died")


class Steady(NekoPluginBase):
    @plugin_entry(id="ping")
    async def ping(self):
        return "pong"


async def test_crash_loop_backs_off_then_gives_up_while_neighbours_serve(
    autojump_clock, tmp_path
) -> None:
    config = HostConfig(
        home=tmp_path,
        restart=RestartPolicy(max_restarts=3, window=3600, initial_backoff=1, jitter=0),
    )
    Crashy.starts = 0
    async with open_host(
        config, plugins={"crashy": Crashy, "steady": Steady}, watchdog=False
    ) as host:
        times = []
        while host.status("crashy").state is not PluginState.FAILED:
            assert await host.call("steady.ping") == "pong"
            times.append((trio.current_time(), host.status("crashy").restarts))
            await trio.sleep(0.5)
        status = host.status("crashy")
        assert status.restarts == 3 and Crashy.starts == 4
        assert status.last_error == "RuntimeError: worker died" and status.phase == "task"
        with pytest.raises(PluginUnavailable, match="is failed at task: RuntimeError: worker died"):
            await host.call("crashy.status")
        # backoff 1, 2, 4 s between runs of 1 s each: failed after about 1+1+1+2+1+4+1 = 11 s
        assert 10 <= trio.current_time() <= 12
        assert await host.call("steady.ping") == "pong"


class HangsInTerminate(NekoPluginBase):
    async def terminate(self):
        await trio.sleep_forever()


class SyncHangsInTerminate(NekoPluginBase):
    def terminate(self):
        import time

        time.sleep(0.2)


async def test_hung_terminate_is_cut_at_the_grace_deadline(autojump_clock, tmp_path) -> None:
    config = HostConfig(home=tmp_path, limits=Limits(terminate_grace=5))
    counter = {}

    class Recorder(Counter):
        async def terminate(self):
            counter["done"] = trio.current_time()

    async with open_host(
        config, plugins={"hang": HangsInTerminate, "rec": Recorder}, watchdog=False
    ) as host:
        started = trio.current_time()
        runner = host.runners["hang"]
    assert trio.current_time() - started == pytest.approx(5, abs=0.5)
    assert "did not finish within 5s" in (runner.last_error or "")
    assert "done" in counter
    assert runner.state is PluginState.STOPPED


async def test_no_task_is_left_after_the_host_exits(config, autojump_clock) -> None:
    class Spawner(NekoPluginBase):
        async def startup(self):
            for i in range(50):
                self.ctx.tasks.start(f"t{i}", trio.sleep_forever)

    root = trio.lowlevel.current_root_task()

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

    before = count(root)
    async with open_host(config, plugins={"sp": Spawner}, watchdog=False) as host:
        assert host.status("sp").tasks and len(host.status("sp").tasks) == 50
        assert count(root) > before + 50
    assert count(root) == before


def test_daily_nine_oclock_across_dst(tmp_path) -> None:
    zone = ZoneInfo("Europe/Berlin")
    epoch = datetime(2026, 10, 23, 12, 0, tzinfo=zone).timestamp()
    fired: list[datetime] = []

    class Reminder(NekoPluginBase):
        @periodic(daily_at="09:00", tz="Europe/Berlin")
        async def remind(self):
            fired.append(datetime.fromtimestamp(epoch + trio.current_time(), tz=zone))
            await self.ctx.send_message("user", "good morning")

    sent: list[tuple[str, str, str]] = []

    async def main() -> None:
        async with open_host(
            HostConfig(home=tmp_path),
            plugins={"rem": Reminder},
            wall_clock=lambda: epoch + trio.current_time(),
            message_sink=lambda p, t, m: sent.append((p, t, m)),
            watchdog=False,
        ):
            await trio.sleep(5 * 86400)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert [f.day for f in fired] == [24, 25, 26, 27, 28]
    assert all((f.hour, f.minute) == (9, 0) for f in fired)
    gaps = [(b.timestamp() - a.timestamp()) / 3600 for a, b in itertools.pairwise(fired)]
    assert gaps == [25, 24, 24, 24]  # the clocks went back on the 25th
    assert sent == [("rem", "user", "good morning")] * 5


async def test_slow_job_is_skipped_not_stacked(config, autojump_clock) -> None:
    live = {"now": 0, "max": 0}

    class Slow(NekoPluginBase):
        @periodic(every=10)
        async def work(self):
            live["now"] += 1
            live["max"] = max(live["max"], live["now"])
            await trio.sleep(25)
            live["now"] -= 1

    async with open_host(config, plugins={"slow": Slow}, watchdog=False) as host:
        await trio.sleep(100.5)
        status = host.status("slow")
    assert live["max"] == 1
    assert status.job_runs["work"] == 4 and status.job_skipped["work"] == 6


async def test_entry_wrapper_hook_sees_every_call(config, autojump_clock) -> None:
    seen = []

    class Audit:
        @hookimpl(wrapper=True)
        def neko_entry_call(self, call):
            invoke = yield

            async def audited():
                result = await invoke()
                seen.append((call.plugin, call.entry, dict(call.arguments), result))
                return result

            return audited

    async with open_host(config, plugins={"c": Counter, "audit": Audit()}, watchdog=False) as host:
        assert await host.call("c.slow", seconds=1) == "done"
    assert seen == [("c", "slow", {"seconds": 1}, "done")]


def test_blocking_plugin_is_named_by_the_watchdog(tmp_path) -> None:
    import time

    class Blocker(NekoPluginBase):
        @plugin_entry(id="block")
        async def block(self):
            time.sleep(0.6)  # a sync call in an async entry holds the loop
            return "ok"

    class Other(NekoPluginBase):
        @plugin_entry(id="ping")
        async def ping(self):
            return "pong"

    async def main() -> None:
        config = HostConfig(home=tmp_path, limits=Limits(block_threshold=0.2))
        async with open_host(config, plugins={"blocker": Blocker, "other": Other}) as host:
            assert await host.call("blocker.block") == "ok"
            assert await host.call("other.ping") == "pong"
            status = host.status("blocker")
            assert status.loop_blocks == 1
            assert "blocked the trio loop" in (status.last_error or "")
            assert "Blocker.block" in (status.last_error or "")
            assert host.status("other").loop_blocks == 0

    trio.run(main)


async def test_named_tasks_replace_cancel_and_every(config, autojump_clock) -> None:
    beats: list[float] = []

    class Manager(NekoPluginBase):
        async def startup(self):
            self.ctx.tasks.start("health_check", trio.sleep_forever)
            self.ctx.tasks.start("health_check", trio.sleep_forever)  # replaces the first

            async def beat():
                beats.append(trio.current_time())
                raise RuntimeError("logged, not fatal")

            self.ctx.tasks.every("beat", 300, beat)

    async with open_host(config, plugins={"tm": Manager}, watchdog=False) as host:
        ctx = host.runners["tm"].ctx
        assert ctx.tasks.names() == ["beat", "health_check"]
        await trio.sleep(3 * 300 + 1)
        assert len(beats) == 3 and host.status("tm").state is PluginState.RUNNING
        assert ctx.tasks.cancel("health_check") is True
        await trio.lowlevel.checkpoint()
        assert ctx.tasks.names() == ["beat"]
        assert ctx.tasks.cancel("health_check") is False


async def test_stream_yields_items_of_generator_entries(config, autojump_clock) -> None:
    class Gen(NekoPluginBase):
        @plugin_entry(id="count")
        async def count(self, n: int):
            for i in range(n):
                await trio.sleep(1)
                yield i

        @plugin_entry(id="sync_count")
        def sync_count(self, n: int):
            yield from range(n)

    async with open_host(config, plugins={"g": Gen}, watchdog=False) as host:
        assert [i async for i in host.stream("g.count", n=3)] == [0, 1, 2]
        assert [i async for i in host.stream("g.sync_count", n=4)] == [0, 1, 2, 3]
        assert await host.call("g.count", n=2) == [0, 1]


class BadSchema(NekoPluginBase):
    @plugin_entry(id="x", input_schema={"type": "object", "properties": {"n": {"type": "integr"}}})
    async def x(self, n):
        return n


class NoArguments(NekoPluginBase):
    @plugin_entry(id="ping")
    async def ping(self):
        return "pong"


async def test_a_bad_input_schema_fails_its_plugin_at_load_and_no_argument_entries_take_none(
    config, autojump_clock
) -> None:
    plugins = {"bad": BadSchema, "ok": NoArguments}
    async with open_host(config, plugins=plugins, watchdog=False) as host:
        [failure] = host.failures
        assert (failure.name, failure.phase) == ("bad", "validate")
        assert "entry 'x' has an invalid input_schema" in failure.error
        assert await host.call("ok.ping") == "pong"
        with pytest.raises(InvalidArguments, match="unknown argument 'x'"):
            await host.call("ok.ping", x=1)


class StartsSlowlyOnce(NekoPluginBase):
    """The first startup takes longer than the startup timeout; later ones are quick."""

    starts = 0
    terminated = 0

    async def startup(self):
        type(self).starts += 1
        if type(self).starts == 1:
            await trio.sleep(10)

    async def terminate(self):
        type(self).terminated += 1

    @plugin_entry(id="ping")
    async def ping(self):
        return "pong"


class HangsInStartup(NekoPluginBase):
    terminated = 0

    async def startup(self):
        await trio.sleep_forever()

    async def terminate(self):
        type(self).terminated += 1


async def test_a_startup_past_its_timeout_crashes_and_a_stop_while_starting_does_not(
    autojump_clock, tmp_path
) -> None:
    """The startup deadline ends only the startup: the run after it has none; a stop while
    a startup hangs is a stop (terminate runs, no fault), not a timeout."""
    config = HostConfig(
        home=tmp_path,
        limits=Limits(startup_timeout=5),
        restart=RestartPolicy(initial_backoff=1, jitter=0),
    )
    StartsSlowlyOnce.starts = StartsSlowlyOnce.terminated = HangsInStartup.terminated = 0
    started = trio.current_time()
    async with open_host(config, plugins={"slow": StartsSlowlyOnce}, watchdog=False) as host:
        assert trio.current_time() - started == pytest.approx(5)  # the first attempt's end
        status = host.status("slow")
        assert status.phase == "startup" and status.last_error == "timed out after 5s"
        assert StartsSlowlyOnce.terminated == 1  # constructed, so terminate ran
        await trio.sleep(2)  # the backoff (1 s), then a quick second start
        assert host.status("slow").state is PluginState.RUNNING
        await trio.sleep(60)  # far past the startup deadline: the run goes on
        assert host.status("slow").state is PluginState.RUNNING
        assert await host.call("slow.ping") == "pong"
        assert StartsSlowlyOnce.starts == 2

        async with trio.open_nursery() as nursery:
            nursery.start_soon(host.add_plugin, host.registry.add("hangs", HangsInStartup))
            await trio.sleep(1)
            assert host.status("hangs").state is PluginState.STARTING
            status = await host.stop_plugin("hangs")
        assert status.state is PluginState.STOPPED and status.last_error is None
        assert HangsInStartup.terminated == 1
        assert trio.current_time() - started < 69  # stopped at once, not at its deadline
