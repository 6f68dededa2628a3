"""Discovery: find plugins in the ``neko.plugins`` entry-point group and load each on its own.

One scan of installed distributions, sorted by (plugin name, distribution) so the load order is
the same on every machine. Then, plugin by plugin and each in its own ``try``:

1. allow/deny lists are applied *before* anything is imported;
2. the distribution's own requirement on ``nekohooks`` (its ``Requires-Dist``) is checked against
   the running version, so a plugin built for another major version is refused, not imported;
3. the entry point is imported; 4. it is registered and validated by the :class:`Registry`.

A failure at any step becomes a :class:`~nekohooks.LoadFailure` in ``registry.failures`` and the
next plugin is tried; pluggy's ``load_setuptools_entrypoints`` would stop at the first.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import importlib_metadata
from packaging.utils import canonicalize_name
from packaging.version import Version

from ._config import PluginFilter
from ._errors import PLUGIN_FAULTS, Phase, PluginLoadError
from ._model import LoadFailure

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

    from ._registry import Registry  # only passed in: listing never loads pluggy or the API

__all__ = ["ENTRY_POINT_GROUP", "Candidate", "load_plugins", "scan"]

ENTRY_POINT_GROUP = "neko.plugins"
#: Where plugin-folder kinds register (``describe(folder) -> (name, version)``, ``load(folder)``).
FOLDER_KINDS_GROUP = "neko.folder_kinds"
_EVERY_PLUGIN = PluginFilter()

log = logging.getLogger("nekohooks.discovery")


@attrs.frozen
class Candidate:
    """One entry point in the ``neko.plugins`` group, not yet imported."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entry_point: importlib_metadata.EntryPoint = attrs.field(eq=False, repr=False)
    requires: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)
    """The distribution's ``Requires-Dist`` lines."""

    def supports(self, version: str) -> str | None:
        """Check the distribution's requirement on nekohooks; return the problem or ``None``."""
        for line in self.requires:
            problem = _requirement_problem(line, version)
            if problem is not None:
                return problem
        return None


@functools.lru_cache(maxsize=256)
def _requirement_problem(line: str, version: str) -> str | None:
    """Why nekohooks ``version`` does not meet the ``Requires-Dist`` line, or ``None``.

    Cached: a thousand plugins repeat the same few lines, against the one running version.
    """
    specifier = _nekohooks_specifier(line)
    if specifier is not None and not specifier.contains(Version(version), prereleases=True):
        return f"requires nekohooks{specifier}, this is nekohooks {version}"
    return None


_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
"""The distribution name a ``Requires-Dist`` line starts with (PEP 508)."""


@functools.lru_cache(maxsize=256)
def _nekohooks_specifier(line: str) -> SpecifierSet | None:
    """The version range a ``Requires-Dist`` line puts on nekohooks (``None``: it puts none).

    Cached: a thousand plugins repeat the same few lines. A line about another distribution
    is dismissed by its name, and a plain ``nekohooks<specifiers>`` line (no extras, URL or
    marker) needs only packaging's ``SpecifierSet`` (~2 ms to import); any other line gets the
    full PEP 508 parser (``packaging.requirements``, ~10 ms to import, ~70 us a line).
    """
    named = _REQUIREMENT_NAME.match(line)
    if named is None or canonicalize_name(named[1]) != "nekohooks":
        return None
    rest = line[named.end() :]
    if not any(mark in rest for mark in ";[@("):
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            return SpecifierSet(rest)
        except InvalidSpecifier:  # let the full parser judge it
            pass
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    if canonicalize_name(req.name) != "nekohooks":
        return None
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return None
    return req.specifier


def scan(group: str = ENTRY_POINT_GROUP) -> list[Candidate]:
    """Every entry point in ``group``, sorted by (name, distribution); imports nothing.

    A distribution whose metadata cannot be read is logged and skipped; the others are found.
    """
    return candidates(_entry_points(group))


