"""``self.config``: N.E.K.O's async config API over ``ctx.config`` plus a runtime overlay.

Reads see the plugin's ``plugin.toml`` (the copy in its nekohooks home, ``ctx.config``) with
the values the plugin ``set`` or ``update``d on top; those writes go to
``<home>/data/config.overlay.json`` (atomically) and survive restarts. Paths are dotted
(``"memo.timezone"``). Profiles are not supported.
"""

# ruff: noqa: ASYNC109  (N.E.K.O's API takes timeout= (ignored: these calls are local))

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._result import ValidationError
from ._unsupported import unsupported

__all__ = ["PluginConfig"]

OVERLAY = "config.overlay.json"


def deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``patch`` merged in, tables recursively."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(merged.get(key), Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    current: Any = data
    for part in path.split(".") if path else []:
        if not isinstance(current, Mapping) or part not in current:
            raise ValidationError(f"path not found: {path!r}")
        current = current[part]
    return current


class PluginConfig:
    """Async ``dump``/``get``/``require``/``get_bool``/``get_int``/``get_str``/``set``/``update``."""

    def __init__(self, base: Mapping[str, Any], data_dir: Path) -> None:
        self._base = copy.deepcopy(dict(base))
        self._path = data_dir / OVERLAY
        self._lock = threading.Lock()
        self._overlay = self._read_overlay()

    def _read_overlay(self) -> dict[str, Any]:
        try:
            value = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def _write_overlay(self, overlay: dict[str, Any]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{OVERLAY}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(overlay, file, ensure_ascii=False, indent=2)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _effective(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(deep_merge(self._base, self._overlay))

    async def dump(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """The whole effective configuration (every table of ``plugin.toml``)."""
        return self._effective()

    async def base_dump(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """``plugin.toml`` as written, without the runtime overlay."""
        return copy.deepcopy(self._base)

    async def get(self, path: str, default: Any = None, *, timeout: float = 5.0) -> Any:
        """The value at dotted ``path``, else ``default``."""
        try:
            return _lookup(self._effective(), path)
        except ValidationError:
            return default

    async def require(self, path: str, *, timeout: float = 5.0) -> Any:
        """The value at dotted ``path``; ``ValidationError`` if there is none."""
        return _lookup(self._effective(), path)

    async def _typed(self, path: str, default: Any, kind: type, timeout: float) -> Any:
        value = await self.get(path, default, timeout=timeout)
        if value is None:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValidationError(f"value at {path!r} is not {kind.__name__}")
        return value

    async def get_bool(
        self, path: str, default: bool | None = None, *, timeout: float = 5.0
    ) -> bool | None:
        """The boolean at ``path``; ``ValidationError`` if it is another type."""
        return await self._typed(path, default, bool, timeout)  # type: ignore[no-any-return]

    async def get_int(
        self, path: str, default: int | None = None, *, timeout: float = 5.0
    ) -> int | None:
        """The integer at ``path``; ``ValidationError`` if it is another type."""
        return await self._typed(path, default, int, timeout)  # type: ignore[no-any-return]

    async def get_str(
        self, path: str, default: str | None = None, *, timeout: float = 5.0
    ) -> str | None:
        """The string at ``path``; ``ValidationError`` if it is another type."""
        return await self._typed(path, default, str, timeout)  # type: ignore[no-any-return]

    async def set(self, path: str, value: Any, *, timeout: float = 5.0) -> None:
        """Set dotted ``path`` to ``value`` (kept in the overlay file)."""
        if not path:
            raise ValidationError("set needs a non-empty path")
        parts = path.split(".")
        patch: dict[str, Any] = {parts[-1]: value}
        for part in reversed(parts[:-1]):
            patch = {part: patch}
        await self.update(patch, timeout=timeout)

    async def update(self, patch: Mapping[str, Any], *, timeout: float = 5.0) -> dict[str, Any]:
        """Merge ``patch`` into the configuration; return the new effective configuration."""
        if not isinstance(patch, Mapping):
            raise ValidationError("update needs a mapping")
        try:
            json.dumps(patch)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"config values must be JSON-compatible: {exc}") from None
        with self._lock:
            overlay = deep_merge(self._overlay, patch)
            self._write_overlay(overlay)
            self._overlay = overlay
        return self._effective()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("profile_"):
            unsupported(f"config.{name}", "config profiles")
        raise AttributeError(name)
