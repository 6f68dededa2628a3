"""Seed 002 as written, loaded through ``nekohooks.compat.astrbot``, against a loopback server.

The AstrBot handlers run on the plugin's asyncio thread (aiohttp, ``asyncio.create_task``) and
sleep in real time, so these tests take a few real seconds (countdown 1 s, one retry 1 s).
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
import trio
from httpserver import serve

from nekohooks import open_host
from nekohooks.compat.astrbot import load_folder
from nekohooks.messages import Message

SEED = Path(__file__).parent / "seed_002"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path.startswith("/flaky/"):
            fails = int(self.path.rsplit("/", 1)[1])
            if self.hits[self.path] <= fails:
                return self._send(503, b"try again", "text/plain")
            return self._send(200, json.dumps({"attempt": self.hits[self.path]}).encode())
        if self.path.startswith("/bytes/"):
            size = int(self.path.rsplit("/", 1)[1])
            return self._send(200, b"z" * size, "application/octet-stream")
        if self.path.startswith("/status/"):
            return self._send(int(self.path.rsplit("/", 1)[1]), b"plain words", "text/plain")
        self._send(200, json.dumps({"hello": "astrbot", "path": self.path}).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(200, b"got " + body, "text/plain")

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def web() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (GET json/text/status/flaky/bytes, POST echo)."""
    _Handler.hits = {}
    with serve(_Handler) as url:
        yield url


async def say(host, text: str) -> list[tuple[str, object]]:
    return [(r.kind.value, r.content) async for r in host.dispatch(Message(text, origin="room"))]


async def test_countdown_bounds_and_the_reply_that_comes_later(config) -> None:
    sent: list[tuple[str, str, object]] = []
    rang = trio.Event()
    plugin = load_folder(SEED, name="seed")

    def sink(plugin: str, target: str, message: object) -> None:
        sent.append((plugin, target, message))
        if message == "⏰ 1秒倒计时结束！":
            rang.set()

    async with open_host(config, plugins={"seed": plugin}, message_sink=sink) as host:
        assert await say(host, "/countdown 0") == [("reply", "倒计时必须在1-3600秒之间")]
        assert await say(host, "/countdown 3601") == [("reply", "倒计时必须在1-3600秒之间")]
        [(kind, text)] = await say(host, "/countdown ten")
        assert kind == "usage" and "usage: /countdown <seconds:int>" in text
        assert await say(host, "/countdown 1") == [("reply", "倒计时1秒开始！")]
        with trio.fail_after(10):
            await rang.wait()
        assert sent[-1] == ("seed", "room", "⏰ 1秒倒计时结束！")
    assert sent[0] == ("seed", "room", "倒计时必须在1-3600秒之间")  # replies went to the room too


async def test_get_post_and_httpx_against_a_loopback_server(config, web) -> None:
    async with open_host(config, plugins={"seed": load_folder(SEED, name="seed")}) as host:
        [(kind, text)] = await say(host, f"/fetch {web}/json")
        assert kind == "reply" and text.startswith("JSON数据: {")
        assert json.loads(text.removeprefix("JSON数据: ")) == {"hello": "astrbot", "path": "/json"}
        assert await say(host, f"/fetch {web}/status/200") == [("reply", "响应: plain words")]
        assert await say(host, f"/fetch {web}/status/404") == [("reply", "请求失败: HTTP 404")]
        assert await say(host, f"/post {web}/echo '{{\"n\": 1}}'") == [
            ("reply", 'POST响应: got {"n": 1}')
        ]
        assert await say(host, f"/post {web}/echo not-json") == [
            ("reply", "数据格式错误，请提供有效的JSON")
        ]
        assert await say(host, f"/httpx_get {web}/status/200") == [("reply", "响应: plain words")]
        assert await say(host, f"/httpx_get {web}/status/500") == [("reply", "请求失败: 500")]
        # the seed's `except aiohttp.ClientTimeout:` names a class that is not an exception,
        # so any network error makes the handler raise TypeError: reported, host unharmed
        [(kind, text)] = await say(host, "/fetch http://127.0.0.1:9/")
        assert kind == "error"
        assert text.startswith("plugin 'seed': /fetch failed: TypeError: catching classes")
        assert await say(host, f"/httpx_get {web}/status/200") == [("reply", "响应: plain words")]


