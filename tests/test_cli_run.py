"""``neko run``: the real command as a service (signals, exit codes, live table on a pty), and
its status table and state-change log on a MockClock."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
import trio
import trio.testing
from plugin_factory import TempVenv, build_wheel
from processes import LineReader
from rich.console import Console
from test_cli import NEKO

from nekohooks import HostConfig, NekoPluginBase, open_host, periodic, plugin_entry
from nekohooks.cli._activity import Activity
from nekohooks.cli._render import plugin_details, status_table
from nekohooks.cli._run import log_changes


def run_env(home: Path, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    return {**environ, "NEKO_HOME": str(home), **extra}


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], LineReader]:
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    return proc, LineReader(proc.stderr)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# ---- the real command, without a terminal: plain log lines ----------------------------------


def test_run_logs_states_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc, log = start([str(NEKO), "run", "--only", "hello,reminders"], run_env(tmp_path))
    try:
        assert log.wait_for("hello: running (restarts 0"), log.drain(10)
        assert log.wait_for("reminders: running"), log.drain(10)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
    finally:
        stop(proc)
    text = log.drain(10)
    first = text.splitlines()[0]
    assert re.search(
        rf"INFO neko: nekohooks 0.1.0 starting; home {re.escape(str(tmp_path))}; "
        rf"config {re.escape(str(tmp_path / 'neko.toml'))} \(absent: defaults\); "
        r"2 plugin\(s\) found: hello, reminders$",
        first,
    ), first
    assert "signal 15: shutting down" in text and "neko: stopped" in text
    assert "netkit" not in text and "companion" not in text  # --only: never loaded
    assert "Traceback" not in text


SLOW = """
import time
import trio
from nekohooks import NekoPluginBase, periodic


class Slow(NekoPluginBase):
    async def startup(self):
        (self.ctx.home / "started").write_text("")
        await trio.sleep(60)  # well inside startup_timeout (30 s)

    def terminate(self):
        (self.ctx.home / "terminated").write_text("")


class Quick(NekoPluginBase):
    def terminate(self):
        (self.ctx.home / "terminated").write_text("")


class Stubborn(NekoPluginBase):
    def terminate(self):
        (self.ctx.home / "terminating").write_text("")
        time.sleep(60)  # a hung terminate; the host's grace is raised to 60 s below


class Chatty(NekoPluginBase):
    async def startup(self):
        self.ctx.logger.info("ready to chat")

    @periodic(every=0.2)
    async def tick(self):
        raise RuntimeError("flaky sensor")

    async def terminate(self):
        raise ValueError("cannot say goodbye")
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> TempVenv:
    root = tmp_path_factory.mktemp("run-venv")
    env = TempVenv(root / "venv")
    entry_points = {"slow": "neko_slow:Slow", "quick": "neko_slow:Quick"}
    entry_points["stubborn"] = "neko_slow:Stubborn"
    entry_points["chatty"] = "neko_slow:Chatty"
    env.install(build_wheel(root, "neko-slow", {"neko_slow.py": SLOW}, entry_points=entry_points))
    return env


def wait_for_file(path: Path, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.02)
    return False


def test_sigterm_during_startup_stops_the_started_plugins(venv: TempVenv, tmp_path: Path) -> None:
    env = run_env(tmp_path, NEKO_LOAD_PLUGINS="slow,quick")
    proc, log = start([str(venv.python), "-m", "nekohooks.cli", "run"], env)
    try:
        assert wait_for_file(tmp_path / "plugins" / "slow" / "started"), log.drain(10)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
    finally:
        stop(proc)
    assert "signal 15 during start-up: shutting down" in log.drain(10)
    for plugin in ("slow", "quick"):  # both got their terminate
        assert (tmp_path / "plugins" / plugin / "terminated").exists()


