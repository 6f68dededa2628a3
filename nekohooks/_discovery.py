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

import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable

import attrs
import importlib_metadata
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ._errors import PluginLoadError
from ._model import LoadFailure
from ._registry import Registry

__all__ = ["ENTRY_POINT_GROUP", "Candidate", "PluginFilter", "load_plugins", "scan"]

ENTRY_POINT_GROUP = "neko.plugins"

log = logging.getLogger("nekohooks.discovery")


@attrs.frozen
class Candidate:
    """One entry point in the ``neko.plugins`` group, not yet imported."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entry_point: importlib_metadata.EntryPoint = attrs.field(eq=False, repr=False)

    def supports(self, version: str) -> str | None:
        """Check the distribution's requirement on nekohooks; return the problem or ``None``."""
        dist = self.entry_point.dist
        for line in (dist.requires if dist is not None else None) or ():
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) != "nekohooks":
                continue
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if not req.specifier.contains(Version(version), prereleases=True):
                return f"requires nekohooks{req.specifier}, this is nekohooks {version}"
        return None


@attrs.frozen
class PluginFilter:
    """Which plugins may load: ``allow`` (``None`` = all) minus ``deny``; deny always wins."""

    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    @classmethod
    def from_env(
        cls,
        allow: Iterable[str] | None = None,
        deny: Iterable[str] = (),
        environ: os._Environ[str] | dict[str, str] | None = None,
    ) -> PluginFilter:
        """Combine configured lists with ``NEKO_LOAD_PLUGINS`` / ``NEKO_DISABLE_PLUGINS``."""
        env = os.environ if environ is None else environ
        allowed = set(allow) if allow is not None else None
        if env.get("NEKO_LOAD_PLUGINS", "").strip():
            from_env = _split(env["NEKO_LOAD_PLUGINS"])
            allowed = from_env if allowed is None else allowed & from_env
        denied = set(deny) | _split(env.get("NEKO_DISABLE_PLUGINS", ""))
        return cls(frozenset(allowed) if allowed is not None else None, frozenset(denied))

    def permits(self, name: str) -> bool:
        """True if plugin ``name`` may be imported."""
        if name in self.deny:
            return False
        return self.allow is None or name in self.allow


def _split(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


def scan(group: str = ENTRY_POINT_GROUP) -> list[Candidate]:
    """Every entry point in ``group``, sorted by (name, distribution); imports nothing.

    A distribution whose metadata cannot be read is logged and skipped; the others are found.
    """
    found = []
    for ep in _entry_points(group):
        dist = ep.dist
        found.append(
            Candidate(
                name=ep.name,
                value=ep.value,
                distribution=dist.name if dist is not None else None,
                version=dist.version if dist is not None else None,
                entry_point=ep,
            )
        )
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


@attrs.define
class _Import:
    """One import handed to the worker thread, and its outcome."""

    load: Callable[[], object]
    done: threading.Event = attrs.field(factory=threading.Event)
    value: object = None
    error: BaseException | None = None


class _Importer:
    """Imports entry points on a worker thread, so one that hangs at import is abandoned.

    One daemon thread serves the imports in turn; when an import outlives ``timeout``, that
    thread is left to it (it ends if the import ever returns) and a fresh one takes the next.
    """

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._jobs: queue.SimpleQueue[_Import | None] | None = None

    def load(self, entry_point: importlib_metadata.EntryPoint) -> object:
        """``entry_point.load()``; raises what it raised, or ``TimeoutError``."""
        if self.timeout is None:
            return entry_point.load()
        if self._jobs is None:
            self._jobs = queue.SimpleQueue()
            threading.Thread(
                target=_serve_imports, args=(self._jobs,), name="neko-import", daemon=True
            ).start()
        job = _Import(entry_point.load)
        self._jobs.put(job)
        if not job.done.wait(self.timeout):
            self.close()  # the stuck thread ends if its import ever returns
            raise TimeoutError(f"import timed out after {self.timeout:g}s; abandoned")
        if job.error is not None:
            raise job.error
        return job.value

    def close(self) -> None:
        """Let the worker thread end (after the import it is doing, if any)."""
        if self._jobs is not None:
            self._jobs.put(None)
            self._jobs = None


def _serve_imports(jobs: queue.SimpleQueue[_Import | None]) -> None:
    while (job := jobs.get()) is not None:
        try:
            job.value = job.load()
        except BaseException as exc:  # handed to the waiting thread
            job.error = exc
        job.done.set()


def load_plugins(
    registry: Registry,
    candidates: Iterable[Candidate],
    *,
    plugin_filter: PluginFilter = PluginFilter(),
    version: str,
    import_timeout: float | None = None,
) -> None:
    """Import and register each permitted candidate; record every failure and go on.

    With ``import_timeout`` (seconds), imports run on a worker thread and one that takes
    longer is abandoned and recorded as failed (phase ``import``).
    """
    importer = _Importer(import_timeout)
    try:
        _load_each(registry, candidates, plugin_filter, version, importer)
    finally:
        importer.close()


def _load_each(
    registry: Registry,
    candidates: Iterable[Candidate],
    plugin_filter: PluginFilter,
    version: str,
    importer: _Importer,
) -> None:
    for cand in candidates:
        if not plugin_filter.permits(cand.name):
            registry.disabled.append(cand.name)
            continue

        def record(phase: str, error: str, cand: Candidate = cand) -> None:
            registry.failures.append(
                LoadFailure(cand.name, cand.value, cand.distribution, cand.version, phase, error)
            )

        if cand.name in registry.plugins:
            other = registry.plugins[cand.name].info.distribution
            record("register", f"duplicate plugin name: already provided by {other}")
            continue
        problem = cand.supports(version)
        if problem is not None:
            record("version", problem)
            continue
        try:
            obj = importer.load(cand.entry_point)
        except BaseException as exc:
            record("import", f"{type(exc).__name__}: {exc}")
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
            record(exc.phase or "register", exc.detail)
