"""Isolated plugins (``isolation = "process"``): same behaviour as in process, and every fault of
the issue's matrix contained in the plugin's process, reported with plugin and phase, restarted.

Real child processes on trio's real clock (a plugin's process keeps real time); each test starts
one or two of them, so there are few tests and each checks a whole story.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from isoplugins import Faulty, Neighbour
from plugin_factory import build_wheel
from processes import LineReader
from rich.console import Console
from test_cli import NEKO, neko

from nekohooks import HostConfig, Limits, RestartPolicy, load_config, open_host
from nekohooks._config import PluginOptions
from nekohooks.cli._render import status_table
from nekohooks.discovery import PluginFilter
from nekohooks.errors import (
    ConfigError,
    EntryFailed,
    EntryTimeout,
    InvalidArguments,
    PluginUnavailable,
)
from nekohooks.isolation import InstallError, ProcessRunner, RemoteError, install_isolated
from nekohooks.messages import Message
from nekohooks.records import EventKind, PluginState, PluginStatus

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


async def settled(
    host: Any, restarts: int, state: PluginState = PluginState.RUNNING
) -> PluginStatus:
    """Wait (real time, 20 s at most) until faulty has restarted ``restarts`` times and is in ``state``."""
    with trio.fail_after(20):
        while True:
            status: PluginStatus = host.status("faulty")
            if status.restarts >= restarts and status.state is state:
                return status
            await trio.sleep(0.02)


def gone(pid: int, within: float = 1.0) -> bool:
    """True once ``pid`` has exited (a SIGKILLed process still has to be scheduled to die)."""
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not alive(pid)


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
        with pytest.raises(EntryTimeout, match=r"timed out after 0\.3s"):
            await host.call("faulty.slow")
        await host.call("faulty.tell", target="alice", text="hi")
        await trio.sleep(0.5)  # two job runs at least
        status = host.status("faulty")
        assert status.state is PluginState.RUNNING and status.job_runs["tick"] >= 1
    assert sent == [("faulty", "alice", "hi")]
    told = [r for r in caplog.records if r.getMessage() == "told alice: hi"]
    assert told and told[0].name == "neko.plugin.faulty"


async def test_a_plugin_that_uses_ctx_http_has_the_http_stack_before_it_starts(
    tmp_path: Path,
) -> None:
    """Its process imports httpx and builds the TLS settings before the plugin starts, so its
    first ``ctx.http`` does not hold the loop; a plugin that never reads it pays nothing."""
    isolated = PluginOptions(isolation="process")
    config = HostConfig(home=tmp_path, plugin_options={"faulty": isolated, "neighbour": isolated})
    async with open_host(config, plugins=PLUGINS) as host:
        assert await host.call("faulty.loaded", module="httpcore")  # it reads ctx.http
        assert not await host.call("neighbour.loaded", module="httpcore")  # it does not
        assert not await host.call("neighbour.loaded", module="httpx")


@pytest.mark.parametrize("isolation", ["none", "process"])
async def test_calls_run_side_by_side_and_a_caller_giving_up_cancels_the_plugins_code(
    tmp_path: Path, isolation: str
) -> None:
    async with open_host(config_for(tmp_path, isolation=isolation), plugins=PLUGINS) as host:

        async def waits(key: str, list_: str = "started") -> None:  # real time, 10 s at most
            with trio.fail_after(10):
                while key not in (await host.call("faulty.waits"))[list_]:  # noqa: ASYNC110
                    await trio.sleep(0.01)

        echoes: list[Any] = []
        async with trio.open_nursery() as nursery:
            scopes = {key: trio.CancelScope() for key in "abc"}
            for key, scope in scopes.items():

                async def wait(key: str = key, scope: trio.CancelScope = scope) -> None:
                    with scope:
                        await host.call("faulty.wait", key=key)
                        raise AssertionError(f"{key} returned")  # only cancelling ends it

                nursery.start_soon(wait)

            async def echo(i: int) -> None:
                echoes.append(await host.call("faulty.echo", value=i))

            for i in range(20):  # answered while the three wait
                nursery.start_soon(echo, i)
            for key in "abc":
                await waits(key)
            assert await host.call("faulty.sleep", seconds=0.05) == "slept"
            scopes["a"].cancel()  # the caller gives up: the plugin's code is cancelled
            await waits("a", "cancelled")
            assert (await host.call("faulty.waits"))["cancelled"] == ["a"]  # b, c still wait
            scopes["b"].cancel()
            scopes["c"].cancel()
            await waits("c", "cancelled")
        assert sorted(echoes) == list(range(20))
        # the tasks that ran the cancelled calls serve again
        with trio.move_on_after(0.05):
            await host.call("faulty.wait", key="d")
        await waits("d", "cancelled")
        assert sorted((await host.call("faulty.waits"))["cancelled"]) == ["a", "b", "c", "d"]
        assert await host.call("faulty.echo", value="still here") == "still here"
        assert host.status("faulty").restarts == 0


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


@pytest.mark.parametrize("sandbox", [False, True], ids=["isolated", "sandboxed"])
@pytest.mark.parametrize("fault", ENTRY_FAULTS)
async def test_a_fault_in_an_entry_is_contained_reported_and_restarted(
    tmp_path: Path, fault: str, sandbox: bool
) -> None:
    entry, arguments, error, reason = ENTRY_FAULTS[fault]
    async with open_host(config_for(tmp_path, sandbox=sandbox), plugins=PLUGINS) as host:
        first = host.status("faulty").pid  # in a sandbox the plugin sees another pid namespace
        assert first is not None
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
        assert status.phase == "entry" and reason in (status.last_error or "")
        assert (status.last_error or "").startswith(f"{culprits}: ")
        assert await host.call("faulty.echo", value=1) == 1  # a new process serves again
        assert host.status("faulty").pid != first and gone(first)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("exit", "exited with code 3"), ("segfault", "killed by SIGSEGV"), ("raise", "raised")],
)
async def test_a_fault_in_a_command_handler_is_an_error_reply_and_the_process_restarts(
    tmp_path: Path, mode: str, reason: str
) -> None:
    """A chat command whose handler kills its plugin's process: the sender gets one error
    reply naming plugin and command, the neighbour still answers, a new process serves."""
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        first = host.status("faulty").pid
        message = Message(text=f"/fault {mode}", sender="tester", origin="test:chat")
        replies = [(r.plugin, r.kind.value, str(r.content)) async for r in host.dispatch(message)]
        assert len(replies) == 1, replies
        plugin, kind, content = replies[0]
        assert (plugin, kind) == ("faulty", "error")
        assert content.startswith("plugin 'faulty': /fault failed: ") and reason in content
        assert await host.call("neighbour.ping") == "pong"
        if mode != "raise":  # the process died: a new one serves
            await settled(host, restarts=1)
            assert host.status("faulty").pid != first and gone(first)
        assert await host.call("faulty.echo", value=1) == 1


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
            assert status.phase == "periodic"
            assert (status.last_error or "").startswith("job 'tick': ")
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
        assert status.phase == "entry" and (status.last_error or "").startswith("entry 'hog': ")
        assert "exceeded its memory limit of 256 MiB" in (status.last_error or "")
        assert await host.call("faulty.hog", mebibytes=16) == 16 << 20


async def test_the_plugins_own_children_die_with_its_process(tmp_path: Path) -> None:
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        grandchild = await host.call("faulty.fork")
        assert alive(grandchild)
        with pytest.raises(PluginUnavailable):
            await host.call("faulty.kill_self")
        await settled(host, restarts=1)
        assert gone(grandchild)
        last = await host.call("faulty.fork")
    assert gone(last)  # a clean stop takes them too


async def test_malformed_frames_and_log_floods_are_the_plugins_fault(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = attrs.evolve(config_for(tmp_path), restart=attrs.evolve(FAST, max_restarts=5))
    async with open_host(config, plugins=PLUGINS) as host:
        await host.call("faulty.flood", lines=20_000)
        with pytest.raises(PluginUnavailable):
            await host.call("faulty.garbage")
        status = await settled(host, restarts=1)
        assert status.phase == "entry" and "malformed frame" in (status.last_error or "")
        assert await host.call("faulty.echo", value="still here") == "still here"
        for forge, problem in [("call", "sent a Call frame"), ("state", "the host's to emit")]:
            with pytest.raises(PluginUnavailable):
                await host.call("faulty.garbage", forge=forge)
            status = await settled(host, restarts=status.restarts + 1)
            assert problem in (status.last_error or ""), status.last_error
    flood = [r for r in caplog.records if r.getMessage().startswith("line ")]
    assert 500 < len(flood) < 5000  # the burst, then the rate
    dropped = [r for r in caplog.records if "log lines from its process" in r.getMessage()]
    assert dropped and all("plugin 'faulty': dropped" in r.getMessage() for r in dropped)


# ---- no orphans: the real command, killed ----------------------------------------------------


def descendants_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in map(int, (task / "children").read_text().split()):
            found |= {child} | descendants_of(child)
    return found


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_plugin_processes_exit_with_neko_run(tmp_path: Path, how: str) -> None:
    (tmp_path / "neko.toml").write_text('[plugins]\nisolation = "process"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    env["NEKO_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [str(NEKO), "run", "--only", "hello,reminders"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        log = LineReader(proc.stderr)
        assert log.wait_for("hello: running"), log.drain(5)
        assert log.wait_for("reminders: running"), log.drain(5)
        plugins = descendants_of(proc.pid)  # the fork server and the two plugins
        assert len(plugins) == 3 and all(alive(pid) for pid in plugins)
        if how == "SIGTERM":  # a clean stop: terminate hooks run in each plugin's process
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            assert "Traceback" not in log.drain(5)
        else:
            proc.kill()
            proc.wait()
        assert all(gone(pid, within=1.0) for pid in plugins)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ---- the sandbox -----------------------------------------------------------------------------


async def test_a_sandboxed_plugin_writes_only_its_own_home(
    tmp_path: Path, http_server: str
) -> None:
    home = tmp_path / "home"
    neighbour_file = home / "plugins" / "neighbour" / "data" / "mine.txt"
    config = config_for(home, sandbox=True)
    async with open_host(config, plugins=PLUGINS) as host:
        assert host.status("faulty").state is PluginState.RUNNING, host.status("faulty")
        own = home / "plugins" / "faulty" / "note.txt"
        assert await host.call("faulty.write", path=str(own)) == "ok"
        assert own.read_text() == "written"
        neighbour_file.parent.mkdir(parents=True, exist_ok=True)  # data/ is made on first use
        neighbour_file.write_text("the neighbour's")
        with pytest.raises(EntryFailed, match=r"(FileNotFoundError|Read-only file system)"):
            await host.call("faulty.write", path=str(neighbour_file))
        for elsewhere in (home / "neko.toml", Path(__file__).parent / "planted.txt"):
            with pytest.raises(EntryFailed, match="Read-only file system"):
                await host.call("faulty.write", path=str(elsewhere))
        with pytest.raises(EntryFailed, match="ConnectError"):  # no network
            await host.call("faulty.fetch", url=f"{http_server}/json")
    assert neighbour_file.read_text() == "the neighbour's"
    assert not (Path(__file__).parent / "planted.txt").exists()
    async with open_host(config_for(home, sandbox=True, network=True), plugins=PLUGINS) as host:
        assert await host.call("faulty.fetch", url=f"{http_server}/json") == 200


async def test_a_sandbox_without_bubblewrap_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    async with open_host(config_for(tmp_path, sandbox=True), plugins=PLUGINS) as host:
        status = host.status("faulty")
        assert status.state is PluginState.FAILED and status.restarts == 0
        assert status.phase == "config" and "needs bubblewrap (bwrap)" in (status.last_error or "")
        with pytest.raises(
            PluginUnavailable, match="plugin 'faulty': is failed at config: sandbox = true"
        ):
            await host.call("faulty.echo", value=1)
        assert await host.call("neighbour.ping") == "pong"


async def test_status_shows_the_process_and_its_memory(tmp_path: Path) -> None:
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        status = host.status("faulty")
        assert status.pid == await host.call("faulty.pid")
        assert status.rss is not None and 10 << 20 < status.rss < 200 << 20
        before = status.rss
        await host.call("faulty.fork")  # its children count too
        assert (host.status("faulty").rss or 0) > before
        assert host.status("neighbour").pid is None
        console = Console(record=True, width=200, color_system=None)
        console.print(status_table(host))
        table = console.export_text()
    assert re.search(
        rf"faulty\s+│\s+running\s+│\s+\d+s\s+│\s+0\s+│.*│\s+pid {status.pid}, \d+\.\d MiB", table
    )  # state, uptime, restarts, ..., process
    assert re.search(r"neighbour\s+│\s+running\s+│.*│\s+-\s+│", table)


def test_neko_info_shows_an_isolated_plugins_process(tmp_path: Path) -> None:
    (tmp_path / "neko.toml").write_text('[plugins.hello]\nisolation = "process"\n')
    text = neko(tmp_path, "info", "hello")
    assert text.returncode == 0, text.stderr
    assert re.search(r"process: pid \d+, \d+\.\d MiB, restarts 0", text.stdout), text.stdout
    row = json.loads(neko(tmp_path, "list", "--json", "--strict", "--only", "hello").stdout)[0]
    assert row["pid"] > 0 and row["rss"] > 0 and row["restarts"] == 0


# ---- per-plugin environments -----------------------------------------------------------------


def test_two_plugins_pinning_different_versions_of_a_library_run_in_one_host(
    tmp_path: Path,
) -> None:
    wheels = tmp_path / "wheels"
    for version in ("1.0", "2.0"):
        library = {"tinylib.py": f"VERSION = {version!r}\n"}
        build_wheel(wheels, "tinylib", library, entry_points={}, version=version, group="none")
    for name, pin in (("alpha", "1.0"), ("beta", "2.0")):
        source = """
            import tinylib
            from nekohooks import NekoPluginBase, plugin_entry

            class Plugin(NekoPluginBase):
                @plugin_entry(id="version")
                async def version(self) -> str:
                    return tinylib.VERSION
        """
        build_wheel(
            wheels,
            f"neko-{name}",
            {f"neko_{name}.py": source},
            entry_points={name: f"neko_{name}:Plugin"},
            requires=(f"tinylib=={pin}",),
        )
    home = tmp_path / "home"
    find = ["--no-index", "--find-links", str(wheels)]
    assert install_isolated(home, ["neko-alpha"], pip_args=find) == ["alpha"]
    installed = neko(home, "install", "--isolated", "neko-beta", "--no-index", "-f", str(wheels))
    assert installed.returncode == 0, installed.stderr
    assert "installed beta: isolated" in installed.stdout

    async def main() -> tuple[str, str, dict[str, Any]]:
        config = HostConfig(home=home, plugin_filter=PluginFilter(frozenset({"alpha", "beta"})))
        async with open_host(config) as host:
            info = {n: (i.distribution, [e.id for e in i.entries]) for n, i in host.plugins.items()}
            return await host.call("alpha.version"), await host.call("beta.version"), info

    alpha, beta, info = trio.run(main)
    assert (alpha, beta) == ("1.0", "2.0")
    assert info == {"alpha": ("neko-alpha", ["version"]), "beta": ("neko-beta", ["version"])}
    with pytest.raises(InstallError, match="installing failed"):
        install_isolated(home, ["neko-missing"], pip_args=find)
    assert not (home / "envs" / "neko-missing").exists()


# ---- configuration and events ----------------------------------------------------------------


def test_neko_toml_chooses_isolation_per_plugin_and_by_default(tmp_path: Path) -> None:
    toml = tmp_path / "neko.toml"
    toml.write_text(
        '[plugins]\nisolation = "process"\n'
        '[plugins.big]\nmemory_limit = "256MiB"\nsandbox = true\nnetwork = true\n'
        '[plugins.local]\nisolation = "none"\nsandbox_typo = 1\n'
    )
    config = load_config(toml, environ={"NEKO_HOME": str(tmp_path)})
    assert config.options("big") == PluginOptions("process", 256 << 20, True, True)
    assert not config.options("local").isolated
    assert config.options("other").isolated  # the [plugins] default
    assert any("sandbox_typo" in warning for warning in config.warnings)
    for bad, message in [
        ('[plugins.x]\nmemory_limit = "lots"\n', r"\[plugins\.x\] memory_limit: 'lots' is not"),
        ('[plugins.x]\nmemory_limit = "1GiB"\n', 'memory_limit needs isolation = "process"'),
        (
            '[plugins]\nisolation = "thread"\n',
            r'\[plugins\] isolation must be "none" or "process", got \'thread\'',
        ),
        ('[plugins.x]\nsandbox = "yes"\n', "sandbox must be true or false"),
    ]:
        toml.write_text(bad)
        with pytest.raises(ConfigError, match=message):
            load_config(toml, environ={"NEKO_HOME": str(tmp_path)})


async def test_an_isolated_plugins_jobs_and_faults_reach_the_hosts_event_stream(
    tmp_path: Path,
) -> None:
    set_fault(tmp_path, "terminate", "raise")
    async with open_host(config_for(tmp_path), plugins=PLUGINS) as host:
        with host.events.subscribe() as events:
            await trio.sleep(0.5)  # two runs of the 0.2 s job at least
            await host.stop_plugin("faulty")
            seen = []
            while (event := events.receive_nowait()) is not None:
                seen.append(event)
    kinds = [(e.kind, e.plugin) for e in seen]
    assert (EventKind.JOB, "faulty") in kinds
    states = [e.data["state"] for e in seen if e.kind is EventKind.STATE]
    assert states[-2:] == ["stopping", "stopped"]
    faults = [e.data for e in seen if e.kind is EventKind.FAULT]
    assert any(f["phase"] == "terminate" and "raised on request" in f["error"] for f in faults)


# ---- the transport on its own ------------------------------------------------------------------


@pytest.mark.parametrize("pipe", ["trio's FdStream", "PipeReceiveStream"])
async def test_frames_round_trip_and_bad_bytes_are_refused(pipe: str) -> None:
    from nekohooks.isolation import _frames as f
    from nekohooks.isolation._transport import (
        BadFrame,
        FrameReader,
        FrameWriter,
        PipeReceiveStream,
    )

    stream = PipeReceiveStream if pipe == "PipeReceiveStream" else trio.lowlevel.FdStream
    received: list[Any] = []  # what came before an error

    async def read_after(data: bytes, *, close: bool = True, limit: int = f.MAX_FRAME) -> list[Any]:
        read_fd, write_fd = os.pipe()
        writer = FrameWriter(write_fd)
        writer.send(data)
        if close:
            await writer.aclose()
        reader = FrameReader(stream(read_fd), max_frame=limit)
        received.clear()
        try:
            while (frame := await reader.receive()) is not None:
                received.append(frame)
            return received
        finally:
            await reader.aclose()

    frames = [
        f.Call(1, "echo", {"x": [1, "two", None]}, stream=True),
        f.Result(1, b"\x00"),
        f.Stop(),
    ]
    assert await read_after(b"".join(f.encode(frame) for frame in frames)) == frames
    big = f.encode(f.Result(2, "x" * 100))
    with pytest.raises(BadFrame, match="over the limit of 50"):
        await read_after(big, limit=50)
    with pytest.raises(BadFrame, match="undecodable"):
        await read_after(b"\x00\x00\x00\x03abc")
    good = b"".join(f.encode(frame) for frame in frames)
    with pytest.raises(BadFrame, match="undecodable"):  # read in one go: the good ones first
        await read_after(good + b"\x00\x00\x00\x03abc" + f.encode(f.Result(5)))
    assert received == frames
    with pytest.raises(BadFrame, match="ended inside a frame"):
        await read_after(big[:-3])
    with pytest.raises(ValueError, match="over the limit"):
        f.encode(f.Result(3, b"x" * (f.MAX_FRAME + 1)))
    with pytest.raises(TypeError):
        f.encode(f.Result(4, object()))
