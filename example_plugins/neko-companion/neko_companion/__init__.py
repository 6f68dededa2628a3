"""The N.E.K.O "advanced topics" examples (async, thread safety, retries, configuration,
SQLite), written as one plugin for an AI companion's memory and tools.

What each seed became, and what changed:

* **Async entry** (``async_task``): the seed's aiohttp code as written. nekohooks sees that it
  uses aiohttp and runs it on the plugin's own asyncio loop thread, so aiohttp works inside the
  trio host. Added: the configured timeout, and an ``{"error": ...}`` result for a bad URL, an
  HTTP error status, a timeout or a body that is not JSON, instead of an exception (a tool an
  LLM calls should answer; the contract kit checks that entries do).
* **Thread-safe shared state** (``update``, ``snapshot``, the ``checkpoint`` job): sync entries
  and sync jobs run in worker threads, several at once, so the dict and its counter are guarded
  by a ``threading.Lock``, as in the seed. The timer task the seed mentions is real here: it
  copies the state under the lock every 60 s and saves it to SQLite, and so does ``terminate``;
  the state comes back on the next start.
* **Retry** (``reliable_fetch``): tenacity's ``@retry`` under ``@plugin_entry`` as in the seed
  (3 attempts, exponential wait between 4 and 10 s). Changed: it is ``async`` and uses the
  plugin's ``ctx.http`` client, so the waits sleep on trio's clock instead of holding a worker
  thread; it retries only transient errors (network errors, timeouts, 429, 5xx) so a 404
  answers at once; and when it gives up it answers ``{"error": ..., "attempts": 3}`` instead
  of raising tenacity's ``RetryError``.
* **Custom configuration** (``set_timeout``, ``get_config``): ``config.json`` beside
  ``plugin.toml`` (``ctx.config_path.parent``), as in the seed. Defaults come from the bundled
  ``plugin.toml`` instead of a literal; writes are atomic (temp file + rename), so a crash never
  leaves half a file; a corrupt file is reported by name instead of a bare ``JSONDecodeError``.
* **SQLite persistence** (``save``, ``load``, ``records``): the seed's ``records`` table in
  ``data.db`` beside ``plugin.toml``, one short connection per call, ``INSERT OR REPLACE`` by key.
  Changed: connections are closed even when a statement fails.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import aiohttp
import httpx
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from nekohooks import NekoPluginBase, PluginContext, neko_plugin, plugin_entry, timer_interval
from nekohooks.errors import ConfigError, is_transient

DEFAULT_TIMEOUT = 30
_SCHEMA = """
    CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT UNIQUE,
        value TEXT,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
    );
    CREATE TABLE IF NOT EXISTS shared_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _describe(exc: BaseException) -> str:
    """A fetch failure as one line for the caller (a person or an LLM)."""
    if isinstance(exc, aiohttp.ContentTypeError | json.JSONDecodeError):
        return "the response is not JSON"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"


#: What a fetch may fail with: aiohttp's and httpx's errors (bad URLs included), timeouts,
#: bodies that are not JSON.
FETCH_ERRORS = (aiohttp.ClientError, httpx.HTTPError, httpx.InvalidURL, TimeoutError, ValueError)


def _worth_retrying(exc: BaseException) -> bool:
    """Transient (network, timeout, 429, 5xx), but not a URL no retry can fix."""
    return is_transient(exc) and not isinstance(exc, httpx.UnsupportedProtocol)


def _gave_up(state: RetryCallState) -> dict[str, Any]:
    """tenacity's answer when the last attempt failed too."""
    exc = state.outcome.exception() if state.outcome else None
    return {"error": _describe(exc) if exc else "failed", "attempts": state.attempt_number}


