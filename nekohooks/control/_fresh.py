"""Fresh imports for an in-process reload: take a plugin's modules out of ``sys.modules``, and
put them back exactly as they were if the new code cannot be loaded (never half-reloaded)."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable

import attrs

__all__ = ["ModuleSwap", "package_of", "shared_with"]


def package_of(module: str) -> str:
    """The top-level package a plugin's module belongs to (``neko_x.plugin`` → ``neko_x``)."""
    return module.partition(".")[0]


def shared_with(package: str, others: Iterable[tuple[str, str]]) -> list[str]:
    """The other plugins (``(name, module)`` pairs) whose code lives in ``package`` too."""
    return [name for name, module in others if package_of(module) == package]


def _under(package: str) -> dict[str, types.ModuleType]:
    prefix = package + "."
    return {
        name: module
        for name, module in list(sys.modules.items())
        if name == package or name.startswith(prefix)
    }


@attrs.define
class ModuleSwap:
    """The modules of one top-level package, taken out of ``sys.modules`` for a fresh import.

    :meth:`take` removes them (so the next import runs the code on disk); :meth:`restore`
    removes whatever the failed import left and puts the old modules back; :meth:`commit`
    forgets the old ones.
    """

    package: str
    old: dict[str, types.ModuleType] = attrs.field(factory=dict)

    def take(self) -> None:
        """Remove the package's modules from ``sys.modules``; invalidate the finders' caches."""
        self.old = _under(self.package)
        for name in self.old:
            del sys.modules[name]
        importlib.invalidate_caches()

    def restore(self) -> None:
        """Undo :meth:`take`: drop the new modules, if any, and put the old ones back."""
        for name in _under(self.package):
            del sys.modules[name]
        sys.modules.update(self.old)

    def commit(self) -> None:
        """Keep the new modules; the old ones are no longer referenced from here."""
        self.old = {}
