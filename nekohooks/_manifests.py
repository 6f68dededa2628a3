"""The manifest cache: what each plugin declared when it was last loaded, so that ``neko list``
shows the installed plugins without importing or starting them.

A manifest is what ``neko list`` shows of a plugin that loads: its distribution and version,
its entries and its schedules. It is recorded when the plugin is imported and registered (not
started), and used instead of importing it again while all of these hold:

* the scan still finds the plugin under the same name, entry point, distribution and version;
* every file its import loaded is unchanged (``mtime_ns``, size, inode): the modules its
  import added to ``sys.modules``, every loaded module of its top-level package (entries in
  submodules, imported by the plugin or by another plugin of the same package) and the modules
  that define its entries and jobs. An editable install's source edited in place changes a
  file, not a ``sys.path`` folder: it is noticed;
* nekohooks is the same version and its own loaded modules are unchanged (they turn a
  plugin's declarations into entries and schedules).

Anything else is a miss: the plugin is imported and registered (never started) and its
manifest rewritten. Never cached: a plugin that failed to load (its error shows every time),
a plugin from a plugin folder (``[plugins] folders``), one whose files cannot all be read, or
whose files changed in the last :data:`~nekohooks._scan_cache.RACY_SECONDS` (an mtime
is not trusted within its clock's tick). What it cannot notice: a plugin whose declarations
depend on something other than its code (an environment variable, a file it reads on
import), or a dependency it shares with another plugin that imported it first, edited in place
without a version change (it is stamped for that first plugin only). ``neko list --strict``
imports and starts everything. The file lives beside the scan cache; corrupt or foreign
files are ignored and rewritten, writes are atomic.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import attrs
import importlib_metadata

from ._config import HostConfig, PluginFilter
from ._discovery import Candidate, folder_candidates, load_plugins
from ._errors import Phase
from ._model import LoadFailure, PluginInfo
from ._scan_cache import (
    GROUP,
    RACY_SECONDS,
    cache_dir,
    cache_file,
    cached_rows,
    cached_scan,
    write_atomic,
)
from ._version import __version__

__all__ = ["Listing", "Manifest", "installed"]

log = logging.getLogger("nekohooks.discovery")

FORMAT = 1
"""Bumped whenever the file layout changes; files of another format are ignored."""

Stamp = list[Any]  # [path, mtime_ns, size, inode]


@attrs.frozen
class Manifest:
    """What a plugin that loads declared: the columns ``neko list`` shows of it."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    entries: tuple[str, ...]
    """Its entries' ids, in declaration order."""
    schedules: tuple[tuple[str, str], ...]
    """Each periodic job's id and schedule text (``every 60s``)."""


@attrs.frozen
class Listing:
    """The plugins a host with this config would load, without one running: see
    :func:`installed`."""

    plugins: tuple[Manifest, ...]
    failures: tuple[LoadFailure, ...]
    disabled: tuple[str, ...]
    imported: tuple[str, ...]
    """The plugins imported this time (the others came from the cache, or are not loaded)."""


