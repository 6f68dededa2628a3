"""The manifest cache: ``neko list`` with no host running imports only plugins whose
distribution or files changed, and never starts one.

The venv test installs real wheels with pip (one of them an editable install: a ``.pth`` file
pointing at a source folder, as editable installs by setuptools, hatch or pdm leave it), runs
the real ``neko list`` in fresh interpreters, and counts imports with a marker file each plugin
module appends to when it is imported. Files written moments ago are not trusted by either
cache (their mtime could repeat within the clock's tick), so the test ages them first.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from plugin_factory import TempVenv, build_wheel

from nekohooks import HostConfig, _manifests, _scan_cache
from nekohooks._config import PluginFilter
from nekohooks._discovery import ENTRY_POINT_GROUP
from nekohooks._manifests import installed
from nekohooks._records import listing_records

MARK = 'import os\nopen(os.environ["NEKO_TEST_MARKER"], "a").write("{name}\\n")\n'

SOURCE = {  # the editable plugin package: its entries live in a submodule
    "neko_edit/__init__.py": MARK.format(name="edit") + "from nekohooks import hookimpl\n"
    "from .entries import ENTRIES\n\n\n"
    "@hookimpl\n"
    "def neko_entries():\n"
    "    return ENTRIES\n",
    "neko_edit/entries.py": "from nekohooks import plugin_entry\n\n\n"
    '@plugin_entry(id="one")\n'
    "def one():\n"
    "    return 1\n\n\n"
    "ENTRIES = [one]\n",
    # a second plugin of the same package, whose entries come from the same submodule
    # ... and which names its entry after a data file of the package, read on import
    "neko_edit/name.txt": "count\n",
    "neko_edit/second.py": MARK.format(name="second") + "from pathlib import Path\n"
    "from nekohooks import NekoPluginBase, periodic, plugin_entry\n"
    "from .entries import ENTRIES\n\n"
    'NAME = (Path(__file__).parent / "name.txt").read_text().strip()\n\n\n'
    "class Second(NekoPluginBase):\n"
    "    @plugin_entry(id=NAME)\n"
    "    def count(self):\n"
    "        return len(ENTRIES)\n\n"
    "    @periodic(every=60)\n"
    "    async def tick(self):\n"
    "        pass\n",
}

PLAIN = {
    "neko_plain.py": MARK.format(name="plain")
    + "from nekohooks import NekoPluginBase, plugin_entry\n\n\n"
    "class Plain(NekoPluginBase):\n"
    "    async def startup(self):\n"
    '        open(os.environ["NEKO_TEST_MARKER"], "a").write("started\\n")\n\n'
    '    @plugin_entry(id="ping")\n'
    "    def ping(self):\n"
    '        return "pong"\n'
}

MINE = ("edit", "plain", "second", "sick")

BROKEN = {"neko_sick.py": MARK.format(name="sick") + "raise RuntimeError('sick at import')\n"}


def age(*folders: Path) -> None:
    """Make the files and folders under ``folders`` changed in the last minute an hour old
    (not "changed moments ago"); older ones keep their times."""
    now = time.time()
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            if path.lstat().st_mtime > now - 60:
                os.utime(path, (now - 3600, now - 3600), follow_symlinks=False)


class Venv:
    """A venv with the plugins above installed, and ``neko list --json`` run in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = TempVenv(root / "venv")
        self.src = root / "src"
        for path, text in SOURCE.items():
            (self.src / path).parent.mkdir(parents=True, exist_ok=True)
            (self.src / path).write_text(text)
        editable = build_wheel(  # what an editable install leaves: a .pth to the source
            root / "wheels",
            "neko-edit",
            {"__editable__.neko_edit.pth": f"{self.src}\n"},
            entry_points={"edit": "neko_edit", "second": "neko_edit.second:Second"},
        )
        self.env.install(editable, self.wheel("1.0.0"))
        self.env.install(
            build_wheel(root / "wheels", "neko-sick", BROKEN, entry_points={"sick": "neko_sick"}),
            build_wheel(  # refused before import: it asks for another nekohooks
                root / "wheels",
                "neko-future",
                {"neko_future.py": MARK.format(name="future")},
                entry_points={"future": "neko_future"},
                requires=("nekohooks>=99",),
            ),
        )
        self.home, self.marker = root / "home", root / "imported.txt"
        self.marker.write_text("")

    def wheel(self, version: str, extra: str = "") -> Path:
        return build_wheel(
            self.root / "wheels",
            "neko-plain",
            {"neko_plain.py": PLAIN["neko_plain.py"] + extra},
            entry_points={"plain": "neko_plain:Plain"},
            version=version,
        )

    def settle(self) -> None:
        age(self.env.site, self.src)

    def imports(self) -> list[str]:
        """The plugin modules imported (and ``started`` for a start) since the last call."""
        names = self.marker.read_text().split()
        self.marker.write_text("")
        return sorted(names)

    def list(self, *args: str) -> dict[str, dict[str, object]]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
        environ |= {"NEKO_HOME": str(self.home), "NEKO_TEST_MARKER": str(self.marker)}
        environ["PYTHONDONTWRITEBYTECODE"] = "1"  # a new __pycache__ would change a folder
        proc = subprocess.run(
            [str(self.env.python), "-m", "nekohooks.cli", "list", "--json", *args],
            capture_output=True,
            text=True,
            env=environ,
            timeout=120,
        )
        assert proc.returncode == (1 if "--strict" in args else 0), proc.stderr
        return {row["name"]: row for row in json.loads(proc.stdout)}

    def cache_file(self) -> Path:
        (file,) = (self.home / "cache").glob("manifests-*.json")
        return file


