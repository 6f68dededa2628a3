"""The real ``neko`` command against the installed example plugin (neko-hello)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NEKO = [sys.executable, "-m", "nekohooks.cli"]


def neko(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEKO_HOME": str(tmp_path)}
    return subprocess.run([*NEKO, *args], capture_output=True, text=True, env=env, timeout=60)


def test_version(tmp_path: Path) -> None:
    proc = neko(tmp_path, "--version")
    assert proc.returncode == 0 and "0.1.0" in proc.stdout


def test_list_json_shows_the_installed_example(tmp_path: Path) -> None:
    proc = neko(tmp_path, "list", "--json", "--strict")
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    hello = rows["hello"]
    assert hello["distribution"] == "neko-hello" and hello["status"] == "running"
    assert hello["entries"] == ["greet"] and hello["schedules"] == {"announce": "every 60s"}


def test_call_parses_values_and_uses_the_bundled_config(tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "hello.greet", "name=Ada", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"message": "Hello, Ada!"}
    assert (tmp_path / "plugins" / "hello" / "plugin.toml").exists()


def test_call_with_a_bad_argument_names_it_and_fails(tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "hello.greet", "nmae=Ada")
    assert proc.returncode == 1
    assert "unknown argument 'nmae'" in proc.stderr
    proc = neko(tmp_path, "call", "hello.greet", "--args", "[1]")
    assert proc.returncode == 2 and "must be a JSON object" in proc.stderr


def test_schema_is_an_openai_tool_list(tmp_path: Path) -> None:
    proc = neko(tmp_path, "schema")
    tools = {t["function"]["name"]: t for t in json.loads(proc.stdout)}
    assert tools["hello__greet"]["function"]["parameters"]["properties"]["name"] == {
        "type": "string",
        "default": "world",
    }


def test_run_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "NEKO_HOME": str(tmp_path)}
    proc = subprocess.Popen([*NEKO, "run"], stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the host reports the plugin running
        if "hello: running" in line:
            break
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 10


def test_info_shows_each_entrys_parameters(tmp_path: Path) -> None:
    proc = neko(tmp_path, "info", "hello", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    greet = row["entries"][0]
    assert greet["id"] == "greet" and greet["kind"] == "sync" and greet["runs_on"] == "thread"
    assert greet["parameters"]["properties"]["name"]["type"] == "string"
    text = neko(tmp_path, "info", "hello").stdout
    assert "hello.greet(name?: string)" in text
    missing = neko(tmp_path, "info", "nope")
    assert missing.returncode == 1 and "no plugin 'nope'" in missing.stderr
