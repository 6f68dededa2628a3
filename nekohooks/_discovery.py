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

import os
from collections.abc import Iterable

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
    """Every entry point in ``group``, sorted by (name, distribution); imports nothing."""
    found = []
    for ep in importlib_metadata.entry_points(group=group):
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


def load_plugins(
    registry: Registry,
    candidates: Iterable[Candidate],
    *,
    plugin_filter: PluginFilter = PluginFilter(),
    version: str,
) -> None:
    """Import and register each permitted candidate; record every failure and go on."""
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
            obj = cand.entry_point.load()
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
