"""The scan cache: the ``neko.plugins`` entry points remembered between processes, keyed on the
modification times of the ``sys.path`` folders (as stevedore's cache is).

Installing or removing a distribution adds or removes a ``.dist-info`` folder (and its files) in
a ``sys.path`` folder, which changes that folder's mtime, so the next scan reads the metadata
again; a hit reads one small JSON file instead of every distribution's ``entry_points.txt`` and
each plugin's ``METADATA``, and imports nothing. What it does not notice: an ``entry_points.txt``
or ``METADATA`` edited in place by hand (no folder changes); delete the cache folder then.

Details that keep it correct:

* The file's name hashes the interpreter, the group and ``sys.path`` itself (so each
  environment, and each order of folders, has its own file); its content holds the folders'
  mtimes, which must all match. Missing folders count as a state too.
* A folder modified in the last :data:`RACY_SECONDS` is not trusted for writing (two changes
  within one tick of the file system's clock can share an mtime): the scan is still right,
  it is just not cached until the folders have settled.
* A scan that met an unreadable distribution is not cached: the next one must name it again.
* Files are written whole (a temporary file, then a rename); a corrupt or foreign file is
  ignored and replaced. At most :data:`KEEP` files are kept, the least recently written go.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import importlib_metadata
import platformdirs

from ._config import default_home
from ._discovery import ENTRY_POINT_GROUP, Candidate, candidates, scan

__all__ = ["cache_dir", "cached_scan"]

log = logging.getLogger("nekohooks.discovery")

FORMAT = 1
"""Bumped whenever the file layout changes; files of another format are ignored."""

RACY_SECONDS = 2.0
"""A folder changed this recently is not trusted (2 s: FAT's mtime resolution, the coarsest)."""

KEEP = 16
"""Cache files kept per cache folder (one per interpreter and ``sys.path``)."""

Stamp = list[tuple[str, int | None]]


def cache_dir(home: Path | None = None) -> Path:
    """Where scans are cached: ``<home>/cache``, where ``home`` defaults to ``$NEKO_HOME``; for
    the default home (the platform's user data folder) the platform's user cache folder."""
    home = default_home() if home is None else home
    if home == platformdirs.user_data_path("nekohooks"):
        return platformdirs.user_cache_path("nekohooks")
    return home / "cache"


def cached_scan(
    group: str = ENTRY_POINT_GROUP,
    *,
    directory: Path | None = None,
    path: Sequence[str] | None = None,
) -> list[Candidate]:
    """What :func:`~nekohooks._discovery.scan` returns, from the cache when it is still valid.

    Args:
      group: the entry-point group.
      directory: the cache folder (default: :func:`cache_dir`).
      path: the import path the scan searches (default: ``sys.path``).

    A cached candidate's entry point has no ``dist`` (its distribution's name and version are on
    the candidate); loading it imports the same object.
    """
    folders = list(sys.path if path is None else path)
    stamp = _stamp(folders)
    file = (directory or cache_dir()) / f"scan-{_digest(group, folders)}.json"
    rows = _read(file, stamp)
    if rows is not None:
        try:
            return [_candidate(group, row) for row in rows]
        except (TypeError, ValueError):  # well-formed JSON, wrong shape: scan afresh
            log.debug("scan cache %s: unexpected content; scanning", file)
    try:
        found = candidates(importlib_metadata.entry_points(group=group))
    except Exception:  # some distribution's metadata is broken: scan() names it; not cached
        return scan(group)
    if not _racy(stamp):
        _write(file, stamp, [_row(cand) for cand in found])
    return found


def _stamp(folders: Sequence[str]) -> Stamp:
    stamp: Stamp = []
    for folder in folders:
        where = folder or os.getcwd()  # "" on sys.path is the current directory
        try:
            stamp.append((where, os.stat(where).st_mtime_ns))
        except OSError:
            stamp.append((where, None))
    return stamp


def _racy(stamp: Stamp) -> bool:
    recent = time.time_ns() - int(RACY_SECONDS * 1e9)
    return any(mtime is not None and mtime > recent for _, mtime in stamp)


def _digest(group: str, folders: Sequence[str]) -> str:
    text = json.dumps([FORMAT, sys.executable, group, list(folders)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _read(file: Path, stamp: Stamp) -> list[Any] | None:
    try:
        data = json.loads(file.read_bytes())
    except (OSError, ValueError):  # missing, unreadable or corrupt: a miss
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    if data.get("stamp") != [list(item) for item in stamp]:
        return None
    rows = data.get("candidates")
    return rows if isinstance(rows, list) else None


def _write(file: Path, stamp: Stamp, rows: list[list[Any]]) -> None:
    data = {"format": FORMAT, "stamp": [list(item) for item in stamp], "candidates": rows}
    temporary: str | None = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=file.parent, prefix=".scan-", suffix=".tmp", delete=False
        ) as tmp:
            temporary = tmp.name
            json.dump(data, tmp, separators=(",", ":"))
        os.replace(temporary, file)
        _prune(file.parent)
    except OSError as exc:  # a read-only or full disk costs speed, never correctness
        log.debug("cannot write the scan cache %s: %s", file, exc)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _prune(directory: Path) -> None:
    files = sorted(directory.glob("scan-*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)


def _row(cand: Candidate) -> list[Any]:
    return [cand.name, cand.value, cand.distribution, cand.version, list(cand.requires)]


def _candidate(group: str, row: list[Any]) -> Candidate:
    name, value, distribution, version, requires = row
    entry_point = importlib_metadata.EntryPoint(name=name, value=value, group=group)
    return Candidate(name, value, distribution, version, entry_point, tuple(requires))
