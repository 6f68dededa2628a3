"""The host's plugin table at run time, its event stream, and entry addresses.

One plugin is added, stopped, started again and removed while the host runs; the others are
never touched. Every change is an event on ``host.events``. On a MockClock.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from nekohooks import HostConfig, NekoPluginBase, hookimpl, open_host, periodic, plugin_entry
from nekohooks.errors import EntryNotFound, PluginUnavailable
from nekohooks.records import Event, EventKind, PluginState, parse_address


class Steady(NekoPluginBase):
    started = 0

    async def startup(self) -> None:
        type(self).started += 1

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"


class Late(NekoPluginBase):
    """Added after the host started; owns a background task and a job."""

    terminated = 0

    async def startup(self) -> None:
        self.ctx.tasks.start("forever", trio.sleep_forever)

    async def terminate(self) -> None:
        type(self).terminated += 1

    @periodic(every=10)
    async def beat(self) -> None:
        pass

    @plugin_entry(id="hello")
    async def hello(self, name: str = "you") -> str:
        return f"hi {name}"


class Broken(NekoPluginBase):
    async def startup(self) -> None:
        raise RuntimeError("no luck")


def run(main, **kwargs):  # type: ignore[no-untyped-def]
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0), **kwargs)


def test_a_plugin_is_added_stopped_started_and_removed_without_touching_the_others(
    tmp_path,
) -> None:
    Steady.started = Late.terminated = 0

    async def main() -> None:
        async with open_host(HostConfig(home=tmp_path), plugins={"steady": Steady}) as host:
            with host.events.subscribe() as events:
                loaded = host.registry.add("late", Late)
                status = await host.add_plugin(loaded)
                assert status.state is PluginState.RUNNING
                assert await host.call("late.hello", name="Ada") == "hi Ada"
                assert await host.call("late__hello") == "hi you"
                assert "forever" in host.status("late").tasks

                await trio.sleep(25)
                assert host.status("late").job_runs == {"beat": 2}

                status = await host.stop_plugin("late")
                assert status.state is PluginState.STOPPED and Late.terminated == 1
                assert status.tasks == ()  # its background task was cancelled
                with pytest.raises(PluginUnavailable, match="'late'"):
                    await host.call("late.hello")

                status = await host.start_plugin("late")
                assert status.state is PluginState.RUNNING
                assert status.job_runs == {"beat": 0}  # a fresh run: fresh counters
                assert await host.call("late.hello") == "hi you"

                removed = await host.remove_plugin("late")
                assert removed.info.name == "late" and Late.terminated == 2
                assert "late" not in host.runners and "late" not in host.plugins
                with pytest.raises(EntryNotFound, match="no such plugin"):
                    await host.call("late.hello")
                with pytest.raises(EntryNotFound):
                    host.status("late")

                # the neighbour ran all along, started once
                assert await host.call("steady.ping") == "pong"
                assert Steady.started == 1
                assert host.status("steady").restarts == 0

                seen: list[Event] = []
                while (event := events.receive_nowait()) is not None:
                    seen.append(event)
        late = [(e.kind, dict(e.data)) for e in seen if e.plugin == "late"]
        assert late[0] == (EventKind.TABLE, {"change": "added"})
        assert late[-1] == (EventKind.TABLE, {"change": "removed"})
        states = [d["state"] for k, d in late if k is EventKind.STATE]
        assert states == [
            "starting",
            "running",
            "stopping",
            "stopped",
            "starting",
            "running",
            "stopping",
            "stopped",
        ]
        assert [d["outcome"] for k, d in late if k is EventKind.JOB] == ["ok", "ok"]
        assert all(e.plugin != "steady" for e in seen)

    run(main)


def test_table_changes_are_refused_clearly(tmp_path) -> None:
    async def main() -> None:
        async with open_host(HostConfig(home=tmp_path), plugins={"steady": Steady}) as host:
            with pytest.raises(ValueError, match="already in the host"):
                await host.add_plugin(host.registry.plugins["steady"])
            with pytest.raises(ValueError, match="is running; stop it first"):
                await host.start_plugin("steady")
            with pytest.raises(EntryNotFound, match="'nosuch'"):
                await host.stop_plugin("nosuch")

    run(main)


def test_faults_and_restarts_are_events(tmp_path) -> None:
    async def main() -> list[Event]:
        async with open_host(HostConfig(home=tmp_path), plugins={}) as host:
            with host.events.subscribe() as events:
                await host.add_plugin(host.registry.add("broken", Broken))
                await trio.sleep(5)
                return [e for e in iter(events.receive_nowait, None)]

    seen = run(main)
    faults = [e for e in seen if e.kind is EventKind.FAULT]
    assert faults and faults[0].plugin == "broken"
    assert faults[0].data["phase"] == "startup"
    assert "RuntimeError: no luck" in faults[0].data["error"]
    restarts = [e for e in seen if e.kind is EventKind.RESTART]
    assert restarts and restarts[0].data["attempt"] == 1 and restarts[0].data["backoff"] > 0


def test_messages_are_events_and_still_delivered(tmp_path) -> None:
    delivered: list[tuple[str, str, object]] = []

    class Chatty(NekoPluginBase):
        @plugin_entry(id="say")
        async def say(self, text: str) -> None:
            await self.ctx.send_message("room", text)

    async def main() -> list[Event]:
        async with open_host(
            HostConfig(home=tmp_path),
            plugins={"chatty": Chatty},
            message_sink=lambda *m: delivered.append(m),
        ) as host:
            with host.events.subscribe() as events:
                await host.call("chatty.say", text="hello")
                return [e for e in iter(events.receive_nowait, None)]

    seen = run(main)
    assert delivered == [("chatty", "room", "hello")]
    [event] = [e for e in seen if e.kind is EventKind.MESSAGE]
    assert event.plugin == "chatty" and dict(event.data) == {"target": "room", "message": "hello"}


def test_a_slow_subscriber_loses_the_oldest_events_and_knows_it(tmp_path) -> None:
    async def main() -> None:
        async with open_host(HostConfig(home=tmp_path), plugins={}) as host:
            with host.events.subscribe(buffer=2) as events:
                for n in range(5):
                    host.events.emit(EventKind.MESSAGE, "x", target="t", message=n)
                assert events.dropped == 3
                assert [e.data["message"] for e in iter(events.receive_nowait, None)] == [3, 4]
            host.events.emit(EventKind.MESSAGE, "x", target="t", message="unheard")
            assert events.receive_nowait() is None  # unsubscribed at the end of the block

    run(main)


def test_a_wrapper_on_neko_entry_call_sees_a_plugin_added_at_run_time(tmp_path) -> None:
    seen: list[str] = []

    class Spy:
        @hookimpl(wrapper=True)
        def neko_entry_call(self, call):  # type: ignore[no-untyped-def]
            seen.append(f"{call.plugin}.{call.entry}")
            return (yield)

    async def main() -> None:
        async with open_host(HostConfig(home=tmp_path), plugins={"spy": Spy()}) as host:
            await host.add_plugin(host.registry.add("late", Late))
            assert await host.call("late.hello") == "hi you"

    run(main)
    assert seen == ["late.hello"]


@pytest.mark.parametrize(
    ("text", "plugins", "expected"),
    [
        ("weather.forecast", (), ("weather", "forecast")),
        ("weather__forecast", (), ("weather", "forecast")),
        ("my__bot__greet", ("my__bot",), ("my__bot", "greet")),
        ("my__bot__greet", (), ("my", "bot__greet")),
        ("a.b.c", (), ("a", "b.c")),
    ],
)
def test_addresses_are_read_in_one_place(text, plugins, expected) -> None:
    address = parse_address(text, plugins=plugins)
    assert address is not None and (address.plugin, address.entry) == expected
    assert str(address) == f"{address.plugin}.{address.entry}"
    assert address.tool_name == f"{address.plugin}__{address.entry}"


@pytest.mark.parametrize("text", ["weather", "", ".x", "x.", "__x", "x__"])
def test_what_is_not_an_address(text) -> None:
    assert parse_address(text) is None
