"""``scripts/setup-and-run.sh`` reports its progress (it used to be about 70 s of silence).

The script runs for real in a copy of the repository layout, against stand-ins for ``python3``,
the venv's ``python`` (pip) and ``neko`` that record how they were called: the steps, their
order, pip's package lines and the exit status are the script's own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PYTHON3 = """#!/usr/bin/env bash
if [ "$1" = "--version" ]; then echo "Python 3.11.7"; exit 0; fi
echo "python3 $*" >> "$LOG"
mkdir -p .venv/bin
cp "$FAKES/venv-python" .venv/bin/python
cp "$FAKES/neko" .venv/bin/neko
"""

VENV_PYTHON = """#!/usr/bin/env bash
echo "python $*" >> "$LOG"
echo "Collecting example-package"
echo "  Downloading example_package-1.0-py3-none-any.whl (12 kB)"
echo "Successfully installed example-package-1.0"
exit "${PIP_STATUS:-0}"
"""

NEKO = """#!/usr/bin/env bash
echo "neko $*" >> "$LOG"
"""


def run_script(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], str]:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "example_plugins" / "neko-x").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup-and-run.sh", repo / "scripts")
    shutil.copy(REPO / "scripts" / "os-packages.sh", repo / "scripts")  # a no-op once installed
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    for name, text in (("python3", PYTHON3), ("venv-python", VENV_PYTHON), ("neko", NEKO)):
        (fakes / name).write_text(text)
        (fakes / name).chmod(0o755)
    log = tmp_path / "calls.log"
    proc = subprocess.run(
        ["bash", str(repo / "scripts" / "setup-and-run.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": f"{fakes}:{os.environ['PATH']}",
            "LOG": str(log),
            "FAKES": str(fakes),
            **env,
        },
    )
    return proc, log.read_text() if log.exists() else ""


def test_each_step_says_what_it_does(tmp_path: Path) -> None:
    proc, calls = run_script(tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    steps = [line.split(" (")[0] for line in lines if line.startswith("[")]
    assert steps == [
        "[1/5] creating .venv with Python 3.11.7",
        "[2/5] upgrading pip",
        "[3/5] installing nekohooks with its dev tools and the example plugins, about a minute",
        "[4/5] checking that every example plugin loads and starts: neko list --strict",
        "[5/5] serving: neko run; Ctrl-C or SIGTERM stops it cleanly",
    ]
    assert all(line.endswith("s so far)") for line in lines if line.startswith("["))
    assert "      Collecting example-package" in lines  # pip's progress, indented
    assert "      Successfully installed example-package-1.0" in lines
    assert not any("Downloading" in line for line in lines)  # the rest of pip's chatter
    assert calls.splitlines() == [
        "python3 -m venv .venv",
        "python -m pip install --upgrade --disable-pip-version-check pip",
        "python -m pip install --disable-pip-version-check -e .[dev] ./example_plugins/neko-x/",
        "neko list --strict",
        "neko run",
    ]


def test_a_failed_install_stops_the_script(tmp_path: Path) -> None:
    proc, calls = run_script(tmp_path, PIP_STATUS="1")
    assert proc.returncode == 1
    assert "[2/5] upgrading pip" in proc.stderr and "[3/5]" not in proc.stderr
    assert "neko" not in calls
