"""What a plugin gets: its own folder, config, logger, HTTP client, store, tasks and messages.

A :class:`PluginContext` is made fresh for each run of a plugin (a restart gets a new one, with a
new HTTP client) and closed when the run ends. Everything in it is scoped to that plugin: its
files live under ``<home>/plugins/<name>/`` and no method takes a path or a name that could reach
another plugin's folder, store or client.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import tomllib
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from ._errors import ConfigError
from ._net import download, make_http_client, safe_path
from ._schedule import Every, JobState
from ._scheduler import run_schedule
from ._store import PluginStore

if TYPE_CHECKING:
    import httpx

__all__ = ["PluginContext", "PluginTasks"]

Deliver = Callable[[str, str, Any], Awaitable[None]]


class PluginTasks:
    """The plugin's background tasks, each named, all owned by the plugin's nursery.

    Covers the seeds' ``TaskManager``: :meth:`start` a named task (replacing one of the same name),
    :meth:`every` for a named interval job, :meth:`cancel` one, :meth:`cancel_all`. Tasks end when
    the plugin stops. A task started with :meth:`start` that raises crashes the plugin (which
    the host then restarts); an :meth:`every` job logs its errors and keeps its schedule.
    Safe to call from the plugin's worker threads (e.g. from a sync ``__init__``).
    """

    def __init__(self, plugin: str, logger: logging.Logger | None = None) -> None:
        self._plugin = plugin
        self._logger = logger  # None: the plugin's logger, looked up when there is an error
        self._nursery: trio.Nursery | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._scopes: dict[str, trio.CancelScope] = {}
        self.job_states: dict[str, JobState] = {}

    def bind(self, nursery: trio.Nursery) -> None:
        """Attach to the plugin's nursery (the host does this when the run starts)."""
        self._nursery = nursery
        self._token = trio.lowlevel.current_trio_token()

    def start(self, name: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Start ``await fn(*args)`` as background task ``name``; a task of that name is cancelled."""
        self._on_trio(self._start, name, fn, args)

    def every(self, name: str, seconds: float, fn: Callable[[], Awaitable[Any]]) -> None:
        """Run ``await fn()`` every ``seconds`` on absolute deadlines as task ``name``.

        Replaces a task of the same name. Errors are logged and counted; the task goes on.
        Raises ``ValueError`` at once if ``seconds`` is not a positive number.
        """
        schedule = Every(seconds)
        state = JobState()
        self.job_states[name] = state

        def log_error(exc: BaseException) -> None:
            logger = self._logger or logging.getLogger(f"neko.plugin.{self._plugin}")
            logger.error("task %r failed: %s", name, exc, exc_info=exc)

        async def job() -> None:
            await run_schedule(schedule, fn, state=state, on_error=log_error)

        self.start(name, job)

    def cancel(self, name: str) -> bool:
        """Cancel task ``name``; True if it was running."""
        scope = self._scopes.pop(name, None)
        if scope is None:
            return False
        self._on_trio(scope.cancel)
        return True

    def cancel_all(self) -> None:
        """Cancel every named task of this plugin."""
        for name in list(self._scopes):
            self.cancel(name)

    def names(self) -> list[str]:
        """Names of the running tasks, sorted."""
        return sorted(self._scopes)

    def _start(self, name: str, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> None:
        if self._nursery is None:
            raise RuntimeError(f"plugin {self._plugin!r}: tasks can start once the plugin runs")
        old = self._scopes.pop(name, None)
        if old is not None:
            old.cancel()
        scope = trio.CancelScope()
        self._scopes[name] = scope

        async def owned() -> None:
            try:
                with scope:
                    await fn(*args)
            finally:
                if self._scopes.get(name) is scope:
                    del self._scopes[name]

        self._nursery.start_soon(owned, name=f"{self._plugin}:{name}")

    def _on_trio(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            if self._token is None:
                raise RuntimeError(
                    f"plugin {self._plugin!r}: tasks can start once the plugin runs"
                ) from None
            trio.from_thread.run_sync(fn, *args, trio_token=self._token)
        else:
            fn(*args)


class PluginContext:
    """Everything the host hands one plugin. Made by the host; plugins only read it.

    Attributes:
        name: the plugin's name (its entry-point name).
        home: the plugin's own writable folder, ``<neko home>/plugins/<name>/``.
        config_path: ``home / "plugin.toml"``, copied from the distribution's bundled defaults
            on first start; so ``ctx.config_path.parent / "data.db"`` lands in ``home``.
        config: the parsed ``plugin.toml`` (a dict; empty if there is none).
        data_dir: ``home / "data"``, where downloads and :meth:`path` names live.
        logger: a stdlib logger named ``neko.plugin.<name>``.
        tasks: the plugin's named background tasks (:class:`PluginTasks`).
    """

    def __init__(
        self,
        name: str,
        *,
        home: Path,
        defaults_package: str | None,
        deliver: Deliver,
        http_factory: Callable[[str], httpx.AsyncClient] = make_http_client,
    ) -> None:
        self.name = name
        self.tasks = PluginTasks(name)
        self._home = home
        self._made = False
        self._deliver = deliver
        self._http_factory = http_factory
        self._http: httpx.AsyncClient | None = None
        self._store: PluginStore | None = None
        config_path = home / "plugin.toml"
        has_home = home.is_dir()
        if has_home:  # only a home that exists can hold what a killed process left
            _remove_leftovers(home, ".plugin.toml.*")
            _remove_leftovers(home / "data" / "downloads", ".download-*")
        if defaults_package and not (has_home and config_path.exists()):
            has_home = _install_defaults(defaults_package, config_path) or has_home
        # no home (a first start that bundled no defaults): no plugin.toml to look for
        self.config: dict[str, Any] = _read_config(name, config_path) if has_home else {}

    # The folders are made on first use, not for every start: a thousand plugins that never
    # touch their home would otherwise cost three mkdirs each on every fresh start. The logger
    # too is looked up when first asked for.

    @functools.cached_property
    def logger(self) -> logging.Logger:
        """The stdlib logger ``neko.plugin.<name>``."""
        return logging.getLogger(f"neko.plugin.{self.name}")

    @property
    def home(self) -> Path:
        """The plugin's own folder (made, with ``data/``, when first asked for)."""
        if not self._made:
            (self._home / "data").mkdir(parents=True, exist_ok=True)
            self._made = True
        return self._home

    @property
    def config_path(self) -> Path:
        """``home / "plugin.toml"``."""
        return self.home / "plugin.toml"

    @property
    def data_dir(self) -> Path:
        """``home / "data"``."""
        return self.home / "data"

    @property
    def http(self) -> httpx.AsyncClient:
        """This plugin's ``httpx.AsyncClient`` (default timeouts and limits), closed at stop."""
        if self._http is None:
            self._http = self._http_factory(self.name)
        return self._http

    @property
    def store(self) -> PluginStore:
        """This plugin's persistent key-value store (``home / "store.sqlite3"``)."""
        if self._store is None:
            self._store = PluginStore(self.home / "store.sqlite3", plugin=self.name)
        return self._store

    @property
    def opened(self) -> tuple[httpx.AsyncClient | PluginStore, ...]:
        """The HTTP client and store this context has opened so far (for leak checks)."""
        return tuple(r for r in (self._http, self._store) if r is not None)

    def path(self, name: str) -> Path:
        """A path for ``name`` inside :attr:`data_dir`; raises ``UnsafePath`` if it would escape."""
        return safe_path(self.data_dir, name, plugin=self.name)

    async def download(self, url: str, filename: str, *, max_bytes: int = 100 << 20) -> Path:
        """Stream ``url`` into ``data_dir/downloads/filename`` atomically; return the path.

        Args:
            url: what to fetch, with the plugin's own :attr:`http` client.
            filename: the name to keep it under, inside ``data_dir/downloads``.
            max_bytes: the largest body accepted (default 100 MiB).

        Raises:
            UnsafePath: ``filename`` would leave the folder; checked before any request.
            DownloadTooLarge: the body passed ``max_bytes``; nothing is kept.
            DownloadError: an HTTP error status, or the network failed.

        Timeout: the client's timeouts (10 s per network operation) apply to each read.
        Cancellation: the request is cancelled and the partial file removed; ``Cancelled``
        propagates. On any error no partial file is left behind either.
        """
        root = self.data_dir / "downloads"
        await trio.Path(root).mkdir(parents=True, exist_ok=True)
        return await download(self.http, url, root, filename, plugin=self.name, max_bytes=max_bytes)

    async def send_message(self, target: str, message: Any) -> None:
        """Send ``message`` to ``target`` through the host's transport (or its message sink).

        Args:
            target: a user, chat or channel id the transport understands.
            message: text or any object the transport understands.

        A transport that raises is logged and the next one tried; this does not raise for it.
        Cancellation: the transport being awaited is cancelled; the message may or may not
        have been delivered.
        """
        await self._deliver(self.name, target, message)

    async def aclose(self) -> None:
        """Cancel tasks, close the HTTP client and the store. Idempotent.

        Cancellation: shielded; it finishes closing even when the caller is cancelled.
        """
        with trio.CancelScope(shield=True):
            self.tasks.cancel_all()
            if self._http is not None:
                await self._http.aclose()
            if self._store is not None:
                await self._store.aclose()


def _remove_leftovers(folder: Path, pattern: str) -> None:
    """Delete temp files a killed process left behind (an interrupted copy or download)."""
    for leftover in folder.glob(pattern):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _install_defaults(package: str, target: Path) -> bool:
    """Copy ``plugin.toml`` bundled in ``package`` to ``target`` atomically (temp + rename);
    False if the package bundles none."""
    try:
        bundled = resources.files(package) / "plugin.toml"
        if not bundled.is_file():
            return False
        data = bundled.read_bytes()
    except (ModuleNotFoundError, TypeError, OSError):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".plugin.toml.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def _read_config(plugin: str, path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError, OSError) as exc:  # TOMLDecodeError, UnicodeDecodeError,
        # an integer past int's digit limit, nesting past the recursion limit
        text = str(exc) or type(exc).__name__
        raise ConfigError(f"corrupt plugin.toml: {text}", path=path, plugin=plugin) from exc
