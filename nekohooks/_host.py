"""The trio host: load plugins, start them concurrently, serve entry calls, shut down cleanly.

``async with open_host() as host:`` discovers and registers plugins, starts every plugin's
supervisor in the host's nursery, waits until each has made its first start attempt, and
yields. On exit (normal, error or cancel) it stops the plugins in reverse start order; each
terminate is shielded and bounded by ``terminate_grace``, the whole shutdown by
``shutdown_timeout``, and whatever is left is cancelled. No task outlives the block.

The call path (``Host.call``) is kept short on purpose; it is what the benchmarks measure:
look up → check the plugin runs → validate → (wrappers) → the runner's guarded invoke.
"""

from __future__ import annotations

import collections
import inspect
import logging
import os
import random
import signal
import sys
import threading
import time
import types
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from . import __version__
from ._config import HostConfig
from ._context import PluginContext
from ._discovery import load_plugins, scan
from ._errors import EntryNotFound, PluginUnavailable
from ._model import (
    EntryCall,
    EntrySpec,
    JobSpec,
    LoadFailure,
    LoopBlock,
    PluginInfo,
    PluginState,
    PluginStatus,
)
from ._registry import LoadedPlugin, Registry
from ._runner import PluginRunner
from ._schema import ArgumentValidator
from ._watchdog import LoopWatchdog
from .hookspecs import hookimpl

__all__ = ["Host", "MessageSink", "open_host", "serve"]

log = logging.getLogger("nekohooks.host")
message_log = logging.getLogger("nekohooks.messages")

MessageSink = Callable[[str, str, Any], Any]


def log_message(plugin: str, target: str, message: Any) -> None:
    """The default message sink: log the message (``neko run`` shows the log on stdout)."""
    message_log.info("[%s → %s] %s", plugin, target, message)


class _Entry:
    """The host's table row for one entry: the spec, its runner and its validator."""

    __slots__ = ("check", "runner", "spec")

    def __init__(self, spec: EntrySpec, runner: PluginRunner) -> None:
        self.spec = spec
        self.runner = runner
        schema = spec.input_schema
        self.check: Callable[[Mapping[str, Any]], None] | None = None
        if schema.get("required") or schema.get("properties"):
            self.check = ArgumentValidator(runner.name, spec.id, dict(schema)).validate
        elif schema.get("additionalProperties") is False:  # takes no arguments
            validate = ArgumentValidator(runner.name, spec.id, dict(schema)).validate
            # the no-argument hot path: an empty call needs no validation
            self.check = lambda arguments: validate(arguments) if arguments else None


