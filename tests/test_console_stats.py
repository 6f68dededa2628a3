"""The console's figures per plugin: uptime, restarts, calls, failures and job timings."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import trio
from prometheus_client import CollectorRegistry, Counter

from nekohooks import HostConfig, NekoPluginBase, open_host, periodic, plugin_entry
from nekohooks._config import PluginOptions
from nekohooks.console._stats import _isolation, plugin_stats


class Ticker(NekoPluginBase):
    """Ticks every 10 s."""

    @periodic(every=10)
    async def tick(self) -> None:
        pass

    @plugin_entry(id="ping")
    def ping(self) -> str:
        return "pong"


class Broken(NekoPluginBase):
    def startup(self) -> None:
        raise RuntimeError("no")


async def test_figures_follow_the_clock_and_the_counters(
    config: HostConfig, autojump_clock: trio.testing.MockClock
) -> None:
    registry = CollectorRegistry()
    calls = Counter("neko_calls", "calls", ["plugin", "entry"], registry=registry)
    fails = Counter("neko_call_failures", "failures", ["plugin", "entry"], registry=registry)
    calls.labels("ticker", "ping").inc(3)
    fails.labels("ticker", "ping").inc()
    plugins = {"ticker": Ticker, "broken": Broken}
    async with open_host(config, plugins=plugins, watchdog=False) as host:
        await trio.sleep(25)
        stats = plugin_stats(host, registry)
        wall = time.time()
    ticker = stats["ticker"]
    assert ticker["uptime"] == pytest.approx(25, abs=0.5)
    assert (ticker["calls"], ticker["failures"], ticker["restarts"]) == (3, 1, 0)
    assert ticker["isolation"] == "in process"
    [job] = ticker["jobs"]
    assert (job["id"], job["schedule"], job["failed"], job["skipped"]) == (
        "tick",
        "every 10s",
        0,
        0,
    )
    assert job["runs"] in (2, 3)
    # the last run was under 10 s ago and the next one comes within 10 s, on the wall clock
    assert wall - 11 < job["last_run"] <= wall + 1
    assert job["next_run"] - job["last_run"] in (9, 10, 11)

    broken = stats["broken"]
    assert broken["uptime"] is None  # not running
    assert broken["calls"] == 0
    assert broken["jobs"] == []


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        (PluginOptions(), "in process"),
        (PluginOptions(isolation="process"), "process"),
        (PluginOptions(sandbox=True), "sandbox, no network"),
        (PluginOptions(sandbox=True, network=True), "sandbox"),
    ],
)
def test_isolation_is_read_from_the_plugins_options(
    tmp_path: Path, options: PluginOptions, shown: str
) -> None:
    host = SimpleNamespace(config=HostConfig(home=tmp_path, plugin_options={"p": options}))
    assert _isolation(host, "p", runner=None) == shown  # type: ignore[arg-type]
    # a process runner's own options win (a plugin with its own venv runs in a process)
    runner = SimpleNamespace(options=PluginOptions(isolation="process"))
    assert _isolation(host, "q", runner) == "process"  # type: ignore[arg-type]
