"""An isolated plugin's process: the plugin on its own trio loop and runner, served over frames.

Started by the host as ``python -m nekohooks.isolation child SPEC`` (SPEC: JSON, made by
:func:`~._child_process.spawn`), or forked by the fork server. It dies with the host: the parent-death signal (``prctl``) and a
thread blocked on a lifeline pipe both kill the whole process group (the plugin's own children
too) when the host goes, even by SIGKILL, even while a plugin holds the trio loop. The plugin
runs in the very same :class:`~nekohooks._runner.PluginRunner` as in process (timeouts, jobs,
context, terminate); only its restart policy is "never": a crash ends this process and the
host's process runner decides when to start a new one.

Under the contract kit (the spec has ``wall_start``) the child's trio loop runs on a
``MockClock`` the host drives: it stands still while the child is idle, autojumps (after
:data:`IO_GRACE` of real idleness) while it starts, serves a call or stops, so a plugin's
sleeps and timeouts take no real time, and runs timers in order through an :class:`~._frames.Advance`
(days of periodic jobs in milliseconds). With ``probes`` it also reports each call that reaches
the plugin's code (:class:`~._frames.Reached`) and what a stopped plugin left open
(:class:`~._frames.Leaks`), measured in this process.

Over 500 lines: the child's one job (serve one plugin over frames, die with the host) in one
place; the frames and transport it uses are modules of their own.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import logging
import math
import os
import random
import resource
import signal
import sys
import threading
import time
import traceback
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._config import Limits, RestartPolicy
from .._context import PluginContext
from .._discovery import scan
from .._errors import EntryFailed, EntryTimeout, InvalidArguments, NekoError, Phase
from .._events import EventKind
from .._messages import STOP, STOP_ON_THE_WIRE, Message
from .._model import EntryKind, EntrySpec, JobSpec, PluginState, RunsOn
from .._net import reads_http, warm_http
from .._registry import LoadedPlugin, Registry
from .._runner import PluginRunner
from .._runtime import RunnerEnv
from .._watchdog import LoopWatchdog, plugin_code
from . import _frames as f
from ._frames import EXIT_MEMORY
from ._leaks import all_tasks, foreign_threads, open_fds
from ._transport import BlockingFrameWriter, FrameReader, PipeReceiveStream

if TYPE_CHECKING:  # trio.testing imports pytest when it is installed: only the kit needs it
    import trio.testing

__all__ = ["main"]

log = logging.getLogger("nekohooks.isolation.child")

#: Events the host's own runner emits for an isolated plugin (not forwarded from its process).
_LOCAL_EVENTS = frozenset({EventKind.STATE, EventKind.RESTART, EventKind.MESSAGE})
#: Faults that end the process's run: the host reports them from the Crash frame.
_FATAL = frozenset({Phase.STARTUP, Phase.TASK, Phase.CONFIG})

#: Real seconds the loop must be idle before the kit's mock clock jumps while the child is busy
#: (the kit's own grace for calls): real I/O such as a worker thread finishes first.
IO_GRACE = 0.02

_PR_SET_PDEATHSIG = 1
_M_ARENA_MAX = -8


def _kill_group(*_: object) -> None:
    """Kill this process and everything the plugin started (our process group)."""
    with contextlib.suppress(OSError):
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(1)


def _die_with_parent(parent: int, lifeline: int) -> None:
    signal.signal(signal.SIGTERM, _kill_group)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent and os.getppid() != parent:  # the host died before prctl took effect
        _kill_group()

    def watch() -> None:  # the host's end of the lifeline closes when it exits
        with contextlib.suppress(OSError):
            while os.read(lifeline, 1):
                pass
        _kill_group()

    threading.Thread(target=watch, name="neko-lifeline", daemon=True).start()


class _FrameLog(logging.Handler):
    """Sends every log record of this process to the host as a :class:`~._frames.Log` frame."""

    def __init__(self, out: BlockingFrameWriter) -> None:
        super().__init__(logging.INFO)
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self._out.post(f.encode(f.Log(record.levelno, record.name, text[:8192])))
        except Exception:  # a record that cannot be formatted must not break the plugin
            self.handleError(record)


class _KitClock:
    """The kit's mock clock in this process: still while idle, autojumping while busy."""

    def __init__(self, clock: trio.testing.MockClock | None) -> None:
        self.clock = clock
        self.busy = 0

    def __enter__(self) -> None:
        self.busy += 1
        if self.clock is not None and self.clock.autojump_threshold != 0:
            self.clock.autojump_threshold = IO_GRACE

    def __exit__(self, *exc_info: object) -> None:
        self.busy -= 1
        if self.clock is not None and not self.busy:
            self.clock.autojump_threshold = math.inf

    def now(self) -> float | None:
        return trio.current_time() if self.clock is not None else None

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of mock time pass: every timer due meanwhile fires, in order."""
        assert self.clock is not None
        self.clock.autojump_threshold = 0
        try:
            await trio.sleep(seconds)
        finally:
            self.clock.autojump_threshold = IO_GRACE if self.busy else math.inf


class _ChildRunner(PluginRunner):
    """The in-process runner, telling the host what it is doing before it does it."""

    def __init__(
        self,
        loaded: LoadedPlugin,
        env: RunnerEnv,
        out: BlockingFrameWriter,
        memory: int,
        probes: bool = False,
    ) -> None:
        super().__init__(loaded, env)
        self.out = out
        self.memory = memory
        self.probes = probes
        self.opened: list[Any] = []
        """What the plugin's context opened in every run (the kit's leak probe)."""
        self.memory_exceeded: tuple[Phase, str] | None = None
        self._token = trio.lowlevel.current_trio_token()
        self._dirty = trio.Event()
        self.out_of_memory = trio.Event()

    def _send(self, frame: Any) -> None:
        self.out.post(f.encode(frame))

    def record_fault(
        self, phase: Phase, text: str, *, job: str | None = None, exc: BaseException | None = None
    ) -> None:
        if self.memory and "MemoryError" in text:
            self.exceeded_memory(phase, f"job {job!r}" if job else "")
        super().record_fault(phase, text, job=job, exc=exc)

    def exceeded_memory(self, phase: Phase, what: str) -> None:
        """The plugin ran out of its memory limit in ``phase``: the process ends (any thread)."""
        if self.memory_exceeded is None:
            self.memory_exceeded = (phase, what)
            self._token.run_sync_soon(self.out_of_memory.set)

    async def _finish(self, ctx: PluginContext) -> None:
        if self._constructed:
            self.out.send(f.encode(f.Activity(Phase.TERMINATE, "", True)))
        if self.probes:
            self.opened.extend(r for r in ctx.opened if r not in self.opened)
        await super()._finish(ctx)

    def _bind_handlers(self) -> None:
        super()._bind_handlers()
        if self.probes:
            kinds = {spec.id: spec.kind for spec in self.loaded.info.entries}
            self.handlers = {  # entries only: message handlers are not counted calls
                entry: self._reaching(entry, handler, kinds[entry]) if entry in kinds else handler
                for entry, handler in self.handlers.items()
            }

    def _reaching(self, entry: str, handler: Callable[..., Any], kind: EntryKind) -> Any:
        """``handler``, telling the host each time a call reaches it (before it runs)."""
        reached = f.encode(f.Reached(entry))
        send = self.out.send  # written now: it precedes the call's answer on the pipe

        if kind is EntryKind.ASYNC:

            async def counted_async(**arguments: Any) -> Any:
                send(reached)
                return await handler(**arguments)

            return counted_async

        def counted(**arguments: Any) -> Any:
            send(reached)
            return handler(**arguments)

        return counted

    def leaks(
        self,
        tasks: set[trio.lowlevel.Task],
        threads: set[threading.Thread],
        fds: set[str],
    ) -> f.Leaks:
        """What the plugin left since the snapshot (``tasks``, ``threads``, ``fds``)."""
        stores = [r for r in self.opened if hasattr(r, "closed")]
        clients = [r for r in self.opened if hasattr(r, "is_closed")]
        return f.Leaks(
            tasks=sorted(t.name for t in all_tasks() - tasks),
            threads=sorted(t.name for t in foreign_threads(threads)),
            fds=sorted(open_fds() - fds),
            clients=sum(1 for c in clients if not c.is_closed),
            stores=sum(1 for s in stores if not s.closed),
        )

    def _job_run(self, job: JobSpec) -> Callable[[], Awaitable[object]]:
        bound = self._bind(job.func, job.is_method, job.wants_ctx)
        what = f"job {job.id!r}"
        begin = f.encode(f.Activity(Phase.PERIODIC, what, True))
        end = f.encode(f.Activity(Phase.PERIODIC, what, False))
        send, changed = self.out.send, self._changed
        wrapped: Callable[..., Any]
        if job.runs_on is RunsOn.THREAD:

            def wrapped() -> Any:
                send(begin)
                try:
                    return bound()
                finally:
                    send(end)
                    changed()

        else:

            async def wrapped() -> Any:
                send(begin)
                try:
                    return await bound()
                finally:
                    send(end)
                    changed()

        return super()._job_run(attrs.evolve(job, func=wrapped, is_method=False, wants_ctx=False))

    def _changed(self) -> None:
        """A job ran (from any thread): the host gets the new counters shortly."""
        self._token.run_sync_soon(self._dirty.set)

    def status_frame(self) -> f.Status:
        """The job counters and task names as the host receives them."""
        status = self.status()
        states = self.job_states
        return f.Status(
            list(status.tasks),
            dict(status.job_runs),
            dict(status.job_failures),
            dict(status.job_skipped),
            status.loop_blocks,
            job_coalesced={k: s.coalesced for k, s in states.items()},
            job_timeouts={k: s.timeouts for k, s in states.items()},
            job_errors={
                k: f"{type(s.last_error).__name__}: {s.last_error}"
                for k, s in states.items()
                if s.last_error is not None
            },
        )

    async def report_status(self) -> None:
        """Send the job counters and task names now and after every change, until cancelled."""
        while True:
            self._send(self.status_frame())
            await self._dirty.wait()
            self._dirty = trio.Event()
            await trio.sleep(0.01)  # the schedule counts the run after it returns


async def _all_tasks_blocked() -> None:
    """Wait until every task is blocked (the kit's probes; imports ``trio.testing`` then)."""
    from trio.testing import wait_all_tasks_blocked

    await wait_all_tasks_blocked()


def _load(spec: dict[str, Any]) -> object:
    name = spec["name"]
    target = spec.get("object")
    if target:
        module, _, qualname = target.partition(":")
        obj: object = importlib.import_module(module)
        for part in filter(None, qualname.split(".")):
            obj = getattr(obj, part)
        return obj
    for candidate in scan():
        if candidate.name == name:
            return candidate.entry_point.load()
    raise LookupError(f"no plugin named {name!r} is installed in {sys.prefix}")


def _error_frame(call: int, exc: NekoError) -> f.Error:
    if isinstance(exc, EntryTimeout):
        return f.Error(call, "EntryTimeout", exc.detail, timeout=exc.timeout)
    if isinstance(exc, InvalidArguments):
        return f.Error(call, "InvalidArguments", exc.detail, argument=exc.argument)
    cause = None
    if isinstance(exc, EntryFailed) and exc.__cause__ is not None:
        cause = "".join(traceback.format_exception(exc.__cause__)).rstrip()
    return f.Error(call, type(exc).__name__, getattr(exc, "detail", str(exc)), cause=cause)


#: Parked tasks kept for the next calls that wait (more start when more calls wait at once).
_IDLE_TASKS = 32


@types.coroutine
def _resumed(coro: Coroutine[Any, Any, Any], trap: Any) -> Generator[Any, Any, Any]:
    """Go on with ``coro``, which was stepped once by hand and is suspended at ``trap``, as an
    ``await coro`` would have (in the same task: its cancel scopes and context stay valid)."""
    while True:
        try:
            sent = yield trap
        except BaseException as exc:  # thrown in by trio: passed on to the plugin's code
            try:
                trap = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                trap = coro.send(sent)
            except StopIteration as done:
                return done.value


class _Server:
    """Serves the host's frames with one plugin's runner, from a pool of tasks.

    One task at a time *reads*. It runs each call it reads itself, at once, up to the call's
    first wait: most calls end there, so they cost no task switch, and the answers to the
    frames read together leave in one write once they are served (see
    :meth:`~._transport.BlockingFrameWriter.post`). A call that waits keeps its task, and a
    parked task (or a new one) takes over the reading, with any frames not acted on yet. Each
    task runs inside a cancel scope of its own, which a :class:`~._frames.Cancel` of the call
    waiting in it cancels (the task then opens a new one).
    """

    def __init__(self, runner: _ChildRunner, out: BlockingFrameWriter, clock: _KitClock) -> None:
        self.runner = runner
        self.out = out
        self.clock = clock
        self.specs: dict[str, EntrySpec] = {e.id: e for e in runner.loaded.info.entries}
        # message handlers (_handlers.py) are called by id too; their message arrives as a map
        self.messages = {h.entry.id: h.message_param for h in runner.loaded.info.handlers}
        self.specs.update({h.entry.id: h.entry for h in runner.loaded.info.handlers})
        self.calls: dict[int, trio.CancelScope] = {}
        """The scope that a Cancel of each waiting call cancels."""
        self.pulls: dict[int, trio.MemorySendChannel[None]] = {}
        self.idle: list[trio.lowlevel.Task] = []
        self.stopped: bool | None = None
        """How serving ended: a Stop frame (True), or the host's end closed (False)."""
        self.ended = trio.Event()
        self._reader: FrameReader | None = None
        self._nursery: trio.Nursery | None = None

    async def serve(self, reader: FrameReader, nursery: trio.Nursery) -> bool:
        """Serve frames until :class:`~._frames.Stop` (True) or the host's end closes (False).

        The pool's tasks run in ``nursery``; calls still waiting when this returns go on
        until the runner stops (which cancels them) and the nursery is cancelled.
        """
        self._reader, self._nursery = reader, nursery
        nursery.start_soon(self._work, True)
        await self.ended.wait()
        return bool(self.stopped)

    def _hand_reading(self) -> None:
        """Wake a parked task (or start one) to take over the reading."""
        if self.idle:
            trio.lowlevel.reschedule(self.idle.pop())
        else:
            assert self._nursery is not None
            self._nursery.start_soon(self._work, True)

    async def _park(self) -> None:
        """Wait, parked, until handed the reading."""
        task = trio.lowlevel.current_task()
        self.idle.append(task)

        def abort(_: Any) -> trio.lowlevel.Abort:
            self.idle.remove(task)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def _work(self, reading: bool) -> None:
        """One task of the pool: read (and run calls) when handed the reading, else park."""
        while True:
            with trio.CancelScope() as scope:  # a Cancel of the call waiting here cancels it
                while True:
                    if not reading:
                        if len(self.idle) >= _IDLE_TASKS:
                            return
                        await self._park()
                        reading = True
                    call = await self._read(scope)
                    reading = False
                    if call is None:
                        return  # serving has ended
                    number, coro, trap = call
                    try:
                        await self._finish(number, coro, trap)
                    finally:
                        del self.calls[number]

    async def _read(
        self, scope: trio.CancelScope
    ) -> tuple[int, Coroutine[Any, Any, Any], Any] | None:
        """Read frames and act on them until a call waits (returned: the caller goes on with
        it, another task reads on) or serving ends (``None``)."""
        assert self._reader is not None and self._nursery is not None
        specs, messages, call = self.specs, self.messages, self.runner.call
        while True:
            frames = await self._reader.receive_all()
            if not frames:  # the host's end closed
                self.stopped = False
                self.ended.set()
                return None
            for at, frame in enumerate(frames):
                kind = type(frame)
                if kind is f.Call:
                    assert isinstance(frame, f.Call)
                    if frame.entry not in specs:
                        self.send(f.Error(frame.id, "EntryNotFound", f"no entry {frame.entry!r}"))
                    elif frame.stream:  # registered now: its first Pull is likely the next frame
                        self.calls[frame.id] = trio.CancelScope()
                        self.pulls[frame.id], pulls = trio.open_memory_channel[None](float("inf"))
                        self._nursery.start_soon(self.stream, frame, pulls)
                    else:
                        spec, arguments = specs[frame.entry], frame.arguments
                        if frame.entry in messages:
                            arguments = self._arguments(frame)
                        if self.clock.clock is None:
                            coro = call(spec, arguments)
                        else:
                            coro = self._clocked(spec, arguments)
                        try:  # the call's first step, here and now
                            trap = coro.send(None)
                        except StopIteration as done:  # answered
                            self._answer(frame.id, done.value)
                            continue
                        except NekoError as exc:
                            self._failed(frame.id, exc)
                            continue
                        self.calls[frame.id] = scope
                        self._reader.unread(frames[at + 1 :])
                        self._hand_reading()
                        self.out.flush()  # the answers so far
                        return frame.id, coro, trap
                elif kind is f.Pull:
                    assert isinstance(frame, f.Pull)
                    pull = self.pulls.get(frame.id)
                    if pull is not None:
                        pull.send_nowait(None)
                elif kind is f.Cancel:
                    assert isinstance(frame, f.Cancel)
                    waiting = self.calls.get(frame.id)
                    if waiting is not None:
                        waiting.cancel()
                elif kind is f.Advance and self.clock.clock is not None:
                    assert isinstance(frame, f.Advance)
                    self._nursery.start_soon(self.advance, frame)
                elif kind is f.Stop:
                    self.clock.__enter__()  # terminate hooks may sleep: the clock moves again
                    self.stopped = True
                    self.ended.set()
                    return None
                else:
                    log.warning("unexpected %s frame from the host", kind.__name__)
            self.out.flush()  # the answers to what was read, before waiting for more

    def send(self, frame: Any) -> None:
        self.out.post(f.encode(frame))

    def _result(self, call: int, value: Any, frame: type[f.Result] | type[f.Item]) -> None:
        if value is STOP:  # a message handler's "no further handlers"
            value = STOP_ON_THE_WIRE
        try:
            data = f.encode(frame(call, value))
        except (TypeError, ValueError) as exc:
            message = f"returned a value the host cannot receive: {exc}"
            self.send(f.Error(call, "EntryFailed", message))
        else:
            self.out.post(data)

    def _failed(self, call: int, exc: NekoError) -> None:
        frame = _error_frame(call, exc)
        memory = self.runner.memory
        if memory and isinstance(exc, EntryFailed) and isinstance(exc.__cause__, MemoryError):
            self.runner.exceeded_memory(Phase.ENTRY, f"entry {exc.entry!r}")
            message = f"exceeded its memory limit of {memory >> 20} MiB (MemoryError)"
            frame = f.Error(call, "EntryFailed", message, cause=frame.cause)
        self.send(frame)

    def _arguments(self, frame: f.Call) -> dict[str, Any]:
        param = self.messages.get(frame.entry)
        if param is None or not isinstance(frame.arguments.get(param), dict):
            return frame.arguments
        return {**frame.arguments, param: Message(**frame.arguments[param])}

    async def _clocked(self, spec: EntrySpec, arguments: dict[str, Any]) -> Any:
        """``runner.call``, with the kit's clock moving meanwhile."""
        with self.clock:
            return await self.runner.call(spec, arguments)

    async def _finish(self, call: int, coro: Coroutine[Any, Any, Any], trap: Any) -> None:
        """Go on with call ``call`` (see :func:`_resumed`) and answer it."""
        try:
            value = await _resumed(coro, trap)
        except NekoError as exc:
            self._failed(call, exc)
        else:
            self._answer(call, value)

    def _answer(self, call: int, value: Any) -> None:
        if value is None:  # the most common answer, encoded without a detour
            self.out.post(f.encode(f.Result(call)))
        else:
            self._result(call, value, f.Result)

    async def stream(self, frame: f.Call, pulls: trio.MemoryReceiveChannel[None]) -> None:
        spec = self.specs[frame.entry]
        scope = self.calls[frame.id]
        items = self.runner.stream(spec, self._arguments(frame))
        try:
            with scope:
                async for _ in pulls:
                    try:
                        with self.clock:
                            item = await items.__anext__()
                    except StopAsyncIteration:
                        self.send(f.Result(frame.id))
                        return
                    except NekoError as exc:
                        self._failed(frame.id, exc)
                        return
                    self._result(frame.id, item, f.Item)
        finally:
            del self.calls[frame.id], self.pulls[frame.id]
            with trio.CancelScope(shield=True):
                await items.aclose()  # type: ignore[attr-defined]

    async def advance(self, frame: f.Advance) -> None:
        await self.clock.advance(frame.seconds)
        await _all_tasks_blocked()  # the last runs have been counted
        self.send(self.runner.status_frame())  # before the answer: the host reads them together
        self.send(f.Result(frame.id, self.clock.now()))


async def _serve(
    spec: dict[str, Any], out: BlockingFrameWriter, reader: FrameReader, clock: _KitClock
) -> int:
    name = spec["name"]
    memory = int(spec.get("memory_limit") or 0)
    probes = bool(spec.get("probes"))

    def crash(phase: str, error: str, what: str = "") -> int:
        if memory and "MemoryError" in error:
            error = f"exceeded its memory limit of {memory >> 20} MiB ({error})"
        out.send(f.encode(f.Crash(phase, f"{what}: {error}" if what else error)))
        return EXIT_MEMORY if "exceeded its memory limit" in error else 1

    try:
        obj = _load(spec)
    except BaseException as exc:  # a plugin's import may raise anything, SystemExit included
        return crash(Phase.IMPORT, f"{type(exc).__name__}: {exc}")
    registry = Registry()
    try:
        loaded = registry.add(name, obj)
    except NekoError as exc:
        return crash(
            getattr(exc, "phase", None) or Phase.REGISTER, getattr(exc, "detail", str(exc))
        )

    async def deliver(plugin: str, target: str, body: Any) -> None:
        out.post(f.encode(f.Message(target, body)))

    def emit(kind: EventKind, plugin: str | None, /, **data: Any) -> None:
        if kind in _LOCAL_EVENTS or (kind is EventKind.FAULT and data.get("phase") in _FATAL):
            return  # the host's runner reports these itself
        with contextlib.suppress(TypeError, ValueError):  # data it cannot carry stays here
            out.post(f.encode(f.Event(kind, data)))

    limits = Limits(**spec["limits"])
    wall_start = spec.get("wall_start")
    env = RunnerEnv(
        limits=limits,
        restart=RestartPolicy(max_restarts=0),  # the host restarts the process instead
        home=Path(spec["home"]),
        rng=random.Random(),
        wall_clock=time.time if wall_start is None else lambda: wall_start + trio.current_time(),
        deliver=deliver,
        emit=emit,
    )
    runner = _ChildRunner(loaded, env, out, memory, probes)
    server = _Server(runner, out, clock)

    def report_block(plugin: str | None, seconds: float, where: str) -> None:
        emit(EventKind.LOOP_BLOCK, name, seconds=seconds, where=where)
        runner.note_loop_block(seconds, where)
        runner._changed()

    code = plugin_code([loaded])
    if reads_http(code):  # now, before the watchdog: not on the loop at the first ctx.http
        warm_http()
    # blame the plugin's own frame on the stack, as the host's watchdog does in process
    dog = LoopWatchdog(limits.block_threshold, code.get, report_block)
    dog.start()
    out.attach()
    tasks, threads, fds = all_tasks(), set(threading.enumerate()), open_fds()
    stopped = False
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(runner.supervise, name=f"neko:{name}")
            await runner.first_attempt.wait()
            if runner.state is not PluginState.RUNNING:
                await runner.done.wait()
                return crash(
                    runner.last_phase or Phase.STARTUP, runner.last_error or "did not start"
                )
            out.send(f.encode(f.Ready(os.getpid(), clock.now())))
            clock.__exit__()  # started: the kit's clock stands still until asked
            nursery.start_soon(runner.report_status)
            outcome: list[int] = []

            async def watch_runner() -> None:
                await runner.done.wait()
                if runner.state is PluginState.FAILED:
                    outcome.append(crash(runner.last_phase or Phase.TASK, runner.last_error or "?"))
                nursery.cancel_scope.cancel()

            async def watch_memory() -> None:
                await runner.out_of_memory.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch_runner)
            nursery.start_soon(watch_memory)
            if await server.serve(reader, nursery):
                await runner.stop()
                stopped = True
            else:  # the host is gone: nothing to answer to
                _kill_group()
            nursery.cancel_scope.cancel()
        if runner.memory_exceeded is not None:
            phase, what = runner.memory_exceeded
            return crash(phase, "MemoryError", what)
        if stopped and probes:
            await _all_tasks_blocked()
            leaks = runner.leaks(tasks, threads, fds)
            for _ in range(5):  # a thread told to stop may take a moment to end
                if not leaks.threads:
                    break
                await trio.to_thread.run_sync(time.sleep, 0.02)
                leaks = runner.leaks(tasks, threads, fds)
            out.send(f.encode(leaks))
        return outcome[0] if outcome else 0
    finally:
        dog.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the plugin described by the JSON spec in ``argv[0]``; exit when it is done."""
    spec = json.loads((sys.argv[1:] if argv is None else argv)[0])
    _die_with_parent(int(spec["parent"]), int(spec["lifeline"]))
    memory = int(spec.get("memory_limit") or 0)
    if memory:
        with contextlib.suppress(OSError, AttributeError):  # glibc: 64 MiB of address space
            ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2)  # per malloc arena otherwise
        # on top of what the process maps before the plugin loads (the interpreter, trio,
        # nekohooks, thread stacks: ~190 MiB of mostly untouched address space)
        with open("/proc/self/statm", "rb") as statm:
            baseline = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (baseline + memory, baseline + memory))
    out = BlockingFrameWriter(int(spec["write_fd"]))
    root = logging.getLogger()
    root.handlers[:] = [_FrameLog(out)]
    root.setLevel(logging.INFO)

    mock = None
    if spec.get("wall_start") is not None:  # the contract kit's mock clock
        from trio.testing import MockClock

        mock = MockClock(IO_GRACE)
    clock = _KitClock(mock)
    clock.__enter__()  # starting: busy until Ready

    async def run() -> int:
        stream = PipeReceiveStream(int(spec["read_fd"]))
        return await _serve(spec, out, FrameReader(stream), clock)

    try:
        code = trio.run(run, clock=mock)
    except BaseException as exc:  # report whatever ended the loop, then exit
        traceback.print_exc()
        out.send(f.encode(f.Crash(Phase.TASK, f"{type(exc).__name__}: {exc}")))
        code = 1
    out.send(b"")  # whatever the last loop turn posted
    os._exit(code)  # not sys.exit: a plugin's non-daemon thread must not keep the process
