"""Messages in, replies out: commands, message and event handlers, priorities, permissions,
failures and timeouts, through ``host.dispatch`` on a MockClock."""

from __future__ import annotations

import types
from typing import Literal

import pytest
import trio
from modes import both_ways

from nekohooks import NekoPluginBase, hookimpl, open_host
from nekohooks.messages import STOP, Message, ReplyKind, Rest, command, on_event, on_message
from nekohooks.records import PluginState


class Bot(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.seen: list[str] = []

    @command("countdown", aliases=["cd"])
    async def countdown(self, message: Message, seconds: int, target: str = ""):
        """Count down, then say so where the command came from."""
        if not 1 <= seconds <= 3600:
            return "seconds must be 1-3600"

        async def ring() -> None:
            await trio.sleep(seconds)
            await self.ctx.send_message(target or message.origin, f"{seconds}s are up")

        self.ctx.tasks.start(f"countdown:{target or message.origin}", ring)
        return f"{seconds}s countdown started"

    @command("add", group="math")
    def add(self, message, a: int, b: float = 1.0, exact: bool = False):
        total = a + b
        return str(int(total)) if exact else str(total)

    @command("pick", group="math")
    async def pick(self, message, mode: Literal["min", "max"], a: int, b: int):
        return str(min(a, b) if mode == "min" else max(a, b))

    @command("echo")
    async def echo(self, message, text: Rest):
        yield text
        yield text.upper()

    @command("boom")
    async def boom(self, message):
        raise ZeroDivisionError("nope")

    @command("slow", timeout=5)
    async def slow(self, message):
        await trio.sleep(60)
        return "never"

    @command("ban", permission="admin")
    async def ban(self, message, who: str):
        return f"banned {who}"

    @on_message(r"\bneko\b")
    async def neko(self, message):
        self.seen.append(message.text)
        return ["meow", None, "purr"]

    @on_event("member_join")
    async def welcome(self, event):
        return f"welcome {event.sender}"


class Quiet(NekoPluginBase):
    """A lower-priority catch-all and a high-priority filter that can stop everything."""

    @on_message(priority=-5)
    async def log_all(self, message):
        return f"logged {len(message.text)}"

    @on_message(lambda m: m.text == "stop here", priority=10)
    async def stopper(self, message):
        yield "stopping"
        yield STOP


def raw_module(name: str = "raw") -> types.ModuleType:
    """A module plugin answering through the raw ``neko_message`` hook."""
    module = types.ModuleType(name)

    @hookimpl
    async def neko_message(message, ctx):
        if message.text == "ping":
            return "pong"
        return None

    module.neko_message = neko_message
    return module


async def replies(host, text: str, **fields) -> list[tuple[str, str, object]]:
    message = Message(text, origin=fields.pop("origin", "chat"), **fields)
    return [(r.plugin, r.kind.value, r.content) async for r in host.dispatch(message)]


async def test_commands_parse_typed_arguments_and_background_tasks_reply_later(
    config, autojump_clock
) -> None:
    sent: list[tuple[str, str, object]] = []

    def sink(plugin, target, message):
        sent.append((plugin, target, message))

    async with open_host(config, plugins={"bot": Bot}, message_sink=sink) as host:
        assert await replies(host, "/countdown 10") == [("bot", "reply", "10s countdown started")]
        assert await replies(host, "  /cd   3   room-2") == [
            ("bot", "reply", "3s countdown started")
        ]
        assert await replies(host, "/countdown 0") == [("bot", "reply", "seconds must be 1-3600")]
        assert await replies(host, "/math add 2 0.5") == [("bot", "reply", "2.5")]
        assert await replies(host, "/math add 2 3 yes") == [("bot", "reply", "5")]
        assert await replies(host, "/math pick max 3 9") == [("bot", "reply", "9")]
        assert await replies(host, '/echo  one "two  three" ') == [
            ("bot", "reply", 'one "two  three"'),
            ("bot", "reply", 'ONE "TWO  THREE"'),
        ]
        assert host.status("bot").tasks == ("countdown:chat", "countdown:room-2")
        await trio.sleep(3.5)
        assert ("bot", "room-2", "3s are up") in sent
        await trio.sleep(7)
        assert ("bot", "chat", "10s are up") in sent
    # every reply went to the message's origin too
    assert ("bot", "chat", "10s countdown started") in sent


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/countdown", "missing argument seconds"),
        ("/countdown ten", "argument seconds: 'ten' is not an integer"),
        ("/countdown 1e3", "'1e3' is not an integer"),
        ("/countdown 10 here extra", "unexpected argument 'extra'"),
        ('/countdown "10', "an unbalanced \" at '\"10'"),
        ("/countdown 10 'room", "an unbalanced ' at \"'room\""),
        ("/countdown 10\\", "a trailing backslash"),
        ("/countdown \x00\x1b[31m", r"'\x00\x1b[31m' is not an integer"),
        ("/math add 1 nan", "argument b: 'nan' is not a number"),
        ("/math add 1 2 maybe", "argument exact: 'maybe' is not true or false"),
        ("/math pick mid 1 2", "argument mode: 'mid' must be one of min, max"),
        ("/countdown " + "9" * 5000, "is not an integer"),
    ],
)
async def test_bad_command_lines_get_a_usage_reply_and_run_no_plugin_code(
    config, text, problem
) -> None:
    async with open_host(config, plugins={"bot": Bot}) as host:
        got = await replies(host, text)
        assert host.status("bot").tasks == ()  # the handler did not run
    assert len(got) == 1
    plugin, kind, content = got[0]
    assert (plugin, kind) == ("bot", "usage")
    assert problem in content
    assert "\nusage: /" in content


