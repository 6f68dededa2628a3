"""N.E.K.O plugin folders adapted in process: results, Err codes, store, config, messages,
timers, i18n, lazy start, unsupported names, and the contract kit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import trio

from nekohooks import HostConfig, open_host
from nekohooks.compat.neko import ErrReturned, adapt_folder
from nekohooks.errors import EntryFailed, EntryTimeout, InvalidArguments
from nekohooks.testing import check_plugin, open_harness

PLUGINS = Path(__file__).parent / "plugins"  # the N.E.K.O plugin folders of these tests

Messages = list[tuple[str, str, dict[str, Any]]]


def host(home: Path, name: str, messages: Messages) -> Any:
    async def sink(plugin: str, target: str, message: Any) -> None:
        messages.append((plugin, target, message))

    return open_host(
        HostConfig(home=home), plugins={name: adapt_folder(PLUGINS / name)}, message_sink=sink
    )


def err_of(exc: EntryFailed) -> ErrReturned:
    assert isinstance(exc.__cause__, ErrReturned), repr(exc.__cause__)
    return exc.__cause__


async def test_memo_box_results_errors_store_and_messages(tmp_path: Path) -> None:
    messages: Messages = []
    async with host(tmp_path, "memo_box", messages) as neko:
        assert await neko.call("memo_box.add", text="feed the cat") == {
            "id": "note:0001",
            "count": 1,
        }
        await neko.call("memo_box.add", text="buy fish", due_in=3600)
        await neko.call("memo_box.add", text="nap")
        with pytest.raises(EntryFailed) as full:
            await neko.call("memo_box.add", text="one too many")
        assert (err_of(full.value).code, err_of(full.value).message) == (
            "BOX_FULL",
            "the box holds 3 notes",
        )
        assert "[BOX_FULL] the box holds 3 notes" in str(full.value)
        assert full.value.code == "BOX_FULL"  # the host's error keeps the plugin's code
        with pytest.raises(EntryFailed) as missing:
            await neko.call("memo_box.forget", id="note:9999")
        assert err_of(missing.value).code == "NOT_FOUND"
        assert await neko.call("memo_box.forget", id="note:0003") == {"forgotten": "note:0003"}
        assert await neko.call("memo_box.notes") == [
            "note:0001: feed the cat",
            "note:0002: buy fish",
        ]
        with pytest.raises(InvalidArguments):
            await neko.call("memo_box.add", text="")
    (started,) = [m for _, _, m in messages if m["priority"] == 1]
    assert started["parts"] == [{"type": "text", "text": "memo box started (1)"}]
    assert started["metadata"] == {
        "description": "memo box is up",
        "message_type": "proactive_notification",
    }
    assert (started["visibility"], started["ai_behavior"]) == ([], "respond")
    stopped = messages[-1][2]  # pushed by the shutdown hook: delivered before the host returned
    assert (stopped["visibility"], stopped["ai_behavior"]) == (["hud"], "blind")
    assert {target for _, target, _ in messages} == {"neko"}
    log = (tmp_path / "plugins" / "memo_box" / "logs" / "memo_box.log").read_text(encoding="utf-8")
    assert "memo box started 1 time(s), limit 3" in log

    messages.clear()
    async with host(tmp_path, "memo_box", messages) as neko:  # a restart keeps the store
        assert await neko.call("memo_box.notes") == [
            "note:0001: feed the cat",
            "note:0002: buy fish",
        ]
    assert messages[0][2]["parts"][0]["text"] == "memo box started (2)"


async def test_the_timer_delivers_due_notes(autojump_clock: trio.testing.MockClock) -> None:
    async with open_harness(adapt_folder(PLUGINS / "memo_box"), name="memo_box") as harness:
        await harness.call("add", text="drink water")
        await harness.call("add", text="later", due_in=86400)
        await harness.advance(61)
        assert harness.jobs()["deliver_due"].runs == 2  # at start (as N.E.K.O does) and at 60 s
        assert await harness.call("notes") == ["note:0002: later"]
    texts = [m.body["parts"][0]["text"] for m in harness.messages if m.body["priority"] == 5]
    assert texts == ["drink water"]


async def test_quote_feed_config_network_parts_and_i18n(tmp_path: Path, feed_url: str) -> None:
    messages: Messages = []
    async with host(tmp_path, "quote_feed", messages) as neko:
        entries = {e.id: e for e in neko.plugins["quote_feed"].entries}
        assert sorted(entries) == ["fetch", "quote_today", "set_source"]
        assert entries["fetch"].description == "Fetch a quote and show it in chat"
        url_field = entries["set_source"].input_schema["properties"]["url"]
        assert url_field["description"] == 'An http:// URL that answers with {"text": ...}'
        with pytest.raises(EntryFailed) as unset:
            await neko.call("quote_feed.fetch")
        assert err_of(unset.value).code == "NO_SOURCE"
        assert err_of(unset.value).message == "No feed URL is set; call set_source first"
        with pytest.raises(EntryFailed) as bad_url:
            await neko.call("quote_feed.set_source", url="ftp://elsewhere")
        assert err_of(bad_url.value).code == "BAD_URL"
        assert await neko.call("quote_feed.set_source", url=feed_url) == {"url": feed_url}
        result = await neko.call("quote_feed.fetch")
        assert result == {"text": "Cats are connoisseurs of comfort.", "submitted": True}
        assert await neko.call("quote_feed.quote_today", lang="zh-CN") == {
            "output": "获取一条语录并发送到聊天"
        }
    ((_, target, message),) = messages
    assert target == "neko" and message["coalesce_key"] == "quote"
    assert message["parts"] == [
        {"type": "text", "text": "Cats are connoisseurs of comfort."},
        {"type": "image", "mime": "image/png", "binary_base64": "iVBORw0KGgo="},
    ]
    overlay = tmp_path / "plugins" / "quote_feed" / "data" / "config.overlay.json"
    assert json.loads(overlay.read_text()) == {"feed": {"url": feed_url}}


async def test_greeter_starts_on_first_call_and_infers_its_schema(tmp_path: Path) -> None:
    messages: Messages = []
    async with host(tmp_path, "greeter", messages) as neko:
        plugin = neko.plugins["greeter"]
        greet = {e.id: e for e in plugin.entries}["greet"]
        assert greet.input_schema == {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "times": {"type": "integer", "default": 1},
                "shout": {"type": "boolean", "default": False},
            },
            "required": ["name"],
            "additionalProperties": False,
        }
        assert not (tmp_path / "plugins" / "greeter" / "data" / "greeted.txt").exists()
        assert await neko.call("greeter.greet", name="Ada", times=2) == "Hello, Ada! Hello, Ada!"
        assert await neko.call("greeter.greet", name="Bo", shout=True) == "HELLO, BO!"
        with pytest.raises(InvalidArguments):
            await neko.call("greeter.greet", name="Ada", volume=11)
        about = await neko.call("greeter.about")
        assert about == {
            "id": "greeter",
            "version": "0.0.3",
            "bundled_toml": True,
            "home_toml": True,
        }
        with pytest.raises(EntryFailed) as router:
            await neko.call("greeter.route")
        assert isinstance(router.value.__cause__, NotImplementedError)
        assert "'PluginRouter' (routers) is not supported" in str(router.value)
    greeted = (tmp_path / "plugins" / "greeter" / "data" / "greeted.txt").read_text()
    assert greeted == "Ada\nBo\n"


@pytest.mark.parametrize("name", ["memo_box", "quote_feed", "greeter"])
def test_contract_kit(name: str, tmp_path: Path, feed_url: str) -> None:
    # set_source only ever points at the loopback feed; route is the unsupported-name probe.
    arguments = {"set_source": st.just({"url": feed_url})}
    report = check_plugin(
        adapt_folder(PLUGINS / name),
        name=name,
        max_examples=8,
        days=1,
        arguments=arguments if name == "quote_feed" else None,
        skip=("route",) if name == "greeter" else (),
        home=tmp_path,
    )
    assert report.violations == ()
    assert report.examples > 0


SLOW = """
import asyncio

