"""The trio host: a table of plugin runners, the call path, the event stream, and shutdown.

``async with open_host() as host:`` discovers and registers plugins, starts every plugin's
supervisor in the host's nursery, waits until each has made its first start attempt, and
yields. On exit (normal, error or cancel) it stops the plugins in reverse start order; each
terminate is shielded and bounded by ``terminate_grace``, the whole shutdown by
``shutdown_timeout``, and whatever is left is cancelled. No task outlives the block.

While the block runs, plugins can be added, stopped, started again and removed one at a time
(:meth:`Host.add_plugin` and friends); no other plugin is touched.

The call path (``Host.call``) is kept short on purpose; it is what the benchmarks measure:
look up → check the plugin runs → validate → (wrappers) → the runner's guarded invoke.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from ._address import Address, parse_address
from ._config import HostConfig, check_home
from ._delivery import MessageSink, deliver_message, log_message
from ._discovery import folder_candidates, load_plugins
from ._errors import EntryNotFound, PluginError, PluginUnavailable
from ._events import EventKind, EventStream
from ._handlers import HandlerSpec
from ._inbound import dispatch
from ._messages import Message, Reply
from ._model import (
    EntryCall,
    EntrySpec,
    LoadFailure,
    LoopBlock,
    PluginInfo,
    PluginState,
    PluginStatus,
)
from ._registry import LoadedPlugin, Registry
from ._runner import PluginRunner
from ._runtime import Runner, RunnerEnv
from ._scan_cache import cache_dir, cached_scan
from ._table import EntryRow, PluginTable
from ._version import __version__
from ._watchdog import LoopWatchdog, plugin_code
from .hookspecs import hookimpl

__all__ = ["Host", "open_host"]

log = logging.getLogger("nekohooks.host")
_RUNNING = PluginState.RUNNING  # bound once for the call path: an enum lookup costs 75 ns


class _CoreHooks:
    """The host's own implementation of ``neko_entry_call``: the innermost, real call."""

    def __init__(self, table: PluginTable) -> None:
        self._table = table

    @hookimpl
    def neko_entry_call(self, call: EntryCall) -> Callable[[], Any]:
        row = self._table.row(f"{call.plugin}.{call.entry}")
        if row is None:  # removed between Host.call's look-up and this wrapper's turn
            raise EntryNotFound(call.plugin, f"no entry {call.entry!r}")
        return lambda: row.runner.call(row.spec, call.arguments)