class _CoreHooks:
    """The host's own implementation of ``neko_entry_call``: the innermost, real call."""

    def __init__(self, host: Host) -> None:
        self._host = host

    @hookimpl
    def neko_entry_call(self, call: EntryCall) -> Callable[[], Any]:
        entry = self._host._entries[f"{call.plugin}.{call.entry}"]
        return lambda: entry.runner.call(entry.spec, call.arguments)


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
        self.wall_clock = wall_clock
        self.message_sink = message_sink
        self.rng = rng
        self.runners: dict[str, PluginRunner] = {
            name: self._make_runner(loaded) for name, loaded in registry.plugins.items()
        }
        self._entries: dict[str, _Entry] = {}
        for name, spec in registry.entries():
            entry = _Entry(spec, self.runners[name])
            self._entries[f"{name}.{spec.id}"] = entry
            self._entries[f"{name}__{spec.id}"] = entry  # the LLM tool name form
        registry.pm.register(_CoreHooks(self), name="nekohooks.core")
        self._intercepted = any(
            impl.wrapper or impl.hookwrapper
            for impl in registry.pm.hook.neko_entry_call.get_hookimpls()
        )
        self._code_owner = _code_owners(registry.plugins.values())
        self.loop_blocks: collections.deque[LoopBlock] = collections.deque(maxlen=100)
        """The latest reports of the loop watchdog (at most 100), oldest first."""

    def _make_runner(self, loaded: LoadedPlugin) -> PluginRunner:
        """The in-process runner, or the process runner for a plugin configured isolated."""
        options = self.config.options(loaded.info.name)
        if options.isolated:
            from .isolation import ProcessRunner  # msgspec and subprocess only when used

            return ProcessRunner(loaded, self, options)
        return PluginRunner(loaded, self)

    # ---- what is here ---------------------------------------------------------------------

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Every loaded plugin's record, in load order."""
        return {name: p.info for name, p in self.registry.plugins.items()}

    @property
    def failures(self) -> list[LoadFailure]:
        """Plugins that could not be loaded, and why."""
        return list(self.registry.failures)

    def status(self, name: str) -> PluginStatus:
        """The status of plugin ``name`` (loaded, disabled or failed to load)."""
        runner = self.runners.get(name)
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
        names = set(self.runners) | set(self.registry.disabled)
        names |= {f.name for f in self.registry.failures}
        return [self.status(name) for name in sorted(names)]

    # ---- calls --------------------------------------------------------------------------------

    def _lookup(self, target: str, arguments: Mapping[str, Any]) -> _Entry:
        try:
            entry = self._entries[target]
        except KeyError:
            raise self._not_found(target) from None
        runner = entry.runner
        if runner.state is not PluginState.RUNNING:
            raise PluginUnavailable(
                runner.name, f"is {runner.state.value}: {runner.last_error or 'not running'}"
            )
        if entry.check is not None:
            entry.check(arguments)
        return entry

    async def call(self, target: str, /, **arguments: Any) -> Any:
        """Call entry ``target`` (``"plugin.entry"``) with keyword arguments; return its result.

        Raises:
            EntryNotFound: no such plugin or entry.
            PluginUnavailable: the plugin is not running (or stopped during the call).
            InvalidArguments: the arguments do not match the schema; no plugin code ran.
            EntryTimeout: the call outlived the entry's timeout and was cancelled.
            EntryFailed: the plugin code raised; the cause is chained.

        On cancel, the plugin code is cancelled too (a sync entry's thread is abandoned and
        keeps its worker slot until it returns). Generator entries return a list of items.
        """
        entry = self._lookup(target, arguments)
        if self._intercepted:
            call = EntryCall(entry.runner.name, entry.spec.id, arguments)
            invoke = self.registry.pm.hook.neko_entry_call(call=call)
            return await invoke()
        return await entry.runner.call(entry.spec, arguments)

    async def stream(self, target: str, /, **arguments: Any) -> AsyncIterator[Any]:
        """Yield the items of a generator entry as they come (any entry yields its result).

        Each item is bounded by the entry's timeout. Raises like :meth:`call`. Close the
        iterator (``aclose``) or exhaust it; breaking out early closes the generator.
        """
        entry = self._lookup(target, arguments)
        async for item in entry.runner.stream(entry.spec, arguments):
            yield item

    def entries(self) -> list[tuple[str, EntrySpec]]:
        """Every entry as ``("plugin.entry", spec)``, in load order."""
        return [(f"{name}.{spec.id}", spec) for name, spec in self.registry.entries()]

    def _not_found(self, target: str) -> EntryNotFound:
        plugin, _, entry = target.partition(".")
        if plugin not in self.registry.plugins:
            known = ", ".join(self.registry.plugins) or "none"
            return EntryNotFound(plugin, f"no such plugin (loaded: {known})")
        ids = ", ".join(e.id for e in self.registry.plugins[plugin].info.entries) or "none"
        return EntryNotFound(plugin, f"no entry {entry!r} (entries: {ids})")

    # ---- messages -----------------------------------------------------------------------------

    async def deliver(self, plugin: str, target: str, message: Any) -> None:
        """Deliver a plugin's message through ``neko_deliver_message``, else the host's sink."""
        for impl in reversed(self.registry.pm.hook.neko_deliver_message.get_hookimpls()):
            try:
                result = impl.function(plugin=plugin, target=target, message=message)
                if inspect.isawaitable(result):
                    result = await result
            except Exception:
                log.exception("message transport %r failed", impl.plugin_name)
                continue
            if result:
                return
        result = self.message_sink(plugin, target, message)
        if inspect.isawaitable(result):
            await result

    # ---- lifecycle ----------------------------------------------------------------------------

    def make_context(self, loaded: LoadedPlugin) -> PluginContext:
        """A fresh context for one run of ``loaded``."""
        return PluginContext(
            loaded.info.name,
            home=self.config.home / "plugins" / loaded.info.name,
            defaults_package=_package_of(loaded.info.module),
            deliver=self.deliver,
        )

    def _report_block(self, plugin: str | None, seconds: float, where: str) -> None:
        self.loop_blocks.append(LoopBlock(plugin, seconds, where))
        runner = self.runners.get(plugin) if plugin else None
        if runner is not None:
            runner.loop_blocks += 1
            runner.record_fault(
                "event loop", f"blocked the trio loop for {seconds:.2f}s at {where}"
            )
        else:
            log.warning("the trio loop was blocked for %.2fs at %s", seconds, where)

    async def _start_all(self, nursery: trio.Nursery) -> None:
        for name, runner in self.runners.items():
            nursery.start_soon(runner.supervise, name=f"neko:{name}")
        for runner in self.runners.values():
            await runner.first_attempt.wait()

    async def _shutdown(self, nursery: trio.Nursery) -> None:
        """Stop plugins in reverse start order within ``shutdown_timeout``, then cancel the rest."""
        limits = self.config.limits
        order = sorted(self.runners.values(), key=lambda r: r.started_at, reverse=True)
        with trio.move_on_after(limits.shutdown_timeout, shield=True) as scope:
            for runner in order:
                await runner.stop()
        if scope.cancelled_caught:
            log.error("shutdown took longer than %gs; cancelling the rest", limits.shutdown_timeout)
        nursery.cancel_scope.cancel()


