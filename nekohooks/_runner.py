"""One plugin's life on the trio host: start, serve, supervise, stop.

Each plugin gets a :class:`PluginRunner`, whose :meth:`~PluginRunner.supervise` task the host
starts in its nursery. One *run* of the plugin is::

    open the plugin's nursery ── make ctx ── construct (class style, in a thread)
      ── startup hooks (bounded by startup_timeout) ── periodic jobs start ── RUNNING
      ── ... until stop() or a crash ...
      ── cancel in-flight calls ── terminate hooks (shielded, bounded by terminate_grace)
      ── cancel the nursery (every task the plugin started) ── close ctx

A crash (startup raising or timing out, a background task raising) ends the run; the
supervisor waits an exponential backoff with jitter and starts a new run, until the
:class:`RestartPolicy` gives up and marks the plugin failed. Entry calls run in the caller's
task but are registered with the runner, so stopping the plugin cancels them.

Over 500 lines: a run and the calls it serves share the plugin's state, scopes and counters,
and the call path is written out flat (no helper frames) because it is the hot path.
"""

from __future__ import annotations

import functools
import inspect
import logging
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import trio
import trio.lowlevel

from ._api import NekoPluginBase, lifecycle_methods
from ._asyncio_bridge import AsyncioThread
from ._context import PluginContext
from ._deadlines import CallDeadlines
from ._errors import (
    PLUGIN_FAULTS,
    EntryFailed,
    EntryTimeout,
    Phase,
    PluginError,
    PluginUnavailable,
)
from ._events import EventKind
from ._model import EntryKind, EntrySpec, JobSpec, PluginState, PluginStatus, RunsOn
from ._registry import LoadedPlugin
from ._runtime import RunnerEnv
from ._schedule import JobState
from ._scheduler import Scheduler
from ._threads import in_real_time, in_thread

__all__ = ["PluginRunner"]

log = logging.getLogger("nekohooks.runner")

_END = object()
_NO_ARGUMENTS: Mapping[str, Any] = types.MappingProxyType({})
# Enum members the call path compares with, bound once: ``RunsOn.TRIO`` costs 75 ns a lookup.
_ON_TRIO, _ASYNC, _RUNNING = RunsOn.TRIO, EntryKind.ASYNC, PluginState.RUNNING


class _Crash(Exception):
    """A run ended because the plugin failed; carries the phase and the cause."""

    def __init__(self, phase: Phase, cause: BaseException | str) -> None:
        text = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        super().__init__(f"{phase}: {text}")
        self.phase = phase
        self.text = text
        self.cause = None if isinstance(cause, str) else cause


