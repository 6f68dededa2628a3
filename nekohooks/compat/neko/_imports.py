"""The import names N.E.K.O plugins use, resolved for folders loaded through this layer.

A plugin imports ``plugin.sdk.plugin`` (the SDK) and is itself ``plugin.plugins.<package>``.
The first :func:`register_folder` installs one finder at the front of ``sys.meta_path``: it
serves ``plugin`` and ``plugin.plugins`` as empty packages made in memory, ``plugin.sdk``,
``plugin.sdk.plugin``, ``plugin.sdk.shared`` and ``plugin.sdk.shared.i18n`` as aliases of
``nekohooks.compat.neko.sdk`` modules, and ``plugin.plugins.<package>`` from its registered
folder. Nothing named ``plugin`` is installed on disk; before a folder is registered no such
name resolves. Other ``plugin.sdk.*`` modules raise an ``ImportError`` naming them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path

__all__ = ["register_folder"]

_SDK = "nekohooks.compat.neko.sdk"
_ALIASES = {
    "plugin.sdk": _SDK,
    "plugin.sdk.plugin": f"{_SDK}.plugin",
    "plugin.sdk.shared": f"{_SDK}.shared",
    "plugin.sdk.shared.i18n": f"{_SDK}.shared.i18n",
}
_VIRTUAL = ("plugin", "plugin.plugins")


class _Virtual(importlib.abc.Loader):
    """An empty package made in memory (``plugin``, ``plugin.plugins``)."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = "Made by nekohooks.compat.neko for N.E.K.O plugins; holds nothing."


class _Alias(importlib.abc.Loader):
    """Serves an already importable module under a N.E.K.O name (the same module object)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.original: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = importlib.import_module(self.target)
        self.original = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self.original  # keep the real module's own spec


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.folders: dict[str, Path] = {}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in _VIRTUAL:
            return importlib.machinery.ModuleSpec(fullname, _Virtual(), is_package=True)
        if fullname in _ALIASES:
            return importlib.machinery.ModuleSpec(
                fullname, _Alias(_ALIASES[fullname]), is_package=fullname != "plugin.sdk.plugin"
            )
        if fullname.startswith("plugin.sdk."):
            raise ImportError(
                f"N.E.K.O SDK module {fullname!r} is not provided by nekohooks.compat.neko "
                f"(it provides {', '.join(sorted(_ALIASES))})",
                name=fullname,
            )
        parts = fullname.split(".")
        if len(parts) == 3 and parts[:2] == ["plugin", "plugins"]:
            folder = self.folders.get(parts[2])
            if folder is None:
                return None
            return importlib.util.spec_from_file_location(
                fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )
        return None


_finder = _Finder()
_lock = threading.Lock()


def register_folder(package: str, folder: Path) -> None:
    """Make ``plugin.plugins.<package>`` import from ``folder`` (installing the finder once).

    Raises ``ImportError`` if another folder already owns that package name.
    """
    folder = folder.resolve()
    with _lock:
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        owner = _finder.folders.get(package)
        if owner is not None and owner != folder:
            raise ImportError(
                f"plugin.plugins.{package} is already loaded from {owner}; "
                f"a second N.E.K.O plugin folder ({folder}) cannot use the same package name"
            )
        _finder.folders[package] = folder