async def test_a_megabyte_of_text_is_answered_at_once(config) -> None:
    huge = "x" * (1 << 20)
    async with open_host(config, plugins={"bot": Bot, "quiet": Quiet}) as host:
        with trio.fail_after(5):  # real seconds: the splitter is linear
            assert await replies(host, "/countdown 5 here " + huge) == [
                ("bot", "usage", await _usage_of(host, "/countdown 5 here " + huge))
            ]
            assert await replies(host, '/countdown 5 "' + huge) != []
            assert await replies(host, "/echo " + huge) == [
                ("bot", "reply", huge),
                ("bot", "reply", huge.upper()),
            ]
            assert await replies(host, huge) == [("quiet", "reply", f"logged {len(huge)}")]


async def _usage_of(host, text: str) -> str:
    async for reply in host.dispatch(Message(text)):
        assert reply.kind is ReplyKind.USAGE
        assert len(reply.content) < 300  # the offending word is shortened
        return reply.content
    raise AssertionError("no usage reply")


async def test_unknown_commands_and_groups(config) -> None:
    async with open_host(config, plugins={"bot": Bot}) as host:
        assert await replies(host, "/nosuch 1 2") == []
        assert await replies(host, "countdown 5") == []  # no prefix: not a command
        [(plugin, kind, text)] = await replies(host, "/math")
        assert (plugin, kind) == ("bot", "usage")
        assert text.splitlines() == [
            "/math: choose one of: add | pick",
            "usage: /math add <a:int> [b:float] [exact:bool]",
            "usage: /math pick <mode:min|max> <a:int> <b:int>",
        ]
        assert (await replies(host, "/math mul 2 3"))[0][1] == "usage"


async def test_failures_name_plugin_and_handler_and_the_others_still_answer(
    config, autojump_clock
) -> None:
    async with open_host(config, plugins={"bot": Bot, "quiet": Quiet}) as host:
        assert await replies(host, "/boom") == [
            ("bot", "error", "plugin 'bot': /boom failed: ZeroDivisionError: nope")
        ]
        # block=True on commands: the catch-all never saw /boom; plain text reaches both
        assert await replies(host, "hello neko") == [
            ("bot", "reply", "meow"),
            ("bot", "reply", "purr"),
            ("quiet", "reply", "logged 10"),
        ]
        started = trio.current_time()
        assert await replies(host, "/slow") == [
            ("bot", "error", "plugin 'bot': /slow failed: timed out after 5s")
        ]
        assert 5 <= trio.current_time() - started < 5.1
        assert host.status("bot").state is PluginState.RUNNING
        assert await replies(host, "/math add 1 1 true") == [("bot", "reply", "2")]


async def test_priorities_stop_and_events(config) -> None:
    async with open_host(config, plugins={"quiet": Quiet, "bot": Bot}) as host:
        assert await replies(host, "stop here") == [("quiet", "reply", "stopping")]
        assert await replies(host, "neko") == [
            ("bot", "reply", "meow"),
            ("bot", "reply", "purr"),
            ("quiet", "reply", "logged 4"),
        ]
        assert await replies(host, "", kind="member_join", sender="ada") == [
            ("bot", "reply", "welcome ada")
        ]
        assert await replies(host, "", kind="poke") == []