class PluginRunner:
    """Runs and supervises one plugin in the host's process (a :class:`~._runtime.Runner`)."""

    def __init__(self, loaded: LoadedPlugin, env: RunnerEnv) -> None:
        self.loaded = loaded
        self.name = loaded.info.name
        self.env = env
        self.state = PluginState.STOPPED
        self.restarts = 0
        self.last_error: str | None = None
        self.last_phase: Phase | None = None
        self.loop_blocks = 0
        self.calls = 0
        self.call_failures = 0
        self.call_timeouts = 0
        self.started_at = 0.0
        self.running_since: float | None = None
        self.instance: object | None = None
        self.ctx: PluginContext | None = None
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.job_states: dict[str, JobState] = {}
        self.limiter = trio.CapacityLimiter(env.limits.worker_threads)
        self.asyncio_thread: AsyncioThread | None = None
        self.first_attempt = trio.Event()
        self.done = trio.Event()
        self._stop = trio.Event()
        self._run_scope: trio.CancelScope | None = None
        self._constructed = False
        self._calls = CallDeadlines(self._deaf_calls, env.limits.terminate_grace)
        self._entry_timeout = env.limits.entry_timeout
        self._crashes: list[float] = []
        self._rng = env.rng

    # ---- status ---------------------------------------------------------------------------

    def status(self) -> PluginStatus:
        """A snapshot of this plugin's state."""
        ctx_tasks = tuple(self.ctx.tasks.names()) if self.ctx is not None else ()
        return PluginStatus(
            name=self.name,
            state=self.state,
            restarts=self.restarts,
            last_error=self.last_error,
            phase=self.last_phase,
            tasks=ctx_tasks,
            job_runs={k: s.runs for k, s in self.job_states.items()},
            job_failures={k: s.failures + s.timeouts for k, s in self.job_states.items()},
            job_skipped={k: s.skipped for k, s in self.job_states.items()},
            loop_blocks=self.loop_blocks,
            calls=self.calls,
            call_failures=self.call_failures,
            call_timeouts=self.call_timeouts,
            since=self.running_since,
        )

    def record_fault(
        self,
        phase: Phase,
        text: str,
        *,
        job: str | None = None,
        exc: BaseException | None = None,
    ) -> None:
        """Remember the latest problem (shown in status), log it with the plugin's name (the
        plugin's traceback, if ``exc`` is given, at debug level), and put it on the event
        stream."""
        self.last_phase, self.last_error = phase, text
        what = f"{phase} {job!r}" if job else str(phase)
        about = {"plugin": self.name, "phase": str(phase)}
        log.error("plugin %r: %s failed: %s", self.name, what, text, extra=about)
        if exc is not None:
            log.debug("plugin %r: %s traceback", self.name, what, exc_info=exc, extra=about)
        self.env.emit(EventKind.FAULT, self.name, phase=str(phase), error=text, job=job)

    def _deaf_calls(self, count: int) -> None:
        grace = self.env.limits.terminate_grace
        self.record_fault(
            Phase.ENTRY,
            f"{count} call(s) still running {grace:g}s after their timeout: an entry ignores "
            "cancellation, and its caller keeps waiting",
        )

    def note_loop_block(self, seconds: float, where: str) -> None:
        """The watchdog saw this plugin hold the trio loop for ``seconds`` at ``where``."""
        self.loop_blocks += 1
        self.record_fault(Phase.EVENT_LOOP, f"blocked the trio loop for {seconds:.2f}s at {where}")

    def _set_state(self, state: PluginState) -> None:
        previous, self.state = self.state, state
        if state is PluginState.RUNNING:
            self.running_since = self.env.wall_clock()
        elif previous is PluginState.RUNNING:
            self.running_since = None
        if state is not previous:
            self.env.emit(EventKind.STATE, self.name, state=state.value, previous=previous.value)

    # ---- supervision ----------------------------------------------------------------------

    async def supervise(self) -> None:
        """Run the plugin, restarting after crashes, until :meth:`stop` or the policy gives up.

        On cancel (host shutdown past its deadline) the current run is torn down and this
        returns by raising ``Cancelled``.
        """
        policy = self.env.restart
        try:
            while not self._stop.is_set():
                try:
                    await self._run_once()
                except _Crash as crash:
                    self.record_fault(crash.phase, crash.text, exc=crash.cause)
                else:
                    break
                now = trio.current_time()
                self._crashes = [t for t in self._crashes if now - t < policy.window] + [now]
                if len(self._crashes) > policy.max_restarts:
                    self._set_state(PluginState.FAILED)
                    log.error(
                        "plugin %r: gave up after %d crashes in %gs",
                        self.name,
                        len(self._crashes),
                        policy.window,
                    )
                    break
                self._set_state(PluginState.RESTARTING)
                self.first_attempt.set()
                self.restarts += 1
                backoff = min(
                    policy.max_backoff, policy.initial_backoff * 2 ** (len(self._crashes) - 1)
                )
                backoff *= 1 + policy.jitter * self._rng.random()
                log.warning("plugin %r: restarting in %.2fs", self.name, backoff)
                self.env.emit(EventKind.RESTART, self.name, attempt=self.restarts, backoff=backoff)
                with trio.move_on_after(backoff):
                    await self._stop.wait()
            if self.state is not PluginState.FAILED:
                self._set_state(PluginState.STOPPED)
        finally:
            self.first_attempt.set()
            self.done.set()

    async def stop(self) -> None:
        """Ask the plugin to stop and wait until its run has ended (terminate included).

        Idempotent. Cancels a startup that is still going. Waits at most as long as the
        terminate grace allows, plus the time to cancel the plugin's tasks.
        """
        self._stop.set()
        if self.state is PluginState.STARTING and self._run_scope is not None:
            self._run_scope.cancel()
        await self.done.wait()

    # ---- one run ----------------------------------------------------------------------------

    def _make_context(self) -> PluginContext:
        return PluginContext(
            self.name,
            home=self.env.home / "plugins" / self.name,
            defaults_package=self.loaded.package,
            deliver=self.env.deliver,
        )

    async def _run_once(self) -> None:
        limits = self.env.limits
        self._set_state(PluginState.STARTING)
        try:
            ctx = self._make_context()
        except Exception as exc:
            raise _Crash(Phase.CONFIG, exc) from exc
        self.ctx = ctx
        crash: _Crash | None = None
        self.instance = None
        self._constructed = False
        try:
            async with trio.open_nursery() as nursery:
                ctx.tasks.bind(nursery)
                # the run scope has the startup's deadline until the plugin runs (no fail_after)
                startup_deadline = trio.current_time() + limits.startup_timeout
                with trio.CancelScope(deadline=startup_deadline) as run_scope:
                    self._run_scope = run_scope  # stop() cancels it while starting
                    await self._start(ctx)
                    await trio.lowlevel.checkpoint_if_cancelled()  # a deadline that passed unseen
                    run_scope.deadline = float("inf")
                    self._start_jobs(nursery, ctx)
                    self._calls.serve_in(nursery, name=f"{self.name}:call-timeouts")
                    self.started_at = trio.current_time()
                    self._set_state(PluginState.RUNNING)
                    self.first_attempt.set()
                    await self._stop.wait()
                if run_scope.cancelled_caught and not self._stop.is_set():  # startup timed out
                    raise _Crash(Phase.STARTUP, f"timed out after {limits.startup_timeout:g}s")
                self._set_state(PluginState.STOPPING)
                await self._finish(ctx)
                nursery.cancel_scope.cancel()
        except* _Crash as group:
            first = _first_fault(group)
            crash = first if isinstance(first, _Crash) else _Crash(Phase.STARTUP, first)
        except* PLUGIN_FAULTS as group:
            crash = _Crash(Phase.TASK, _first_fault(group))
        finally:
            self._run_scope = None
            if crash is not None or self.state is not PluginState.STOPPING:
                await self._finish(ctx)
            await self._close(ctx)
        if crash is not None:
            raise crash

    async def _start(self, ctx: PluginContext) -> None:
        """Construct (class style) and run the startup hooks.

        Once construction succeeded, terminate will run whatever happens next: a failing
        startup hook still gets its clean-up (the peers leak here).
        """
        plugin_class = self.loaded.plugin_class
        try:
            if plugin_class is not None:
                if plugin_class.__init__ is NekoPluginBase.__init__:  # type: ignore[misc]
                    self.instance = plugin_class(ctx)  # the base's __init__ only stores ctx
                else:  # its own __init__ may block (files, sockets): in a thread
                    self.instance = await self._in_thread(plugin_class, ctx)
                self._constructed = True
                hooks = lifecycle_methods(self.instance, "startup")
            else:
                self._constructed = True
                hooks = self._module_hooks("neko_startup", ctx)
            self._bind_handlers()
            for hook in hooks:
                await self._run_hook(hook)
        except PLUGIN_FAULTS as exc:
            raise _Crash(Phase.STARTUP, exc) from exc

    def _module_hooks(self, hook: str, ctx: PluginContext) -> list[Callable[[], Any]]:
        if hook not in self.loaded.hooks:
            return []
        return [functools.partial(getattr(self.loaded.obj, hook), ctx=ctx)]

    async def _finish(self, ctx: PluginContext) -> None:
        """Cancel in-flight calls, then run terminate hooks shielded within the grace period.

        Runs the hooks at most once per run (a second call finds nothing constructed).
        """
        self._cancel_calls()
        if not self._constructed:
            return
        self._constructed = False
        grace = self.env.limits.terminate_grace
        if self.instance is not None:
            hooks = lifecycle_methods(self.instance, "terminate")
        else:
            hooks = self._module_hooks("neko_terminate", ctx)
        with trio.move_on_after(grace, shield=True) as scope:
            for hook in hooks:
                try:
                    await self._run_hook(hook)
                except PLUGIN_FAULTS as exc:
                    self.record_fault(Phase.TERMINATE, f"{type(exc).__name__}: {exc}", exc=exc)
        if scope.cancelled_caught:
            self.record_fault(Phase.TERMINATE, f"did not finish within {grace:g}s; abandoned")
        self.instance = None

    async def _close(self, ctx: PluginContext) -> None:
        await ctx.aclose()
        if self.asyncio_thread is not None:
            thread, self.asyncio_thread = self.asyncio_thread, None
            await trio.to_thread.run_sync(thread.close)

    def _cancel_calls(self) -> None:
        self._calls.cancel_all()

    async def _run_hook(self, hook: Callable[[], Any]) -> None:
        if getattr(hook, "__neko_asyncio__", False):  # @lifecycle(..., asyncio=True)
            await self._invoke(hook, RunsOn.ASYNCIO)
        elif inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
            getattr(hook, "func", None)
        ):
            await hook()
        else:
            result = await self._in_thread(hook)
            if inspect.isawaitable(result):
                await result

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await in_thread(functools.partial(fn, *args), self.limiter)

    # ---- jobs ---------------------------------------------------------------------------------

    def _bind(self, func: Callable[..., Any], is_method: bool, wants_ctx: bool) -> Any:
        if is_method:
            return func.__get__(self.instance)
        if wants_ctx:
            return functools.partial(func, ctx=self.ctx)
        return func

    def _bind_handlers(self) -> None:
        self.handlers = {
            spec.id: self._bind(spec.func, spec.is_method, spec.wants_ctx)
            for spec in self.loaded.info.entries
        }
        for handler in self.loaded.info.handlers:  # message handlers are called as entries are
            spec = handler.entry
            self.handlers[spec.id] = self._bind(spec.func, spec.is_method, spec.wants_ctx)

    def _start_jobs(self, nursery: trio.Nursery, ctx: PluginContext) -> None:
        """One scheduler task for all the declared jobs: a heap, not a task per job."""
        self.job_states = {}
        if self.loaded.info.jobs:
            scheduler = Scheduler(wall_clock=self.env.wall_clock, rng=self._rng)
            for job in self.loaded.info.jobs:
                state = self.job_states[job.id] = JobState()
                scheduler.add(
                    job.schedule,
                    self._job_run(job),
                    state=state,
                    timeout=job.timeout,
                    on_error=functools.partial(self._job_failed, job.id),
                    name=f"{self.name}:job:{job.id}",
                )
            nursery.start_soon(scheduler.run, name=f"{self.name}:jobs")
        # tasks.every() jobs are listed with the declared jobs
        for name, state in ctx.tasks.job_states.items():
            self.job_states.setdefault(name, state)

    def _job_run(self, job: JobSpec) -> Callable[[], Awaitable[object]]:
        func = self._bind(job.func, job.is_method, job.wants_ctx)
        emit = self.env.emit

        async def run_once() -> object:
            result = await self._invoke(func, job.runs_on)
            emit(EventKind.JOB, self.name, job=job.id, outcome="ok", error=None)
            return result

        return run_once

    def _job_failed(self, job_id: str, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {exc}"
        outcome = "timeout" if isinstance(exc, TimeoutError) else "failed"
        self.env.emit(EventKind.JOB, self.name, job=job_id, outcome=outcome, error=text)
        self.record_fault(Phase.PERIODIC, text, job=job_id, exc=exc)

    # ---- calls --------------------------------------------------------------------------------

    async def _invoke(self, func: Callable[..., Any], runs_on: RunsOn, /, **kwargs: Any) -> Any:
        if runs_on is RunsOn.TRIO:
            return await func(**kwargs)
        if runs_on is RunsOn.THREAD:
            return await in_thread(functools.partial(func, **kwargs), self.limiter)
        if self.asyncio_thread is None:
            self.asyncio_thread = AsyncioThread(f"neko-asyncio-{self.name}")
        return await in_real_time(functools.partial(self.asyncio_thread.run, func, **kwargs))

    async def _guarded(
        self,
        spec: EntrySpec,
        step: Callable[..., Awaitable[Any]],
        arguments: Mapping[str, Any] = _NO_ARGUMENTS,
    ) -> Any:
        """``await step(**arguments)``, one step of an entry call, under its timeout and the
        plugin's scope (stopping the plugin cancels it). :meth:`call` has its own copy of
        these lines for an async entry on the trio loop: the hot path, without this frame."""
        timeout = spec.timeout or self.env.limits.entry_timeout
        scope = trio.CancelScope()
        calls = self._calls.add(scope, timeout)
        try:
            with scope:
                return await step(**arguments)
        except PLUGIN_FAULTS as exc:
            raise self._failed(spec, exc) from exc
        finally:
            calls.discard(scope)
        raise self._cut_short(spec, timeout)

    def _failed(self, spec: EntrySpec, exc: BaseException) -> EntryFailed:
        """The error for a call whose plugin code raised ``exc``."""
        self.call_failures += 1
        code = getattr(exc, "code", None)
        return EntryFailed(
            self.name,
            spec.id,
            f"{type(exc).__name__}: {exc}",
            code=code if isinstance(code, str) else None,
        )

    def _cut_short(self, spec: EntrySpec, timeout: float) -> PluginError:
        """The error for a call whose scope was cancelled: the plugin stopped, or time was up."""
        if self.state is not _RUNNING:
            return PluginUnavailable(self.name, "stopped during the call", phase=Phase.ENTRY)
        self.call_timeouts += 1
        return EntryTimeout(self.name, spec.id, timeout)

    async def call(self, spec: EntrySpec, arguments: Mapping[str, Any]) -> Any:
        """Call entry ``spec`` once; see :meth:`Host.call` for the errors it raises."""
        if spec.runs_on is _ON_TRIO and spec.kind is _ASYNC:
            # The hot path: _guarded's lines, inlined (a frame is a tenth of the budget).
            self.calls += 1
            timeout = spec.timeout or self._entry_timeout
            scope = trio.CancelScope()
            calls = self._calls.window.get(timeout)  # CallDeadlines.add, inlined
            if calls is None:
                calls = self._calls.open(timeout)
            calls.add(scope)
            try:
                with scope:
                    return await self.handlers[spec.id](**arguments)
            except PLUGIN_FAULTS as exc:
                raise self._failed(spec, exc) from exc
            finally:
                calls.discard(scope)
            raise self._cut_short(spec, timeout)
        handler = self.handlers[spec.id]
        if spec.kind is EntryKind.ASYNC_GEN or spec.kind is EntryKind.SYNC_GEN:
            return [item async for item in self.stream(spec, arguments)]
        self.calls += 1
        step = functools.partial(self._invoke, handler, spec.runs_on)
        return await self._guarded(spec, step, arguments)

    async def stream(self, spec: EntrySpec, arguments: Mapping[str, Any]) -> AsyncIterator[Any]:
        """Yield the items of a generator entry; each item has the entry's timeout."""
        handler = self.handlers[spec.id]
        if spec.kind is EntryKind.ASYNC_GEN or spec.kind is EntryKind.SYNC_GEN:
            self.calls += 1
        if spec.kind is EntryKind.ASYNC_GEN:
            agen = await self._guarded(spec, _wrap_sync(lambda: handler(**arguments)))
            on_asyncio = spec.runs_on is RunsOn.ASYNCIO  # each step on the plugin's asyncio loop
            step = _next_async(agen)
            if on_asyncio:
                step = functools.partial(self._invoke, step, RunsOn.ASYNCIO)
            try:
                while True:
                    item = await self._guarded(spec, step)
                    if item is _END:
                        return
                    yield item
            finally:
                with trio.CancelScope(shield=True):
                    if on_asyncio:
                        await self._invoke(agen.aclose, RunsOn.ASYNCIO)
                    else:
                        await agen.aclose()
        elif spec.kind is EntryKind.SYNC_GEN:
            step = functools.partial(self._invoke, handler, RunsOn.THREAD)
            gen = await self._guarded(spec, step, arguments)
            try:
                while True:
                    item = await self._guarded(spec, functools.partial(self._next_sync, gen))
                    if item is _END:
                        return
                    yield item
            finally:
                gen.close()
        else:
            yield await self.call(spec, arguments)

    async def _next_sync(self, gen: Any) -> Any:
        return await in_thread(functools.partial(next, gen, _END), self.limiter)


def _wrap_sync(fn: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    async def step() -> Any:
        return fn()

    return step


def _next_async(agen: Any) -> Callable[[], Awaitable[Any]]:
    async def step() -> Any:
        try:
            return await agen.__anext__()
        except StopAsyncIteration:
            return _END

    return step


def _first_fault(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_fault(exc)
        return exc
    return group
