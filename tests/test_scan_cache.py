"""The scan cache: hits skip the metadata, and real installs and uninstalls invalidate it.

The venv tests pip-install real wheels into a throwaway venv and scan in a fresh interpreter
there each time (as each ``neko`` command does). The freshly written folders would count as
"racy" (too recent to trust) for two seconds, so those scripts set ``RACY_SECONDS = 0``; the
guard itself has its own test.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import importlib_metadata
import platformdirs
import pytest
from plugin_factory import TempVenv, build_wheel

import nekohooks
from nekohooks import _scan_cache
from nekohooks._discovery import load_plugins, scan
from nekohooks._registry import Registry
from nekohooks._scan_cache import cache_dir, cached_rows, cached_scan

PLUGIN = """
from nekohooks import NekoPluginBase, neko_plugin, plugin_entry

@neko_plugin
class Plugin(NekoPluginBase):
    @plugin_entry(id="ping")
    async def ping(self):
        return "pong"
"""

SCAN = """
import json, sys
from pathlib import Path
from nekohooks import _scan_cache
from nekohooks._discovery import PluginFilter, load_plugins
from nekohooks._registry import Registry
import nekohooks

_scan_cache.RACY_SECONDS = 0
found = [c for c in _scan_cache.cached_scan(directory=Path(sys.argv[1])) if c.name.startswith("sc")]
registry = Registry()
loadable = [c for c in found if c.name != "ghost"]
load_plugins(registry, loadable, version=nekohooks.__version__)
print(json.dumps({
    "found": [[c.name, c.distribution, c.version] for c in found],
    "loaded": {name: [e.id for e in p.info.entries] for name, p in registry.plugins.items()},
}))
"""


def wheel(tmp_path: Path, name: str, version: str = "1.0.0") -> Path:
    module = f"{name}_mod"
    return build_wheel(
        tmp_path / "wheels",
        f"neko-{name}",
        {f"{module}.py": PLUGIN},
        entry_points={name: f"{module}:Plugin"},
        version=version,
    )


def scan_in(env: TempVenv, cache: Path) -> dict:  # type: ignore[type-arg]
    result = env.run(SCAN.replace("sys.argv[1]", repr(str(cache))))
    assert isinstance(result, dict)
    return result


def the_file(cache: Path) -> Path:
    (file,) = cache.glob("scan-*.json")
    return file


def test_installs_and_uninstalls_invalidate_the_cache(tmp_path: Path) -> None:
    env = TempVenv(tmp_path / "venv")
    cache = tmp_path / "cache"
    env.install(wheel(tmp_path, "sca"))
    first = scan_in(env, cache)
    assert first["found"] == [["sca", "neko-sca", "1.0.0"]]
    assert first["loaded"] == {"sca": ["ping"]}

    # A hit answers from the file alone: a row only the file has shows up.
    file = the_file(cache)
    data = json.loads(file.read_text())
    data["candidates"].append(["scghost", "nowhere:Nothing", "neko-ghost", "9.9", [], None])
    file.write_text(json.dumps(data))
    hit = scan_in(env, cache)
    assert hit["found"] == [["sca", "neko-sca", "1.0.0"], ["scghost", "neko-ghost", "9.9"]]
    assert hit["loaded"] == {"sca": ["ping"]}  # a cached entry point loads like a scanned one

    env.install(wheel(tmp_path, "scb"))  # a new distribution: the ghost is gone, scb is found
    assert scan_in(env, cache)["found"] == [
        ["sca", "neko-sca", "1.0.0"],
        ["scb", "neko-scb", "1.0.0"],
    ]

    env.install(wheel(tmp_path, "sca", version="2.0.0"))  # an upgrade
    assert scan_in(env, cache)["found"] == [
        ["sca", "neko-sca", "2.0.0"],
        ["scb", "neko-scb", "1.0.0"],
    ]

    env.uninstall("neko-sca")
    after = scan_in(env, cache)
    assert after["found"] == [["scb", "neko-scb", "1.0.0"]]
    assert after["loaded"] == {"scb": ["ping"]}
    assert len(list(cache.glob("scan-*.json"))) == 1  # one file per environment, rewritten


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's sys.path folders may have changed moments ago (the suite writes files)."""
    monkeypatch.setattr(_scan_cache, "RACY_SECONDS", 0)


