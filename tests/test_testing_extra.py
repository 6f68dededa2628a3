"""The contract kit is the ``testing`` extra: a runtime install has no hypothesis, and each way
into the kit without it says what to install, in one line.

Each test runs a child interpreter in which importing hypothesis fails, as it does where the
extra is not installed (a meta-path finder refuses it; pytest also skips hypothesis's own
pytest plugin, which a real install without hypothesis would not have).
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

INSTALL = 'pip install "nekohooks[testing]"'

WITHOUT_HYPOTHESIS = """\
import sys

class NoHypothesis:
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoHypothesis())
"""


def without_hypothesis(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    environ["NEKO_HOME"] = str(cwd / "home")
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_HYPOTHESIS + code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        timeout=120,
    )


def test_hypothesis_is_only_in_the_testing_extra() -> None:
    requirements = [Requirement(r) for r in importlib.metadata.requires("nekohooks") or []]
    runtime = {r.name for r in requirements if r.marker is None or "extra" not in str(r.marker)}
    assert "hypothesis" not in runtime and "pytest" not in runtime
    testing = [r for r in requirements if r.marker and r.marker.evaluate({"extra": "testing"})]
    assert "hypothesis" in {r.name for r in testing}


def test_importing_the_kit_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    code = "import nekohooks, nekohooks.testing"
    proc = without_hypothesis(code, cwd=tmp_path)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"ImportError: nekohooks.testing (the contract kit) needs hypothesis: {INSTALL}"
    # the host itself does not need it
    assert without_hypothesis("import nekohooks.cli", cwd=tmp_path).returncode == 0


def test_neko_check_without_the_extra_is_one_line(tmp_path: Path) -> None:
    proc = without_hypothesis(
        "from nekohooks.cli import main\nmain()", "check", "hello", cwd=tmp_path
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"Error: nekohooks.testing (the contract kit) needs hypothesis: {INSTALL}"
    ]


def test_pytest_starts_without_the_extra_and_neko_plugin_says_what_to_install(
    tmp_path: Path,
) -> None:
    run = "import pytest\nsys.exit(pytest.main(['-p', 'no:hypothesispytest', *sys.argv[1:]]))"
    plain = without_hypothesis(run, "-q", "-p", "no:cacheprovider", cwd=tmp_path)
    assert plain.returncode == 5, plain.stdout + plain.stderr  # 5: no tests, but no crash
    checked = without_hypothesis(
        run, "-q", "-p", "no:cacheprovider", "--neko-plugin", "hello", cwd=tmp_path
    )
    assert checked.returncode == 2, checked.stdout + checked.stderr  # a collection error
    assert INSTALL in checked.stdout
    assert "Traceback" not in checked.stdout + checked.stderr