from plugin.sdk.plugin import NekoPluginBase, Ok, plugin_entry

CANCELLED = []


class Plugin(NekoPluginBase):
    @plugin_entry(id="slow", timeout=0.5)
    async def slow(self, **_):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            CANCELLED.append("slow")
            raise
        return Ok("late")

    @plugin_entry(id="crash")
    def crash(self, **_):
        raise ValueError("plugin bug")
"""


async def test_a_timeout_cancels_the_plugins_coroutine_and_a_crash_is_an_entry_failure(
    tmp_path: Path,
) -> None:
    import sys

    folder = tmp_path / "slowpoke"
    folder.mkdir()
    (folder / "plugin.toml").write_text(
        '[plugin]\nid = "slowpoke"\nentry = "plugin.plugins.slowpoke:Plugin"\n', encoding="utf-8"
    )
    (folder / "__init__.py").write_text(SLOW, encoding="utf-8")
    plugins = {"slowpoke": adapt_folder(folder)}
    async with open_host(HostConfig(home=tmp_path / "home"), plugins=plugins) as neko:
        started = trio.current_time()
        with pytest.raises(EntryTimeout):
            await neko.call("slowpoke.slow")
        assert trio.current_time() - started < 5
        assert sys.modules["plugin.plugins.slowpoke"].CANCELLED == ["slow"]
        with pytest.raises(EntryFailed, match="ValueError: plugin bug") as crashed:
            await neko.call("slowpoke.crash")
        assert isinstance(crashed.value.__cause__, ValueError)