def test_a_warm_list_imports_only_what_changed_and_starts_nothing(tmp_path: Path) -> None:
    venv = Venv(tmp_path)
    venv.settle()
    cold = venv.list()  # the venv sees the examples too: they are listed, never marked
    assert venv.imports() == ["edit", "plain", "second", "sick"]  # imported, none started
    assert {name: row["status"] for name, row in cold.items() if name in MINE} == {
        "edit": "installed",
        "plain": "installed",
        "second": "installed",
        "sick": "failed-to-load",
    }
    assert cold["edit"]["entries"] == ["one"] and cold["edit"]["distribution"] == "neko-edit"
    assert cold["second"]["schedules"] == {"tick": "every 60s"}
    assert cold["sick"]["phase"] == "import"
    assert cold["sick"]["error"] == "RuntimeError: sick at import"
    assert (cold["future"]["status"], cold["future"]["phase"]) == ("failed-to-load", "version")
    assert "requires nekohooks>=99" in cold["future"]["error"]  # and never imported (marker)

    warm = venv.list()
    assert warm == cold
    assert venv.imports() == ["sick"]  # a failing plugin is never cached: its error shows

    # The editable source changes in place (no sys.path folder changes): both plugins of the
    # package read the edited submodule, so both are imported again, the other one is not.
    entries = venv.src / "neko_edit" / "entries.py"
    entries.write_text(
        entries.read_text().replace(
            "ENTRIES = [one]",
            '@plugin_entry(id="two")\ndef two():\n    return 2\n\n\nENTRIES = [one, two]',
        )
    )
    edited = venv.list()
    assert edited["edit"]["entries"] == ["one", "two"]
    assert venv.imports() == ["edit", "second", "sick"]
    venv.settle()  # the edit was too recent to cache; once settled it is cached again
    assert venv.list() == edited
    assert venv.imports() == ["edit", "second", "sick"]
    assert venv.list() == edited
    assert venv.imports() == ["sick"]
    (venv.src / "neko_edit" / "name.txt").write_text("tally\n")  # a data file, not a module
    renamed = venv.list()
    assert renamed["second"]["entries"] == ["tally"]
    assert venv.imports() == ["edit", "second", "sick"]
    venv.settle()
    assert venv.list() == renamed
    assert venv.imports() == ["edit", "second", "sick"]  # now settled, and cached

    # A real upgrade: a new version of the distribution, with another entry.
    venv.env.install(
        venv.wheel(
            "2.0.0",
            '\n    @plugin_entry(id="pong")\n    def pong(self):\n        return "ping"\n',
        )
    )
    venv.settle()
    upgraded = venv.list()
    assert upgraded["plain"]["version"] == "2.0.0"
    assert upgraded["plain"]["entries"] == ["ping", "pong"]
    assert venv.imports() == ["plain", "sick"]

    # A corrupt cache file is ignored and rewritten, never an error.
    venv.cache_file().write_text('{"format": 1, "plugins": ')
    assert venv.list() == upgraded
    assert venv.imports() == ["edit", "plain", "second", "sick"]
    assert json.loads(venv.cache_file().read_text())["format"] == _manifests.FORMAT

    # --strict still starts them all in a one-shot host.
    strict = venv.list("--strict")
    assert strict["plain"]["status"] == "running" and strict["sick"]["status"] == "failed-to-load"
    assert "started" in venv.imports()

    venv.env.uninstall("neko-plain")
    venv.settle()
    assert "plain" not in venv.list()
    assert "plain" not in json.loads(venv.cache_file().read_text())["plugins"]


# ---- in this process, on the installed examples ----------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> HostConfig:
    return HostConfig(home=tmp_path)


def test_listing_records_read_like_a_hosts(tmp_path: Path) -> None:
    filtered = HostConfig(home=tmp_path, plugin_filter=PluginFilter(deny=frozenset({"netkit"})))
    rows = {row["name"]: row for row in listing_records(installed(filtered))}
    assert rows["hello"] == {
        "name": "hello",
        "distribution": "neko-hello",
        "version": "0.1.0",
        "status": "installed",
        "entries": ["greet"],
        "schedules": {"announce": "every 60s"},
        "error": None,
        "phase": None,
        "restarts": 0,
        "pid": None,
        "rss": None,
    }
    assert rows["netkit"]["status"] == "disabled" and rows["netkit"]["entries"] == []
    assert list(rows) == sorted(rows)
    again = installed(filtered)
    assert again.imported == ()  # everything came from the cache
    assert listing_records(again, keep=frozenset({"hello"})) == [rows["hello"]]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"format": 999}',
        b'{"format": 1, "nekohooks": "0.0.0", "framework": [], "plugins": {}}',
        b'{"format": 1, "nekohooks": "0.1.0", "framework": [], "plugins": {"hello": 3}}',
        b'{"format": 1, "nekohooks": "0.1.0", "framework": [["x"]], "plugins": {}}',
    ],
)
def test_a_corrupt_or_foreign_file_is_a_miss_and_is_replaced(
    config: HostConfig, content: bytes
) -> None:
    first = installed(config)
    (file,) = (config.home / "cache").glob("manifests-*.json")
    file.write_bytes(content)
    again = installed(config)
    assert again.plugins == first.plugins and set(again.imported) == {p.name for p in first.plugins}
    assert json.loads(file.read_text())["format"] == _manifests.FORMAT


def test_the_group_the_scan_cache_spells_out_is_discoverys() -> None:
    assert _scan_cache.GROUP == ENTRY_POINT_GROUP