class Host:
    """A running set of plugins. Made by :func:`open_host`; use it only inside that block."""

    def __init__(
        self,
        config: HostConfig,
        registry: Registry,
        *,
        wall_clock: Callable[[], float],
        message_sink: MessageSink,
        rng: random.Random,
    ) -> None:
        self.config = config
        self.registry = registry
        self.events = EventStream(wall_clock)
        """Every state change, job run, restart, fault, loop block and message; subscribe."""
        self.loop_blocks: collections.deque[LoopBlock] = collections.deque(maxlen=100)
        """The latest reports of the loop watchdog (at most 100), oldest first."""
        self._message_sink = message_sink
        self._env = RunnerEnv(
            limits=config.limits,
            restart=config.restart,
            home=config.home,
            rng=rng,
            wall_clock=wall_clock,
            deliver=self.deliver,
            emit=self.events.emit,
        )
        self._table = PluginTable()
        self._rows = self._table.rows  # entries by address: call's one lookup
        for loaded in registry.plugins.values():
            self._table.put(self._runner_for(loaded), loaded.info.entries)
        registry.pm.register(_CoreHooks(self._table), name="nekohooks.core")
        self._intercepted = any(
            impl.wrapper or impl.hookwrapper
            for impl in registry.pm.hook.neko_entry_call.get_hookimpls()
        )
        self._nursery: trio.Nursery | None = None

    def _runner_for(self, loaded: LoadedPlugin) -> Runner:
        """The in-process runner, or the process runner for a plugin configured isolated."""
        options = self.config.options(loaded.info.name)
        if options.isolated:
            from .isolation import ProcessRunner  # msgspec and subprocess only when used

            return ProcessRunner(loaded, self._env, options)
        return PluginRunner(loaded, self._env)

    # ---- what is here ---------------------------------------------------------------------

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Every loaded plugin's record, in load order."""
        return {name: p.info for name, p in self.registry.plugins.items()}

    @property
    def runners(self) -> Mapping[str, Runner]:
        """Each loaded plugin's runner, by name (read-only view; see :meth:`add_plugin`)."""
        return self._table.runners

    @property
    def failures(self) -> list[LoadFailure]:
        """Plugins that could not be loaded, and why."""
        return list(self.registry.failures)

    def status(self, name: str) -> PluginStatus:
        """The status of plugin ``name`` (loaded, disabled or failed to load).

        Raises:
            EntryNotFound: the host knows no plugin of that name.
        """
        runner = self._table.runners.get(name)
        if runner is not None:
            return runner.status()
        if name in self.registry.disabled:
            return PluginStatus(name, PluginState.DISABLED)
        for failure in self.registry.failures:
            if failure.name == name:
                return PluginStatus(
                    name, PluginState.FAILED_TO_LOAD, last_error=failure.error, phase=failure.phase
                )
        raise EntryNotFound(name, "no such plugin")

    def statuses(self) -> list[PluginStatus]:
        """The status of every plugin the host knows of, sorted by name."""
        names = set(self._table.runners) | set(self.registry.disabled)
        names |= {f.name for f in self.registry.failures}
        return [self.status(name) for name in sorted(names)]

    # ---- calls --------------------------------------------------------------------------------

    def _lookup(self, target: str, arguments: Mapping[str, Any]) -> EntryRow:
        row = self._table.row(target)
        if row is None:
            raise self._not_found(target)
        if row.runner.state is not _RUNNING:
            raise _unavailable(row.runner.status())
        if row.check is not None and (arguments or row.check_empty):
            row.check(arguments)
        return row

    async def call(self, target: str, /, **arguments: Any) -> Any:
        """Call entry ``target`` (``"plugin.entry"``) with keyword arguments; return its result.

        Args:
            target: ``plugin.entry``, or the LLM tool name form ``plugin__entry``.
            arguments: the entry's arguments, checked against its JSON Schema first.

        Raises:
            EntryNotFound: no such plugin or entry.
            PluginUnavailable: the plugin is not running (or stopped during the call).
            InvalidArguments: the arguments do not match the schema; no plugin code ran.
            EntryTimeout: the call outlived the entry's timeout and was cancelled.
            EntryFailed: the plugin code raised; the cause is chained.

        Timeout: the entry's own ``timeout`` (else ``limits.entry_timeout``) cancels the plugin
        code, and ``EntryTimeout`` is raised in place of the ``Cancelled`` it caught.
        Cancellation: cancelling the caller cancels the plugin code too (a sync entry's thread
        is abandoned and keeps its worker slot until it returns) and ``Cancelled`` propagates.
        Generator entries return a list of their items.
        """
        row = self._rows.get(target)  # _lookup's lines, inlined: this is the hot path
        if row is None:
            raise self._not_found(target)
        if row.runner.state is not _RUNNING:
            raise _unavailable(row.runner.status())
        if row.check is not None and (arguments or row.check_empty):
            row.check(arguments)
        if self._intercepted:
            call = EntryCall(row.runner.name, row.spec.id, arguments)
            invoke = self.registry.pm.hook.neko_entry_call(call=call)
            return await invoke()
        return await row.runner.call(row.spec, arguments)

    async def stream(self, target: str, /, **arguments: Any) -> AsyncIterator[Any]:
        """Yield the items of a generator entry as they come (any entry yields its result).

        Raises like :meth:`call`. Timeout: each item is bounded by the entry's timeout.
        Cancellation: cancelling the consumer cancels the plugin's generator, which is closed.
        Close the iterator (``aclose``) or exhaust it; breaking out early closes the generator.
        """
        row = self._lookup(target, arguments)
        async for item in row.runner.stream(row.spec, arguments):
            yield item

    def entries(self) -> list[tuple[str, EntrySpec]]:
        """Every entry as ``("plugin.entry", spec)``, in load order."""
        return [(str(address), spec) for address, spec in self._table.entries()]

    def entry(self, target: str) -> tuple[Address, EntrySpec]:
        """The entry at ``target`` (either address form), whatever its plugin's state.

        Raises:
            EntryNotFound: no such plugin or entry.
            PluginUnavailable: the plugin failed to load or is disabled (it has no entries).
        """
        row = self._table.row(target)
        if row is None:
            raise self._not_found(target)
        return Address(row.runner.name, row.spec.id), row.spec

    def _not_found(self, target: str) -> PluginError:
        address = parse_address(target, plugins=self._table.runners)
        plugin, entry = (address.plugin, address.entry) if address else (target, "")
        if plugin not in self._table:
            if plugin in self.registry.disabled or any(
                f.name == plugin for f in self.registry.failures
            ):
                return _unavailable(self.status(plugin))
            known = ", ".join(self._table.runners) or "none"
            return EntryNotFound(plugin, f"no such plugin (loaded: {known})")
        status = self._table.runners[plugin].status()
        if status.state is not PluginState.RUNNING:  # why it cannot answer comes first
            return _unavailable(status)
        ids = ", ".join(self._table.entry_ids(plugin)) or "none"
        return EntryNotFound(plugin, f"no entry {entry!r} (entries: {ids})")

    # ---- messages -----------------------------------------------------------------------------

    async def deliver(self, plugin: str, target: str, message: Any) -> None:
        """Deliver a plugin's message through ``neko_deliver_message``, else the host's sink.

        The message is also an event on :attr:`events`. A transport hook that raises is logged
        and the next one tried.
        """
        self.events.emit(EventKind.MESSAGE, plugin, target=target, message=message)
        await deliver_message(self.registry.pm, self._message_sink, plugin, target, message)

    # ---- the table at run time ----------------------------------------------------------------

    def _spawn(self, runner: Runner) -> None:
        if self._nursery is None:
            raise RuntimeError("the host is not running: use it inside its open_host block")
        self._nursery.start_soon(runner.supervise, name=f"neko:{runner.name}")

    async def add_plugin(self, loaded: LoadedPlugin) -> PluginStatus:
        """Add a plugin that was registered in :attr:`registry` after the host started, start
        it, and return its status after its first start attempt.

        Raises:
            ValueError: a plugin of that name is already in the table.

        Timeout: the start is bounded by ``limits.startup_timeout`` like any start; a failed
        start is the plugin's (see its status), not this call's.
        Cancellation: the plugin stays in the table and keeps starting; only the wait ends.
        """
        if loaded.info.name in self._table:
            raise ValueError(f"plugin {loaded.info.name!r} is already in the host")
        runner = self._runner_for(loaded)
        self._table.put(runner, loaded.info.entries)
        self.events.emit(EventKind.TABLE, runner.name, change="added")
        self._spawn(runner)
        await runner.first_attempt.wait()
        return runner.status()

    async def stop_plugin(self, name: str) -> PluginStatus:
        """Stop plugin ``name`` (terminate within its grace, its tasks cancelled, its context
        closed); its entries stay listed and calls to it raise ``PluginUnavailable``.

        Raises:
            EntryNotFound: no plugin of that name is in the table.

        Cancellation: the stop is shielded; it finishes within the plugin's terminate grace
        plus the time to cancel its tasks even if the caller is cancelled.
        """
        runner = self._runner(name)
        with trio.CancelScope(shield=True):
            await runner.stop()
        return runner.status()

    async def start_plugin(self, name: str) -> PluginStatus:
        """Start plugin ``name`` again with a fresh runner and context, after a stop or after
        its restart policy gave up; return its status after the first start attempt.

        Raises:
            EntryNotFound: no plugin of that name is in the table.
            ValueError: the plugin is still running or stopping (stop it first).

        Cancellation: the plugin keeps starting; only the wait ends.
        """
        old = self._runner(name)
        if old.state not in (PluginState.STOPPED, PluginState.FAILED):
            raise ValueError(f"plugin {name!r} is {old.state.value}; stop it first")
        loaded = self.registry.plugins[name]
        runner = self._runner_for(loaded)
        self._table.put(runner, loaded.info.entries)
        self._spawn(runner)
        await runner.first_attempt.wait()
        return runner.status()

    async def remove_plugin(self, name: str) -> LoadedPlugin:
        """Stop plugin ``name`` and take it out of the table and the registry.

        Raises:
            EntryNotFound: no plugin of that name is in the table.

        Cancellation: the stop is shielded (see :meth:`stop_plugin`); a caller cancelled
        during it still leaves the plugin stopped, and removed.
        """
        await self.stop_plugin(name)
        self._table.drop(name)
        loaded = self.registry.remove(name)
        self.events.emit(EventKind.TABLE, name, change="removed")
        return loaded

    def _runner(self, name: str) -> Runner:
        runner = self._table.runners.get(name)
        if runner is None:
            raise EntryNotFound(name, "no such plugin")
        return runner

    # ---- inbound messages (issue 19; the logic is in _inbound.py) ----------------------------

    def dispatch(self, message: Message) -> AsyncIterator[Reply]:
        """Hand ``message`` to the plugins' handlers; yield their replies as they come.

        Each reply is also delivered to ``message.origin`` (``neko_deliver_message``, else the
        message sink). See :mod:`nekohooks._inbound` for the order, stop rules and errors.
        """
        return dispatch(self, message)

    def message_handlers(self) -> list[tuple[Runner, tuple[HandlerSpec, ...]]]:
        """Every plugin's runner and message handlers, in the table's order."""
        plugins = self.registry.plugins
        return [
            (runner, plugins[name].info.handlers)
            for name, runner in self._table.runners.items()
            if name in plugins
        ]

    @property
    def hook(self) -> Any:
        """The plugin manager's hook relay (``host.hook.neko_check_permission``, ...)."""
        return self.registry.pm.hook

    # ---- lifecycle ----------------------------------------------------------------------------

    def _report_block(self, plugin: str | None, seconds: float, where: str) -> None:
        """The watchdog's report, from the watchdog's thread while the loop is still held."""
        self.loop_blocks.append(LoopBlock(plugin, seconds, where))
        self.events.emit(EventKind.LOOP_BLOCK, plugin, seconds=seconds, where=where)
        runner = self._table.runners.get(plugin) if plugin else None
        if runner is not None:
            runner.note_loop_block(seconds, where)
        else:
            log.warning("the trio loop was blocked for %.2fs at %s", seconds, where)

    @asynccontextmanager
    async def _running(self, *, watchdog: bool) -> AsyncIterator[None]:
        """Start every plugin, yield, then stop them all (see :func:`open_host`)."""
        dog = (  # its map of plugin code is made only for a watchdog that runs
            LoopWatchdog(
                self.config.limits.block_threshold,
                plugin_code(self.registry.plugins.values()).get,
                self._report_block,
            )
            if watchdog
            else None
        )
        body_error: Exception | None = None
        with _interrupts_unwrapped():
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if dog is not None:
                    dog.start()
                try:
                    for runner in self._table:
                        self._spawn(runner)
                    for runner in self._table:  # a set event needs no wait (each is a checkpoint)
                        if not runner.first_attempt.is_set():
                            await runner.first_attempt.wait()
                    if self._table.runners:  # at least one checkpoint, as one wait per plugin had
                        await trio.lowlevel.checkpoint()
                    try:
                        yield
                    except Exception as exc:  # re-raised below, outside the nursery, unwrapped
                        body_error = exc
                finally:
                    try:
                        await self._shutdown(nursery)
                    finally:
                        if dog is not None:
                            dog.stop()
                        self._nursery = None
        if body_error is not None:
            raise body_error

    async def _shutdown(self, nursery: trio.Nursery) -> None:
        """Stop plugins in reverse start order within ``shutdown_timeout``, then cancel the rest."""
        limits = self.config.limits
        order = sorted(self._table, key=lambda r: r.started_at, reverse=True)
        with trio.move_on_after(limits.shutdown_timeout, shield=True) as scope:
            for runner in order:
                await runner.stop()
        if scope.cancelled_caught:
            log.error("shutdown took longer than %gs; cancelling the rest", limits.shutdown_timeout)
        nursery.cancel_scope.cancel()


