"""The process runner: an isolated plugin in a child process, supervised like any other runner.

It is the in-process :class:`~nekohooks._runner.PluginRunner` with one thing replaced: a *run*
is a child process (``python -m nekohooks.isolation._child``) that runs the plugin with the
very same runner, and calls travel as frames::

    spawn (own process group, lifeline pipe) ── Ready ── RUNNING ── Call/Result, Pull/Item ...
      ── stop(): Stop frame, wait terminate_grace + 1 s, then SIGKILL the group
      ── the child dies: every call in flight fails at once, the group is killed, and the
         supervisor (the in-process one, unchanged) restarts it with backoff

Faults are the plugin's, never the host's: an exit, a signal, a malformed frame, a call that
outlives its timeout by the terminate grace (the child is killed), an exceeded memory limit.
The host never waits on the child without a deadline, and never blocks: frames to the child
queue in memory and a writer task moves them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import AsyncIterator, Mapping
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
from .._model import EntryKind, EntrySpec, PluginState, PluginStatus
from .._runner import PluginRunner, _Crash
from .._runtime import RunnerEnv
from .._threads import in_real_time
from . import _frames as f
from ._envs import EnvPlugin
from ._forkserver import ForkServer, fork_server
from ._frames import EXIT_MEMORY
from ._sandbox import SandboxUnavailable, bwrap_prefix, check_bwrap
from ._transport import BadFrame, FrameReader, FrameWriter

if TYPE_CHECKING:
    from .._registry import LoadedPlugin

__all__ = ["ProcessRunner", "RemoteError"]

log = logging.getLogger("nekohooks.isolation")

#: Seconds a child may take to start its interpreter and imports, on top of startup_timeout.
SPAWN_ALLOWANCE = 10.0
#: Log records (and output lines) per second a plugin's process may send before they are dropped.
LOG_RATE, LOG_BURST = 200.0, 1000.0
_MAX_LINE = 8192
#: The events a plugin's process may put on the host's stream (state, restarts, messages and
#: table changes are the host's own).
_FORWARDED = frozenset({EventKind.JOB, EventKind.FAULT, EventKind.LOOP_BLOCK})


class RemoteError(Exception):
    """The exception a plugin raised in its own process, as the traceback text it sent."""


class _Unrunnable(Exception):
    """This plugin cannot run isolated at all (retrying would not help)."""


@attrs.frozen
class _Where:
    """Where a plugin's process was when something went wrong: a phase, and which entry or
    job (``"entry 'x'"``, ``"job 'tick'"``) when it matters."""

    phase: Phase
    what: str = ""

    def crash(self, text: str) -> _Crash:
        return _Crash(self.phase, f"{self.what}: {text}" if self.what else text)


class _Call:
    """One call in flight: its answer arrives as a frame (or as the error of a dead child)."""

    __slots__ = ("answer", "entry", "event")

    def __init__(self, entry: str) -> None:
        self.entry = entry
        self.event = trio.Event()
        self.answer: f.Result | f.Item | f.Error | Exception | None = None


@attrs.define(eq=False)
class _Run:
    """One child process and what the host knows about it."""

    pid: int
    popen: subprocess.Popen[bytes] | None  # started cold
    server: ForkServer | None  # forked by the fork server
    pidfd: int | None
    reader: FrameReader
    writer: FrameWriter
    output: trio.lowlevel.FdStream
    lifeline: int
    calls: dict[int, _Call] = attrs.field(factory=dict)
    ready: trio.Event = attrs.field(factory=trio.Event)
    ended: trio.Event = attrs.field(factory=trio.Event)
    eof: trio.Event = attrs.field(factory=trio.Event)  # every frame it sent has been read
    returncode: int | None = None
    crash: _Crash | None = None  # what the child said before it went
    fault: _Crash | None = None  # what the host found wrong (it then killed the child)
    died_in: _Where = _Where(Phase.TASK)  # where the process was when it ended
    activity: list[_Where] = attrs.field(factory=list)

    def kill(self) -> None:
        """SIGKILL the child's whole process group (the plugin's own children too)."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def send(self, frame: Any) -> None:
        self.writer.send(f.encode(frame))

    async def reap(self) -> int | None:
        """The exit code, once the process has exited (``None``: unknown)."""
        if self.popen is not None:
            return await trio.to_thread.run_sync(self.popen.wait)
        assert self.server is not None
        return await self.server.exit_code(self.pid)


