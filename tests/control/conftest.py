"""Fixtures for the control API: a short home (Unix socket paths hold ~100 bytes), a host with
test plugins serving its control API, and an httpx client on its socket."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
from nekohooks.control import ControlServer, open_control


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

    @plugin_entry(id="refuse")
    async def refuse(self) -> None:
        error = LookupError("no such note")
        error.code = "NOT_FOUND"  # type: ignore[attr-defined]  # a code the plugin chose
        raise error

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


class ThreadedHost:
    """A host serving its control API in a thread of its own, as ``neko run`` would be in its
    process; for sync tests (hypothesis rules, sync clients). ``close()`` stops it."""

    host: Any
    server: ControlServer

    def __init__(self, config: HostConfig, **options: Any) -> None:
        self.config = config
        self.listen = options.pop("listen", None)
        self.options = options
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="test-host", daemon=True)
        self.thread.start()
        assert self.ready.wait(60), "the host did not start"
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        home = self.config.home
        async with (
            open_host(self.config, **self.options) as host,
            open_control(host, home=home, listen=self.listen) as server,
        ):
            self.host, self.server = host, server
            self.token = trio.lowlevel.current_trio_token()
            self.stop = trio.Event()
            self.ready.set()
            await self.stop.wait()

    def in_trio(self, fn: Any) -> Any:
        """Run ``fn()`` on the host's trio thread and return its result."""
        return trio.from_thread.run_sync(fn, trio_token=self.token)

    def close(self) -> None:
        self.in_trio(self.stop.set)
        self.thread.join(60)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
