"""Each generated example under a memory and a time budget, in a child process the kit can kill.

A plugin given a generated ``n`` may allocate ``bytearray(n)``: one C call that no thread of
the kit's own process can interrupt, and that can take the machine down before it returns.
So the examples run in a forked child (it inherits the plugin objects, even ones defined in a
test module), and the parent watches it from outside: the child's peak resident memory
(``VmHWM`` in ``/proc/PID/status``, reset to the current size before each example through
``/proc/PID/clear_refs``, so a short peak between two looks still counts) and real time. A
child over budget is killed with ``SIGKILL`` and the example is reported as a runaway; the next
example gets a fresh child.

Where ``fork`` or ``/proc`` is missing (not Linux), examples run in the kit's own process
without these budgets (only the stall timeout of the watched thread applies).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from .._net import tls_context

__all__ = ["Budget", "Runaway", "Worker"]

_MB = 1024 * 1024


@attrs.frozen
class Budget:
    """How large the kit's generated arguments get, and what one example may use.

    Attributes:
      max_integer: integer and number parameters the schema leaves unbounded are drawn from
        ``-max_integer..max_integer`` (a bounded side keeps its bound).
      max_text: longest generated string (unless the schema's ``minLength`` needs more).
      max_items: most items in a generated array or object.
      memory_mb: how much one example may grow the resident memory of the process it runs in.
      seconds: real seconds one example may take (entries run on a mock clock, so their own
        timeouts do not cover CPU-bound work).
    """

    max_integer: int = 10_000
    max_text: int = 50
    max_items: int = 5
    memory_mb: int = 512
    seconds: float = 10.0


class Runaway(Exception):
    """An example went over its budget (or killed its process); the text says how."""


def _peak_kb(pid: int) -> int | None:
    """The peak resident memory of process ``pid`` since its last reset, in KiB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            found = re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _reset_peak(pid: int) -> None:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")  # 5: reset the peak RSS to the current RSS (Linux 4.0+)


@functools.cache
def _warm_up() -> None:
    """Load, once and before any fork, what nekohooks loads on a plugin's first use of
    ``ctx.http`` or of an asyncio entry (httpx, its shared TLS context, asyncio): 0.4 s that each
    child would otherwise spend holding its trio loop, which the kit would blame on the plugin."""
    importlib.import_module("asyncio")
    tls_context()  # imports httpx and builds the TLS context every plugin's client shares


def _forkable() -> bool:
    return (
        sys.platform == "linux"
        and "fork" in multiprocessing.get_all_start_methods()
        and _peak_kb(os.getpid()) is not None
    )


def _child_main(
    conn: multiprocessing.connection.Connection,
    parent_end: multiprocessing.connection.Connection,
    open_handler: Callable[[], contextlib.AbstractContextManager[Callable[[Any], Any]]],
) -> None:
    """The child: open the handler, then answer requests until the parent closes the pipe."""
    parent_end.close()  # the fork copied it; with it open here, the parent closing is no EOF
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's; it ends the child
    try:
        with open_handler() as handle:
            conn.send(("ready", None))
            while True:
                try:
                    request = conn.recv()
                except EOFError:
                    return
                try:
                    conn.send(("ok", handle(request)))
                except Exception as exc:  # handed to the parent, which raises it there
                    conn.send(("error", exc))
    except Exception as exc:
        with contextlib.suppress(Exception):
            conn.send(("error", exc))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


@attrs.define
class Worker:
    """Runs ``handle(request)`` for each request in a child process under ``budget``.

    ``open_handler()`` is entered in the child (after the fork) and yields ``handle``. Replies
    and exceptions raised by ``handle`` must pickle. :meth:`ask` raises :class:`Runaway` when
    an example goes over budget; the child is then killed and the next request starts a new one.
    """

    open_handler: Callable[[], contextlib.AbstractContextManager[Callable[[Any], Any]]]
    budget: Budget
    start_timeout: float = 30.0
    forked: bool = attrs.field(factory=_forkable)
    _child: Any = None
    _conn: multiprocessing.connection.Connection | None = None
    _local: Any = None
    _local_handle: Callable[[Any], Any] | None = None

    def ask(self, request: Any, *, seconds: float | None = None) -> Any:
        """``handle(request)`` in the child; :class:`Runaway` if it goes over budget.

        ``seconds`` replaces the budget's time limit for this request (a request whose
        handler reports its own stuck work gets a little longer, so that report arrives).
        An error ``handle`` raises is raised here, and the child is replaced.
        """
        if not self.forked:
            return self._ask_here(request)
        conn, child = self._start()
        try:
            return self._ask(conn, child, request, seconds)
        except BaseException:  # Ctrl-C mid-request: the child's answer would come out of turn
            self._kill()
            raise

    @property
    def started(self) -> bool:
        """True while a child (or the in-process handler) is up."""
        return self._conn is not None or self._local is not None

    def _ask(
        self,
        conn: multiprocessing.connection.Connection,
        child: Any,
        request: Any,
        seconds: float | None,
    ) -> Any:
        _reset_peak(child.pid)
        base = _peak_kb(child.pid) or 0
        limit_kb = self.budget.memory_mb * 1024
        conn.send(request)
        limit = self.budget.seconds if seconds is None else seconds
        deadline = time.monotonic() + limit
        while not conn.poll(0.01):
            peak = _peak_kb(child.pid)
            if peak is not None and peak - base > limit_kb:
                self._kill()
                raise Runaway(f"used more than {self.budget.memory_mb} MB of memory")
            if not child.is_alive():
                code = child.exitcode
                self._kill()
                raise Runaway(f"ended the process it ran in (exit code {code})")
            if time.monotonic() > deadline:
                self._kill()
                raise Runaway(f"took longer than {limit:g}s of real time")
        try:
            kind, value = conn.recv()
        except (EOFError, OSError):  # it ended before answering
            child.join(self.start_timeout)
            code = child.exitcode
            self._kill()
            raise Runaway(f"ended the process it ran in (exit code {code})") from None
        peak = _peak_kb(child.pid)
        if peak is not None and peak - base > limit_kb:  # a peak between two looks
            self._kill()
            raise Runaway(f"used more than {self.budget.memory_mb} MB of memory")
        if kind == "error":
            self._kill()  # the handler's state is unknown now: the next request gets a new child
            raise value
        return value

    def close(self) -> None:
        """End the child (or the in-process handler)."""
        if self._conn is not None:
            conn, child = self._conn, self._child
            self._conn = self._child = None
            conn.close()  # the child's recv sees EOF and its handler closes normally
            child.join(self.start_timeout)
            if child.is_alive():
                child.kill()
                child.join()
        if self._local is not None:
            local, self._local, self._local_handle = self._local, None, None
            local.__exit__(None, None, None)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> tuple[multiprocessing.connection.Connection, Any]:
        if self._conn is not None:
            return self._conn, self._child
        _warm_up()
        context = multiprocessing.get_context("fork")
        parent, child_end = context.Pipe()
        child = context.Process(
            target=_child_main, args=(child_end, parent, self.open_handler), daemon=True
        )
        child.start()
        child_end.close()
        if not parent.poll(self.start_timeout):
            child.kill()
            raise Runaway(f"did not start within {self.start_timeout:g}s")
        try:
            kind, value = parent.recv()
        except EOFError:
            child.join()
            raise Runaway(f"ended the process it ran in (exit code {child.exitcode})") from None
        if kind == "error":
            child.join()
            raise value
        self._conn, self._child = parent, child
        return parent, child

    def _kill(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.join()
        if self._conn is not None:
            self._conn.close()
        self._conn = self._child = None

    def _ask_here(self, request: Any) -> Any:
        if self._local_handle is None:
            self._local = self.open_handler()
            self._local_handle = self._local.__enter__()
        return self._local_handle(request)


@contextlib.contextmanager
def nothing_to_open(handle: Callable[[Any], Any]) -> Iterator[Callable[[Any], Any]]:
    """A handler that needs no set-up."""
    yield handle
