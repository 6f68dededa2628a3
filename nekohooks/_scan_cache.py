"""The scan cache: the ``neko.plugins`` entry points remembered between processes, keyed on the
modification times of the ``sys.path`` folders (as stevedore's cache is).

Installing or removing a distribution adds or removes a ``.dist-info`` folder (and its files) in
a ``sys.path`` folder, which changes that folder's mtime, so the next scan reads the metadata
again; a hit reads one small JSON file instead of every distribution's ``entry_points.txt`` and
each plugin's ``METADATA``, and imports nothing (:func:`cached_rows` not even discovery). What it does not notice: an ``entry_points.txt``
or ``METADATA`` edited in place by hand (no folder changes); delete the cache folder then.

Details that keep it correct:

* The file's name hashes the interpreter, the group and ``sys.path`` itself (so each
  environment, and each order of folders, has its own file); its content holds the folders'
  mtimes, which must all match. Missing folders count as a state too.
* A folder modified in the last :data:`RACY_SECONDS` is not trusted for writing (two changes
  within one tick of the file system's clock can share an mtime): the scan is still right,
  it is just not cached until the folders have settled.
* A scan that met an unreadable distribution is not cached: the next one must name it again.
* Each row also keeps what the distribution's requirement on nekohooks says of the nekohooks
  that wrote it (``neko --version``'s ``[incompatible: ...]``), so a file written by another
  nekohooks version is not used.
* Files are written whole (a temporary file, then a rename); a corrupt or foreign file is
  ignored and replaced. At most :data:`KEEP` files are kept, the least recently written go.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._home import cache_dir
from ._version import __version__

if TYPE_CHECKING:
    from ._discovery import Candidate

__all__ = ["GROUP", "Row", "cache_dir", "cache_file", "cached_rows", "cached_scan", "write_atomic"]

GROUP = "neko.plugins"
"""The group scanned by default: :data:`~nekohooks._discovery.ENTRY_POINT_GROUP`, spelled out
here so that :func:`cached_rows` (``neko --version``) loads no discovery code."""

FORMAT = 2
"""Bumped whenever the file layout changes; files of another format are ignored."""

RACY_SECONDS = 2.0
"""A folder changed this recently is not trusted (2 s: FAT's mtime resolution, the coarsest)."""

KEEP = 16
"""Cache files kept per cache folder (one per interpreter and ``sys.path``)."""

Stamp = list[tuple[str, int | None]]


class Row(NamedTuple):
    """One cached candidate, as :func:`cached_rows` returns it."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    requires: list[str]
    problem: str | None
    """What :meth:`~nekohooks._discovery.Candidate.supports` said of this nekohooks version."""


def cached_rows(
    group: str = GROUP, *, directory: Path | None = None, path: Sequence[str] | None = None
) -> list[Row] | None:
    """The cached scan of ``group`` if the cache is valid, else ``None`` (nothing is scanned).

    Reads one file and imports no discovery code, metadata reader or version parser: what
    ``neko --version`` needs to be quick. Arguments as for :func:`cached_scan`.
    """
    return _lookup(group, directory, path)[2]


def cached_scan(
    group: str = GROUP,
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
    import importlib_metadata  # here, not above: a hit through cached_rows needs neither

    from ._discovery import Candidate, candidates, scan

    file, stamp, rows = _lookup(group, directory, path)
    if rows is not None:
        return [
            Candidate(
                row.name,
                row.value,
                row.distribution,
                row.version,
                importlib_metadata.EntryPoint(name=row.name, value=row.value, group=group),
                tuple(row.requires),
            )
            for row in rows
        ]
    try:
        found = candidates(importlib_metadata.entry_points(group=group))
    except Exception:  # some distribution's metadata is broken: scan() names it; not cached
        return scan(group)
    if not _racy(stamp):
        data = {
            "format": FORMAT,
            "nekohooks": __version__,
            "stamp": [list(item) for item in stamp],
            "candidates": [_row(cand) for cand in found],
        }
        write_atomic(file, data)
    return found


def cache_file(kind: str, group: str, directory: Path | None, path: Sequence[str] | None) -> Path:
    """The cache file of ``kind`` (``scan``, ``manifests``) for ``group`` and this interpreter
    and import path (default: ``sys.path``), in ``directory`` (default: :func:`cache_dir`)."""
    folders = list(sys.path if path is None else path)
    return (directory or cache_dir()) / f"{kind}-{_digest(group, folders)}.json"


def write_atomic(file: Path, data: object) -> bool:
    """Write ``data`` as JSON to ``file`` whole (a temporary file, then a rename) and keep the
    :data:`KEEP` newest files of its kind; ``False`` if the disk refused (logged at debug)."""
    import tempfile  # only when writing

    kind = file.name.partition("-")[0]
    temporary: str | None = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=file.parent, prefix=f".{kind}-", suffix=".tmp", delete=False
        ) as tmp:
            temporary = tmp.name
            json.dump(data, tmp, separators=(",", ":"))
        os.replace(temporary, file)
        _prune(file.parent, kind)
    except OSError as exc:  # a read-only or full disk costs speed, never correctness
        _debug("cannot write the cache file %s: %s", file, exc)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        return False
    return True


def _lookup(
    group: str, directory: Path | None, path: Sequence[str] | None
) -> tuple[Path, Stamp, list[Row] | None]:
    folders = list(sys.path if path is None else path)
    stamp = _stamp(folders)
    file = cache_file("scan", group, directory, folders)
    return file, stamp, _read(file, stamp)


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


def _read(file: Path, stamp: Stamp) -> list[Row] | None:
    try:
        data = json.loads(file.read_bytes())
    except (OSError, ValueError):  # missing, unreadable or corrupt: a miss
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    if data.get("nekohooks") != __version__:  # the problems were judged for another version
        return None
    if data.get("stamp") != [list(item) for item in stamp]:
        return None
    rows = data.get("candidates")
    if not isinstance(rows, list) or not all(_well_formed(row) for row in rows):
        _debug("scan cache %s: unexpected content; scanning", file)
        return None
    return [Row(*row) for row in rows]


def _well_formed(row: object) -> bool:
    if not isinstance(row, list) or len(row) != len(Row._fields):
        return False
    name, value, distribution, version, requires, problem = row
    return (
        isinstance(name, str)
        and isinstance(value, str)
        and all(isinstance(x, str | None) for x in (distribution, version, problem))
        and isinstance(requires, list)
        and all(isinstance(line, str) for line in requires)
    )


def _debug(message: str, *args: object) -> None:
    import logging  # here: a hit (``neko --version``) logs nothing and need not load it

    logging.getLogger("nekohooks.discovery").debug(message, *args)


def _prune(directory: Path, kind: str) -> None:
    files = sorted(directory.glob(f"{kind}-*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)


def _row(cand: Candidate) -> list[Any]:
    problem = cand.supports(__version__)
    return [cand.name, cand.value, cand.distribution, cand.version, list(cand.requires), problem]
