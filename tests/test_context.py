"""The plugin context against real components: a loopback HTTP server and SQLite files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import types

import httpx
import pytest
import trio

from nekohooks import HostConfig, NekoPluginBase, PluginStore, open_host, plugin_entry, retry
from nekohooks._store import integrity_ok
from nekohooks.errors import DownloadError, DownloadTooLarge, StoreError, UnsafePath
from nekohooks.records import PluginState


class Net(NekoPluginBase):
    @plugin_entry(id="ctx")
    async def ctx_of(self):
        return None


async def _ctx(host):
    return host.runners["net"].ctx


async def test_http_timeout_leaves_the_client_usable(config, http_server) -> None:
    async with open_host(config, plugins={"net": Net}, watchdog=False) as host:
        ctx = await _ctx(host)
        with pytest.raises(httpx.TimeoutException):
            await ctx.http.get(f"{http_server}/slow/0.5", timeout=0.1)
        response = await ctx.http.get(f"{http_server}/json")
        assert response.json()["hello"] == "neko"
        assert response.request.headers["user-agent"].endswith("(+plugin net)")
    assert ctx.http.is_closed  # closed when the plugin stopped


async def test_retry_backs_off_on_a_flaky_server(http_server) -> None:
    attempts: list[float] = []  # when each attempt started
    answered: list[float] = []  # when each attempt's response (or error) came

    @retry(attempts=4, initial=0.05, jitter=0)
    async def fetch(client: httpx.AsyncClient, url: str) -> dict:  # type: ignore[type-arg]
        attempts.append(trio.current_time())
        try:
            response = await client.get(url)
        finally:
            answered.append(trio.current_time())
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async with httpx.AsyncClient() as client:
        assert await fetch(client, f"{http_server}/flaky/k/2") == {"attempt": 3}
        # The waits between an answer and the next attempt: 0.05 s, then 0.1 s (exponential).
        # A loaded machine can only make a sleep longer, so the bounds are from below.
        waits = [start - end for start, end in zip(attempts[1:], answered, strict=False)]
        assert len(attempts) == 3 and waits[0] >= 0.05 and waits[1] >= 0.1
        attempts.clear()
        with pytest.raises(httpx.HTTPStatusError):  # 404 is not transient: one attempt
            await fetch(client, f"{http_server}/status/404")
        assert len(attempts) == 1
        attempts.clear()
        answered.clear()
        with pytest.raises(httpx.HTTPStatusError, match="503"):  # gives up, real error raised
            await fetch(client, f"{http_server}/flaky/z/10")
        assert len(attempts) == 4


def test_sync_retry(http_server) -> None:
    import requests

    calls = []

    @retry(attempts=3, initial=0.01, jitter=0, when=lambda e: isinstance(e, requests.HTTPError))
    def fetch(url: str) -> dict:  # type: ignore[type-arg]
        calls.append(1)
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    assert fetch(f"{http_server}/flaky/s/1") == {"attempt": 2} and len(calls) == 2


async def test_concurrent_fetches_count_partial_failures(config, http_server) -> None:
    async with open_host(config, plugins={"net": Net}, watchdog=False) as host:
        ctx = await _ctx(host)
        urls = [f"{http_server}/users/{n}" for n in ("a", "b")] + [f"{http_server}/status/500"]
        ok: list[str] = []
        failed: list[str] = []

        async def one(url: str) -> None:
            try:
                (await ctx.http.get(url)).raise_for_status()
                ok.append(url)
            except httpx.HTTPError:
                failed.append(url)

        async with trio.open_nursery() as nursery:
            for url in urls:
                nursery.start_soon(one, url)
        assert (len(ok), len(failed)) == (2, 1)


async def test_download_is_atomic_limited_and_confined(config, http_server) -> None:
    async with open_host(config, plugins={"net": Net}, watchdog=False) as host:
        ctx = await _ctx(host)
        path = await ctx.download(f"{http_server}/bytes/5000", "files/a.bin")
        assert path == ctx.data_dir / "downloads" / "files" / "a.bin"
        assert path.read_bytes() == b"x" * 5000
        (ctx.data_dir / "downloads" / "keep.bin").write_bytes(b"old")
        with pytest.raises(DownloadTooLarge):
            await ctx.download(f"{http_server}/bytes/5000", "keep.bin", max_bytes=100)
        with pytest.raises(DownloadTooLarge):
            await ctx.download(f"{http_server}/chunked/5000", "keep.bin", max_bytes=100)
        assert (ctx.data_dir / "downloads" / "keep.bin").read_bytes() == b"old"
        with pytest.raises(DownloadError, match="HTTP 404"):
            await ctx.download(f"{http_server}/status/404", "missing.bin")
        assert sorted(p.name for p in (ctx.data_dir / "downloads").iterdir()) == [
            "files",
            "keep.bin",
        ]
        (ctx.data_dir / "downloads" / "link").symlink_to("/tmp")
        before = dict(http_server_hits())
        for name in ("../x", "/etc/passwd", "a/../../x", "C:\\x", "link/x", ""):
            with pytest.raises(UnsafePath):
                await ctx.download(f"{http_server}/bytes/1", name)
        assert http_server_hits() == before  # refused before any request


def http_server_hits() -> dict[str, int]:
    from httpserver import Handler as _Handler

    return dict(_Handler.hits)


async def test_store_round_trip_and_atomic_batches(tmp_path) -> None:
    store = PluginStore(tmp_path / "s.sqlite3", plugin="p")
    await store.set("a", {"x": [1, 2.5, "three", None, True]})
    await store.set_many({"b%": 1, "b_": 2, "bz": 3})
    assert await store.get("a") == {"x": [1, 2.5, "three", None, True]}
    assert await store.keys("b%") == ["b%"] and await store.keys("b") == ["b%", "b_", "bz"]
    with pytest.raises(StoreError, match="not JSON"):
        await store.set_many({"c": 1, "d": object()})
    assert await store.get("c") is None  # nothing of the failed batch was written
    assert await store.delete("a") is True and await store.delete("a") is False
    await store.aclose()
    with pytest.raises(StoreError, match="closed"):
        await store.get("b%")
    assert integrity_ok(tmp_path / "s.sqlite3")


async def test_corrupt_store_is_reported_and_left_alone(tmp_path) -> None:
    path = tmp_path / "bad.sqlite3"
    garbage = os.urandom(4096)
    path.write_bytes(garbage)
    store = PluginStore(path, plugin="p")
    with pytest.raises(StoreError, match="'p'"):
        await store.set("k", 1)
    assert path.read_bytes() == garbage


WRITER = """
import sys, trio
from pathlib import Path
from nekohooks import PluginStore

