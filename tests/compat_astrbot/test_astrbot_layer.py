"""The AstrBot layer's mapping, on a small plugin written with the names the layer supports:
command groups, permissions, message types, regex, stop_event, llm_tool, config, data dir,
initialize/terminate, and the ``astrbot`` names existing only inside plugins loaded this way."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import trio

from nekohooks import open_host
from nekohooks.compat.astrbot import load_folder
from nekohooks.messages import Message
from nekohooks.records import PluginState
from nekohooks.testing import check_plugin

MAIN = '''
from astrbot.api import AstrBotConfig, logger
from astrbot.api.event import AstrMessageEvent, MessageChain, filter
from astrbot.api.star import Context, Star, StarTools, register
import astrbot.api.message_components as Comp

LOG = []


@register("demo", "tester", "A demo of the mapping", "0.1.0")
class Demo(Star):
    def __init__(self, context: Context, config: AstrBotConfig):
        super().__init__(context)
        self.config = config
        LOG.append("init")

    async def initialize(self):
        LOG.append("initialize")
        if self.config["fail_first_start"] and LOG.count("initialize") == 1:
            raise RuntimeError("first start fails")

    @filter.on_astrbot_loaded()
    async def loaded(self):
        LOG.append("loaded")

    @filter.command_group("math")
    def math(self):
        pass

    @math.command("add", alias={"plus"})
    async def add(self, event: AstrMessageEvent, a: int, b: int = 1):
        """Add two numbers"""
        yield event.plain_result(f"{a + b}")

    @filter.permission_type(filter.PermissionType.ADMIN)
    @filter.command("shutdown")
    async def shutdown(self, event: AstrMessageEvent):
        yield event.plain_result("bye")

    @filter.command("whoami")
    async def whoami(self, event: AstrMessageEvent):
        path = StarTools.get_data_dir() / "seen.txt"
        path.write_text(event.get_sender_id())
        await event.send(MessageChain().message("sent directly"))
        yield event.chain_result([Comp.Plain(f"{event.get_sender_name()} "), Comp.Plain(event.message_str)])
        yield event.image_result("https://example.invalid/cat.png")

    @filter.regex(r"^secret")
    async def secret(self, event: AstrMessageEvent):
        event.stop_event()
        yield event.plain_result("hush")

    @filter.event_message_type(filter.EventMessageType.GROUP_MESSAGE)
    async def in_groups(self, event: AstrMessageEvent):
        yield event.plain_result(f"group {event.get_group_id()} {self.config['greeting']}")

    @filter.llm_tool(name="double")
    async def double(self, event: AstrMessageEvent, n: int):
        """Double a number.

        Args:
            n(number): the number
        """
        return str(2 * n)

    async def terminate(self):
        LOG.append("terminate")
        logger.info("terminated")
'''

SCHEMA = {
    "greeting": {"type": "string", "default": "hi all", "description": "what to say"},
    "fail_first_start": {"type": "bool", "default": False},
}


def make_folder(root: Path, *, fail_first_start: bool = False) -> Path:
    folder = root / "astrbot_plugin_demo"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text(textwrap.dedent(MAIN))
    schema = json.loads(json.dumps(SCHEMA))
    schema["fail_first_start"]["default"] = fail_first_start
    (folder / "_conf_schema.json").write_text(json.dumps(schema))
    return folder


async def say(host, text: str, **fields) -> list[tuple[str, object]]:
    message = Message(text, origin="room", **fields)
    return [(r.kind.value, str(r.content)) async for r in host.dispatch(message)]


async def test_the_mapping(config, tmp_path: Path) -> None:
    sent: list[object] = []
    plugin = load_folder(make_folder(tmp_path), name="demo")
    sink = lambda plugin, target, message: sent.append((target, str(message)))  # noqa: E731
    async with open_host(config, plugins={"demo": plugin}, message_sink=sink) as host:
        assert host.plugins["demo"].description == "A demo of the mapping"
        assert await say(host, "/math add 2 3") == [("reply", "5")]
        assert await say(host, "/math plus 2") == [("reply", "3")]
        [(kind, text)] = await say(host, "/math add two")
        assert kind == "usage" and "usage: /math add <a:int> [b:int]" in text
        assert (await say(host, "/math"))[0][0] == "usage"
        assert await say(host, "/shutdown") == [
            ("denied", "/shutdown: permission denied (needs admin)")
        ]
        assert await say(host, "/shutdown", roles={"admin"}) == [("reply", "bye")]
        assert await say(host, "/whoami now please", sender="u1", sender_name="Ada") == [
            ("reply", "Ada whoami now please"),
            ("reply", "[Image: https://example.invalid/cat.png]"),
        ]
        assert ("room", "sent directly") in sent
        assert await say(host, "secret plans", channel="g1") == [("reply", "hush")]  # stopped
        assert await say(host, "hello", channel="g1") == [("reply", "group g1 hi all")]
        assert await say(host, "hello") == []  # private: not a group message
        assert await host.call("demo.double", n=21) == "42"
    assert (config.home / "plugins" / "demo" / "data" / "seen.txt").read_text() == "u1"
    module = host.runners["demo"].loaded.info.module
    log = __import__(module, fromlist=["LOG"]).LOG
    assert log == ["init", "initialize", "loaded", "terminate"]


async def test_terminate_runs_after_a_failed_start_and_the_restart_works(
    config, tmp_path: Path
) -> None:
    plugin = load_folder(make_folder(tmp_path, fail_first_start=True), name="demo")
    async with open_host(config, plugins={"demo": plugin}) as host:
        with trio.fail_after(10):
            while host.status("demo").state is not PluginState.RUNNING:  # noqa: ASYNC110 - polls the public status across a restart
                await trio.sleep(0.05)
        assert host.status("demo").restarts == 1
        assert await say(host, "/math add 1 1") == [("reply", "2")]
    log = __import__(host.plugins["demo"].module, fromlist=["LOG"]).LOG
    assert log == ["init", "initialize", "terminate", "init", "initialize", "loaded", "terminate"]


def test_astrbot_names_exist_only_inside_plugins_loaded_by_the_layer(tmp_path: Path) -> None:
    load_folder(make_folder(tmp_path), name="demo")
    with pytest.raises(ModuleNotFoundError):
        import astrbot  # noqa: F401
    with pytest.raises(ModuleNotFoundError):
        __import__("astrbot.api.event")


def test_an_unsupported_name_fails_the_load_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "astrbot_plugin_llm"
    folder.mkdir()
    (folder / "main.py").write_text(
        "from astrbot.api.event import filter\n"
        "from astrbot.api.star import Star\n"
        "class P(Star):\n"
        "    @filter.on_llm_request()\n"
        "    async def hook(self, event, req):\n"
        "        pass\n"
    )
    with pytest.raises(AttributeError, match=r"on_llm_request.*does not provide"):
        load_folder(folder, name="llm")
    (folder / "main.py").write_text("from astrbot.core.provider import Provider\n")
    with pytest.raises(ModuleNotFoundError, match=r"astrbot\.core\.provider"):
        load_folder(folder, name="llm")


def test_a_layer_plugin_keeps_the_contract_commands_included(tmp_path: Path) -> None:
    # its /math commands get generated command lines: fitting ones answered, others a usage reply
    plugin = load_folder(make_folder(tmp_path), name="demo")
    report = check_plugin(plugin, name="demo", max_examples=8, days=0.01)
    assert report.ok, report


async def test_terminate_on_disable_and_a_fresh_start_after(config, tmp_path: Path) -> None:
    plugin = load_folder(make_folder(tmp_path), name="demo")
    async with open_host(config, plugins={"demo": plugin}) as host:
        log = __import__(host.plugins["demo"].module, fromlist=["LOG"]).LOG
        await host.stop_plugin("demo")  # what disable does
        assert log == ["init", "initialize", "loaded", "terminate"]
        assert await say(host, "/math add 1 1") == []  # a stopped plugin answers nothing
        await host.start_plugin("demo")
        assert await say(host, "/math add 1 1") == [("reply", "2")]
        await host.remove_plugin("demo")  # what uninstall and reload do first
        assert log.count("terminate") == 2
    assert log == ["init", "initialize", "loaded", "terminate"] * 2


def test_adopt_reads_metadata_and_requirements(tmp_path: Path) -> None:
    import zipfile

    from nekohooks.compat.adopt import AdoptError, adopt

    folder = make_folder(tmp_path)
    (folder / "metadata.yaml").write_text(
        "name: astrbot_plugin_demo # the plugin's id\ndesc: A demo\nversion: v1.2.0\n"
        "author: tester\n"
    )
    (folder / "requirements.txt").write_text(
        "# pinned\naiohttp>=3.9\n\npyyaml ; python_version >= '3'\n"
    )
    wheel = adopt(folder, tmp_path / "dist")
    assert wheel.name == "neko_plugin_astrbot_plugin_demo-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read("neko_plugin_astrbot_plugin_demo-1.2.0.dist-info/METADATA").decode()
        names = archive.namelist()
    assert "Requires-Dist: aiohttp>=3.9" in metadata.splitlines()
    assert 'Requires-Dist: pyyaml; python_version >= "3"' in metadata.splitlines()
    assert "neko_plugin_folders/astrbot_plugin_demo/_conf_schema.json" in names
    (folder / "requirements.txt").write_text("aiohttp>=3.9\n-e git+https://x\n")
    with pytest.raises(AdoptError, match=r"requirements\.txt:2: not a requirement"):
        adopt(folder, tmp_path / "dist")
