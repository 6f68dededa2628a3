"""``neko adopt``: N.E.K.O plugin folders packaged as wheels, installed into a real venv, and
used through ``neko list``/``call``/``check``; broken ones fail alone, with one line each."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest
from badfolders import write
from plugin_factory import TempVenv
from test_cli import neko

from nekohooks.compat.adopt import adopt as adopt_folder

PLUGINS = Path(__file__).parent / "plugins"  # the N.E.K.O plugin folders of these tests

GOOD = ("memo_box", "quote_feed", "greeter")
BROKEN = ("bad_sdk", "bad_class", "bad_hook")  # their plugin.toml is fine: they fail at load


def adopt(home: Path, folder: Path, out: Path) -> tuple[int, str, str]:
    proc = neko(home, "adopt", str(folder), "--out", str(out), python=Path(sys.executable))
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> TempVenv:
    """One venv with the three plugins and three broken ones adopted and installed."""
    root = tmp_path_factory.mktemp("adopted")
    out = root / "dist"
    folders = [PLUGINS / name for name in GOOD] + [write(root / "src", name) for name in BROKEN]
    for folder in folders:  # in process (the command itself is run by the tests below)
        adopt_folder(folder, out)
    environment = TempVenv(root / "venv")
    environment.install(*sorted(out.glob("*.whl")))
    return environment


def digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_the_wheel_holds_the_folder_byte_for_byte(venv: TempVenv, tmp_path: Path) -> None:
    for name in GOOD:
        installed = venv.site / "neko_plugin_folders" / name
        assert digest(installed) == digest(PLUGINS / name)
    code, stdout, stderr = adopt(tmp_path, PLUGINS / "memo_box", tmp_path / "again")
    assert code == 0, stderr
    assert "pip install" in stdout
    (wheel,) = (tmp_path / "again").glob("*.whl")
    assert wheel.name == "neko_plugin_memo_box-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(
            "neko_plugin_memo_box-0.2.0.dist-info/entry_points.txt"
        ).decode()
    assert entry_points == "[neko.plugins]\nmemo_box = nekohooks.compat.neko.adopted:memo_box\n"


def test_list_runs_the_adopted_plugins_and_reports_each_broken_one(
    venv: TempVenv, tmp_path: Path
) -> None:
    only = ",".join(GOOD + BROKEN)
    proc = neko(tmp_path, "list", "--json", "--strict", "--only", only, python=venv.python)
    assert proc.returncode == 1, proc.stderr  # --strict: it starts them; the broken fail it
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    for name in GOOD:
        assert rows[name]["status"] == "running", rows[name]
    assert rows["memo_box"]["distribution"] == "neko-plugin-memo-box"
    assert rows["memo_box"]["version"] == "0.2.0"
    assert rows["memo_box"]["entries"] == ["add", "notes", "forget"]
    assert rows["memo_box"]["schedules"] == {"deliver_due": "every 60s"}
    assert rows["quote_feed"]["entries"] == ["set_source", "fetch", "quote_today"]
    expected = {
        "bad_sdk": "requires N.E.K.O SDK >=0.3,<0.4, this is N.E.K.O SDK 0.1.0",
        "bad_class": "names class 'Nope', which plugin.plugins.bad_class does not define",
        "bad_hook": "N.E.K.O SDK name 'before_entry' (entry hooks) is not supported",
    }
    for name, text in expected.items():
        row = rows[name]
        assert row["status"] == "failed-to-load", row
        assert text in row["error"] and "\n" not in row["error"]
        assert f"neko_plugin_folders/{name}/" in row["error"]  # the file is named


def test_call_returns_ok_values_and_reports_err_codes(venv: TempVenv, tmp_path: Path) -> None:
    added = neko(tmp_path, "call", "memo_box.add", "text=feed the cat", python=venv.python)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {"id": "note:0001", "count": 1}
    listed = neko(tmp_path, "call", "memo_box.notes", "--json", python=venv.python)
    assert json.loads(listed.stdout) == ["note:0001: feed the cat"]
    greeted = neko(tmp_path, "call", "greeter.greet", "name=Ada", "times=2", python=venv.python)
    assert greeted.stdout.strip() == "Hello, Ada! Hello, Ada!"
    failed = neko(tmp_path, "call", "quote_feed.fetch", "--json", python=venv.python)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        "Error: plugin 'quote_feed': entry 'fetch': ErrReturned: "
        "[NO_SOURCE] No feed URL is set; call set_source first"
    )


def test_the_contract_kit_passes_on_an_adopted_plugin(venv: TempVenv, tmp_path: Path) -> None:
    proc = neko(
        tmp_path,
        "check",
        "memo_box",
        "--examples",
        "5",
        "--days",
        "0.5",
        "--json",
        python=venv.python,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["violations"] == []
    assert report["jobs"] == ["deliver_due"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bad_no_toml", "bad_no_toml: not a plugin folder of a known kind"),
        ("bad_toml", "bad_toml/plugin.toml: malformed TOML"),
    ],
)
def test_adopt_refuses_a_folder_it_cannot_package(tmp_path: Path, name: str, text: str) -> None:
    code, _, stderr = adopt(tmp_path, write(tmp_path / "src", name), tmp_path / "dist")
    assert code == 1
    assert text in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_the_list_table_shows_error_text_as_written(venv: TempVenv, tmp_path: Path) -> None:
    # "[plugin.sdk]" is text from the plugin's own error, not rich markup to be swallowed.
    proc = neko(tmp_path, "list", "--only", "bad_sdk", python=venv.python, env={"COLUMNS": "400"})
    assert "plugin.toml: [plugin.sdk] requires N.E.K.O SDK >=0.3,<0.4" in proc.stdout
    info = neko(tmp_path, "info", "bad_sdk", python=venv.python, env={"COLUMNS": "400"})
    assert "[plugin.sdk] requires N.E.K.O SDK" in info.stdout