async def main():
    store = PluginStore(Path(sys.argv[1]), plugin="p")
    i = int(sys.argv[2])
    while True:
        await store.set(f"k{i}", {"i": i, "pad": "x" * (i % 500)})
        print(i, flush=True)
        i += 1

trio.run(main)
"""


def test_committed_writes_survive_sigkill(tmp_path) -> None:
    path = tmp_path / "store.sqlite3"
    committed: list[int] = []
    kills = 10
    for _ in range(kills):
        start = committed[-1] + 1 if committed else 0
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WRITER), str(path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for _ in range(20 + len(committed) % 17):  # a different point each time
            committed.append(int(proc.stdout.readline()))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        async def check() -> None:
            store = PluginStore(path, plugin="p")
            for i in committed:
                assert await store.get(f"k{i}") == {"i": i, "pad": "x" * (i % 500)}
            await store.aclose()

        trio.run(check)
        assert integrity_ok(path)
    assert len(committed) >= kills * 20


async def test_corrupt_plugin_toml_fails_only_that_plugin(tmp_path) -> None:
    config = HostConfig(home=tmp_path)
    bad_home = tmp_path / "plugins" / "bad"
    bad_home.mkdir(parents=True)
    (bad_home / "plugin.toml").write_text("this is = = not toml")
    async with open_host(config, plugins={"bad": Net, "good": Net}, watchdog=False) as host:
        status = host.status("bad")
        assert status.state in (PluginState.RESTARTING, PluginState.FAILED)
        assert status.phase == "config" and "corrupt plugin.toml" in (status.last_error or "")
        assert host.status("good").state is PluginState.RUNNING
    assert (bad_home / "plugin.toml").read_text() == "this is = = not toml"


async def test_a_transport_plugin_delivers_messages_before_the_sink(config) -> None:
    from nekohooks import hookimpl

    delivered: list[tuple[str, str, str]] = []
    sunk: list[tuple[str, str, str]] = []

    class Transport:
        @hookimpl
        async def neko_deliver_message(self, plugin, target, message):
            if target.startswith("tg:"):
                delivered.append((plugin, target, message))
                return True
            return None  # not ours: let the next transport or the sink have it

    class Sender(NekoPluginBase):
        @plugin_entry(id="send")
        async def send(self, target: str):
            await self.ctx.send_message(target, "hi")

    async with open_host(
        config,
        plugins={"tg": Transport(), "sender": Sender},
        message_sink=lambda p, t, m: sunk.append((p, t, m)),
        watchdog=False,
    ) as host:
        await host.call("sender.send", target="tg:42")
        await host.call("sender.send", target="irc:#neko")
    assert delivered == [("sender", "tg:42", "hi")]
    assert sunk == [("sender", "irc:#neko", "hi")]


def test_warm_http_leaves_nothing_for_a_plugin_s_first_client_to_import() -> None:
    """After ``warm_http()`` (``neko run`` and the contract kit call it before any plugin
    starts) a plugin's first ``ctx.http`` imports nothing and reads no CA bundle on the loop."""
    script = textwrap.dedent(
        """
        import sys
        from nekohooks._net import make_http_client, tls_context, warm_http
        assert "httpx" not in sys.modules and "httpcore" not in sys.modules
        warm_http()
        before = set(sys.modules)
        make_http_client("p")
        print(sorted(set(sys.modules) - before), tls_context.cache_info().misses)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert out[0] == "[]", out  # no module imported by the first client
    assert out[1] == "1", out  # the TLS settings were built once, by warm_http


def test_reads_http_finds_plugins_that_use_ctx_http() -> None:
    """Which plugins' processes warm the HTTP stack before they start (isolated children)."""
    from nekohooks._net import reads_http
    from nekohooks._watchdog import plugin_code
    from nekohooks.discovery import Registry

    def uses_http(plugin: object) -> bool:
        return reads_http(plugin_code([Registry().add("p", plugin)]))

    class Direct(NekoPluginBase):
        async def fetch(self) -> object:
            return await self.ctx.http.get("https://example.org")

    class Nested(NekoPluginBase):
        async def startup(self) -> None:
            async def later() -> None:
                await self.ctx.http.get("https://example.org")

            self.ctx.tasks.start("later", later)

    class Child(Direct):  # inherits a method that reads it
        pass

    class Offline(NekoPluginBase):
        async def greet(self, name: str) -> str:
            return f"hello {name}"

    module = types.ModuleType("plugin_module")
    exec(
        "async def fetch(ctx):\n    return await ctx.http.get('https://example.org')", vars(module)
    )
    assert uses_http(Direct) and uses_http(Nested) and uses_http(Child)
    assert uses_http(module)
    assert not uses_http(Offline)  # nekohooks' own base class does not read it
    assert not uses_http(types.ModuleType("empty"))