def installed(config: HostConfig, *, directory: Path | None = None) -> Listing:
    """Every plugin ``config`` would load (scanned, in plugin folders, in ``<home>/envs``), as
    ``neko list`` shows it with no host running: manifests from the cache where valid, the
    other plugins imported and registered now (never started), failures and disabled plugins
    as discovery records them.

    Each failure is logged (``nekohooks.discovery``, ERROR), as a host logs them.

    Args:
      config: its plugin filter, folders, home and ``startup_timeout`` (per import) are used.
      directory: the cache folder (default: the scan cache's, :func:`cache_dir` of the home).
    """
    directory = directory or cache_dir(config.home)
    scanned = cached_scan(directory=directory)
    # each one's requirement on nekohooks, as the scan cache judged it (parsing them loads
    # packaging's parser, ~25 ms): a plugin it does not know is judged here
    verdicts = {
        (r.name, r.value, r.distribution): r.problem for r in cached_rows(directory=directory) or ()
    }
    in_folders, broken = folder_candidates(config.plugin_folders)
    failures, disabled = list(broken), list[str]()
    permitted = _permitted(
        [*scanned, *in_folders], config.plugin_filter, verdicts, failures, disabled
    )
    file = cache_file("manifests", GROUP, directory, None)
    framework, cached = _read(file)
    cacheable = {id(cand) for cand in scanned if cand.distribution and cand.version}
    hits: dict[str, Manifest] = {}
    misses: list[Candidate] = []
    for cand in permitted:
        found = cached.get(cand.name) if id(cand) in cacheable else None
        if found is not None and _still_valid(found, cand):
            hits[cand.name] = _manifest(found)
        else:
            misses.append(_Recording.of(cand) if id(cand) in cacheable else cand)
    loaded: list[Manifest] = []
    fresh: dict[str, dict[str, Any]] = {}
    if misses or (config.home / "envs").is_dir():
        loaded = _load(misses, config, hits, failures, disabled, fresh)
    # Keep what was neither refuted nor replaced (a plugin filtered out this time keeps its
    # manifest); drop the plugins no longer installed and those that missed.
    names = {cand.name for cand in scanned}
    missed = {cand.name for cand in misses}
    kept = {name: data for name, data in cached.items() if name in names and name not in missed}
    if fresh:  # the nekohooks modules that loaded them are all loaded now
        framework = _framework_stamps()
    if framework is not None and (fresh or kept.keys() != cached.keys()):
        _write(file, framework, kept | fresh)
    for failure in failures:  # as a host logs them
        log.error("%s", failure)
    return Listing(
        plugins=tuple(sorted([*hits.values(), *loaded], key=lambda m: m.name)),
        failures=tuple(failures),
        disabled=tuple(disabled),
        imported=tuple(sorted(missed)),
    )


def _permitted(
    candidates: Iterable[Candidate],
    plugin_filter: PluginFilter,
    verdicts: Mapping[tuple[str, str, str | None], str | None],
    failures: list[LoadFailure],
    disabled: list[str],
) -> list[Candidate]:
    """The candidates :func:`~nekohooks._discovery.load_plugins` would import, by its rules
    (filter, first of a duplicate name, requirement on nekohooks: its verdict by name, entry
    point and distribution if given), before anything is imported."""
    permitted: list[Candidate] = []
    claimed: dict[str, str | None] = {}
    for cand in candidates:
        phase, problem = Phase.REGISTER, None
        if not plugin_filter.permits(cand.name):
            disabled.append(cand.name)
            continue
        if cand.name in claimed:
            problem = f"duplicate plugin name: already provided by {claimed[cand.name]}"
        else:
            key = (cand.name, cand.value, cand.distribution)
            problem = verdicts[key] if key in verdicts else cand.supports(__version__)
            phase = Phase.VERSION
        if problem is not None:
            failures.append(
                LoadFailure(cand.name, cand.value, cand.distribution, cand.version, phase, problem)
            )
            continue
        claimed[cand.name] = cand.distribution
        permitted.append(cand)
    return permitted


