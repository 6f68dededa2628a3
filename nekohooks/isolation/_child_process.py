"""One plugin process as the host sees it: how it starts (cold, forked, sandboxed), what the host
knows of it while it runs, and how it ends (killed with its process group, reaped, described).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio

from .._config import Limits
from .._deadlines import CallDeadlines
from .._errors import Phase
from .._runner import _Crash
from .._threads import in_real_time
from . import _frames as f
from ._forkserver import ForkServer, fork_server
from ._frames import EXIT_MEMORY
from ._transport import FrameReader, FrameWriter, PipeReceiveStream

if TYPE_CHECKING:
    from .._registry import LoadedPlugin

__all__ = [
    "ChildProcess",
    "Overdue",
    "PendingCall",
    "RateLimit",
    "Unrunnable",
    "Where",
    "describe_exit",
    "first_of",
    "import_target",
    "spawn",
    "tree_rss",
    "wait_for",
]

log = logging.getLogger("nekohooks.isolation")

#: Log records (and output lines) per second a plugin's process may send before they are dropped.
LOG_RATE, LOG_BURST = 200.0, 1000.0


class RateLimit:
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


class Unrunnable(Exception):
    """This plugin cannot run isolated at all (retrying would not help)."""


@attrs.frozen
class Where:
    """Where a plugin's process was when something went wrong: a phase, and which entry or
    job (``"entry 'x'"``, ``"job 'tick'"``) when it matters."""

    phase: Phase
    what: str = ""

    def crash(self, text: str) -> _Crash:
        return _Crash(self.phase, f"{self.what}: {text}" if self.what else text)


class Overdue(Exception):
    """A call outlived its timeout by the terminate grace: its process ignores cancellation."""


class PendingCall:
    """One call in flight: its answer arrives as a frame (or as the error of a dead child, or
    :class:`Overdue` from the process's :class:`~nekohooks._deadlines.CallDeadlines`).

    The caller waits parked (:meth:`wait`) and the reader wakes it with the answer
    (:meth:`settle`): one task switch, no event, no cancel scope.
    """

    __slots__ = ("answer", "entry", "task")

    def __init__(self, entry: str) -> None:
        self.entry = entry
        self.answer: f.Result | f.Item | f.Error | Exception | None = None
        self.task: trio.lowlevel.Task | None = None

    def settle(self, answer: f.Result | f.Item | f.Error | Exception) -> None:
        """Answer the call (a later answer before :meth:`reset` is ignored), waking its caller."""
        if self.answer is None:
            self.answer = answer
            task, self.task = self.task, None
            if task is not None:
                trio.lowlevel.reschedule(task)

    def cancel(self) -> None:
        """Time is up (its timeout and the terminate grace): answer :class:`Overdue`."""
        self.settle(Overdue())

    def reset(self) -> None:
        """Forget the answer (a stream's next item is on its way)."""
        self.answer = None

    async def wait(self) -> None:
        """Return once the call is answered (at once if it is). Cancellation: safe, the call
        stays pending."""
        if self.answer is None:
            self.task = trio.lowlevel.current_task()
            await trio.lowlevel.wait_task_rescheduled(self._abort)
        else:
            await trio.lowlevel.checkpoint()

    def _abort(self, _: Any) -> trio.lowlevel.Abort:
        self.task = None
        return trio.lowlevel.Abort.SUCCEEDED


@attrs.define(eq=False)
class ChildProcess:
    """One child process and what the host knows about it."""

    pid: int
    popen: subprocess.Popen[bytes] | None  # started cold
    server: ForkServer | None  # forked by the fork server
    pidfd: int | None
    reader: FrameReader
    writer: FrameWriter
    output: trio.lowlevel.FdStream
    lifeline: int
    calls: dict[int, PendingCall] = attrs.field(factory=dict)
    ready: trio.Event = attrs.field(factory=trio.Event)
    ended: trio.Event = attrs.field(factory=trio.Event)
    eof: trio.Event = attrs.field(factory=trio.Event)  # every frame it sent has been read
    returncode: int | None = None
    crash: _Crash | None = None  # what the child said before it went
    fault: _Crash | None = None  # what the host found wrong (it then killed the child)
    died_in: Where = Where(Phase.TASK)  # where the process was when it ended
    activity: list[Where] = attrs.field(factory=list)
    # its ctx.send_message calls, in order, for the one task that delivers them
    messages: trio.MemorySendChannel[tuple[str, Any]] = attrs.field(init=False)
    inbox: trio.MemoryReceiveChannel[tuple[str, Any]] = attrs.field(init=False)
    # the calls, answered Overdue when one outlives its timeout by the terminate grace (the
    # process enforces the timeout; this catches an entry that ignores it)
    deadlines: CallDeadlines = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.messages, self.inbox = trio.open_memory_channel[tuple[str, Any]](math.inf)
        self.deadlines = CallDeadlines(_no_report, math.inf)

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


def _no_report(count: int) -> None:
    """Calls cut short by the deadline are reported by their callers (the process is killed)."""


def import_target(loaded: LoadedPlugin) -> str | None:
    """How the child finds the plugin: ``None`` (its entry point) or ``"module:qualname"``.

    Raises ``Unrunnable`` for a plugin object the child could not import (defined in
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
        raise Unrunnable(
            "an isolated plugin must be importable by its process: install it as a "
            "distribution or define it at the top level of a module (not in __main__)",
        )
    target: object = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not obj:
        raise Unrunnable(f"{module}:{qualname} does not name the plugin object")
    return f"{module}:{qualname}"


def describe_exit(code: int, *, sandboxed: bool = False) -> str:
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


def tree_rss(pid: int) -> int | None:
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


async def wait_for(event: trio.Event, seconds: float, *more: trio.Event) -> bool:
    """Wait at most ``seconds`` for ``event`` (or any of ``more``); under an autojumping
    MockClock, in real time. True if one was set."""
    with trio.move_on_after(seconds):
        await in_real_time(functools.partial(first_of, event, *more) if more else event.wait)
        return True
    return False


async def spawn(
    *,
    name: str,
    target: str | None,
    home: Path,
    limits: Limits,
    memory_limit: int | None,
    python: str,
    prefix: list[str],
    fork: bool,
    extra: dict[str, Any] | None = None,
) -> ChildProcess:
    """Start the plugin's process: forked by the warm fork server, or cold when sandboxed
    or on its own interpreter. ``extra`` joins the child's spec (the contract kit's
    ``wall_start`` and ``probes``).

    Raises ``OSError`` when no process could be started.
    """
    own = home / "plugins" / name
    own.mkdir(parents=True, exist_ok=True)
    child_in, host_out = os.pipe()
    host_in, child_out = os.pipe()
    lifeline_child, lifeline = os.pipe()
    output, output_child = os.pipe()
    theirs = (child_in, child_out, lifeline_child, output_child)
    spec: dict[str, Any] = {
        "name": name,
        "object": target,
        "home": str(home),
        "limits": attrs.asdict(limits),
        "memory_limit": memory_limit,
        "parent": 0 if prefix else os.getpid(),
        "read_fd": child_in,
        "write_fd": child_out,
        "lifeline": lifeline_child,
        **(extra or {}),
    }
    env = dict(os.environ)
    if python == sys.executable:  # it sees what the host sees
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in sys.path if p)
    else:  # its own environment (which sees the host's nekohooks after its own packages)
        env.pop("PYTHONPATH", None)
    popen: subprocess.Popen[bytes] | None = None
    server: ForkServer | None = None
    try:
        if prefix or python != sys.executable or not fork:
            command = [*prefix, python, "-m", "nekohooks.isolation", "child"]
            popen = subprocess.Popen(
                [*command, json.dumps(spec)],
                stdin=subprocess.DEVNULL,
                stdout=output_child,
                stderr=output_child,
                pass_fds=theirs,
                start_new_session=True,
                env=env,
                cwd=own,
            )
            pid = popen.pid
        else:
            server = fork_server(env)
            pid = await server.fork({**spec, "cwd": str(own)}, theirs)
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
    return ChildProcess(
        pid=pid,
        popen=popen,
        server=server,
        pidfd=pidfd,
        reader=FrameReader(PipeReceiveStream(host_in)),
        writer=FrameWriter(host_out),
        output=trio.lowlevel.FdStream(output),
        lifeline=lifeline,
    )


async def first_of(*events: trio.Event) -> None:
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
