"""Where an AstrBot plugin's relative paths land, and which writes it may make.

AstrBot runs with its install folder as the working directory, so plugins write ``data/...``
relative paths (seed 002's download handler: ``os.path.join("data", "downloads", filename)``,
which a ``filename`` of ``../../x`` walks out of). A plugin loaded through this layer sees
``open`` and ``os`` replaced in its own modules' builtins: a relative path is resolved against
the plugin's home (``<neko home>/plugins/<name>/``), and every write (``open`` for writing,
``os.makedirs``, ``os.remove``, ``os.rename`` ...) whose resolved path, symlinks followed, is
outside that home fails with ``PermissionError`` before anything is touched; ``os.getcwd()`` is
the home and ``os.chdir`` is refused (it would move every plugin). Reads of absolute
paths are allowed (a plugin reads files bundled beside its code).

This closes the hole for code written like the seed; it is not a sandbox. ``pathlib``,
``shutil``, ``io.open``, ``aiofiles``, C extensions and subprocesses do not go through it.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["PathGuard"]

_WRITE_MODES = frozenset("wax+")


class PathGuard:
    """``open`` and an ``os`` stand-in bound to one plugin's home (set when it starts)."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.home: Path | None = None
        self.os = self._make_os()

    def resolve(self, path: Any, *, write: bool) -> Any:
        """``path`` made absolute against the home; raises ``PermissionError`` for a write
        outside it. File descriptors (ints) pass through."""
        if isinstance(path, int):
            return path
        raw = os.fspath(path)
        text = os.fsdecode(raw)
        if not os.path.isabs(text):
            if self.home is None:
                raise PermissionError(
                    f"AstrBot plugin {self.plugin!r}: relative path {text!r} before the plugin "
                    "has a home (it has not started)"
                )
            text = os.path.join(self.home, text)
        if write:
            if self.home is None:
                raise PermissionError(f"AstrBot plugin {self.plugin!r}: no writes before start")
            home = os.path.realpath(self.home)
            target = os.path.realpath(text)
            if os.path.commonpath([home, target]) != home:
                raise PermissionError(
                    f"AstrBot plugin {self.plugin!r} may not write {os.fsdecode(raw)!r}: "
                    f"it resolves outside the plugin's folder {home}"
                )
        return text

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        """``open`` with the plugin's path rules."""
        write = any(flag in _WRITE_MODES for flag in mode)
        return open(self.resolve(file, write=write), mode, *args, **kwargs)

    def _make_os(self) -> types.ModuleType:
        proxy = types.ModuleType("os", os.__doc__)
        proxy.__dict__.update({k: v for k, v in vars(os).items() if not k.startswith("__")})

        def one(fn: Callable[..., Any], write: bool) -> Callable[..., Any]:
            def guarded(path: Any, *args: Any, **kwargs: Any) -> Any:
                return fn(self.resolve(path, write=write), *args, **kwargs)

            guarded.__name__ = fn.__name__
            return guarded

        def two(fn: Callable[..., Any]) -> Callable[..., Any]:
            def guarded(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
                return fn(
                    self.resolve(src, write=True), self.resolve(dst, write=True), *args, **kwargs
                )

            guarded.__name__ = fn.__name__
            return guarded

        for name in ("makedirs", "mkdir", "remove", "unlink", "rmdir", "removedirs", "truncate"):
            setattr(proxy, name, one(getattr(os, name), True))
        for name in ("listdir", "scandir", "stat", "lstat"):
            setattr(proxy, name, one(getattr(os, name), False))
        for name in ("rename", "replace"):
            setattr(proxy, name, two(getattr(os, name)))
        proxy.path = _PathModule(self)  # type: ignore[attr-defined]
        proxy.getcwd = self._getcwd  # type: ignore[attr-defined]
        proxy.chdir = self._chdir  # type: ignore[attr-defined]
        return proxy

    def _getcwd(self) -> str:
        """AstrBot's working folder is, for this plugin, its home."""
        return str(self.home) if self.home is not None else os.getcwd()

    def _chdir(self, path: Any) -> None:
        raise PermissionError(
            f"AstrBot plugin {self.plugin!r} may not change the working folder (os.chdir "
            "would move it for every plugin in the process)"
        )


class _PathModule(types.ModuleType):
    """``os.path`` whose existence checks follow the plugin's relative-path rule."""

    def __init__(self, guard: PathGuard) -> None:
        super().__init__("os.path")
        self.__dict__.update({k: v for k, v in vars(os.path).items() if not k.startswith("__")})
        for name in ("exists", "isfile", "isdir", "getsize", "getmtime", "abspath", "realpath"):
            original = getattr(os.path, name)
            self.__dict__[name] = self._relative(guard, original)

    @staticmethod
    def _relative(guard: PathGuard, fn: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(path: Any, *args: Any, **kwargs: Any) -> Any:
            return fn(guard.resolve(path, write=False), *args, **kwargs)

        guarded.__name__ = fn.__name__
        return guarded