async def test_permissions_are_the_hosts_hook(config) -> None:
    decisions: list[tuple[str, str, str]] = []

    class Policy:
        @hookimpl
        async def neko_check_permission(self, message, plugin, handler, permission):
            decisions.append((plugin, handler, permission))
            if message.sender == "broken":
                raise RuntimeError("policy store is down")
            return True if message.sender == "root" else None

    async with open_host(config, plugins={"bot": Bot, "policy": Policy()}) as host:
        assert await replies(host, "/ban eve", sender="mallory") == [
            ("bot", "denied", "/ban: permission denied (needs admin)")
        ]
        assert await replies(host, "/ban eve", sender="root") == [("bot", "reply", "banned eve")]
        # no decision from the hook: the adapter's roles decide
        assert await replies(host, "/ban eve", roles={"admin"}) == [("bot", "reply", "banned eve")]
        # a policy that raises denies (and is logged), even for an admin
        [(_, kind, _)] = await replies(host, "/ban eve", sender="broken", roles={"admin"})
        assert kind == "denied"
    assert decisions[0] == ("bot", "/ban", "admin")


async def test_raw_hook_plugins_and_cancellation(config, autojump_clock) -> None:
    async with open_host(config, plugins={"raw": raw_module(), "bot": Bot}) as host:
        assert await replies(host, "ping") == [("raw", "reply", "pong")]
        # the caller cancels: the handler is cancelled like an entry call, nothing else runs
        with trio.move_on_after(1):
            await replies(host, "/slow")
        assert host.status("bot").state is PluginState.RUNNING
        with pytest.raises(TypeError, match=r"nekohooks\.messages\.Message"):
            host.dispatch("ping")  # type: ignore[arg-type]


async def test_closing_the_reply_stream_early_closes_the_handler(config) -> None:
    closed = trio.Event()

    class Chatty(NekoPluginBase):
        @command("many")
        async def many(self, message):
            try:
                for n in range(100):
                    yield str(n)
            finally:
                closed.set()

    async with open_host(config, plugins={"chatty": Chatty}) as host:
        stream = host.dispatch(Message("/many"))
        first = await stream.__anext__()
        await stream.aclose()
        assert first.content == "0"
        assert closed.is_set()


def test_bad_handler_signatures_fail_the_plugin_at_load(config) -> None:
    class NoMessage(NekoPluginBase):
        @command("x")
        async def x(self):
            return "?"

    class BadType(NekoPluginBase):
        @command("y")
        async def y(self, message, items: list[int]):
            return "?"

    class Twice(NekoPluginBase):
        @command("z")
        async def z1(self, message):
            return "1"

        @command("z")
        async def z2(self, message):
            return "2"

    async def main():
        plugins = {"nomessage": NoMessage, "badtype": BadType, "twice": Twice, "bot": Bot}
        async with open_host(config, plugins=plugins) as host:
            failures = {f.name: (f.phase, f.error) for f in host.failures}
            assert await replies(host, "/countdown 1") == [("bot", "reply", "1s countdown started")]
        return failures

    failures = trio.run(main)
    assert failures["nomessage"][0] == "validate"
    assert "must take the message" in failures["nomessage"][1]
    assert "unsupported type" in failures["badtype"][1]
    assert "/z is defined twice" in failures["twice"][1]


async def test_the_most_specific_command_wins(config) -> None:
    class Todo(NekoPluginBase):
        @command("todo")
        async def todo(self, message, text: Rest = ""):
            return f"todo {text!r}"

        @command("add", group="todo")
        async def add(self, message, item: str):
            return f"added {item}"

    async with open_host(config, plugins={"todo": Todo}) as host:
        assert await replies(host, "/todo add milk") == [("todo", "reply", "added milk")]
        assert await replies(host, "/todo list") == [("todo", "reply", "todo 'list'")]
        assert await replies(host, "/todo") == [("todo", "reply", "todo ''")]


@both_ways
async def test_commands_reach_a_plugin_in_its_own_process_too(config) -> None:
    from neko_reminders import Reminders

    async with open_host(config, plugins={"reminders": Reminders}) as host:
        assert await replies(host, "/countdown 0") == [
            ("reminders", "reply", "countdown must be 1-3600 seconds")
        ]
        assert await replies(host, "/countdown 2") == [
            ("reminders", "reply", "2s countdown started!")
        ]
        [(_, kind, _)] = await replies(host, "/countdown x")
        assert kind == "usage"


STOPPER = """
from nekohooks import NekoPluginBase
from nekohooks.messages import STOP, on_message


class Stopper(NekoPluginBase):
    @on_message("halt", priority=5)
    async def halt(self, message):
        yield "halting"
        yield STOP
"""


@both_ways
async def test_stop_crosses_the_process_boundary(config, tmp_path, monkeypatch) -> None:
    (tmp_path / "neko_stopper_mod.py").write_text(STOPPER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    from neko_stopper_mod import Stopper  # type: ignore[import-not-found]

    async with open_host(config, plugins={"stopper": Stopper, "quiet": Quiet}) as host:
        assert await replies(host, "halt now") == [("stopper", "reply", "halting")]
        assert await replies(host, "go on") == [("quiet", "reply", "logged 5")]