@neko_plugin
class Companion(NekoPluginBase):
    """A companion's memory and tools: records in SQLite, shared state, config, web fetches."""

    def __init__(self, ctx: PluginContext) -> None:
        # The host constructs plugins in a worker thread: file and SQLite work is fine here.
        super().__init__(ctx)
        self._lock = threading.Lock()
        self._shared_data: dict[str, str] = {}
        self._updates = 0
        self._dirty = False
        self._config_lock = threading.Lock()
        self.config_file = ctx.config_path.parent / "config.json"
        self.config: dict[str, Any] = {}
        self._load_config()
        self.db_path = ctx.config_path.parent / "data.db"
        self._init_db()
        self._restore_shared()

    # ---- configuration (seed: ConfigurablePlugin) ------------------------------------------

    def _load_config(self) -> None:
        defaults = {"timeout": DEFAULT_TIMEOUT, **self.ctx.config.get("companion", {})}
        saved: dict[str, Any] = {}
        if self.config_file.exists():
            try:
                saved = json.loads(self.config_file.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"corrupt config.json: {exc}", path=self.config_file, plugin=self.ctx.name
                ) from exc
            if not isinstance(saved, dict):
                raise ConfigError(
                    "config.json must hold a JSON object",
                    path=self.config_file,
                    plugin=self.ctx.name,
                )
        self.config = {**defaults, **saved}

    def _save_config(self) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.config_file.parent, prefix=".config.json.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(json.dumps(self.config, indent=2))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.config_file)
        except BaseException:
            os.unlink(tmp)
            raise

    @plugin_entry(
        id="set_timeout",
        description="Set the request timeout in seconds (1-300); saved in config.json",
        input_schema={
            "type": "object",
            "properties": {"timeout": {"type": "integer", "minimum": 1, "maximum": 300}},
            "required": ["timeout"],
            "additionalProperties": False,
        },
    )
    def set_timeout(self, timeout: int) -> dict[str, Any]:
        with self._config_lock:
            self.config = {**self.config, "timeout": timeout}
            self._save_config()
            return dict(self.config)

    @plugin_entry(id="get_config", description="The configuration in effect")
    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    # ---- async entry (seed: async_task) -----------------------------------------------------

    @plugin_entry(id="async_task", description="GET a URL with aiohttp and return its JSON")
    async def async_task(self, url: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=self.config["timeout"])
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as response,
            ):
                response.raise_for_status()
                return {"data": await response.json()}
        except FETCH_ERRORS as exc:
            return {"error": _describe(exc)}

    # ---- retry (seed: reliable_fetch) -------------------------------------------------------

    @plugin_entry(id="reliable_fetch", description="GET JSON, retrying transient failures")
    @retry(
        stop=stop_after_attempt(3),
        wait=wait_exponential(min=4, max=10),
        retry=retry_if_exception(_worth_retrying),
        retry_error_callback=_gave_up,
    )
    async def reliable_fetch(self, url: str) -> dict[str, Any]:
        try:
            response = await self.ctx.http.get(url, timeout=self.config["timeout"])
            response.raise_for_status()
            return {"data": response.json()}
        except FETCH_ERRORS as exc:
            if _worth_retrying(exc):
                raise  # tenacity waits and tries again
            return {"error": _describe(exc)}

    # ---- thread-safe shared state (seed: ThreadSafePlugin) ----------------------------------

    @plugin_entry(id="update", description="Set a key in the shared state")
    def update(self, key: str, value: str) -> dict[str, bool]:
        with self._lock:
            self._shared_data[key] = value
            self._updates += 1
            self._dirty = True
            return {"updated": True}

    @plugin_entry(id="snapshot", description="A consistent copy of the shared state")
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"data": dict(self._shared_data), "updates": self._updates}

    @timer_interval(id="checkpoint", seconds=60)
    def checkpoint(self) -> None:
        """Save the shared state to SQLite when it changed (a worker thread, like entries)."""
        with self._lock:
            if not self._dirty:
                return
            copy = dict(self._shared_data)
            self._dirty = False
        with self._connect() as conn:
            conn.execute("DELETE FROM shared_state")
            conn.executemany("INSERT INTO shared_state (key, value) VALUES (?, ?)", copy.items())
        self.ctx.logger.info("checkpointed %d shared keys", len(copy))

    def terminate(self) -> None:
        self.checkpoint()

    def _restore_shared(self) -> None:
        with self._connect() as conn:
            rows = conn.execute("SELECT key, value FROM shared_state").fetchall()
        self._shared_data = dict(rows)

    # ---- SQLite persistence (seed: PersistentPlugin) ----------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One short connection: committed on success, rolled back on error, always closed."""
        with closing(sqlite3.connect(self.db_path, timeout=10)) as conn, conn:
            yield conn

    def _init_db(self) -> None:
        with closing(sqlite3.connect(self.db_path)) as conn:
            conn.executescript(_SCHEMA)

    @plugin_entry(id="save", description="Remember a value under a key (replaces)")
    def save(self, key: str, value: str) -> dict[str, bool]:
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)", (key, value))
        return {"saved": True}

    @plugin_entry(id="load", description="Recall the value saved under a key")
    def load(self, key: str) -> dict[str, Any]:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT value, created_at FROM records WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return {"key": key, "found": False}
        return {"key": key, "found": True, "value": row[0], "created_at": row[1]}

    @plugin_entry(
        id="records",
        description="The most recently saved records, newest first",
        input_schema={
            "type": "object",
            "properties": {
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}
            },
            "additionalProperties": False,
        },
    )
    def records(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, value, created_at FROM records ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [{"key": k, "value": v, "created_at": c} for k, v, c in rows]
