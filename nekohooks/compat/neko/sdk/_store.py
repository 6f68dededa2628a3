"""``self.store``: N.E.K.O's async key-value store, returning ``Ok``/``Err``, on ``ctx.store``.

On only with ``[plugin.store] enabled = true`` (or ``store.enabled = True`` at run time):
while off, reads give the default or nothing and writes do nothing, as in N.E.K.O. Values are
JSON-compatible; keys non-empty strings. The data lives in the plugin's nekohooks store
(SQLite in its home), so it survives restarts and re-installs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._result import Err, Ok, TransportError, ValidationError

if TYPE_CHECKING:
    from .._runtime import Runtime

__all__ = ["PluginStore"]

T = TypeVar("T")
_MISSING = object()


def _json_value(value: object) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list):
        return all(_json_value(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_value(v) for k, v in value.items())
    return False


class PluginStore:
    """Async ``get``/``set``/``delete``/``exists``/``keys``/``clear``/``count``/``dump``."""

    def __init__(self, runtime: Runtime, *, enabled: bool) -> None:
        self._runtime = runtime
        self.enabled = enabled
        self.plugin_id = runtime.manifest.id

    async def _do(self, fn: Callable[[], Awaitable[T]]) -> Ok[T] | Err[Exception]:
        try:
            return Ok(await self._runtime.call(fn))
        except Exception as exc:  # a store failure is the Err the plugin handles
            return Err(TransportError(f"store: {exc}", code="STORE"))

    @staticmethod
    def _bad_key(key: object) -> Err[Exception] | None:
        if not isinstance(key, str) or not key:
            return Err(ValidationError("key must be a non-empty string", code="INVALID_KEY"))
        return None

    async def get(self, key: str, default: Any = None) -> Ok[Any] | Err[Exception]:
        """``Ok(value)`` or ``Ok(default)``."""
        if (bad := self._bad_key(key)) is not None:
            return bad
        if not self.enabled:
            return Ok(default)
        store = self._runtime.ctx.store
        return await self._do(lambda: store.get(key, default))

    async def set(self, key: str, value: Any) -> Ok[None] | Err[Exception]:
        """``Ok(None)`` once stored (durably)."""
        if (bad := self._bad_key(key)) is not None:
            return bad
        if not _json_value(value):
            return Err(ValidationError("value must be JSON-compatible", code="INVALID_VALUE"))
        if not self.enabled:
            return Ok(None)
        store = self._runtime.ctx.store
        return await self._do(lambda: store.set(key, value))

    async def delete(self, key: str) -> Ok[bool] | Err[Exception]:
        """``Ok(True)`` if the key was there."""
        if (bad := self._bad_key(key)) is not None:
            return bad
        if not self.enabled:
            return Ok(False)
        store = self._runtime.ctx.store
        return await self._do(lambda: store.delete(key))

    async def exists(self, key: str) -> Ok[bool] | Err[Exception]:
        """``Ok(True)`` if the key is there."""
        if (bad := self._bad_key(key)) is not None:
            return bad
        if not self.enabled:
            return Ok(False)
        store = self._runtime.ctx.store

        async def probe() -> bool:
            return await store.get(key, _MISSING) is not _MISSING

        return await self._do(probe)

    async def keys(self, prefix: str = "") -> Ok[list[str]] | Err[Exception]:
        """``Ok(sorted keys starting with prefix)``."""
        if not self.enabled:
            return Ok([])
        store = self._runtime.ctx.store
        return await self._do(lambda: store.keys(prefix))

    async def count(self) -> Ok[int] | Err[Exception]:
        """``Ok(number of keys)``."""
        result = await self.keys()
        return Ok(len(result.value)) if isinstance(result, Ok) else result

    async def dump(self) -> Ok[dict[str, Any]] | Err[Exception]:
        """``Ok({key: value})`` of everything stored."""
        if not self.enabled:
            return Ok({})
        store = self._runtime.ctx.store

        async def everything() -> dict[str, Any]:
            return dict(await store.items())

        return await self._do(everything)

    async def clear(self) -> Ok[int] | Err[Exception]:
        """Delete every key; ``Ok(how many)``."""
        if not self.enabled:
            return Ok(0)
        store = self._runtime.ctx.store

        async def wipe() -> int:
            keys = await store.keys()
            for key in keys:
                await store.delete(key)
            return len(keys)

        return await self._do(wipe)

    async def close(self) -> Ok[None]:
        """Nothing to do: the host closes the store when the plugin stops."""
        return Ok(None)

    # Blocking forms, from any thread but trio's (plugins written for N.E.K.O use them).
    def _read_value(self, key: str, default: Any = None) -> Any:
        if not self.enabled:
            return default
        store = self._runtime.ctx.store
        return self._runtime.block_on(store.get, key, default)

    def _write_value(self, key: str, value: Any) -> None:
        if not self.enabled:
            return
        if not _json_value(value):
            raise TypeError("value must be JSON-compatible")
        store = self._runtime.ctx.store
        self._runtime.block_on(store.set, key, value)
