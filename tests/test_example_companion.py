"""The N.E.K.O seeds as one plugin (example_plugins/neko-companion), each entry called for real:
a loopback HTTP server, a real SQLite file, real config files, worker threads; time on MockClock."""

from __future__ import annotations

import json
import sqlite3
from contextlib import AbstractAsyncContextManager, closing
from pathlib import Path

import pytest
import trio
import trio.testing
from modes import both_ways, harness_both_ways
from neko_companion import Companion

from nekohooks import HostConfig, open_host
from nekohooks.errors import InvalidArguments
from nekohooks.records import PluginState
from nekohooks.testing import PluginHarness, check_plugin, open_harness

PLUGINS = {"companion": Companion}


def home_of(config: HostConfig) -> Path:
    return config.home / "plugins" / "companion"


@both_ways
async def test_async_task_runs_aiohttp_on_the_plugins_asyncio_loop(config, http_server) -> None:
    async with open_host(config, plugins=PLUGINS) as host:
        spec = dict(host.entries())["companion.async_task"]
        assert spec.runs_on.value == "asyncio" and spec.input_schema["required"] == ["url"]
        result = await host.call("companion.async_task", url=f"{http_server}/json")
        assert result == {"data": {"hello": "neko", "path": "/json"}}
        call = host.call
        assert await call("companion.async_task", url=f"{http_server}/status/404") == {
            "error": "HTTP 404"
        }
        assert await call("companion.async_task", url=f"{http_server}/bytes/3") == {
            "error": "the response is not JSON"
        }
        bad = await call("companion.async_task", url="not a url")
        assert bad["error"].startswith("InvalidUrlClientError")


@both_ways
async def test_shared_state_is_consistent_under_concurrent_calls(config) -> None:
    async with open_host(config, plugins=PLUGINS) as host:

        async def writer(i: int) -> None:
            for _ in range(10):
                assert await host.call("companion.update", key=f"k{i}", value=str(i)) == {
                    "updated": True
                }

        async with trio.open_nursery() as nursery:  # 20 writers, up to 8 worker threads at once
            for i in range(20):
                nursery.start_soon(writer, i)
        snapshot = await host.call("companion.snapshot")
    assert snapshot == {"data": {f"k{i}": str(i) for i in range(20)}, "updates": 200}


@harness_both_ways
async def test_checkpoint_job_saves_shared_state_and_it_survives_a_restart(
    isolation: str, tmp_path: Path, autojump_clock
) -> None:
    db = tmp_path / "plugins" / "companion" / "data.db"

    def saved() -> dict[str, str]:
        with closing(sqlite3.connect(db)) as conn:
            return dict(conn.execute("SELECT key, value FROM shared_state").fetchall())

    def harness() -> AbstractAsyncContextManager[PluginHarness]:
        return open_harness("companion", home=tmp_path, watchdog=False, isolation=isolation)

    async with harness() as running:
        await running.call("update", key="mood", value="happy")
        await running.advance(59)
        assert saved() == {}  # the timer has not fired yet
        await running.advance(2)
        assert saved() == {"mood": "happy"}
        assert running.status().job_runs["checkpoint"] == 1
        await running.call("update", key="name", value="Neko")
    assert saved() == {"mood": "happy", "name": "Neko"}  # terminate checkpoints too
    async with harness() as running:
        snapshot = await running.call("snapshot")
        assert snapshot == {"data": {"mood": "happy", "name": "Neko"}, "updates": 0}