def candidates(entry_points: Iterable[importlib_metadata.EntryPoint]) -> list[Candidate]:
    """The candidates for ``entry_points``, sorted by (name, distribution)."""
    found = []
    headers: dict[int, tuple[str | None, str | None, tuple[str, ...]]] = {}
    for ep in entry_points:
        dist = ep.dist
        requires: tuple[str, ...]
        if dist is None:
            name, version, requires = None, None, ()
        elif id(dist) in headers:
            name, version, requires = headers[id(dist)]
        else:  # METADATA is parsed once per distribution, not per field
            metadata = dist.metadata
            name, version = metadata["Name"], metadata["Version"]
            requires = tuple(metadata.get_all("Requires-Dist") or ())
            headers[id(dist)] = name, version, requires
        found.append(Candidate(ep.name, ep.value, name, version, ep, requires))
    found.sort(key=lambda c: (c.name, c.distribution or "", c.value))
    return found


def _entry_points(group: str) -> list[importlib_metadata.EntryPoint]:
    try:
        return list(importlib_metadata.entry_points(group=group))
    except Exception:  # one distribution's metadata is broken: read them one by one
        pass
    found: list[importlib_metadata.EntryPoint] = []
    seen: set[str] = set()
    for dist in importlib_metadata.distributions():
        try:
            key = canonicalize_name(dist.name)
            if key in seen:  # the first on sys.path wins, as in entry_points()
                continue
            seen.add(key)
            found.extend(dist.entry_points.select(group=group))
        except Exception as exc:
            log.error("skipping the distribution at %s: %s", dist.locate_file(""), exc)
    return found


def load_plugins(
    registry: Registry,
    candidates: Iterable[Candidate],
    *,
    plugin_filter: PluginFilter = _EVERY_PLUGIN,
    version: str,
    import_timeout: float | None = None,
) -> None:
    """Import and register each permitted candidate; record every failure and go on.

    With ``import_timeout`` (seconds), the imports run in turn on a worker thread, and one
    that takes longer is abandoned and recorded as failed (phase ``import``).
    """
    permitted: list[Candidate] = []
    claimed: dict[str, str | None] = {}
    for cand in candidates:
        if not plugin_filter.permits(cand.name):
            registry.disabled.append(cand.name)
        elif cand.name in claimed:
            _record(
                registry,
                cand,
                Phase.REGISTER,
                f"duplicate plugin name: already provided by {claimed[cand.name]}",
            )
        elif (problem := cand.supports(version)) is not None:
            _record(registry, cand, Phase.VERSION, problem)
        else:
            claimed[cand.name] = cand.distribution
            permitted.append(cand)
    for cand, (obj, error) in zip(permitted, _import_all(permitted, import_timeout), strict=True):
        if error is not None:
            _record(registry, cand, Phase.IMPORT, f"{type(error).__name__}: {error}")
            continue
        try:
            registry.add(
                cand.name,
                obj,
                value=cand.value,
                distribution=cand.distribution,
                version=cand.version,
            )
        except PluginLoadError as exc:
            _record(registry, cand, exc.phase or Phase.REGISTER, exc.detail)


def _record(registry: Registry, cand: Candidate, phase: Phase, error: str) -> None:
    registry.failures.append(
        LoadFailure(cand.name, cand.value, cand.distribution, cand.version, phase, error)
    )


Imported = tuple[object, BaseException | None]


def _import_all(candidates: list[Candidate], timeout: float | None) -> list[Imported]:
    """Import each candidate's entry point, in order; ``(object, None)`` or ``(None, error)``.

    With a ``timeout``, a worker thread imports them one after the other while this thread
    only watches its progress (no hand-off per import). An import that makes no progress for
    ``timeout`` seconds is abandoned with a ``TimeoutError``, and a fresh worker carries on
    with the next; the stuck one stops if its import ever returns.
    """
    results: list[Imported] = [(None, None)] * len(candidates)
    if timeout is None:
        for i, cand in enumerate(candidates):
            results[i] = _import_one(cand)
        return results
    start = 0
    while start < len(candidates):
        worker = _ImportWorker(candidates, results, start)
        worker.start()
        stuck_at = worker.watch(timeout)
        if stuck_at is None:
            break
        results[stuck_at] = (None, TimeoutError(f"import timed out after {timeout:g}s; abandoned"))
        start = stuck_at + 1
    return results