def _package_of(module: str) -> str | None:
    mod = sys.modules.get(module)
    if mod is None:
        return None
    return mod.__name__ if hasattr(mod, "__path__") else (mod.__package__ or None)


def _code_owners(plugins: Iterable[LoadedPlugin]) -> Callable[[types.CodeType], str | None]:
    """Map code objects of plugin functions to their plugin, for the watchdog's blame."""
    owners: dict[types.CodeType, str] = {}
    for plugin in plugins:
        namespace: dict[str, Any] = {}
        if plugin.plugin_class is not None:
            for klass in reversed(plugin.plugin_class.__mro__[:-1]):
                namespace.update(vars(klass))
        elif hasattr(plugin.obj, "__dict__"):
            namespace.update(vars(plugin.obj))
        for value in namespace.values():
            func = inspect.unwrap(value) if callable(value) else None
            code = getattr(func, "__code__", None)
            if isinstance(code, types.CodeType):
                owners[code] = plugin.info.name
        specs: list[EntrySpec | JobSpec] = [*plugin.info.entries, *plugin.info.jobs]
        for spec in specs:
            code = getattr(inspect.unwrap(spec.func), "__code__", None)
            if isinstance(code, types.CodeType):
                owners[code] = plugin.info.name

    def owner_of(code: types.CodeType) -> str | None:
        return owners.get(code)

    return owner_of


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
    ``host.status()``. On cancel, shutdown still runs (shielded, bounded by its timeouts).
    """
    config = config or HostConfig()
    registry = Registry()
    if plugins is None:
        load_plugins(
            registry,
            scan(),
            plugin_filter=config.plugin_filter,
            version=__version__,
            import_timeout=config.limits.startup_timeout,
        )
        if (config.home / "envs").is_dir():  # `neko install --isolated`: own environments
            from .isolation import add_env_plugins

            config = add_env_plugins(registry, config)
    else:
        for name, obj in plugins.items():
            if not config.plugin_filter.permits(name):
                registry.disabled.append(name)
                continue
            try:
                registry.add(name, obj)
            except Exception as exc:
                phase = getattr(exc, "phase", None) or "register"
                detail = getattr(exc, "detail", str(exc))
                registry.failures.append(LoadFailure(name, "", None, None, phase, detail))
    for failure in registry.failures:
        log.error("%s", failure)
    host = Host(
        config,
        registry,
        wall_clock=wall_clock,
        message_sink=message_sink,
        rng=rng or random.Random(),
    )
    dog = LoopWatchdog(config.limits.block_threshold, host._code_owner, host._report_block)
    body_error: Exception | None = None
    async with trio.open_nursery() as nursery:
        if watchdog:
            dog.start()
        try:
            await host._start_all(nursery)
            try:
                yield host
            except Exception as exc:  # re-raised below, outside the nursery, unwrapped
                body_error = exc
        finally:
            try:
                await host._shutdown(nursery)
            finally:
                if watchdog:
                    dog.stop()
    if body_error is not None:
        raise body_error


async def serve(
    host: Host,
    *,
    on_ready: Callable[[], None] | None = None,
    hard_deadline: float | None = -1.0,
) -> int:
    """Run until SIGINT or SIGTERM; return the signal number. A second signal exits at once.

    The first signal returns so the caller's ``open_host`` block shuts down gracefully; the
    signal receiver stays installed during that shutdown, and a second signal ends the process
    with ``os._exit(130)``. A plugin can defeat cancellation (catch ``trio.Cancelled`` in a
    loop), so after ``hard_deadline`` real seconds from the first signal (default: the shutdown
    timeout plus 5 s; ``None``: never) the process logs which plugins were still stopping and
    exits with ``os._exit(1)``.
    """
    if hard_deadline is not None and hard_deadline < 0:
        hard_deadline = host.config.limits.shutdown_timeout + 5.0
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        if on_ready is not None:
            on_ready()  # signals are handled from here on
        async for signum in signals:
            trio.lowlevel.spawn_system_task(_exit_on_second_signal)
            if hard_deadline is not None:
                _exit_after(hard_deadline, host)
            return int(signum)
    raise AssertionError("unreachable: the signal stream does not end")


def _exit_after(seconds: float, host: Host) -> None:
    """Start a daemon thread that ends the process if it is still alive after ``seconds``."""

    def expire() -> None:
        stuck = [r.name for r in host.runners.values() if r.state is PluginState.STOPPING]
        log.critical(
            "shutdown did not finish within %gs (still stopping: %s); exiting now",
            seconds,
            ", ".join(stuck) or "no plugin",
        )
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


async def _exit_on_second_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            log.error("second signal: exiting now")
            os._exit(130)
