"""Importing an AstrBot plugin folder as a package that only this layer serves.

:func:`load_folder` registers the folder under the synthetic package
``nekohooks_astrbot.<name>`` (a ``sys.meta_path`` finder this layer installs once answers for
that prefix only) and imports its ``main.py`` (or ``<folder name>.py``). Every module of the
folder is executed with the plugin's own builtins (:mod:`._modules`), so ``import astrbot...``,
``open`` and ``os`` mean the plugin's; relative imports between the folder's modules work.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nekohooks import NekoPluginBase

from ._adapter import adapt, read_schema
from ._modules import plugin_builtins, plugin_logger
from ._paths import PathGuard
from ._star import META, Runtime, Star

__all__ = ["PACKAGE", "load_folder"]

PACKAGE = "nekohooks_astrbot"
_folders: dict[str, tuple[Path, dict[str, Any]]] = {}
_lock = threading.Lock()


class _Loader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, builtins: dict[str, Any]) -> None:
        super().__init__(fullname, path)
        self._builtins = builtins

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__builtins__"] = self._builtins
        super().exec_module(module)


class _Namespace(importlib.abc.Loader):
    """A package folder without ``__init__.py`` (and the synthetic top package)."""

    def __init__(self, builtins: dict[str, Any] | None = None) -> None:
        self._builtins = builtins

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        if self._builtins is not None:
            module.__dict__["__builtins__"] = self._builtins


class _Finder(importlib.abc.MetaPathFinder):
    """Answers for ``nekohooks_astrbot`` and the folders registered under it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        parts = fullname.split(".")
        if parts[0] != PACKAGE:
            return None
        if len(parts) == 1:
            return importlib.machinery.ModuleSpec(fullname, _Namespace(), is_package=True)
        entry = _folders.get(parts[1])
        if entry is None:
            return None
        folder, builtins = entry
        base = folder.joinpath(*parts[2:])
        init = base / "__init__.py"
        if init.is_file():
            return importlib.util.spec_from_file_location(
                fullname,
                init,
                loader=_Loader(fullname, str(init), builtins),
                submodule_search_locations=[str(base)],
            )
        source = base.with_suffix(".py") if len(parts) > 2 else None
        if source is not None and source.is_file():
            return importlib.util.spec_from_file_location(
                fullname, source, loader=_Loader(fullname, str(source), builtins)
            )
        if base.is_dir():
            spec = importlib.machinery.ModuleSpec(fullname, _Namespace(builtins), is_package=True)
            spec.submodule_search_locations = [str(base)]
            return spec
        return None


_FINDER = _Finder()


def _install() -> None:
    with _lock:
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)


def main_file(folder: Path) -> Path:
    """``main.py``, else ``<folder name>.py``; raises ``FileNotFoundError``."""
    for candidate in (folder / "main.py", folder / f"{folder.name}.py"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{folder}: no main.py or {folder.name}.py (not an AstrBot plugin)")


def _star_class(module: types.ModuleType) -> type:
    found = [
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and issubclass(v, Star)
        and v is not Star
        and v.__module__ == module.__name__
    ]
    registered = [c for c in found if hasattr(c, META)]
    if registered or found:
        return (registered or found)[-1]
    raise TypeError(f"{module.__name__}: no Star subclass (AstrBot plugin class) found")


def load_folder(folder: str | Path, *, name: str, description: str = "") -> type[NekoPluginBase]:
    """Import the AstrBot plugin in ``folder`` and return its nekohooks plugin class.

    Args:
        folder: the plugin folder (``main.py``, ``metadata.yaml``, ``_conf_schema.json``).
        name: the plugin's nekohooks name (its entry-point name); its home is
            ``<neko home>/plugins/<name>``.
        description: shown by ``neko info`` (default: ``@register``'s or the class docstring).

    Raises:
        FileNotFoundError: no ``main.py`` / ``<folder>.py``.
        ImportError: the plugin imports a name this layer does not provide (named).
        TypeError: no ``Star`` subclass, or a handler whose parameters cannot be parsed.
    """
    root = Path(folder).resolve()
    main = main_file(root)
    ident = re.sub(r"\W", "_", name)
    runtime = Runtime(name, root, plugin_logger(name))
    guard = PathGuard(name)
    with _lock:
        _folders[ident] = (root, plugin_builtins(runtime, guard))
    _install()
    package = f"{PACKAGE}.{ident}"
    for key in [k for k in sys.modules if k == package or k.startswith(package + ".")]:
        del sys.modules[key]  # a reload gets fresh modules
    module = importlib.import_module(f"{package}.{main.stem}")
    return adapt(
        _star_class(module),
        runtime,
        guard,
        config_schema=read_schema(root),
        description=description,
    )
