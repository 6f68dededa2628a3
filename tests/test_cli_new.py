"""``neko new``: names, folders, the generated files, and the real round trip: the generated
project pip-installs into a fresh venv, ``neko`` lists and calls it, and its own tests pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from plugin_factory import TempVenv
from test_cli import neko

from nekohooks._scaffold import class_name, render

RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize(
    "name, hint",
    [
        ("Weather", "'weather'"),
        ("my-bot", "'my_bot'"),
        ("9lives", ""),
        ("a.b", "'a_b'"),
        ("bot_", "'bot'"),
        ("x" * 41, ""),
        ("ünï", ""),
    ],
)
def test_invalid_names_are_refused_with_a_suggestion(tmp_path: Path, name: str, hint: str) -> None:
    proc = neko(tmp_path, "new", name, "--directory", str(tmp_path / "proj"))
    assert proc.returncode == 2
    assert f"invalid plugin name {name!r}" in proc.stderr
    assert "lowercase letters, digits and '_'" in proc.stderr
    if hint:
        assert f"(e.g. {hint})" in proc.stderr
    assert not (tmp_path / "proj").exists()


def test_a_non_empty_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    proc = neko(tmp_path, "new", "weather", "--directory", str(target))
    assert proc.returncode == 1
    assert "already exists and is not empty" in proc.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("")
    proc = neko(tmp_path, "new", "weather", "-d", str(tmp_path / "file"))
    assert proc.returncode == 1 and "exists and is not a folder" in proc.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_default_folder_and_an_empty_folder_are_fine(tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("neko")), "new", "weather_bot"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "neko-weather-bot" / "neko_weather_bot" / "__init__.py").is_file()
    assert "neko call weather_bot.hello name=Ada" in proc.stdout  # the next steps
    (tmp_path / "empty").mkdir()
    assert neko(tmp_path, "new", "other", "-d", str(tmp_path / "empty")).returncode == 0
    assert (tmp_path / "empty" / "tests" / "test_other.py").is_file()


def test_the_generated_files(tmp_path: Path) -> None:
    files = render("weather_bot")
    assert sorted(files) == [
        ".gitignore",
        "README.md",
        "neko_weather_bot/__init__.py",
        "neko_weather_bot/plugin.toml",
        "pyproject.toml",
        "tests/test_weather_bot.py",
    ]
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["name"] == "neko-weather-bot"
    assert project["project"]["dependencies"] == ["nekohooks>=0.1"]
    assert project["project"]["entry-points"]["neko.plugins"] == {
        "weather_bot": "neko_weather_bot:WeatherBotPlugin"
    }
    assert project["tool"]["setuptools"]["package-data"] == {"neko_weather_bot": ["plugin.toml"]}
    assert tomllib.loads(files["neko_weather_bot/plugin.toml"]) == {
        "weather_bot": {"greeting": "Hello"}
    }
    plugin = files["neko_weather_bot/__init__.py"]
    for marker in ("@neko_plugin", "(NekoPluginBase)", "@plugin_entry(", "@periodic(every=60)"):
        assert marker in plugin
    assert "async def startup(self)" in plugin and "async def terminate(self)" in plugin
    tests = files["tests/test_weather_bot.py"]
    assert "from nekohooks.testing import check_plugin" in tests
    assert 'check_plugin("weather_bot")' in tests and "open_host(" in tests
    assert "$" not in plugin.replace("$NEKO_HOME", "")  # every placeholder was filled
    assert class_name("x") == "XPlugin" and class_name("weather_bot") == "WeatherBotPlugin"


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is not installed next to this Python")
def test_the_generated_project_is_lint_clean(tmp_path: Path) -> None:
    assert neko(tmp_path, "new", "weather_bot", "-d", str(tmp_path / "p")).returncode == 0
    for args in (["check", "--isolated"], ["format", "--check", "--isolated"]):
        proc = subprocess.run([str(RUFF), *args, "."], cwd=tmp_path / "p", capture_output=True)
        assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_the_generated_project_installs_is_listed_and_passes_its_tests(tmp_path: Path) -> None:
    project = tmp_path / "neko-weather-bot"
    made = neko(tmp_path, "new", "weather_bot", "--directory", str(project))
    assert made.returncode == 0, made.stderr
    venv = TempVenv(tmp_path / "venv")
    # A real `pip install` (build backend and all), with the user's pip configuration.
    pip = [sys.executable, "-m", "pip", "--python", str(venv.python), "install", "--quiet"]
    proc = subprocess.run([*pip, str(project)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    strict = ["list", "--json", "--strict", "--only", "weather_bot"]
    listed = neko(tmp_path / "home", *strict, python=venv.python)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "weather_bot" and row["status"] == "running"
    assert (row["distribution"], row["version"]) == ("neko-weather-bot", "0.1.0")
    assert row["entries"] == ["hello"] and row["schedules"] == {"heartbeat": "every 60s"}
    called = neko(tmp_path / "home", "call", "weather_bot.hello", "name=Ada", python=venv.python)
    assert json.loads(called.stdout) == {"message": "Hello, Ada!", "heartbeats": 0}

    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    tests = subprocess.run(
        [str(venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**environ, "NEKO_HOME": str(tmp_path / "home")},
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "3 passed" in tests.stdout


# ---- folders the file system refuses: one line, exit 1 (issue 13, defect 3) ----------------


@pytest.mark.parametrize(
    "directory, error",
    [
        ("/proc/neko-new-test", "/proc: No such file or directory"),  # mkdtemp in /proc
        ("/etc/passwd/x", "/etc/passwd is not a folder"),
        ("/etc/passwd/x/y", "/etc/passwd is not a folder"),
    ],
)
def test_a_folder_that_cannot_be_made_is_one_line(
    tmp_path: Path, directory: str, error: str
) -> None:
    proc = neko(tmp_path, "new", "weather", "-d", directory)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"Error: cannot create {directory}: {error}"]


def test_an_existing_empty_folder_is_kept_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "mountpoint"
    target.mkdir()
    before = target.stat().st_ino
    assert neko(tmp_path, "new", "weather", "-d", str(target)).returncode == 0
    assert target.stat().st_ino == before  # filled in place: a mount point stays a mount point
    assert sorted(p.name for p in target.iterdir()) == [
        ".gitignore",
        "README.md",
        "neko_weather",
        "pyproject.toml",
        "tests",
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a file system needs root")
def test_a_read_only_mount_and_a_mount_point_target(tmp_path: Path) -> None:
    mount = tmp_path / "mnt"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        made = neko(tmp_path, "new", "weather", "-d", str(mount))  # the mount point itself
        assert made.returncode == 0, made.stderr
        assert (mount / "neko_weather" / "__init__.py").is_file()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        proc = neko(tmp_path, "new", "other", "-d", str(mount / "sub"))
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines() == [
            f"Error: cannot create {mount / 'sub'}: {mount}: Read-only file system"
        ]
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_the_scaffold_readme_and_gitignore() -> None:
    files = render("weather_bot")
    assert {".hypothesis/", ".pytest_cache/"} <= set(files[".gitignore"].splitlines())
    assert "pypi.org" not in files["README.md"]  # nekohooks has no package-index page
    block = files["README.md"].split("```bash\n")[1].split("```")[0].splitlines()
    assert len({line.index("  # ") for line in block}) == 1, block  # one comment column
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["optional-dependencies"]["test"][0] == "nekohooks[testing]>=0.1"
