"""Table operations through the API, one by one: disable and enable (kept across a host
restart), restart, reload refused or rolled back, rescan, and the event stream."""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from plugin_factory import TempVenv, build_wheel

from nekohooks import HostConfig
from nekohooks._config import PluginFilter, PluginOptions
from nekohooks._errors import PluginError, PluginUnavailable
from nekohooks.control import ControlClient
from nekohooks.control._disabled import deny_disabled, read_disabled

from .conftest import Probe, ThreadedHost

SOURCE = """
from nekohooks import NekoPluginBase, plugin_entry

VERSION = {version}
{extra}

class Plugin(NekoPluginBase):
    @plugin_entry(id="version")
    async def version(self):
        return VERSION
"""


def _wheel(out: Path, version: int, extra: str = "") -> Path:
    return build_wheel(
        out / f"v{version}",
        "neko-ops-gamma",
        {"neko_ops_gamma/__init__.py": SOURCE.format(version=version, extra=extra)},
        entry_points={"gamma": "neko_ops_gamma:Plugin"},
        version=f"{version}.0.0",
    )


@pytest.fixture
def venv(tmp_path: Path) -> Iterator[TempVenv]:
    env = TempVenv(tmp_path / "venv")
    sys.path.append(str(env.site))
    try:
        yield env
    finally:
        sys.path.remove(str(env.site))
        for name in [m for m in sys.modules if m.startswith("neko_ops_")]:
            del sys.modules[name]


def _start(
    home: Path, *, isolated: bool = False, **options: object
) -> tuple[ThreadedHost, ControlClient]:
    only = PluginFilter(frozenset({"gamma"}))  # not the example plugins installed here
    process = {"gamma": PluginOptions(isolation="process")} if isolated else {}
    config = deny_disabled(HostConfig(home=home, plugin_filter=only, plugin_options=process))
    host = ThreadedHost(config, watchdog=False, **options)
    return host, ControlClient(socket=host.server.socket)


def test_disable_survives_a_host_restart_and_enable_imports_it_then(venv, tmp_path) -> None:
    venv.install(_wheel(tmp_path / "w", 1))
    home = Path(tempfile.mkdtemp(prefix="nko-"))
    host, client = _start(home)
    try:
        assert client.action("gamma", "disable")["status"] == "disabled"
        with pytest.raises(PluginUnavailable, match="neko enable gamma"):
            client.call("gamma.version")
    finally:
        client.close()
        host.close()
    assert read_disabled(home) == {"gamma"}
    host, client = _start(home)  # a new host: gamma is not even imported
    try:
        assert {r["name"]: r["status"] for r in client.plugins()}["gamma"] == "disabled"
        with pytest.raises(PluginUnavailable, match="is disabled"):
            client.call("gamma.version")
        assert client.action("gamma", "enable")["status"] == "running"
        assert client.call("gamma.version") == 1
        assert read_disabled(home) == set()
    finally:
        client.close()
        host.close()


@pytest.mark.parametrize("isolated", [False, True], ids=["in-process", "process"])
def test_reload_runs_upgraded_code_and_rolls_back_a_broken_upgrade(
    venv, tmp_path, isolated
) -> None:
    venv.install(_wheel(tmp_path / "w", 1))
    host, client = _start(Path(tempfile.mkdtemp(prefix="nko-")), isolated=isolated)
    try:
        assert client.call("gamma.version") == 1
        venv.pip("install", "--quiet", "--no-deps", "--no-index", str(_wheel(tmp_path / "w", 2)))
        assert client.call("gamma.version") == 1  # installed, not reloaded: the old code runs
        assert client.action("gamma", "reload")["version"] == "2.0.0"
        assert client.call("gamma.version") == 2
        broken = _wheel(tmp_path / "w", 3, extra="raise RuntimeError('broken release')")
        venv.pip("install", "--quiet", "--no-deps", "--no-index", str(broken))
        runner = host.host.runners["gamma"]
        with pytest.raises(PluginError, match=r"reload failed .*broken release.*keeps running"):
            client.action("gamma", "reload")
        assert host.host.runners["gamma"] is runner  # never stopped (its process, if isolated)
        assert client.call("gamma.version") == 2  # the previous code, whole
        assert sys.modules["neko_ops_gamma"].VERSION == 2  # (the host's copy, for the specs)
        assert client.plugin("gamma")["status"] == "running"
    finally:
        client.close()
        host.close()


def test_reload_is_refused_without_a_distribution_and_restart_gives_a_fresh_run(tmp_path) -> None:
    home = Path(tempfile.mkdtemp(prefix="nko-"))
    host = ThreadedHost(HostConfig(home=home), plugins={"probe": Probe}, watchdog=False)
    client = ControlClient(socket=host.server.socket)
    try:
        first = host.host.runners["probe"]
        with pytest.raises(PluginError, match="restart the host") as refused:
            client.action("probe", "reload")
        assert refused.value.plugin == "probe"
        assert host.host.runners["probe"] is first  # nothing was touched
        assert client.action("probe", "restart")["status"] == "running"
        assert host.host.runners["probe"] is not first
        assert client.call("probe.add", {"a": 1, "b": 2}) == 3
        client.action("probe", "disable")
        with pytest.raises(PluginUnavailable, match="enable it"):
            client.action("probe", "restart")
    finally:
        client.close()
        host.close()


def test_the_event_stream_reports_table_changes_as_sse_and_json_lines(tmp_path) -> None:
    home = Path(tempfile.mkdtemp(prefix="nko-"))
    host = ThreadedHost(HostConfig(home=home), plugins={"probe": Probe}, watchdog=False)
    client = ControlClient(socket=host.server.socket)
    lines: list[dict[str, object]] = []
    sse: list[str] = []
    subscribed = threading.Barrier(3, timeout=10)

    def follow_jsonl() -> None:
        transport = httpx.HTTPTransport(uds=str(host.server.socket))
        with (
            httpx.Client(transport=transport, base_url="http://x", timeout=10) as http,
            http.stream("GET", "/v1/events", params={"format": "jsonl"}) as response,
        ):
            chunks = response.iter_lines()
            assert next(chunks) == ""  # the stream's first (blank) line: subscribed
            subscribed.wait()
            for line in chunks:
                if not line:
                    continue
                event = json.loads(line)
                lines.append(event)
                if event["kind"] == "state" and event["data"]["state"] == "running":
                    return

    def follow_sse() -> None:
        transport = httpx.HTTPTransport(uds=str(host.server.socket))
        with (
            httpx.Client(transport=transport, base_url="http://x", timeout=10) as http,
            http.stream("GET", "/v1/events") as response,
        ):
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = response.iter_lines()
            assert next(chunks).startswith(":")  # the stream's first comment: subscribed
            subscribed.wait()
            for line in chunks:
                sse.append(line)
                if line.startswith("data:") and '"state":"running"' in line:
                    return

    threads = [threading.Thread(target=follow_jsonl), threading.Thread(target=follow_sse)]
    try:
        for thread in threads:
            thread.start()
        subscribed.wait()
        client.action("probe", "restart")
        for thread in threads:
            thread.join(10)
            assert not thread.is_alive()
    finally:
        client.close()
        host.close()
    states = [e["data"]["state"] for e in lines if e["kind"] == "state"]
    assert states[-1] == "running" and "stopped" in states
    assert all(e["plugin"] == "probe" for e in lines)
    assert "event: state" in sse
    data = [json.loads(line[5:]) for line in sse if line.startswith("data:")]
    assert [d["data"]["state"] for d in data if d["kind"] == "state"] == states