def _unavailable(status: PluginStatus) -> PluginUnavailable:
    """Why a plugin cannot be called: its state, and the phase and error that put it there."""
    at = f" at {status.phase}" if status.phase else ""
    why = f": {status.last_error}" if status.last_error else ""
    if status.state is PluginState.DISABLED:
        why = ": not permitted by the allow/deny lists"
    return PluginUnavailable(status.name, f"is {status.state.value}{at}{why}", phase=status.phase)


@contextlib.contextmanager
def _interrupts_unwrapped() -> Iterator[None]:
    """Let a ``KeyboardInterrupt`` from anywhere under the host's nursery (a real Ctrl-C, or
    plugin code raising one) leave the host as itself, not inside exception groups."""
    try:
        yield
    except BaseExceptionGroup as group:
        found: BaseException | None = group.subgroup(KeyboardInterrupt)
        if found is None:
            raise
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        raise found from None


@asynccontextmanager
async def open_host(
    config: HostConfig | None = None,
    *,
    plugins: Mapping[str, object] | None = None,
    wall_clock: Callable[[], float] = time.time,
    message_sink: MessageSink = log_message,
    rng: random.Random | None = None,
    watchdog: bool = True,
) -> AsyncIterator[Host]:
    """Load plugins, start them concurrently, yield the :class:`Host`, then shut down.

    Args:
        config: limits, restart policy, filters and home (default: :class:`HostConfig()`).
        plugins: name → plugin object to use instead of entry-point discovery (tests, embedding).
        wall_clock: epoch seconds for cron schedules (inject a fake one with a MockClock).
        message_sink: where messages go that no ``neko_deliver_message`` hook delivered.
        rng: random source for jitter and backoff (seed it for reproducible tests).
        watchdog: report plugin code that blocks the trio loop longer than
            ``limits.block_threshold``.

    A plugin that fails to load or start does not stop the others; see ``host.failures`` and
    ``host.status()``.

    Raises:
        ConfigError: the home cannot be used (missing and not creatable, not a folder, not
            writable); no plugin was loaded.

    Cancellation: on cancel, or an error in the block, shutdown still runs (shielded, bounded
    by ``shutdown_timeout``); then the cancellation or error propagates.
    """
    config = config or HostConfig()
    check_home(config.home)  # the host's problem, before any plugin starts
    registry = Registry()
    if plugins is None:
        in_folders, broken = folder_candidates(config.plugin_folders)
        registry.failures.extend(broken)
        load_plugins(
            registry,
            cached_scan(directory=cache_dir(config.home)) + in_folders,
            plugin_filter=config.plugin_filter,
            version=__version__,
            import_timeout=config.limits.startup_timeout,
        )
        if (config.home / "envs").is_dir():  # `neko install --isolated`: own environments
            from .isolation import add_env_plugins

            config = add_env_plugins(registry, config)
    else:
        registry.add_all(plugins, config.plugin_filter)
    for failure in registry.failures:
        log.error("%s", failure)
    host = Host(
        config,
        registry,
        wall_clock=wall_clock,
        message_sink=message_sink,
        rng=rng or random.Random(),
    )
    async with host._running(watchdog=watchdog):
        yield host