def test_a_hit_equals_a_fresh_scan_and_loads(tmp_path: Path, settled: None) -> None:
    fresh = cached_scan(directory=tmp_path)
    assert the_file(tmp_path).exists()
    hit = cached_scan(directory=tmp_path)
    assert hit == fresh == scan()
    assert [c.requires for c in hit] == [c.requires for c in fresh]
    hello = [c for c in hit if c.name == "hello"]
    registry = Registry()
    load_plugins(registry, hello, version=nekohooks.__version__)
    assert list(registry.plugins) == ["hello"] and not registry.failures


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        b'{"format": 999}',
        b'{"format": 2, "stamp": [], "candidates": 3}',
        b'{"format": 2, "nekohooks": "0.0.1", "stamp": [], "candidates": []}',
    ],
)
def test_a_corrupt_or_foreign_file_is_a_miss_and_is_replaced(
    tmp_path: Path, settled: None, content: bytes
) -> None:
    cached_scan(directory=tmp_path)
    file = the_file(tmp_path)
    file.write_bytes(content)
    assert cached_scan(directory=tmp_path) == scan()
    assert json.loads(file.read_text())["format"] == _scan_cache.FORMAT


@pytest.mark.parametrize(
    "rows", [[["too", "short"]], [["x", "m:O", None, None, "not a list", None]], [[1] * 6]]
)
def test_rows_of_the_wrong_shape_are_a_miss(
    tmp_path: Path, settled: None, rows: list[object]
) -> None:
    cached_scan(directory=tmp_path)
    file = the_file(tmp_path)
    data = json.loads(file.read_text())
    data["candidates"] = rows
    file.write_text(json.dumps(data))
    assert cached_rows(directory=tmp_path) is None
    assert cached_scan(directory=tmp_path) == scan()


def test_cached_rows_are_the_scan_with_each_plugins_verdict(tmp_path: Path, settled: None) -> None:
    assert cached_rows(directory=tmp_path) is None  # nothing cached yet: no scan either
    found = cached_scan(directory=tmp_path)
    rows = cached_rows(directory=tmp_path)
    assert rows is not None
    assert [(r.name, r.value, r.distribution, r.version, tuple(r.requires)) for r in rows] == [
        (c.name, c.value, c.distribution, c.version, c.requires) for c in found
    ]
    assert [r.problem for r in rows] == [c.supports(nekohooks.__version__) for c in found]


def test_an_unwritable_cache_folder_costs_speed_not_correctness(
    tmp_path: Path, settled: None
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder would go")
    assert cached_scan(directory=blocked / "cache") == scan()
    assert list(tmp_path.iterdir()) == [blocked]


def test_folders_changed_moments_ago_are_not_cached(tmp_path: Path) -> None:
    now = time.time_ns()
    assert _scan_cache._racy([("/a", now - 5 * 10**9), ("/b", now)])
    assert not _scan_cache._racy([("/a", now - 5 * 10**9), ("/missing", None)])
    recent = tmp_path / "recent"
    recent.mkdir()
    stamp = _scan_cache._stamp([str(recent)])
    assert _scan_cache._racy(stamp)
    os.utime(recent, ns=(now - 10 * 10**9, now - 10 * 10**9))
    assert not _scan_cache._racy(_scan_cache._stamp([str(recent)]))


def test_only_the_newest_files_are_kept(tmp_path: Path, settled: None) -> None:
    for i in range(_scan_cache.KEEP + 3):
        old = tmp_path / f"scan-old{i:02d}.json"
        old.write_text("{}")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    cached_scan(directory=tmp_path)
    kept = sorted(f.name for f in tmp_path.glob("scan-*.json"))
    assert len(kept) == _scan_cache.KEEP
    assert "scan-old00.json" not in kept and "scan-old18.json" in kept


def test_the_cache_lives_in_the_home_or_the_user_cache_folder(tmp_path: Path) -> None:
    assert cache_dir(tmp_path) == tmp_path / "cache"
    default = platformdirs.user_data_path("nekohooks")
    assert cache_dir(default) == platformdirs.user_cache_path("nekohooks")


def test_a_scan_that_met_a_broken_distribution_is_not_cached(
    tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = scan()

    def broken(**_: object) -> object:
        raise ValueError("one distribution's entry_points.txt is malformed")

    # entry_points() fails as a malformed distribution makes it; scan() reads them one by one
    monkeypatch.setattr(importlib_metadata, "entry_points", broken)
    assert cached_scan(directory=tmp_path) == expected
    assert list(tmp_path.iterdir()) == []  # the next scan must meet (and name) it again