def _import_one(cand: Candidate, *, on_worker: bool = False) -> Imported:
    """Import one entry point. On the worker thread a ``KeyboardInterrupt`` is the plugin's
    own doing (signals reach only the main thread), so it is recorded like any fault; on the
    calling thread it may be a real Ctrl-C, and propagates."""
    faults: tuple[type[BaseException], ...] = (
        (*PLUGIN_FAULTS, KeyboardInterrupt) if on_worker else PLUGIN_FAULTS
    )
    try:
        return cand.entry_point.load(), None
    except faults as exc:
        return None, exc


class _ImportWorker(threading.Thread):
    """Imports ``candidates[start:]`` into ``results`` until done or abandoned."""

    def __init__(self, candidates: list[Candidate], results: list[Imported], start: int) -> None:
        super().__init__(name="neko-import", daemon=True)
        self.candidates, self.results = candidates, results
        self.current = start
        self.finished = threading.Event()
        self.abandoned = threading.Event()

    def run(self) -> None:
        for i in range(self.current, len(self.candidates)):
            if self.abandoned.is_set():
                return
            self.current = i
            outcome = _import_one(self.candidates[i], on_worker=True)
            if self.abandoned.is_set():  # too late: this slot was given up on
                return
            self.results[i] = outcome
        self.finished.set()

    def watch(self, timeout: float) -> int | None:
        """Wait until done (``None``), or return the index of an import stuck past ``timeout``."""
        seen, since = self.current, time.monotonic()
        while not self.finished.wait(min(0.05, timeout)):
            if self.current != seen:
                seen, since = self.current, time.monotonic()
            elif time.monotonic() - since >= timeout:
                self.abandoned.set()
                return seen
        return None


class _FolderEntryPoint(importlib_metadata.EntryPoint):
    """Stands for a plugin folder: ``load()`` imports it through the kind that described it."""

    def __init__(self, name: str, folder: Path, kind: Any) -> None:
        super().__init__(name=name, value=str(folder), group=ENTRY_POINT_GROUP)
        vars(self).update(folder=folder, kind=kind)

    def load(self) -> Any:
        return vars(self)["kind"].load(vars(self)["folder"])


def folder_candidates(folders: Iterable[Path]) -> tuple[list[Candidate], list[LoadFailure]]:
    """A :class:`Candidate` per plugin folder (``[plugins] folders``), described by the folder
    kinds registered under ``neko.folder_kinds``; a folder no kind can use is a failure that
    names it. Nothing is imported from the folders here.
    """
    folders = list(folders)
    if not folders:
        return [], []
    kinds = []
    for ep in _entry_points(FOLDER_KINDS_GROUP):
        try:
            kinds.append(ep.load())
        except Exception as exc:  # a broken kind must not stop discovery
            log.error("folder kind %r cannot be loaded: %s", ep.name, exc)
    found: list[Candidate] = []
    failures: list[LoadFailure] = []
    for folder in folders:
        problem = f"{folder}: no plugin folder kind is installed"
        for kind in kinds:
            try:
                name, version = kind.describe(folder)
            except Exception as exc:  # this kind cannot use the folder: say why
                problem = str(exc)
                continue
            entry = _FolderEntryPoint(name, folder, kind)
            found.append(Candidate(name, str(folder), f"folder {folder}", version, entry))
            break
        else:
            failures.append(
                LoadFailure(folder.name, str(folder), None, None, Phase.IMPORT, problem)
            )
    return found, failures
