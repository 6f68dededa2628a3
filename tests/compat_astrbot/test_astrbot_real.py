"""Three published AstrBot plugins, unchanged, each adopted with ``neko adopt``, pip-installed
into a temp venv and driven with the real ``neko say`` / ``neko run``.

Their code is not in this repository (we keep third-party plugin code out of our commits): set
``ASTRBOT_REAL_PLUGINS`` to a folder holding them as published (README.md beside this file says
which, and where from).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
from plugin_factory import TempVenv
from processes import LineReader
from test_cli import NEKO

SOURCE = os.environ.get("ASTRBOT_REAL_PLUGINS")
pytestmark = pytest.mark.skipif(
    not SOURCE, reason="ASTRBOT_REAL_PLUGINS is not set (see tests/compat_astrbot/README.md)"
)
PLUGINS = Path(SOURCE or ".")
FOLDERS = [
    "zgy1379__astrbot_plugin_jrrp",
    "exusiaiwei__astrbot_plugin_jrrp",
    "Yuuu0109__astrbot_plugin_todo",
]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> TempVenv:
    root = tmp_path_factory.mktemp("astrbot-real")
    wheels = root / "wheels"
    for folder in FOLDERS:
        proc = subprocess.run(
            [str(NEKO), "adopt", str(PLUGINS / folder), "--out", str(wheels)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
    env = TempVenv(root / "venv")
    env.install(*sorted(wheels.glob("*.whl")))
    return env


def neko(venv: TempVenv, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    environ["NEKO_HOME"] = str(home)
    return subprocess.run(
        [str(venv.python), "-m", "nekohooks.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )


def say(venv: TempVenv, home: Path, text: str, *more: str) -> list[dict[str, object]]:
    proc = neko(venv, home, "say", text, "--json", "--sender", "u1", *more)
    assert proc.returncode in (0, 1), proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_adopted_plugins_install_and_run(venv: TempVenv, tmp_path: Path) -> None:
    only = "astrbot_plugin_jrrp_only,jrrp,astrbot_plugin_todo"
    proc = neko(venv, tmp_path, "list", "--json", "--strict", "--only", only)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert {"astrbot_plugin_jrrp_only", "jrrp", "astrbot_plugin_todo"} <= set(rows)
    assert rows["astrbot_plugin_todo"]["distribution"] == "neko-plugin-astrbot-plugin-todo"
    assert rows["astrbot_plugin_todo"]["version"] == "1.0.3"
    info = json.loads(neko(venv, tmp_path, "info", "astrbot_plugin_todo", "--json").stdout)
    usages = {c["usage"] for c in info["commands"]}
    assert {"/todo done <index:int>", "/todo add [content...]"} <= usages


def test_two_jrrp_plugins_answer_the_same_command(venv: TempVenv, tmp_path: Path) -> None:
    replies = say(venv, tmp_path, "/jrrp", "--only", "jrrp,astrbot_plugin_jrrp_only")
    by_plugin = {r["plugin"]: r["content"] for r in replies}
    assert re.fullmatch(r"u1，你今天的人品是\d+，.+", by_plugin["jrrp"])
    # no LLM on nekohooks: the plugin takes its own fallback comment
    assert re.match(r"今日运势：\d+\n", by_plugin["astrbot_plugin_jrrp_only"])
    first = by_plugin["astrbot_plugin_jrrp_only"].split("\n")[0]
    again = say(venv, tmp_path, "/jrrp", "--only", "astrbot_plugin_jrrp_only")
    assert again[0]["content"].split("\n")[0] == first  # stored per user per day in its data dir
    stored = list((tmp_path / "plugins" / "astrbot_plugin_jrrp_only" / "data").glob("*_u1.yaml"))
    assert len(stored) == 1


def test_todo_commands_across_processes(venv: TempVenv, tmp_path: Path) -> None:
    only = ("--only", "astrbot_plugin_todo")
    [added] = say(venv, tmp_path, "/todo add 买菜 和 做饭", *only)
    assert added["kind"] == "reply"
    assert added["content"].startswith("待办已添加 (序号 1)\n买菜 和 做饭")
    [empty] = say(venv, tmp_path, "/todo add", *only)  # GreedyStr: "" when nothing follows
    assert empty["content"].startswith("请输入待办内容。")
    [listed] = say(venv, tmp_path, "/todo list", *only)  # a new process: the file kept it
    assert "1. 买菜 和 做饭" in listed["content"]
    [done] = say(venv, tmp_path, "/todo done 1", *only)
    assert done["content"] == "已完成：买菜 和 做饭"
    [bad] = say(venv, tmp_path, "/todo done first", *only)
    assert bad["kind"] == "usage" and "usage: /todo done <index:int>" in bad["content"]
    [group] = say(venv, tmp_path, "/todo", *only)
    assert group["kind"] == "usage" and group["content"].startswith("/todo: choose one of: add |")
    proc = neko(venv, tmp_path, "say", "/todo done \x1b[2J", *only)
    assert proc.returncode == 1 and "\x1b" not in proc.stderr  # escapes shown, not obeyed
    saved = tmp_path / "plugins" / "astrbot_plugin_todo" / "data" / "plugin_data"
    assert list(saved.rglob("*.json"))


def test_ctrl_c_runs_terminate(venv: TempVenv, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    environ["NEKO_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [str(venv.python), "-m", "nekohooks.cli", "run", "--only", "astrbot_plugin_todo"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    log = LineReader(proc.stderr)
    try:
        assert log.wait_for("astrbot_plugin_todo: running"), log.lines
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert log.wait_for("[Todo] 插件已停止。", timeout=5), log.lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_folder_listed_in_neko_toml_loads_in_place(tmp_path: Path) -> None:
    folder = PLUGINS / "exusiaiwei__astrbot_plugin_jrrp"
    (tmp_path / "neko.toml").write_text(f"[plugins]\nfolders = [{str(folder)!r}]\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    proc = subprocess.run(
        [str(NEKO), "say", "/jrrp", "--only", "jrrp", "--sender", "Ada"],
        capture_output=True,
        text=True,
        env={**environ, "NEKO_HOME": str(tmp_path)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"Ada，你今天的人品是\d+，.+\n", proc.stdout)


def test_a_real_plugin_keeps_the_contract_commands_included() -> None:
    # the kit's command property found that GreedyStr needs "" when nothing follows
    from nekohooks.compat.astrbot import load_folder
    from nekohooks.testing import check_plugin

    folder = PLUGINS / "Yuuu0109__astrbot_plugin_todo"
    report = check_plugin(load_folder(folder, name="todo"), name="todo", max_examples=8, days=0.01)
    assert report.ok