def _load(
    misses: list[Candidate],
    config: HostConfig,
    hits: dict[str, Manifest],
    failures: list[LoadFailure],
    disabled: list[str],
    fresh: dict[str, dict[str, Any]],
) -> list[Manifest]:
    """Import and register ``misses`` (and describe the ``<home>/envs`` plugins) as the host
    would, never starting one; add the failures and disabled plugins, put the manifests worth
    caching in ``fresh``, and return the manifests of all that loaded."""
    from ._registry import Registry  # pluggy and the author API: only when something missed

    registry = Registry()
    load_plugins(
        registry, misses, version=__version__, import_timeout=config.limits.startup_timeout
    )
    if (config.home / "envs").is_dir():  # `neko install --isolated`: described, not imported
        from .isolation import add_env_plugins

        add_env_plugins(registry, config)
        for name in [n for n in registry.plugins if n in hits]:  # as the host refuses them
            info = registry.remove(name).info
            problem = f"duplicate plugin name: already provided by {hits[name].distribution}"
            failures.append(
                LoadFailure(
                    name, info.value, info.distribution, info.version, Phase.REGISTER, problem
                )
            )
    failures.extend(registry.failures)
    disabled.extend(registry.disabled)
    packages = _by_package()
    for cand in misses:
        plugin = registry.plugins.get(cand.name)
        if plugin is not None and isinstance(cand.entry_point, _Recording):
            files = _files(cand.entry_point, plugin.info, packages)
            if files is not None:
                fresh[cand.name] = attrs.asdict(_from_info(plugin.info)) | {"files": files}
    return [_from_info(plugin.info) for plugin in registry.plugins.values()]


class _Recording(importlib_metadata.EntryPoint):
    """An entry point whose ``load()`` also notes which modules its import added to
    ``sys.modules`` (a subclass discovery loads like any other, as it does its own
    ``_FolderEntryPoint``)."""

    @classmethod
    def of(cls, cand: Candidate) -> Candidate:
        """``cand`` with its entry point recording."""
        entry = cls(name=cand.name, value=cand.value, group=cand.entry_point.group)
        vars(entry)["added"] = None  # EntryPoint refuses attribute assignment
        return attrs.evolve(cand, entry_point=entry)

    @property
    def added(self) -> list[str] | None:
        """The modules the import added (``None``: it was not imported, or it failed)."""
        return vars(self)["added"]  # type: ignore[no-any-return]

    def load(self) -> Any:
        before = set(sys.modules)  # set() and list() of a dict are atomic; a loop is not
        obj = super().load()
        vars(self)["added"] = [name for name in list(sys.modules) if name not in before]
        return obj


def _from_info(info: PluginInfo) -> Manifest:
    return Manifest(
        name=info.name,
        value=info.value,
        distribution=info.distribution,
        version=info.version,
        entries=tuple(entry.id for entry in info.entries),
        schedules=tuple((job.id, job.describe()) for job in info.jobs),
    )


def _by_package() -> dict[str, list[str]]:
    """Every loaded module's name, under the name of its top-level package."""
    packages: dict[str, list[str]] = {}
    for name in list(sys.modules):
        packages.setdefault(name.partition(".")[0], []).append(name)
    return packages


def _files(
    entry: _Recording, info: PluginInfo, packages: dict[str, list[str]]
) -> list[Stamp] | None:
    """The stamps of the files ``info``'s plugin came from, or ``None`` if it must not be
    cached (its import was not recorded, a file is unreadable or changed moments ago)."""
    if entry.added is None:
        return None
    top = entry.value.partition(":")[0].strip().partition(".")[0]
    modules = {*entry.added, *packages.get(top, ()), info.module}
    modules |= {entry.func.__module__ for entry in info.entries}
    modules |= {job.func.__module__ for job in info.jobs}
    mine = [m for m in modules if m.partition(".")[0] != "nekohooks"]
    return _stamps(_module_files(mine) | _package_files(mine))


def _framework_stamps() -> list[Stamp] | None:
    """The stamps of nekohooks' own loaded modules (``None``: one changed moments ago)."""
    return _stamps(
        _module_files(m for m in list(sys.modules) if m.partition(".")[0] == "nekohooks")
    )


def _module_files(modules: Iterable[str]) -> set[str]:
    paths = set()
    for name in modules:
        path = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(path, str):  # built-in, namespace and made-up modules have none
            paths.add(path)
    return paths


