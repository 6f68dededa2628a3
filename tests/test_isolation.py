"""Isolated plugins (``isolation = "process"``): same behaviour as in process, and every fault of
the issue's matrix contained in the plugin's process, reported with plugin and phase, restarted.

Real child processes on trio's real clock (a plugin's process keeps real time); each test starts
one or two of them, so there are few tests and each checks a whole story.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from isoplugins import Faulty, Neighbour

from nekohooks import (
    EntryFailed,
    EntryTimeout,
    HostConfig,
    InvalidArguments,
    Limits,
    PluginState,
    PluginStatus,
    PluginUnavailable,
    RestartPolicy,
    open_host,
)
from nekohooks._config import PluginOptions
from nekohooks.isolation import ProcessRunner, RemoteError

FAST = RestartPolicy(max_restarts=2, window=60, initial_backoff=0.05, max_backoff=0.1, jitter=0)
PLUGINS = {"faulty": Faulty, "neighbour": Neighbour}


def config_for(home: Path, **options: Any) -> HostConfig:
    """``faulty`` isolated (unless ``isolation="none"``), ``neighbour`` in process."""
    options.setdefault("isolation", "process")
    return HostConfig(
        home=home,
        restart=FAST,
        limits=Limits(terminate_grace=1.0),
        plugin_options={"faulty": PluginOptions(**options)},
    )


def set_fault(home: Path, phase: str, mode: str) -> None:
    folder = home / "plugins" / "faulty"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(f'[fault]\n{phase} = "{mode}"\n')


async def settled(host: Any, restarts: int, state: PluginState = PluginState.RUNNING) -> PluginStatus:
    """Wait (real time, 20 s at most) until faulty has restarted ``restarts`` times and is in ``state``."""
    with trio.fail_after(20):
        while True:
            status: PluginStatus = host.status("faulty")
            if status.restarts >= restarts and status.state is state:
                return status
            await trio.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.parametrize("isolation", ["none", "process"])
async def test_an_isolated_plugin_behaves_as_in_process(
    tmp_path: Path, isolation: str, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[tuple[str, str, Any]] = []
    caplog.set_level(logging.INFO)
    async with open_host(
        config_for(tmp_path, isolation=isolation),
        plugins=PLUGINS,
        message_sink=lambda *message: sent.append(message),
    ) as host:
        runner = host.runners["faulty"]
        assert isinstance(runner, ProcessRunner) is (isolation == "process")
        value = {"list": [1, "two", None], "nested": {"x": 1.5, "flag": True}}
        assert await host.call("faulty.echo", value=value) == value
        assert await host.call("faulty.count", n=3) == [0, 1, 2]
        assert [i async for i in host.stream("faulty.sync_count", n=4)] == [0, 1, 2, 3]
        pid = await host.call("faulty.pid")
        assert (pid != os.getpid()) is (isolation == "process")
        assert await host.call("faulty.home") == str(tmp_path / "plugins" / "faulty")
        with pytest.raises(InvalidArguments):
            await host.call("faulty.count", n="three")
        with pytest.raises(EntryFailed, match="RuntimeError: raised on request") as failed:
            await host.call("faulty.fault", mode="raise")
        cause = failed.value.__cause__
        assert isinstance(cause, RemoteError if isolation == "process" else RuntimeError)
        with pytest.raises(EntryTimeout, match="timed out after 0.3s"):
            await host.call("faulty.slow")
        await host.call("faulty.tell", target="alice", text="hi")
        await trio.sleep(0.5)  # two job runs at least
        status = host.status("faulty")
        assert status.state is PluginState.RUNNING and status.job_runs["tick"] >= 1
    assert sent == [("faulty", "alice", "hi")]
    told = [r for r in caplog.records if r.getMessage() == "told alice: hi"]
    assert told and told[0].name == "neko.plugin.faulty"


# ---- the fault matrix ------------------------------------------------------------------------

ENTRY_FAULTS = {
    # fault: (entry, arguments, the error of the call, the plugin's last error)
    "os._exit": ("fault", {"mode": "exit"}, PluginUnavailable, "exited with code 3"),
    "os._exit in a thread": ("sync_fault", {"mode": "exit"}, PluginUnavailable, "code 3"),
    "segfault": ("fault", {"mode": "segfault"}, PluginUnavailable, "SIGSEGV"),
    "SIGKILL": ("kill_self", {}, PluginUnavailable, "killed by SIGKILL"),
    "deaf entry": ("deaf", {}, EntryTimeout, "ignored its cancellation for 1s"),
    "CPU loop": ("spin", {}, EntryTimeout, "ignored its cancellation"),
}


@pytest.mark.parametrize("fault", ENTRY_FAULTS)
async def test_a_fault_in_an_entry_is_contained_reported_and_restarted(
    tmp_path: Path, fault: str
) -> None:
    entry, arguments, error, reason = ENTRY_FAULTS[fault]
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        first = await host.call("faulty.pid")
        in_flight: list[BaseException] = []

        async def waiting_call() -> None:  # in flight when the process dies
            try:
                await host.call("faulty.sleep", seconds=30)
            except PluginUnavailable as exc:
                in_flight.append(exc)

        started = time.monotonic()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiting_call)
            await trio.sleep(0.05)
            with pytest.raises(error) as failed:
                await host.call(f"faulty.{entry}", **arguments)
        assert failed.value.plugin == "faulty"
        assert time.monotonic() - started < 5  # timeout 0.5 s + grace 1 s at most, else at once
        assert len(in_flight) == 1 and "during the call to 'sleep'" in str(in_flight[0])
        assert await host.call("neighbour.ping") == "pong"  # the host and its neighbours go on
        status = await settled(host, restarts=1)
        both = " or ".join(sorted([repr(entry), "'sleep'"]))
        culprits = f"entry {entry!r}" if error is EntryTimeout else f"entry {both}"
        assert status.phase == culprits and reason in (status.last_error or "")
        assert await host.call("faulty.pid") != first  # a new process serves again
        assert not alive(first)


@pytest.mark.parametrize("phase", ["startup", "periodic", "terminate"])
async def test_os_exit_in_a_lifecycle_phase_is_reported_with_that_phase(
    tmp_path: Path, phase: str
) -> None:
    set_fault(tmp_path, phase, "exit")
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        if phase == "startup":  # every start fails: restarted, then given up
            status = await settled(host, restarts=FAST.max_restarts, state=PluginState.FAILED)
            assert status.phase == "startup"
        elif phase == "periodic":
            status = await settled(host, restarts=1)
            assert status.phase == "periodic 'tick'"
        else:
            assert await host.call("faulty.echo", value=1) == 1
        assert await host.call("neighbour.ping") == "pong"
    status = host.status("faulty")
    assert status.phase == ("terminate" if phase == "terminate" else status.phase)
    assert "its process exited with code 3" in (status.last_error or "")


async def test_a_memory_limit_is_enforced_by_the_os_and_reported(tmp_path: Path) -> None:
    config = config_for(tmp_path, memory_limit=256 << 20)
    async with open_host(config, plugins=PLUGINS) as host:
        assert await host.call("faulty.hog", mebibytes=16) == 16 << 20
        with pytest.raises(EntryFailed, match="exceeded its memory limit of 256 MiB"):
            await host.call("faulty.hog", mebibytes=1024)
        status = await settled(host, restarts=1)
        assert status.phase == "entry 'hog'"
        assert "exceeded its memory limit of 256 MiB" in (status.last_error or "")
        assert await host.call("faulty.hog", mebibytes=16) == 16 << 20


async def test_the_plugins_own_children_die_with_its_process(tmp_path: Path) -> None:
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        grandchild = await host.call("faulty.fork")
        assert alive(grandchild)
        with pytest.raises(PluginUnavailable):
            await host.call("faulty.kill_self")
        await settled(host, restarts=1)
        assert not alive(grandchild)
        last = await host.call("faulty.fork")
    assert not alive(last)  # a clean stop takes them too


async def test_malformed_frames_and_log_floods_are_the_plugins_fault(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        await host.call("faulty.flood", lines=20_000)
        with pytest.raises(PluginUnavailable):
            await host.call("faulty.garbage")
        status = await settled(host, restarts=1)
        assert status.phase == "transport" and "malformed frame" in (status.last_error or "")
        assert await host.call("faulty.echo", value="still here") == "still here"
    flood = [r for r in caplog.records if r.getMessage().startswith("line ")]
    assert 500 < len(flood) < 5000  # the burst, then the rate
    dropped = [r for r in caplog.records if "log lines from its process" in r.getMessage()]
    assert dropped and all("plugin 'faulty': dropped" in r.getMessage() for r in dropped)
