"""Each plugin's persistent key-value store: JSON values in one SQLite file.

WAL journal with ``synchronous=FULL``: every ``set`` is its own transaction, durable once it
returns, so a host killed with SIGKILL loses nothing that was committed. One connection, opened
lazily, used by one worker thread at a time (a ``CapacityLimiter(1)``), so SQLite never blocks
the trio loop. A corrupt file is reported, never deleted or overwritten.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import trio

from ._errors import StoreError
from ._threads import in_real_time

__all__ = ["PluginStore", "integrity_ok"]

T = TypeVar("T")
_MISSING = object()


def integrity_ok(path: Path) -> bool:
    """True if SQLite's ``PRAGMA integrity_check`` passes for the file at ``path``."""
    conn = sqlite3.connect(path)
    try:
        return bool(conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    finally:
        conn.close()


class PluginStore:
    """A per-plugin JSON key-value store. Calls never block the trio loop.

    Every method raises :class:`~nekohooks.errors.StoreError` (naming the plugin) when SQLite
    fails, the store is closed, a key is not a non-empty string or a value is not JSON.

    Cancellation (every method): a read or write already handed to SQLite finishes (a write is
    committed whole or not at all) and the cancellation is delivered when it returns; nothing
    is half-written. There are no timeouts: SQLite's own busy timeout applies.
    """

    def __init__(self, path: Path, *, plugin: str) -> None:
        self.path = path
        self.plugin = plugin
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._limiter = trio.CapacityLimiter(1)

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` was called."""
        return self._closed

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(self.plugin, "store is closed")
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
                )
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise StoreError(
                    self.plugin, f"cannot open store {self.path}: {exc} (file left as it is)"
                ) from exc
            self._conn = conn
        return self._conn

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def work() -> T:
            conn = self._open()
            try:
                return fn(conn)
            except sqlite3.Error as exc:
                raise StoreError(self.plugin, f"store {self.path}: {exc}") from exc

        return await in_real_time(
            functools.partial(trio.to_thread.run_sync, work, limiter=self._limiter)
        )

    def _check_key(self, key: object) -> str:
        if not isinstance(key, str) or not key:
            raise StoreError(self.plugin, f"store keys must be non-empty strings, got {key!r}")
        return key

    def _encode(self, key: str, value: Any) -> str:
        try:
            return json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StoreError(self.plugin, f"value for {key!r} is not JSON: {exc}") from exc

    async def get(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key``, or ``default``."""
        key = self._check_key(key)
        row = await self._run(
            lambda c: c.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        )
        return default if row is None else json.loads(row[0])

    async def set(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON) under ``key``; durable when this returns."""
        await self.set_many({key: value})

    async def set_many(self, items: Mapping[str, Any]) -> None:
        """Store several values in one transaction: all or nothing."""
        rows = [(self._check_key(k), self._encode(k, v)) for k, v in items.items()]

        def write(conn: sqlite3.Connection) -> None:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", rows)

        await self._run(write)

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        key = self._check_key(key)

        def remove(conn: sqlite3.Connection) -> bool:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                return conn.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount > 0

        return await self._run(remove)

    async def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """``(key, value)`` pairs whose key starts with ``prefix``, sorted by key."""
        rows = await self._run(
            lambda c: c.execute(
                "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix),
            ).fetchall()
        )
        return [(k, json.loads(v)) for k, v in rows]

    async def keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted."""
        return [k for k, _ in await self.items(prefix)]

    async def aclose(self) -> None:
        """Close the connection. Idempotent; later calls raise :class:`StoreError`."""
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            await in_real_time(
                functools.partial(trio.to_thread.run_sync, conn.close, limiter=self._limiter)
            )