async def test_retry_and_concurrent_fetch(config, web) -> None:
    async with open_host(config, plugins={"seed": load_folder(SEED, name="seed")}) as host:
        [(kind, text)] = await say(host, f"/retry_fetch {web}/flaky/1")  # one 503, then 200
        assert kind == "reply"
        assert json.loads(text.removeprefix("数据: ")) == {"attempt": 2}
        # the seed's URLs are on the internet, which the test machine does not reach
        [(kind, text)] = await say(host, "/concurrent_fetch")
        assert kind == "reply" and text.startswith("并发请求完成，成功: ") and text.endswith("/3")


async def test_download_lands_in_the_plugin_home_and_traversal_is_refused(
    config, web, tmp_path: Path
) -> None:
    home = config.home / "plugins" / "seed"
    async with open_host(config, plugins={"seed": load_folder(SEED, name="seed")}) as host:
        assert await say(host, f"/download {web}/bytes/20000 report.bin") == [
            ("reply", "文件已下载: data/downloads/report.bin")
        ]
        assert (home / "data" / "downloads" / "report.bin").read_bytes() == b"z" * 20000
        for name in ("../../../../escaped.bin", str(tmp_path / "abs.bin")):
            [(kind, text)] = await say(host, f"/download {web}/bytes/10 {name}")
            assert kind == "reply"
            assert text.startswith("下载出错: AstrBot plugin 'seed' may not write")
    assert not (config.home / "escaped.bin").exists()
    assert not list(config.home.parent.rglob("escaped.bin"))
    assert not (tmp_path / "abs.bin").exists()


async def test_background_tasks_and_terminate_cancelling_everything(config, caplog) -> None:
    caplog.set_level(logging.INFO, logger="neko.plugin.seed")
    async with open_host(config, plugins={"seed": load_folder(SEED, name="seed")}) as host:
        assert await say(host, "/countdown 3600") == [("reply", "倒计时3600秒开始！")]
        star = host.runners["seed"].instance.star
        assert star.health_checks == 1  # the task manager ran its job once at start
        assert len(star.running_tasks) == 1
        [health] = star.task_manager.tasks.values()
        [countdown] = star.running_tasks
    # host shut down: terminate ran on the plugin's loop and cancelled every task
    assert health.done()  # its runner catches CancelledError and breaks out of its loop
    assert countdown.done() and not star.running_tasks
    assert "倒计时被取消" in caplog.messages
    assert star.task_manager.tasks == {}


def _functions(tree: ast.AST) -> dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.setdefault(node.name, []).append(node)
    return found


def test_the_plugin_is_the_seed_as_written() -> None:
    """Every function of seed 002 (SEED.md, copied verbatim) is in main.py with the same syntax
    tree; the two fragments' ``__init__`` and ``terminate`` are merged, statement by statement."""
    seed = (SEED / "SEED.md").read_text(encoding="utf-8")
    ours = _functions(ast.parse((SEED / "main.py").read_text(encoding="utf-8")))
    merged = {"__init__", "terminate"}
    checked = 0
    for block in re.findall(r"```python\n(.*?)```", seed, re.DOTALL):
        for name, nodes in _functions(ast.parse(block)).items():
            for node in nodes:
                checked += 1
                if any(ast.dump(node) == ast.dump(mine) for mine in ours.get(name, [])):
                    continue
                assert name in merged, f"{name} differs from the seed"
                statements = {ast.dump(s) for mine in ours[name] for s in mine.body}
                assert all(ast.dump(s) in statements for s in node.body), name
    assert checked == 23