async def test_reliable_fetch_retries_transient_errors_with_backoff(
    config, http_server, mock_clock
) -> None:
    # Jump only after 0.1 s of real idleness: loopback I/O completes first, backoff sleeps skip.
    mock_clock.autojump_threshold = 0.1
    async with open_host(config, plugins=PLUGINS, watchdog=False) as host:
        started = trio.current_time()
        result = await host.call("companion.reliable_fetch", url=f"{http_server}/flaky/c/2")
        assert result == {"data": {"attempt": 3}}
        assert 8 <= trio.current_time() - started < 9  # two waits of 4 s (wait_exponential min)

        started = trio.current_time()
        result = await host.call("companion.reliable_fetch", url=f"{http_server}/status/503")
        assert result == {"error": "HTTP 503", "attempts": 3}
        assert 8 <= trio.current_time() - started < 9  # three attempts, two waits

        for url, error in [
            (f"{http_server}/status/404", "HTTP 404"),
            (f"{http_server}/bytes/3", "the response is not JSON"),
            ("nowhere", "UnsupportedProtocol: Request URL is missing an 'http://' or 'https://'"),
        ]:
            started = trio.current_time()
            result = await host.call("companion.reliable_fetch", url=url)
            assert result["error"].startswith(error) and "attempts" not in result
            assert trio.current_time() - started < 1  # not transient: answered at once


@both_ways
async def test_config_json_beside_plugin_toml(config) -> None:
    folder = home_of(config)
    async with open_host(config, plugins=PLUGINS) as host:
        assert await host.call("companion.get_config") == {"timeout": 30}  # bundled plugin.toml
        assert await host.call("companion.set_timeout", timeout=5) == {"timeout": 5}
        with pytest.raises(InvalidArguments) as bad:
            await host.call("companion.set_timeout", timeout=0)
        assert bad.value.argument == "timeout"
    assert (folder / "plugin.toml").is_file()
    assert (folder / "config.json").read_text() == json.dumps({"timeout": 5}, indent=2)
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temp files

    async with open_host(config, plugins=PLUGINS) as host:  # loaded again on the next start
        assert await host.call("companion.get_config") == {"timeout": 5}

    (folder / "config.json").unlink()
    (folder / "plugin.toml").write_text("[companion]\ntimeout = 12\n")  # the user's edit
    async with open_host(config, plugins=PLUGINS) as host:
        assert await host.call("companion.get_config") == {"timeout": 12}


@both_ways
async def test_a_corrupt_config_json_is_reported_by_name(config) -> None:
    home_of(config).mkdir(parents=True)
    (home_of(config) / "config.json").write_text("{not json")
    async with open_host(config, plugins=PLUGINS) as host:
        status = host.status("companion")
    assert status.state is PluginState.RESTARTING and status.phase == "startup"
    assert "corrupt config.json" in (status.last_error or "")
    assert "config.json" in (status.last_error or "")


@both_ways
async def test_records_persist_in_a_real_sqlite_file(config) -> None:
    async with open_host(config, plugins=PLUGINS) as host:
        call = host.call
        assert await call("companion.save", key="a", value="1") == {"saved": True}
        assert await call("companion.save", key="b", value="2") == {"saved": True}
        assert await call("companion.save", key="a", value="3") == {"saved": True}  # replaces
        recent = await call("companion.records")
        assert [(r["key"], r["value"]) for r in recent] == [("a", "3"), ("b", "2")]
        assert [r["key"] for r in await call("companion.records", limit=1)] == ["a"]
        with pytest.raises(InvalidArguments, match="limit"):
            await call("companion.records", limit=0)
        assert await call("companion.load", key="zzz") == {"key": "zzz", "found": False}

    async with open_host(config, plugins=PLUGINS) as host:  # a new run reads the same file
        loaded = await host.call("companion.load", key="a")
    assert loaded["found"] is True and loaded["value"] == "3" and loaded["created_at"]

    with closing(sqlite3.connect(home_of(config) / "data.db")) as conn:
        rows = conn.execute("SELECT key, value FROM records ORDER BY key").fetchall()
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert rows == [("a", "3"), ("b", "2")]


def test_companion_keeps_the_contract(tmp_path: Path) -> None:
    # every entry with generated arguments (URLs included: they answer {"error": ...}),
    # lifecycles, the checkpoint job over mock days, and nothing holds the trio loop
    report = check_plugin("companion", max_examples=15, home=tmp_path)
    assert report.ok and len(report.entries) == 9 and report.jobs == ("checkpoint",)
