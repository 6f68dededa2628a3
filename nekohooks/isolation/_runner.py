"""The process runner: an isolated plugin in a child process, supervised like any other runner.

It is the in-process :class:`~nekohooks._runner.PluginRunner` with one thing replaced: a *run*
is a child process (``python -m nekohooks.isolation child``) that runs the plugin with the
very same runner, and calls travel as frames::

    spawn (own process group, lifeline pipe) ── Ready ── RUNNING ── Call/Result, Pull/Item ...
      ── stop(): Stop frame, wait terminate_grace + 1 s, then SIGKILL the group
      ── the child dies: every call in flight fails at once, the group is killed, and the
         supervisor (the in-process one, unchanged) restarts it with backoff

Faults are the plugin's, never the host's: an exit, a signal, a malformed frame, a call that
outlives its timeout by the terminate grace (the child is killed), an exceeded memory limit.
The host never waits on the child without a deadline, and never blocks: frames to the child
queue in memory and a writer task moves them.

Under the contract kit (:func:`kit_children`) the child runs on a mock clock this runner
drives (:meth:`ProcessRunner.advance`) and reports what the kit checks, measured in the
plugin's own process, into :attr:`ProcessRunner.probes`.

Over 500 lines: one runner's life (spawn, frames in, calls out, faults, end) reads best whole;
the process record, spawning and exit descriptions are already in :mod:`._child_process`.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
import os
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._config import PluginOptions
from .._errors import (
    EntryFailed,
    EntryNotFound,
    EntryTimeout,
    InvalidArguments,
    Phase,
    PluginUnavailable,
)
from .._events import EventKind
from .._messages import STOP, STOP_ON_THE_WIRE
from .._model import EntryKind, EntrySpec, LoopBlock, PluginState, PluginStatus
from .._runner import PluginRunner, _Crash
from .._runtime import RunnerEnv
from .._schedule import JobState
from .._threads import in_real_time
from . import _frames as f
from ._child_process import (
    ChildProcess,
    Overdue,
    PendingCall,
    RateLimit,
    Unrunnable,
    Where,
    describe_exit,
    first_of,
    import_target,
    spawn,
    tree_rss,
    wait_for,
)
from ._envs import EnvPlugin
from ._sandbox import SandboxUnavailable, bwrap_prefix, check_bwrap
from ._transport import BadFrame

if TYPE_CHECKING:
    from .._registry import LoadedPlugin

__all__ = ["ChildProbes", "KitMode", "ProcessRunner", "RemoteError", "kit_children"]

_RUNNING = PluginState.RUNNING

log = logging.getLogger("nekohooks.isolation")

#: Seconds a child may take to start its interpreter and imports, on top of startup_timeout.
SPAWN_ALLOWANCE = 10.0
_MAX_LINE = 8192
#: The events a plugin's process may put on the host's stream (state, restarts, messages and
#: table changes are the host's own).
_FORWARDED = frozenset({EventKind.JOB, EventKind.FAULT, EventKind.LOOP_BLOCK})


class RemoteError(Exception):
    """The exception a plugin raised in its own process, as the traceback text it sent."""


@attrs.frozen
class KitMode:
    """How the contract kit runs plugin processes started in its context."""

    wall_start: float
    """The child runs on a mock clock (standing still while idle) whose wall clock starts here."""
    probes: bool = True
    """The child reports calls reaching the plugin and what a stopped plugin left open."""


_kit_mode: contextvars.ContextVar[KitMode | None] = contextvars.ContextVar(
    "nekohooks_kit_mode", default=None
)


@contextlib.contextmanager
def kit_children(mode: KitMode) -> Iterator[None]:
    """Plugin processes started by hosts opened inside this block (and their tasks) run in
    ``mode``: on a mock clock driven by :meth:`ProcessRunner.advance`, with probes."""
    token = _kit_mode.set(mode)
    try:
        yield
    finally:
        _kit_mode.reset(token)


@attrs.define
class ChildProbes:
    """What the plugin's processes reported to the contract kit, over every run."""

    reached: dict[str, int] = attrs.field(factory=dict)
    """Calls per entry that got into the plugin's own code (counted in its process)."""
    leaks: list[f.Leaks] = attrs.field(factory=list)
    """One report per run that was stopped: what the plugin left open in its process."""
    pids: list[int] = attrs.field(factory=list)
    """Every plugin process started (to check that none is left)."""
    blocks: list[LoopBlock] = attrs.field(factory=list)
    """Loop blocks its process's watchdog saw."""
    clock: float = 0.0
    """The child's mock trio time, as of its start or the last :meth:`ProcessRunner.advance`."""