def _package_files(modules: Iterable[str]) -> set[str]:
    """Each package's folder (its mtime changes when a file is added, removed or renamed) and
    the data files in it, which a plugin may read as it loads (a ``plugin.toml`` declaring
    what an adopted plugin offers)."""
    paths = set()
    for name in modules:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or getattr(module, "__path__", None) is None:
            continue
        folder = os.path.dirname(path)
        paths.add(folder)
        try:
            with os.scandir(folder) as entries:
                paths.update(
                    entry.path
                    for entry in entries
                    if entry.is_file() and not entry.name.endswith((".py", ".pyc"))
                )
        except OSError:  # unreadable: its stamp below fails, and the plugin is not cached
            pass
    return paths


def _stamps(paths: Iterable[str]) -> list[Stamp] | None:
    stamps = []
    recent = time.time_ns() - int(RACY_SECONDS * 1e9)
    for path in sorted(paths):
        stamp = _stat(path)
        if stamp is None or stamp[1] > recent:
            return None
        stamps.append(stamp)
    return stamps


def _stat(path: str) -> Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [path, info.st_mtime_ns, info.st_size, info.st_ino]


def _unchanged(stamps: Sequence[Stamp]) -> bool:
    return all(_stat(stamp[0]) == stamp for stamp in stamps)


def _still_valid(data: dict[str, Any], cand: Candidate) -> bool:
    return (
        data["value"] == cand.value
        and data["distribution"] == cand.distribution
        and data["version"] == cand.version
        and _unchanged(data["files"])
    )


def _manifest(data: dict[str, Any]) -> Manifest:
    return Manifest(
        name=data["name"],
        value=data["value"],
        distribution=data["distribution"],
        version=data["version"],
        entries=tuple(data["entries"]),
        schedules=tuple((job, text) for job, text in data["schedules"]),
    )


def _read(file: Path) -> tuple[list[Stamp] | None, dict[str, dict[str, Any]]]:
    """The framework stamps and the cached manifests by plugin name; ``(None, {})`` if the
    file is missing, corrupt, of another layout or nekohooks version, or nekohooks' own files
    changed since it was written."""
    try:
        data = json.loads(file.read_bytes())
    except (OSError, ValueError):  # missing, unreadable or not JSON: a miss
        return None, {}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None, {}
    framework, plugins = data.get("framework"), data.get("plugins")
    if data.get("nekohooks") != __version__ or not _stamp_list(framework):
        return None, {}
    if not isinstance(plugins, dict) or not all(
        _well_formed(name, manifest) for name, manifest in plugins.items()
    ):
        log.debug("manifest cache %s: unexpected content; ignored", file)
        return None, {}
    if not _unchanged(framework):  # nekohooks itself changed (an editable install)
        return None, {}
    return framework, plugins


def _well_formed(name: str, data: object) -> bool:
    """A manifest as :func:`installed` writes it (a cacheable plugin has a distribution and a
    version)."""
    if not isinstance(data, dict) or data.get("name") != name:
        return False
    texts = [data.get(key) for key in ("value", "distribution", "version")]
    entries, schedules = data.get("entries"), data.get("schedules")
    return (
        all(isinstance(text, str) for text in texts)
        and isinstance(entries, list)
        and all(isinstance(entry, str) for entry in entries)
        and isinstance(schedules, list)
        and all(
            isinstance(job, list) and len(job) == 2 and all(isinstance(x, str) for x in job)
            for job in schedules
        )
        and _stamp_list(data.get("files"))
    )


def _stamp_list(stamps: object) -> TypeGuard[list[Stamp]]:
    return isinstance(stamps, list) and all(
        isinstance(stamp, list) and len(stamp) == 4 and isinstance(stamp[0], str)
        for stamp in stamps
    )


def _write(file: Path, framework: list[Stamp], plugins: dict[str, dict[str, Any]]) -> None:
    data = {
        "format": FORMAT,
        "nekohooks": __version__,
        "framework": framework,
        "plugins": plugins,
    }
    write_atomic(file, data)