def test_a_second_signal_exits_at_once(venv: TempVenv, tmp_path: Path) -> None:
    (tmp_path / "neko.toml").write_text("[limits]\nterminate_grace = 60\nshutdown_timeout = 60\n")
    env = run_env(tmp_path, NEKO_LOAD_PLUGINS="stubborn")
    proc, log = start([str(venv.python), "-m", "nekohooks.cli", "run"], env)
    try:
        assert log.wait_for("stubborn: running"), log.drain(10)
        proc.send_signal(signal.SIGINT)
        assert wait_for_file(tmp_path / "plugins" / "stubborn" / "terminating")
        assert proc.poll() is None  # the graceful shutdown waits on the hung terminate
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert time.monotonic() - started < 5
    finally:
        stop(proc)
    assert "second signal: exiting now" in log.drain(10)


def test_run_writes_json_lines_to_a_log_file(venv: TempVenv, tmp_path: Path) -> None:
    log_file = tmp_path / "neko.jsonl"
    env = run_env(tmp_path / "home", NEKO_LOAD_PLUGINS="chatty")
    args = ["-vv", "run", "--log-file", str(log_file), "--log-format", "json"]
    proc, stderr = start([str(venv.python), "-m", "nekohooks.cli", *args], env)
    try:
        deadline = time.monotonic() + 30
        while "flaky sensor" not in (log_file.read_text() if log_file.exists() else ""):
            assert time.monotonic() < deadline, stderr.drain(1)
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)
    assert stderr.drain(1) == ""  # the log went to the file
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    for record in records:
        assert set(record) == {
            "time", "level", "logger", "plugin", "phase", "message", "exception"
        }  # fmt: skip
    assert records[0]["message"].startswith("nekohooks 0.1.0 starting; home ")
    faults = {
        r["phase"]: r
        for r in records
        if r["level"] == "ERROR" and r["plugin"] == "chatty" and r["phase"] is not None
    }
    assert faults["periodic"]["message"] == (
        "plugin 'chatty': periodic 'tick' failed: RuntimeError: flaky sensor"
    )
    assert faults["terminate"]["message"] == (
        "plugin 'chatty': terminate failed: ValueError: cannot say goodbye"
    )
    traces = {
        r["phase"]: r["exception"] for r in records if r["level"] == "DEBUG" and r["exception"]
    }
    assert 'raise RuntimeError("flaky sensor")' in traces["periodic"]  # -vv: the traceback
    assert 'raise ValueError("cannot say goodbye")' in traces["terminate"]
    ready = [r for r in records if r["message"] == "ready to chat"]
    assert ready and ready[0]["plugin"] == "chatty" and ready[0]["level"] == "INFO"
    assert ready[0]["logger"] == "neko.plugin.chatty" and ready[0]["exception"] is None
    assert records[-1]["message"] == "stopped"


# ---- the real command on a terminal: the live table ---------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """``neko run`` with stdout and stderr on a pseudo-terminal of 120x40."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "xterm"}
        )
        os.close(slave)
        self.text = ""

    def read_until(self, pattern: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text):
                return True
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
                self.text += _ANSI.sub("", data.decode(errors="replace"))
        return bool(re.search(pattern, self.text))

    def close(self) -> None:
        stop(self.proc)  # type: ignore[arg-type]
        os.close(self.master)


def test_run_shows_a_live_table_on_a_terminal(tmp_path: Path) -> None:
    term = Terminal([str(NEKO), "run", "--only", "hello,companion"], run_env(tmp_path))
    try:
        # a frame may arrive in pieces: wait for the last row, not just the title
        assert term.read_until(r"2 of 2 plugins running(.|\n)*hello\s+│\s+running"), term.text
        row = r"\s+│\s+running\s+│\s+\d+s\s+│\s+0\s+│\s+{}\s+│\s+0\s+│\s+0/0/0\s+│\s+{} in "
        assert re.search("companion" + row.format(9, "checkpoint"), term.text), term.text
        assert re.search("hello" + row.format(1, "announce"), term.text), term.text
        assert "jobs runs/failed/skipped" in term.text and "last error" in term.text
        term.proc.send_signal(signal.SIGTERM)
        assert term.read_until(r"0 of 2 plugins running(.|\n)*hello\s+│\s+stopped"), term.text
        assert term.proc.wait(timeout=30) == 0
        assert "Traceback" not in term.text
    finally:
        term.close()