class _RateLimit:
    """A token bucket over real time; counts what it drops and says so once a second."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.tokens = LOG_BURST
        self.last = time.monotonic()
        self.dropped = 0
        self.warned = 0.0

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(LOG_BURST, self.tokens + (now - self.last) * LOG_RATE)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            if self.dropped and now - self.warned >= 1.0:
                self._warn(now)
            return True
        self.dropped += 1
        if now - self.warned >= 1.0:
            self._warn(now)
        return False

    def _warn(self, now: float) -> None:
        log.warning(
            "plugin %r: dropped %d log lines from its process (more than %d per second)",
            self.plugin,
            self.dropped,
            LOG_RATE,
        )
        self.dropped, self.warned = 0, now


def import_target(loaded: LoadedPlugin) -> str | None:
    """How the child finds the plugin: ``None`` (its entry point) or ``"module:qualname"``.

    Raises ``_Unrunnable`` for a plugin object the child could not import (defined in
    ``__main__`` or inside a function).
    """
    if loaded.info.distribution is not None:
        return None
    obj = loaded.plugin_class if loaded.plugin_class is not None else loaded.obj
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None) or type(obj).__module__
    qualname = getattr(obj, "__qualname__", None)
    if qualname is None:  # an instance: find the module global that holds it
        owner = sys.modules.get(type(obj).__module__)
        module = type(obj).__module__
        names = [k for k, v in vars(owner).items() if v is obj] if owner else []
        qualname = names[0] if names else None
    if qualname is None or "<locals>" in qualname or module == "__main__":
        raise _Unrunnable(
            "an isolated plugin must be importable by its process: install it as a "
            "distribution or define it at the top level of a module (not in __main__)",
        )
    target: object = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not obj:
        raise _Unrunnable(f"{module}:{qualname} does not name the plugin object")
    return f"{module}:{qualname}"


def _describe_exit(code: int, *, sandboxed: bool = False) -> str:
    if sandboxed and code > 128:  # bubblewrap exits 128 + the signal that killed the plugin
        code = 128 - code
    if code == EXIT_MEMORY:
        return "its process exceeded its memory limit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        why = {
            "SIGSEGV": " (a segmentation fault)",
            "SIGKILL": " (from outside, or the kernel's out-of-memory killer)",
            "SIGABRT": " (an abort, e.g. a failed C assertion)",
        }.get(name, "")
        return f"its process was killed by {name}{why}"
    return f"its process exited with code {code}"


def _tree_rss(pid: int) -> int | None:
    """Resident bytes of ``pid`` and its descendants (``None`` once it is gone)."""
    total, todo, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    try:
        while todo:
            current = todo.pop()
            with open(f"/proc/{current}/statm", "rb") as statm:
                total += int(statm.read().split()[1]) * page
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", "rb") as children:
                    todo.extend(map(int, children.read().split()))
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return total or None
    return total


async def _wait(event: trio.Event, seconds: float, *more: trio.Event) -> bool:
    """Wait at most ``seconds`` for ``event`` (or any of ``more``); under an autojumping
    MockClock, in real time. True if one was set."""
    with trio.move_on_after(seconds):
        await in_real_time(functools.partial(_first, event, *more) if more else event.wait)
        return True
    return False


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
        self._current: _Run | None = None
        self._ids = itertools.count(1)
        self._remote: f.Status | None = None
        self._logs = _RateLimit(self.name)

    # ---- status -------------------------------------------------------------------------------

    def status(self) -> PluginStatus:
        """A snapshot; job counters and task names come from the plugin's process."""
        status = super().status()
        if self.pid is not None:
            status = attrs.evolve(status, pid=self.pid, rss=_tree_rss(self.pid))
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
        except (_Unrunnable, SandboxUnavailable) as exc:
            self._set_state(PluginState.FAILED)
            self.record_fault(Phase.CONFIG, str(exc))
            self.first_attempt.set()
            self.done.set()
            return
        await super().supervise()

    async def _spawn(self) -> _Run:
        """Start the plugin's process: forked by the warm fork server, or cold when sandboxed
        or on its own interpreter.

        Raises ``OSError`` when no process could be started.
        """
        limits = self.env.limits
        home = self.env.home / "plugins" / self.name
        home.mkdir(parents=True, exist_ok=True)
        child_in, host_out = os.pipe()
        host_in, child_out = os.pipe()
        lifeline_child, lifeline = os.pipe()
        output, output_child = os.pipe()
        theirs = (child_in, child_out, lifeline_child, output_child)
        spec: dict[str, Any] = {
            "name": self.name,
            "object": self._target,
            "home": str(self.env.home),
            "limits": attrs.asdict(limits),
            "memory_limit": self.options.memory_limit,
            "parent": 0 if self._prefix else os.getpid(),
            "read_fd": child_in,
            "write_fd": child_out,
            "lifeline": lifeline_child,
        }
        env = dict(os.environ)
        if self.python == sys.executable:  # it sees what the host sees
            env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
        else:  # its own environment (which sees the host's nekohooks after its own packages)
            env.pop("PYTHONPATH", None)
        popen: subprocess.Popen[bytes] | None = None
        server: ForkServer | None = None
        try:
            if self._prefix or self.python != sys.executable or not self.use_fork_server:
                command = [*self._prefix, self.python, "-m", "nekohooks.isolation", "child"]
                popen = subprocess.Popen(
                    [*command, json.dumps(spec)],
                    stdin=subprocess.DEVNULL,
                    stdout=output_child,
                    stderr=output_child,
                    pass_fds=theirs,
                    start_new_session=True,
                    env=env,
                    cwd=home,
                )
                pid = popen.pid
            else:
                server = fork_server(env)
                pid = await server.fork({**spec, "cwd": str(home)}, theirs)
        except BaseException:
            for fd in (host_out, host_in, lifeline, output):
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        try:
            pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # it is gone already
            pidfd = None
        return _Run(
            pid=pid,
            popen=popen,
            server=server,
            pidfd=pidfd,
            reader=FrameReader(trio.lowlevel.FdStream(host_in)),
            writer=FrameWriter(host_out),
            output=trio.lowlevel.FdStream(output),
            lifeline=lifeline,
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
        crash: _Crash | None = None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write, run)
                nursery.start_soon(self._read, run, nursery)
                nursery.start_soon(self._read_output, run)
                nursery.start_soon(self._watch_exit, run)
                with trio.CancelScope() as starting:
                    self._run_scope = starting
                    await _wait(run.ready, limits.startup_timeout + SPAWN_ALLOWANCE, run.ended)
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
                    await _first(run.ended, self._stop)
                if crash is None and run.ended.is_set():
                    crash = self._crash_of(run)
                elif crash is None and self.state is not PluginState.STOPPING:
                    await self._stop_child(run)
                nursery.cancel_scope.cancel()
        finally:
            await self._end(run)
        if crash is not None:
            raise crash

    async def _stop_child(self, run: _Run) -> None:
        """Ask the child to stop (terminate hooks run there); kill it if it does not exit."""
        self._set_state(PluginState.STOPPING)
        self._cancel_calls()
        run.send(f.Stop())
        grace = self.env.limits.terminate_grace + 1.0
        if not await _wait(run.ended, grace):
            text = f"its process did not exit within {grace:g}s; killed"
            self.record_fault(Phase.TERMINATE, text)
        elif run.crash is not None:
            self.record_fault(run.crash.phase, run.crash.text)
        elif run.returncode:
            self.record_fault(Phase.TERMINATE, self._exit_text(run.returncode))

    def _crash_of(self, run: _Run) -> _Crash:
        if run.fault is not None:
            return run.fault
        if run.crash is not None:
            return run.crash
        code = run.returncode
        text = self._exit_text(code) if code is not None else "its process closed the connection"
        return run.died_in.crash(text)

    def _exit_text(self, code: int) -> str:
        return _describe_exit(code, sandboxed=bool(self._prefix))

    def _where(self, run: _Run) -> _Where:
        if run.activity:
            return run.activity[-1]
        if run.calls:  # with several in flight, any of them may be the culprit
            names = " or ".join(sorted({repr(c.entry) for c in run.calls.values()}))
            return _Where(Phase.ENTRY, f"entry {names}")
        if self.state is PluginState.STARTING:
            return _Where(Phase.STARTUP)
        if self.state is PluginState.STOPPING:
            return _Where(Phase.TERMINATE)
        return _Where(Phase.TASK)

    def _fault(self, run: _Run, where: _Where, text: str) -> None:
        """The host found the child misbehaving: remember why, and kill it."""
        if run.fault is None and not run.ended.is_set():
            run.fault = where.crash(text)
            log.error("plugin %r: %s; killing its process", self.name, run.fault)
        run.kill()

    async def _end(self, run: _Run) -> None:
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

    def _fail_calls(self, run: _Run) -> None:
        code = run.returncode
        why = (
            run.fault.text if run.fault else self._exit_text(code) if code is not None else "ended"
        )
        for call in run.calls.values():
            if call.answer is None:
                call.answer = PluginUnavailable(
                    self.name, f"{why} during the call to {call.entry!r}", phase=Phase.ENTRY
                )
                call.event.set()

    def _cancel_calls(self) -> None:
        run = self._current
        if run is not None:
            for call in run.calls.values():
                if call.answer is None:
                    call.answer = PluginUnavailable(
                        self.name, "stopped during the call", phase=Phase.ENTRY
                    )
                    call.event.set()

    # ---- the child's streams ------------------------------------------------------------------

    async def _watch_exit(self, run: _Run) -> None:
        if run.pidfd is not None:
            await trio.lowlevel.wait_readable(run.pidfd)
        run.kill()  # before reaping: the group id cannot be reused yet
        await _wait(run.eof, 1.0)  # the frames it sent last say which phase it died in
        run.died_in = self._where(run)
        run.returncode = await in_real_time(run.reap)
        self._fail_calls(run)
        run.ended.set()

    async def _write(self, run: _Run) -> None:
        await run.writer.pump()

    async def _read(self, run: _Run, nursery: trio.Nursery) -> None:
        try:
            while (frame := await run.reader.receive()) is not None:
                self._dispatch(run, frame, nursery)
        except BadFrame as exc:
            self._fault(run, self._where(run), f"its process sent a malformed frame: {exc}")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            run.eof.set()
        if not await _wait(run.ended, 2.0):  # the stream ended but the process lingers
            self._fault(run, self._where(run), "its process closed the connection")

    def _dispatch(self, run: _Run, frame: f.Frame, nursery: trio.Nursery) -> None:
        try:
            self._handle(run, frame, nursery)
        except (ValueError, TypeError) as exc:  # an unknown phase or event kind, bad event data
            self._fault(
                run, self._where(run), f"its process sent a bad {type(frame).__name__} frame: {exc}"
            )

    def _handle(self, run: _Run, frame: f.Frame, nursery: trio.Nursery) -> None:
        kind = type(frame)
        if kind is f.Result or kind is f.Error or kind is f.Item:
            call = run.calls.get(frame.id)  # type: ignore[union-attr]
            if call is not None:
                call.answer = frame  # type: ignore[assignment]
                call.event.set()
        elif kind is f.Log:
            assert isinstance(frame, f.Log)
            self._log(frame.level, frame.logger, frame.message)
        elif kind is f.Message:
            assert isinstance(frame, f.Message)
            nursery.start_soon(self.env.deliver, self.name, frame.target, frame.body)
        elif kind is f.Activity:
            assert isinstance(frame, f.Activity)
            where = _Where(Phase(frame.phase), frame.what)
            if frame.begin:
                run.activity.append(where)
            elif where in run.activity:
                run.activity.remove(where)
        elif kind is f.Event:
            assert isinstance(frame, f.Event)
            event = EventKind(frame.kind)
            if event not in _FORWARDED:
                raise ValueError(f"a {event} event is the host's to emit")
            self.env.emit(event, self.name, **frame.data)
        elif kind is f.Status:
            self._remote = frame  # type: ignore[assignment]
        elif kind is f.Ready:
            run.ready.set()
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

    async def _read_output(self, run: _Run) -> None:
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

    # ---- calls --------------------------------------------------------------------------------

    def _running(self) -> _Run:
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

    async def _answer(self, run: _Run, call: _Call, spec: EntrySpec) -> Any:
        limits = self.env.limits
        timeout = spec.timeout or limits.entry_timeout
        if not await _wait(call.event, timeout + limits.terminate_grace):
            self._fault(
                run,
                _Where(Phase.ENTRY, f"entry {spec.id!r}"),
                f"ignored its cancellation for {limits.terminate_grace:g}s after its "
                f"{timeout:g}s timeout",
            )
            self.call_timeouts += 1
            raise EntryTimeout(self.name, spec.id, timeout)
        answer = call.answer
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
        run = self._running()
        self.calls += 1
        number = next(self._ids)
        data = self._frame(spec, f.Call(number, spec.id, dict(arguments)))
        call = run.calls[number] = _Call(spec.id)
        try:
            run.writer.send(data)
            answer = await self._answer(run, call, spec)
        finally:
            del run.calls[number]
            if call.answer is None and not run.ended.is_set():
                run.send(f.Cancel(number))
        return answer.value

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
        call = run.calls[number] = _Call(spec.id)
        ended = False
        try:
            run.writer.send(data)
            while True:
                run.send(f.Pull(number))
                answer = await self._answer(run, call, spec)
                if not isinstance(answer, f.Item):
                    ended = True
                    return
                call.event, call.answer = trio.Event(), None
                yield answer.value
        finally:
            del run.calls[number]
            if not ended and not run.ended.is_set():
                run.send(f.Cancel(number))


async def _first(*events: trio.Event) -> None:
    """Return as soon as one of ``events`` is set."""
    for event in events:
        if event.is_set():
            return
    async with trio.open_nursery() as nursery:
        for event in events:

            async def wait(event: trio.Event = event) -> None:
                await event.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(wait)
