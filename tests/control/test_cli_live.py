"""The ``neko`` command against a real ``neko run`` process: one-shot commands use the running
host (``-v`` says so, ``--local`` does not), the live-management commands change it, and
``neko install`` / ``neko uninstall`` pip into the host's own environment (a throwaway venv)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugin_factory import TempVenv, build_wheel
from processes import LineReader

from nekohooks.control import ControlClient, load_token

DELTA = """
from nekohooks import NekoPluginBase, plugin_entry


class Plugin(NekoPluginBase):
    @plugin_entry(id="hi")
    async def hi(self, name: str) -> str:
        return f"delta says hi to {name}"
"""


class Served:
    """``neko run --no-live`` in a throwaway venv, in a short home; ``neko(...)`` runs the
    command in the same venv and home."""

    def __init__(self, venv: TempVenv, home: Path, *args: str) -> None:
        self.venv, self.home = venv, home
        environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
        self.env = {**environ, "NEKO_HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(
            [str(venv.python), "-m", "nekohooks.cli", "run", "--no-live", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.log = LineReader(self.proc.stdout)
        assert self.log.wait_for("control API on", timeout=60), self.log.drain()

    def neko(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.venv.python), "-m", "nekohooks.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0, self.log.drain()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One ``neko run`` for the module (each test leaves its plugins running)."""
    venv = TempVenv(tmp_path_factory.mktemp("venv"))
    host = Served(venv, Path(tempfile.mkdtemp(prefix="nkc-")), "--listen", "127.0.0.1:0")
    try:
        yield host
    finally:
        host.stop()


def test_one_shot_commands_use_the_running_host(served: Served) -> None:
    called = served.neko("-v", "call", "hello.greet", "name=Ada")
    assert json.loads(called.stdout) == {"message": "Hello, Ada!"}
    assert "using the running host" in called.stderr
    local = served.neko("-v", "call", "hello.greet", "name=Ada", "--local")
    assert json.loads(local.stdout) == {"message": "Hello, Ada!"}
    assert "one-shot host" in local.stderr and "using the running host" not in local.stderr
    remote_rows = json.loads(served.neko("list", "--json").stdout)
    local_rows = json.loads(served.neko("list", "--json", "--local", "--strict").stdout)
    assert remote_rows == local_rows  # the same records, whichever host answers
    cached = json.loads(served.neko("list", "--json", "--local").stdout)  # no host: not started
    assert [(r["name"], r["entries"]) for r in cached] == [
        (r["name"], r["entries"]) for r in remote_rows
    ]
    assert {r["status"] for r in cached} == {"installed"}
    remote_info = json.loads(served.neko("info", "hello", "--json").stdout)
    assert remote_info["entries"][0]["id"] == "greet" and remote_info["status"] == "running"
    tools = json.loads(served.neko("schema", "--only", "hello").stdout)
    assert [t["function"]["name"] for t in tools] == ["hello__greet"]
    missing = served.neko("call", "hello.nope", check=False)
    assert missing.returncode == 1 and "no entry 'nope'" in missing.stderr


def test_say_uses_the_running_host(served: Served) -> None:
    said = served.neko("-v", "say", "/countdown 2", "--origin", "room-1", "--json")
    assert "using the running host" in said.stderr
    [reply] = [json.loads(line) for line in said.stdout.splitlines()]
    assert reply == {
        "plugin": "reminders",
        "handler": "/countdown",
        "target": "room-1",
        "kind": "reply",
        "content": "2s countdown started!",
    }
    bad = served.neko("say", "/countdown soon", "--json", check=False)
    assert bad.returncode == 1  # a usage reply, from the running host
    assert json.loads(bad.stdout.splitlines()[0])["kind"] == "usage"


def test_status_disable_enable_restart_and_events(served: Served) -> None:
    events = subprocess.Popen(
        [str(served.venv.python), "-m", "nekohooks.cli", "events", "--json"],
        env=served.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = LineReader(events.stdout)
    try:
        time.sleep(1.0)  # let it subscribe
        assert served.neko("disable", "hello").stdout.strip() == "hello: disabled"
        refused = served.neko("call", "hello.greet", check=False)
        assert refused.returncode == 1 and "neko enable hello" in refused.stderr
        status = served.neko("status", "--json")
        assert {r["name"]: r["status"] for r in json.loads(status.stdout)}["hello"] == "disabled"
        assert served.neko("enable", "hello").stdout.strip() == "hello: running"
        assert served.neko("restart", "hello").stdout.strip() == "hello: running"
        assert lines.wait_for('"plugin": "hello"', '"state": "stopped"', timeout=30)
        assert lines.wait_for('"state": "running"', timeout=30)
    finally:
        events.send_signal(signal.SIGINT)
        events.wait(30)
    assert json.loads(served.neko("call", "hello.greet", "name=Bo").stdout)["message"] == (
        "Hello, Bo!"
    )
    unknown = served.neko("restart", "ghost", check=False)
    assert unknown.returncode == 1 and "ghost" in unknown.stderr


def test_install_and_uninstall_pip_into_the_hosts_environment(
    served: Served, tmp_path: Path
) -> None:
    wheel = build_wheel(
        tmp_path / "wheels",
        "neko-delta",
        {"neko_delta/__init__.py": DELTA},
        entry_points={"delta": "neko_delta:Plugin"},
    )
    installed = served.neko("install", "--no-index", "--no-deps", str(wheel))
    assert "added delta" in installed.stdout
    assert (served.venv.site / "neko_delta" / "__init__.py").exists()  # the host's venv
    hi = served.neko("call", "delta.hi", "name=Ada")
    assert hi.stdout.strip() == "delta says hi to Ada"
    removed = served.neko("uninstall", "delta")
    assert "removed delta" in removed.stdout
    assert not (served.venv.site / "neko_delta").exists()
    gone = served.neko("call", "delta.hi", "name=Ada", check=False)
    assert gone.returncode == 1


def test_the_token_and_the_tcp_listener(served: Served) -> None:
    token = served.neko("token").stdout.strip()
    assert token == load_token(served.home, create=False)
    line = served.log.wait_for("control API on", timeout=1)
    assert line is not None
    url = line.split(" and ")[1].strip()
    with ControlClient(url=url, token=token) as client:
        assert client.call("hello.greet", {"name": "Tcp"}) == {"message": "Hello, Tcp!"}
