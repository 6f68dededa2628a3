"""The console mounted on the control API: its session instead of the token on TCP."""

from __future__ import annotations

import functools
import re
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio
from click.testing import CliRunner

from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
from nekohooks.cli._console import console as neko_console  # not the group: it may os._exit
from nekohooks.console import open_console
from nekohooks.control import open_control


class Adder(NekoPluginBase):
    """Adds."""

    @plugin_entry(id="add")
    def add(self, a: int, b: int) -> int:
        return a + b


class Served:
    def __init__(self, base: str, socket: Path) -> None:
        self.base = base
        self.socket = socket

    async def login_link(self) -> str:
        transport = httpx.AsyncHTTPTransport(uds=str(self.socket))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as sock:
            response = await sock.post("/v1/console/login-link")
        assert response.status_code == 200, response.text
        url: str = response.json()["url"]
        return url


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    home = Path(tempfile.mkdtemp(prefix="nk-"))  # short: a Unix socket path holds ~100 bytes
    try:
        async with (
            open_host(HostConfig(home=home), plugins={"adder": Adder}, watchdog=False) as host,
            open_console(host, home=home, listen=("127.0.0.1", 0)) as console,
        ):
            server = console.server
            assert server is not None and server.tcp is not None
            assert console.base_url == f"http://127.0.0.1:{server.tcp[1]}"
            yield Served(console.base_url, server.socket)
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def logged_in(served: Served, client: httpx.AsyncClient) -> str:
    link = await served.login_link()
    assert link.startswith(served.base + "/login?code=")
    response = await client.get(link)
    assert response.status_code == 200
    page = await client.get("/")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def test_the_console_needs_a_session_and_the_api_accepts_it(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base) as client:
        refused = await client.get("/")
        assert refused.status_code == 401
        assert "Not logged in" in refused.text
        assert (await client.get("/v1/plugins")).status_code == 401

        csrf = await logged_in(served, client)
        plugins = await client.get("/v1/plugins")
        assert plugins.status_code == 200
        assert [p["name"] for p in plugins.json()] == ["adder"]

        call = "/v1/call/adder.add"
        assert (await client.post(call, json={"a": 2, "b": 3})).status_code == 401  # no CSRF
        forged = await client.post(call, json={"a": 2, "b": 3}, headers={"X-CSRF-Token": "no"})
        assert forged.status_code == 401
        done = await client.post(call, json={"a": 2, "b": 3}, headers={"X-CSRF-Token": csrf})
        assert done.json() == {"result": 5}


async def test_the_guard_still_checks_host_and_origin_for_a_session(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base) as client:
        csrf = await logged_in(served, client)
        rebound = await client.get("/", headers={"Host": "evil.example:80"})
        assert rebound.status_code == 403
        assert rebound.json()["error"]["type"] == "ForbiddenHost"
        cross = await client.post(
            "/v1/call/adder.add",
            json={"a": 1, "b": 1},
            headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
        )
        assert cross.status_code == 403
        assert cross.json()["error"]["type"] == "ForbiddenOrigin"


async def test_the_bearer_token_cannot_be_traded_for_nothing(served: Served) -> None:
    """A login link comes only from the socket or with the token, and works once."""
    async with httpx.AsyncClient(base_url=served.base) as client:
        assert (await client.post("/v1/console/login-link")).status_code == 401
        link = await served.login_link()
        assert (await client.get(link)).status_code == 200
    async with httpx.AsyncClient(base_url=served.base) as other:
        again = await other.get(link)
        assert again.status_code == 403
        assert (await other.get("/v1/plugins")).status_code == 401


def test_neko_console_without_a_running_host_says_how_to_start_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NEKO_HOME", str(tmp_path))
    result = CliRunner().invoke(neko_console, [])
    assert result.exit_code == 1
    assert "no host is running in this home" in result.output
    assert "neko run --listen 127.0.0.1:PORT" in result.output


async def test_neko_console_prints_a_link_or_says_the_host_has_no_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = Path(tempfile.mkdtemp(prefix="nk-"))
    monkeypatch.setenv("NEKO_HOME", str(home))
    invoke = functools.partial(CliRunner().invoke, neko_console, [])
    try:
        async with open_host(
            HostConfig(home=home), plugins={"adder": Adder}, watchdog=False
        ) as host:
            async with open_control(host, home=home):  # the API alone: no console
                plain = await trio.to_thread.run_sync(invoke)
            async with open_console(host, home=home, listen=("127.0.0.1", 0)) as console:
                served = await trio.to_thread.run_sync(invoke)
                assert console.base_url is not None
                async with httpx.AsyncClient(base_url=console.base_url) as client:
                    opened = await client.get(served.output.strip())
                    assert opened.status_code == 200
                    assert (await client.get("/v1/plugins")).status_code == 200
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert plain.exit_code == 1
    assert "serves no console" in plain.output
    assert served.exit_code == 0, served.output


async def test_a_console_path_cannot_climb_into_the_api(served: Served) -> None:
    """The guard lets console paths through without the token; ``..`` must not turn one into
    an API route (the router does not resolve dot segments; sent raw, as httpx would not)."""
    host, port = served.base.removeprefix("http://").split(":")

    def raw_get(path: str) -> bytes:
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
            conn.sendall(request.encode())
            return conn.recv(65536)

    for path in ("/console/../v1/plugins", "/plugins/../v1/plugins", "/console/%2e%2e/v1/plugins"):
        head = await trio.to_thread.run_sync(raw_get, path)
        assert head.startswith(b"HTTP/1.1 404"), (path, head[:200])
        assert b"adder" not in head