class ProcessRunner(PluginRunner):
    """Runs one plugin in its own process; the host uses it like the in-process runner."""

    use_fork_server = True
    """Fork plugin processes from a warm server (False: always start the interpreter cold)."""

    def __init__(self, loaded: LoadedPlugin, env: RunnerEnv, options: PluginOptions) -> None:
        super().__init__(loaded, env)
        self.options = options
        own = loaded.obj if isinstance(loaded.obj, EnvPlugin) else None
        self.python = own.python if own is not None else sys.executable
        """The plugin's interpreter: its own environment's, or the host's."""
        self.pid: int | None = None
        self._target: str | None = None
        self._prefix: list[str] = []
        self._current: ChildProcess | None = None
        self._ids = itertools.count(1)
        self._remote: f.Status | None = None
        self._logs = RateLimit(self.name)
        self._grace = env.limits.terminate_grace
        self._mock_clock = False  # the trio run's clock is a MockClock (it may autojump)
        self.kit = _kit_mode.get()
        """The contract kit's mode, when started in :func:`kit_children` (else ``None``)."""
        self.probes = ChildProbes()
        """What the plugin's processes reported (under the contract kit)."""

    # ---- status -------------------------------------------------------------------------------

    def status(self) -> PluginStatus:
        """A snapshot; job counters and task names come from the plugin's process."""
        status = super().status()
        if self.pid is not None:
            status = attrs.evolve(status, pid=self.pid, rss=tree_rss(self.pid))
        remote = self._remote
        if remote is None:
            return status
        return attrs.evolve(
            status,
            tasks=tuple(remote.tasks),
            job_runs=remote.job_runs,
            job_failures=remote.job_failures,
            job_skipped=remote.job_skipped,
            loop_blocks=remote.loop_blocks + self.loop_blocks,
        )

    def remote_jobs(self) -> dict[str, JobState]:
        """Each periodic job's counters as the plugin's process last reported them."""
        remote = self._remote
        if remote is None:
            return {}
        return {
            job: JobState(
                runs=runs,
                failures=remote.job_failures.get(job, 0) - remote.job_timeouts.get(job, 0),
                timeouts=remote.job_timeouts.get(job, 0),
                skipped=remote.job_skipped.get(job, 0),
                coalesced=remote.job_coalesced.get(job, 0),
                last_error=RemoteError(remote.job_errors[job])
                if job in remote.job_errors
                else None,
            )
            for job, runs in remote.job_runs.items()
        }

    # ---- supervision --------------------------------------------------------------------------

    async def supervise(self) -> None:
        """Check the plugin can run isolated, then supervise it as the in-process runner does.

        A plugin that cannot run isolated (not importable by its process, a sandbox that
        cannot start) is marked failed at once with one error naming it; it is not retried.
        """
        try:
            self._target = import_target(self.loaded)
            if self.options.sandbox:
                home = self.env.home
                self._prefix = bwrap_prefix(
                    await check_bwrap(),
                    neko_home=home,
                    plugin_home=home / "plugins" / self.name,
                    network=self.options.network,
                    visible=[Path(sys.prefix), *(Path(p) for p in sys.path if p)],
                )
        except (Unrunnable, SandboxUnavailable) as exc:
            self._set_state(PluginState.FAILED)
            self.record_fault(Phase.CONFIG, str(exc))
            self.first_attempt.set()
            self.done.set()
            return
        await super().supervise()

    async def _spawn(self) -> ChildProcess:
        """Start the plugin's process (see :func:`~._child_process.spawn`)."""
        return await spawn(
            name=self.name,
            target=self._target,
            home=self.env.home,
            limits=self.env.limits,
            memory_limit=self.options.memory_limit,
            python=self.python,
            prefix=self._prefix,
            # Under the kit, cold: the fork server lives as long as the trio run that started
            # it, and each of the kit's runs is one short host (its process would count as left).
            fork=self.use_fork_server and self.kit is None,
            extra=None
            if self.kit is None
            else {"wall_start": self.kit.wall_start, "probes": self.kit.probes},
        )

    async def _run_once(self) -> None:
        limits = self.env.limits
        self._set_state(PluginState.STARTING)
        self._remote = None
        try:
            run = await self._spawn()
        except OSError as exc:
            raise _Crash(Phase.STARTUP, f"cannot start its process: {exc}") from exc
        self._current = run
        self.pid = run.pid
        testing = sys.modules.get("trio.testing")  # a MockClock cannot exist without it
        clock = trio.lowlevel.current_clock()
        self._mock_clock = testing is not None and isinstance(clock, testing.MockClock)
        self.probes.pids.append(run.pid)
        crash: _Crash | None = None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write, run)
                nursery.start_soon(self._read, run, nursery)
                nursery.start_soon(self._read_output, run)
                nursery.start_soon(self._watch_exit, run)
                nursery.start_soon(self._deliver, run)
                run.deadlines.serve_in(nursery, name=f"{self.name}:call-timeouts")
                with trio.CancelScope() as starting:
                    self._run_scope = starting
                    await wait_for(run.ready, limits.startup_timeout + SPAWN_ALLOWANCE, run.ended)
                self._run_scope = None
                if starting.cancelled_caught:  # stop() while starting
                    self._set_state(PluginState.STOPPING)
                elif not run.ready.is_set() and not run.ended.is_set():
                    crash = _Crash(
                        Phase.STARTUP, f"did not start within {limits.startup_timeout:g}s"
                    )
                elif run.ready.is_set():
                    self.started_at = trio.current_time()
                    self._set_state(PluginState.RUNNING)
                    self.first_attempt.set()
                    await first_of(run.ended, self._stop)
                if crash is None and run.ended.is_set():
                    crash = self._crash_of(run)
                elif crash is None and self.state is not PluginState.STOPPING:
                    await self._stop_child(run)
                nursery.cancel_scope.cancel()
        finally:
            await self._end(run)
        if crash is not None:
            raise crash

    async def _stop_child(self, run: ChildProcess) -> None:
        """Ask the child to stop (terminate hooks run there); kill it if it does not exit."""
        self._set_state(PluginState.STOPPING)
        self._cancel_calls()
        run.send(f.Stop())
        grace = self.env.limits.terminate_grace + 1.0
        if not await wait_for(run.ended, grace):
            text = f"its process did not exit within {grace:g}s; killed"
            self.record_fault(Phase.TERMINATE, text)
        elif run.crash is not None:
            self.record_fault(run.crash.phase, run.crash.text)
        elif run.returncode:
            self.record_fault(Phase.TERMINATE, self._exit_text(run.returncode))

    def _crash_of(self, run: ChildProcess) -> _Crash:
        if run.fault is not None:
            return run.fault
        if run.crash is not None:
            return run.crash
        code = run.returncode
        text = self._exit_text(code) if code is not None else "its process closed the connection"
        return run.died_in.crash(text)

    def _exit_text(self, code: int) -> str:
        return describe_exit(code, sandboxed=bool(self._prefix))

    def _where(self, run: ChildProcess) -> Where:
        if run.activity:
            return run.activity[-1]
        if run.calls:  # with several in flight, any of them may be the culprit
            names = " or ".join(sorted({repr(c.entry) for c in run.calls.values()}))
            return Where(Phase.ENTRY, f"entry {names}")
        if self.state is PluginState.STARTING:
            return Where(Phase.STARTUP)
        if self.state is PluginState.STOPPING:
            return Where(Phase.TERMINATE)
        return Where(Phase.TASK)

    def _fault(self, run: ChildProcess, where: Where, text: str) -> None:
        """The host found the child misbehaving: remember why, and kill it."""
        if run.fault is None and not run.ended.is_set():
            run.fault = where.crash(text)
            log.error("plugin %r: %s; killing its process", self.name, run.fault)
        run.kill()

    async def _end(self, run: ChildProcess) -> None:
        """Kill what is left of the run, reap it, fail the calls still waiting."""
        with trio.CancelScope(shield=True):
            run.kill()
            if not run.ended.is_set():  # the watcher was cancelled before it saw the exit
                with trio.move_on_after(5):
                    run.returncode = await in_real_time(run.reap)
            run.ended.set()
            self._fail_calls(run)
            if run.pidfd is not None:
                os.close(run.pidfd)
            with contextlib.suppress(OSError):
                os.close(run.lifeline)
            for stream in (run.output, run.reader, run.writer):
                with contextlib.suppress(trio.ClosedResourceError, OSError):
                    await stream.aclose()
        self._current = None
        self.pid = None

    def _fail_calls(self, run: ChildProcess) -> None:
        code = run.returncode
        why = (
            run.fault.text if run.fault else self._exit_text(code) if code is not None else "ended"
        )
        for call in run.calls.values():
            if call.answer is None:
                call.settle(
                    PluginUnavailable(
                        self.name, f"{why} during the call to {call.entry!r}", phase=Phase.ENTRY
                    )
                )

    def _cancel_calls(self) -> None:
        run = self._current
        if run is not None:
            for call in run.calls.values():
                if call.answer is None:
                    call.settle(
                        PluginUnavailable(self.name, "stopped during the call", phase=Phase.ENTRY)
                    )

    # ---- the child's streams ------------------------------------------------------------------

    async def _deliver(self, run: ChildProcess) -> None:
        """Deliver the plugin's messages one after another, in the order it sent them."""
        async for target, body in run.inbox:
            await self.env.deliver(self.name, target, body)

    async def _watch_exit(self, run: ChildProcess) -> None:
        if run.pidfd is not None:
            await trio.lowlevel.wait_readable(run.pidfd)
        run.kill()  # before reaping: the group id cannot be reused yet
        await wait_for(run.eof, 1.0)  # the frames it sent last say which phase it died in
        run.died_in = self._where(run)
        run.returncode = await in_real_time(run.reap)
        self._fail_calls(run)
        run.ended.set()

    async def _write(self, run: ChildProcess) -> None:
        await run.writer.pump()

    async def _read(self, run: ChildProcess, nursery: trio.Nursery) -> None:
        calls, result = run.calls, f.Result
        try:
            while run.fault is None and (frames := await run.reader.receive_all()):
                for frame in frames:
                    if type(frame) is result:  # the most common frame, first
                        call = calls.get(frame.id)
                        if call is not None:
                            call.settle(frame)
                        continue
                    self._dispatch(run, frame, nursery)
                    if run.fault is not None:  # after a fault, nothing more it says counts
                        break
        except BadFrame as exc:
            self._fault(run, self._where(run), f"its process sent a malformed frame: {exc}")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            run.eof.set()
        if not await wait_for(run.ended, 2.0):  # the stream ended but the process lingers
            self._fault(run, self._where(run), "its process closed the connection")

    def _dispatch(self, run: ChildProcess, frame: f.Frame, nursery: trio.Nursery) -> None:
        try:
            self._handle(run, frame, nursery)
        except (ValueError, TypeError) as exc:  # an unknown phase or event kind, bad event data
            self._fault(
                run, self._where(run), f"its process sent a bad {type(frame).__name__} frame: {exc}"
            )

    def _handle(self, run: ChildProcess, frame: f.Frame, nursery: trio.Nursery) -> None:
        kind = type(frame)
        if kind is f.Result or kind is f.Error or kind is f.Item:
            call = run.calls.get(frame.id)  # type: ignore[union-attr]
            if call is not None:
                call.settle(frame)  # type: ignore[arg-type]
        elif kind is f.Log:
            assert isinstance(frame, f.Log)
            self._log(frame.level, frame.logger, frame.message)
        elif kind is f.Message:
            assert isinstance(frame, f.Message)
            run.messages.send_nowait((frame.target, frame.body))
        elif kind is f.Activity:
            assert isinstance(frame, f.Activity)
            where = Where(Phase(frame.phase), frame.what)
            if frame.begin:
                run.activity.append(where)
            elif where in run.activity:
                run.activity.remove(where)
        elif kind is f.Event:
            assert isinstance(frame, f.Event)
            event = EventKind(frame.kind)
            if event not in _FORWARDED:
                raise ValueError(f"a {event} event is the host's to emit")
            if event is EventKind.LOOP_BLOCK and self.kit is not None:
                data = frame.data
                self.probes.blocks.append(
                    LoopBlock(self.name, float(data["seconds"]), str(data["where"]))
                )
            self.env.emit(event, self.name, **frame.data)
        elif kind is f.Status:
            self._remote = frame  # type: ignore[assignment]
        elif kind is f.Ready:
            assert isinstance(frame, f.Ready)
            if frame.clock is not None:
                self.probes.clock = frame.clock
            run.ready.set()
        elif kind is f.Reached and self.kit is not None:
            assert isinstance(frame, f.Reached)
            self.probes.reached[frame.entry] = self.probes.reached.get(frame.entry, 0) + 1
        elif kind is f.Leaks and self.kit is not None:
            assert isinstance(frame, f.Leaks)
            self.probes.leaks.append(frame)
        elif kind is f.Crash:
            assert isinstance(frame, f.Crash)
            run.crash = _Crash(Phase(frame.phase), frame.error)
        else:
            self._fault(run, self._where(run), f"its process sent a {kind.__name__} frame")

    def _log(self, level: int, logger: str, message: str) -> None:
        if not self._logs.allow():
            return
        message = message[:_MAX_LINE]
        own = f"neko.plugin.{self.name}"
        if logger != own and not logger.startswith(own + "."):
            message = f"{logger}: {message}"
            logger = own
        logging.getLogger(logger).log(max(0, min(level, logging.CRITICAL)), "%s", message)

    async def _read_output(self, run: ChildProcess) -> None:
        """Log what the child writes to stdout/stderr, line by line, rate-limited."""
        pending = b""
        with contextlib.suppress(trio.ClosedResourceError, OSError):
            while chunk := await run.output.receive_some(1 << 16):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if len(pending) > _MAX_LINE:
                    lines.append(pending)
                    pending = b""
                for line in lines:
                    text = line[:_MAX_LINE].decode(errors="replace").rstrip()
                    if text:
                        self._log(logging.INFO, f"neko.plugin.{self.name}", f"output: {text}")

    # ---- the contract kit's clock ----------------------------------------------------------------

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass on the plugin's process's mock clock (under :func:`kit_children`).

        Returns once every timer due meanwhile has fired there and the job counters have
        arrived (:meth:`status`), and updates :attr:`probes`'s clock.

        Raises:
          PluginUnavailable: the plugin is not running, or its process died meanwhile.
          RuntimeError: the runner was not started under :func:`kit_children`.

        Waits in real time, without a deadline of its own: the kit bounds its runs. On cancel
        the child still finishes the advance (its clock cannot go back).
        """
        if self.kit is None:
            raise RuntimeError(f"plugin {self.name!r} does not run on the kit's mock clock")
        run = self._running()
        number = next(self._ids)
        call = run.calls[number] = PendingCall("advance")
        try:
            run.send(f.Advance(number, seconds))
            await in_real_time(call.wait)
        finally:
            del run.calls[number]
        answer = call.answer
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, f.Result) and isinstance(answer.value, int | float):
            self.probes.clock = float(answer.value)

    # ---- calls --------------------------------------------------------------------------------

    def _running(self) -> ChildProcess:
        run = self._current
        if run is None or self.state is not PluginState.RUNNING:
            raise PluginUnavailable(self.name, f"is {self.state.value}", phase=Phase.ENTRY)
        return run

    def _frame(self, spec: EntrySpec, frame: Any) -> bytes:
        try:
            return f.encode(frame)
        except (TypeError, ValueError) as exc:
            raise InvalidArguments(
                self.name, spec.id, f"cannot be sent to the plugin's process: {exc}", argument=None
            ) from exc

    def _deaf(self, run: ChildProcess, spec: EntrySpec) -> EntryTimeout:
        """The call outlived its timeout by the terminate grace: kill the process."""
        timeout = spec.timeout or self.env.limits.entry_timeout
        self._fault(
            run,
            Where(Phase.ENTRY, f"entry {spec.id!r}"),
            f"ignored its cancellation for {self.env.limits.terminate_grace:g}s after its "
            f"{timeout:g}s timeout",
        )
        self.call_timeouts += 1
        return EntryTimeout(self.name, spec.id, timeout)

    async def _answer(self, run: ChildProcess, call: PendingCall, spec: EntrySpec) -> Any:
        """The next answer to a streaming call, within its timeout and the terminate grace."""
        limits = self.env.limits
        with trio.move_on_after((spec.timeout or limits.entry_timeout) + limits.terminate_grace):
            await in_real_time(call.wait)
        if call.answer is None:
            raise self._deaf(run, spec)
        return self._outcome(spec, call.answer)

    def _outcome(self, spec: EntrySpec, answer: Any) -> Any:
        """The answer frame, or raise the error it is."""
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, f.Error):
            error = self._error(spec, answer)
            if isinstance(error, EntryTimeout):
                self.call_timeouts += 1
            elif isinstance(error, EntryFailed):
                self.call_failures += 1
            raise error
        return answer

    def _error(self, spec: EntrySpec, error: f.Error) -> Exception:
        kind = error.kind
        if kind == "EntryTimeout":
            return EntryTimeout(self.name, spec.id, error.timeout or 0.0)
        if kind == "InvalidArguments":
            return InvalidArguments(self.name, spec.id, error.message, argument=error.argument)
        if kind == "EntryNotFound":
            return EntryNotFound(self.name, error.message)
        if kind == "PluginUnavailable":
            return PluginUnavailable(self.name, error.message, phase=Phase.ENTRY)
        failed = EntryFailed(self.name, spec.id, error.message)
        if error.cause:
            failed.__cause__ = RemoteError(error.cause)
        return failed

    async def call(self, spec: EntrySpec, arguments: Mapping[str, Any]) -> Any:
        """Call entry ``spec`` in the plugin's process; raises as :meth:`Host.call` does.

        Besides, a call in flight when the process dies fails at once with
        ``PluginUnavailable`` saying how it died. A call that outlives its timeout by the
        terminate grace (the plugin ignored the cancellation) kills the process and raises
        ``EntryTimeout``. Cancellation: the plugin's process is told to cancel the call.
        """
        if spec.kind is EntryKind.ASYNC_GEN or spec.kind is EntryKind.SYNC_GEN:
            return [item async for item in self.stream(spec, arguments)]
        run = self._current
        if run is None or self.state is not _RUNNING:
            raise PluginUnavailable(self.name, f"is {self.state.value}", phase=Phase.ENTRY)
        self.calls += 1
        number = next(self._ids)
        data = self._frame(spec, f.Call(number, spec.id, dict(arguments)))
        call = run.calls[number] = PendingCall(spec.id)
        # answered Overdue past timeout + grace (CallDeadlines.add, inlined as in _runner)
        limit = (spec.timeout or self._entry_timeout) + self._grace
        deadlines = run.deadlines.window.get(limit)
        if deadlines is None:
            deadlines = run.deadlines.open(limit)
        deadlines.add(call)
        try:
            run.writer.send(data)
            if self._mock_clock:
                await in_real_time(call.wait)
            else:
                await call.wait()
        finally:
            deadlines.discard(call)
            del run.calls[number]
            answer = call.answer
            if (answer is None or type(answer) is Overdue) and not run.ended.is_set():
                run.send(f.Cancel(number))
        if type(answer) is not f.Result:
            if type(answer) is Overdue:
                raise self._deaf(run, spec)
            answer = self._outcome(spec, answer)
        value = answer.value
        return STOP if value == STOP_ON_THE_WIRE else value

    async def stream(self, spec: EntrySpec, arguments: Mapping[str, Any]) -> AsyncIterator[Any]:
        """Yield a generator entry's items as the plugin's process produces them.

        One item at a time: the next is asked for when the consumer wants it, each bounded
        by the entry's timeout. Closing the iterator early cancels the generator there.
        """
        if spec.kind is not EntryKind.ASYNC_GEN and spec.kind is not EntryKind.SYNC_GEN:
            yield await self.call(spec, arguments)
            return
        run = self._running()
        self.calls += 1
        number = next(self._ids)
        data = self._frame(spec, f.Call(number, spec.id, dict(arguments), stream=True))
        call = run.calls[number] = PendingCall(spec.id)
        ended = False
        try:
            run.writer.send(data)
            while True:
                run.send(f.Pull(number))
                answer = await self._answer(run, call, spec)
                if not isinstance(answer, f.Item):
                    ended = True
                    return
                call.reset()
                yield STOP if answer.value == STOP_ON_THE_WIRE else answer.value
        finally:
            del run.calls[number]
            if not ended and not run.ended.is_set():
                run.send(f.Cancel(number))
