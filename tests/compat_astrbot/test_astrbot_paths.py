"""The AstrBot layer's file rules: relative paths land in the plugin's home, writes stay there."""

from __future__ import annotations

from pathlib import Path

import pytest

from nekohooks.compat.astrbot._paths import PathGuard


@pytest.fixture
def guard(tmp_path: Path) -> PathGuard:
    guard = PathGuard("demo")
    guard.home = tmp_path / "home"
    guard.home.mkdir()
    return guard


def test_relative_paths_land_in_the_home(guard: PathGuard) -> None:
    os = guard.os
    os.makedirs(os.path.join("data", "downloads"), exist_ok=True)
    with guard.open("data/downloads/a.txt", "w") as f:
        f.write("hi")
    assert guard.home is not None
    assert (guard.home / "data" / "downloads" / "a.txt").read_text() == "hi"
    assert os.path.exists("data/downloads/a.txt")
    assert os.listdir("data/downloads") == ["a.txt"]
    assert os.getcwd() == str(guard.home)
    os.rename("data/downloads/a.txt", "data/b.txt")
    os.remove("data/b.txt")
    assert not os.path.exists("data/b.txt")


def test_writes_outside_the_home_are_refused_before_anything_happens(
    guard: PathGuard, tmp_path: Path
) -> None:
    assert guard.home is not None
    outside = tmp_path / "outside"
    outside.mkdir()
    (guard.home / "link").symlink_to(outside)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    for path in ("../victim.txt", str(victim), "link/x.txt", "data/../../victim.txt"):
        with pytest.raises(PermissionError, match="may not write"):
            guard.open(path, "wb")
        with pytest.raises(PermissionError):
            guard.os.remove(path)
    with pytest.raises(PermissionError):
        guard.os.makedirs("../../elsewhere")
    with pytest.raises(PermissionError):
        guard.os.rename(str(victim), "mine.txt")
    with pytest.raises(PermissionError, match="working folder"):
        guard.os.chdir("/")
    assert victim.read_text() == "keep"  # reading is allowed, the file is untouched
    with guard.open(str(victim)) as f:
        assert f.read() == "keep"
    assert list(outside.iterdir()) == []


def test_nothing_relative_before_the_plugin_starts() -> None:
    guard = PathGuard("early")
    with pytest.raises(PermissionError, match="has not started"):
        guard.open("data/x.txt")
