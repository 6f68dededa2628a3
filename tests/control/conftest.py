"""Fixtures for the control API: a short home (Unix socket paths hold ~100 bytes), a host with
test plugins serving its control API, and an httpx client on its socket."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trio

from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
from nekohooks.control import open_control


class Probe(NekoPluginBase):
    """Entries of every kind, and a record of what was cancelled and closed."""

    cancelled: list[str]
    closed: list[str]

    def __init__(self, ctx):
        super().__init__(ctx)
        self.cancelled = []
        self.closed = []
        self.hang_cancelled = trio.Event()
        self.trickle_closed = trio.Event()

    @plugin_entry(id="echo")
    async def echo(self, text: str) -> str:
        return text

    @plugin_entry(id="add")
    def add(self, a: int, b: int) -> int:
        return a + b

    @plugin_entry(id="noop")
    async def noop(self) -> None:
        return None

    @plugin_entry(id="boom")
    async def boom(self) -> None:
        raise ValueError("kaboom")

    @plugin_entry(id="hang")
    async def hang(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            self.cancelled.append("hang")
            self.hang_cancelled.set()

    @plugin_entry(id="count")
    async def count(self, n: int):
        for i in range(n):
            yield i

    @plugin_entry(id="trickle")
    async def trickle(self):
        try:
            yield "first"
            await trio.sleep_forever()
            yield "never"
        finally:
            self.closed.append("trickle")
            self.trickle_closed.set()


@pytest.fixture
def home() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nk-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def served(home: Path) -> AsyncIterator[tuple[object, object]]:
    """``(host, server)``: the probe plugin running, its control API on ``home``'s socket."""
    async with (
        open_host(HostConfig(home=home), plugins={"probe": Probe}, watchdog=False) as host,
        open_control(host, home=home, listen=("127.0.0.1", 0)) as server,
    ):
        yield host, server


@pytest.fixture
async def api(served) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the served host's Unix socket."""
    _, server = served
    transport = httpx.AsyncHTTPTransport(uds=str(server.socket))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://localhost", timeout=10
    ) as client:
        yield client