def test_no_live_logs_plain_lines_on_a_terminal(tmp_path: Path) -> None:
    term = Terminal([str(NEKO), "run", "--no-live", "--only", "hello"], run_env(tmp_path))
    try:
        assert term.read_until(r"INFO neko: hello: running \(restarts 0"), term.text
        term.proc.send_signal(signal.SIGTERM)
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
    assert "┃ plugin" not in term.text


# ---- the table and the state log, in-process on a MockClock ------------------------------------


class Steady(NekoPluginBase):
    """An entry; a job that fails every other run."""

    runs = 0

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"

    @periodic(every=10)
    async def tick(self) -> None:
        type(self).runs += 1
        if type(self).runs % 2 == 0:
            raise RuntimeError("even run")


class Doomed(NekoPluginBase):
    async def startup(self) -> None:
        raise RuntimeError("no database")


class Flaky(NekoPluginBase):
    """Crashes 30 s into its first run (a background task raises), then runs fine."""

    crashed = False

    async def startup(self) -> None:
        if not Flaky.crashed:
            self.ctx.tasks.start("boom", self.boom)

    async def boom(self) -> None:
        await trio.sleep(30)
        Flaky.crashed = True
        raise RuntimeError("lost connection")


def test_status_table_shows_state_uptime_calls_jobs_and_last_error(tmp_path: Path) -> None:
    Steady.runs = 0
    tables: list[str] = []
    start = 1767571200.0  # the wall clock follows the mock clock from here

    def wall() -> float:
        return start + trio.current_time()

    async def main() -> None:
        plugins = {"steady": Steady, "doomed": Doomed}
        config = HostConfig(home=tmp_path)
        activity = Activity()
        async with (
            open_host(config, plugins=plugins, watchdog=False, wall_clock=wall) as host,
            trio.open_nursery() as nursery,
        ):
            await nursery.start(activity.follow, host)
            await host.call("steady.ping")
            await host.call("steady.ping")
            await trio.sleep(45)  # four ticks: two failed; doomed keeps crashing and backing off
            for keep in (None, frozenset({"steady"})):
                console = Console(record=True, width=200, color_system=None)
                console.print(status_table(host, keep, activity=activity, now=wall()))
                tables.append(console.export_text())
            details = plugin_details(host, "steady", activity, now=wall())
            assert details["uptime"] == 45
            assert details["calls"] == {"served": 2, "failed": 0, "timed_out": 0}
            (tick,) = details["jobs"]
            assert (tick["runs"], tick["failures"], tick["last_run"], tick["next_run"]) == (
                4,
                2,
                5,
                5,
            )
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    full, only = tables
    assert "nekohooks 0.1.0: 1 of 2 plugins running" in full
    assert re.search(
        r"steady\s+│\s+running\s+│\s+45s\s+│\s+0\s+│\s+1\s+│\s+2\s+│\s+4/2/0\s+│\s+"
        r"tick in 5s\s+│\s+RuntimeError: even run",
        full,
    ), full
    doomed = re.search(
        r"doomed\s+│\s+(\w+)\s+│\s+-\s+│\s+(\d+)\s+│\s+0\s+│\s+0\s+│\s+-\s+│\s+-\s+│\s+"
        r"RuntimeError: no database",
        full,
    )
    assert doomed is not None and doomed[1] in ("restarting", "failed") and int(doomed[2]) >= 3
    assert "1 of 1 plugins running" in only and "doomed" not in only


def test_state_changes_are_logged_once_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Flaky.crashed = False

    async def main() -> None:
        config = HostConfig(home=tmp_path)
        async with (
            open_host(config, plugins={"flaky": Flaky}, watchdog=False) as host,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(log_changes, host, None)
            await trio.sleep(120)
            nursery.cancel_scope.cancel()

    with caplog.at_level(logging.INFO, logger="neko"):
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    lines = [r.getMessage() for r in caplog.records if r.name == "neko"]
    assert lines == [
        "flaky: running (restarts 0; job runs 0, failed 0, skipped 0)",
        "flaky: restarting (restarts 1; job runs 0, failed 0, skipped 0)"
        " (last error: RuntimeError: lost connection)",
        "flaky: running (restarts 1; job runs 0, failed 0, skipped 0)"
        " (last error: RuntimeError: lost connection)",
    ]
