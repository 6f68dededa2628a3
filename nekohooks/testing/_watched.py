"""Running trio in a worker thread watched in real time: a stuck run is located, reported and interrupted.

The kit runs each plugin on a ``MockClock`` in its own thread so that a plugin that ignores
cancellation cannot hang the check: after ``stall_timeout`` real seconds the kit finds where the
run is stuck (the plugin's frames on the thread's stack, else in its trio tasks), raises
:class:`_KitAbort` in the thread with ``PyThreadState_SetAsyncExc`` and reports :class:`Stalled`.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import site
import sys
import sysconfig
import threading
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import trio
import trio.lowlevel
import trio.testing

from .._model import EntrySpec
from ._harness import PluginHarness
from ._probes import Calls

__all__ = ["IO_GRACE_CALLS", "IO_GRACE_JOBS", "LiveHost", "Stalled", "run_watched", "stuck_at"]

T = TypeVar("T")
Arguments = dict[str, Any]

#: How long (real seconds) the loop must be idle before the mock clock jumps ahead during an
#: entry call. Real I/O (trio.Path's worker threads, a DNS lookup, a loopback socket) looks
#: idle to the clock; this gives it time to finish before a timeout fires.
IO_GRACE_CALLS = 0.02
#: The same while days of periodic jobs pass: none, or each of thousands of ticks would wait
#: for it. A job whose runs wait on real I/O should be listed in ``skip``.
IO_GRACE_JOBS = 0.0


class Stalled(Exception):
    """A watched run did not finish in time; ``where`` says where it was stuck."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


class _KitAbort(BaseException):
    """Injected into a stuck run's thread; nothing in a plugin or in trio catches it."""


#: What is left of interrupted runs (their exception and traceback), kept for the life of the
#: process: garbage-collecting an interrupted trio run runs its finalizers in whatever thread
#: collects it, and they would tear down that thread's own trio run.
_ABANDONED: list[object] = []


def run_watched(
    fn: Callable[[], Awaitable[T]], *, stall_timeout: float, clock: trio.testing.MockClock
) -> T:
    """``trio.run(fn)`` in a thread; raise :class:`Stalled` if it is not done in time."""
    outcome: list[Any] = []
    roots: list[trio.lowlevel.Task] = []

    async def main() -> T:
        roots.append(trio.lowlevel.current_root_task())  # type: ignore[arg-type]
        return await fn()

    def target() -> None:
        try:
            outcome.append(("ok", trio.run(main, clock=clock)))
        except BaseException as exc:  # handed to the caller below
            outcome.append(("error", exc))

    thread = threading.Thread(target=target, name="neko-contract-run", daemon=True)
    thread.start()
    thread.join(stall_timeout)
    if thread.is_alive():
        where = stuck_at(thread, roots[0] if roots else None)
        interrupt(thread)
        _ABANDONED.append(outcome)
        raise Stalled(where)
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def _foreign(code: types.CodeType) -> bool:
    """True for code outside trio (and the packages its scheduler calls), nekohooks and the
    standard library: the plugin's.

    Frozen and generated code (``<frozen abc>``, ``<string>``) is the interpreter's, not the
    plugin's: a stuck run caught inside ``isinstance`` reports the plugin frame that called it.
    """
    name = code.co_filename
    if name.startswith(_RUNTIME) or name.startswith("<"):
        return False
    # site-packages can sit inside the standard library's folder (a Python without a venv)
    return not name.startswith(_STDLIB) or name.startswith(_SITE)


def _runtime() -> tuple[str, ...]:
    """Folders of the code that runs a plugin, not the plugin: trio, what trio's scheduler
    calls between a task's steps (outcome, sniffio), hypothesis (the kit's driver, whose
    collector hooks run anywhere), and nekohooks."""
    import hypothesis
    import outcome
    import sniffio

    modules = (trio, outcome, sniffio, hypothesis)
    folders = [os.path.dirname(module.__file__ or "") for module in modules]
    return (*folders, os.path.dirname(os.path.dirname(__file__)))


_RUNTIME = _runtime()
_STDLIB = sysconfig.get_paths()["stdlib"]
_SITE = tuple(
    {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
)


def stuck_at(thread: threading.Thread, root: trio.lowlevel.Task | None) -> str:
    """Where a stuck run is: plugin frames on the thread's stack, else on a worker thread's
    (a sync entry runs in one), else in its trio tasks."""
    stacks = sys._current_frames()
    me = threading.get_ident()
    idents = [thread.ident or 0, *(i for i in stacks if i not in (thread.ident, me))]
    for ident in idents:
        frame = stacks.get(ident)
        while frame is not None:
            if _foreign(frame.f_code):
                code = frame.f_code
                return f"{code.co_filename}:{frame.f_lineno} in {code.co_qualname}"
            frame = frame.f_back
    # A task that keeps being rescheduled is suspended between steps: look at its awaits.
    places: list[str] = []
    stack = [root] if root is not None else []
    while stack:
        task = stack.pop()
        with contextlib.suppress(Exception):  # the run is still going: read what we can
            for nursery in task.child_nurseries:
                stack.extend(nursery.child_tasks)
            frames = [f for f, _ in task.iter_await_frames() if _foreign(f.f_code)]
            if frames:
                f = frames[-1]
                places.append(f"{f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_qualname}")
    return ", ".join(sorted(set(places))) or "an unknown place"


def interrupt(thread: threading.Thread) -> None:
    """Raise :class:`_KitAbort` in ``thread`` until it ends (at most ~5 s)."""
    assert thread.ident is not None
    for _ in range(100):
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(_KitAbort)
        )
        thread.join(0.05)
        if not thread.is_alive():
            return


class LiveHost:
    """One plugin running in a host in a worker thread, called from this thread.

    The mock clock stands still between calls and autojumps during one, so a call that
    sleeps returns at once while periodic jobs do not race ahead while nobody is calling.
    """

    def __init__(
        self,
        open_harness: Callable[[], contextlib.AbstractAsyncContextManager[PluginHarness]],
        specs: Mapping[str, EntrySpec],
        *,
        stall_timeout: float,
        call_timeout: float | None = None,
    ) -> None:
        self.open_harness = open_harness
        self.specs = specs
        self.stall_timeout = stall_timeout
        self.call_timeout = stall_timeout if call_timeout is None else call_timeout
        self.calls = Calls()
        self.clock = trio.testing.MockClock()
        self.harness: PluginHarness | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._stop: trio.Event | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._closed = False

    async def _main(self) -> None:
        self._stop = trio.Event()
        async with self.open_harness() as harness:
            self.harness = harness
            self._token = trio.lowlevel.current_trio_token()
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> LiveHost:
        def target() -> None:
            try:
                trio.run(self._main, clock=self.clock)
            except BaseException as exc:  # reported by __exit__ / call
                self.error = exc
            finally:
                self._ready.set()

        self._thread = threading.Thread(target=target, name="neko-contract-run", daemon=True)
        self._thread.start()
        self._ready.wait(self.stall_timeout)
        if self.harness is None:
            if self.error is not None:
                raise self.error
            raise Stalled(stuck_at(self._thread, None))
        return self

    def call(self, entry: str, arguments: Arguments) -> tuple[bool, Any]:
        """``(True, result)`` or ``(False, exception)`` of one call through the host."""

        async def one() -> tuple[bool, Any]:
            assert self.harness is not None
            if self.harness.isolated is None:  # isolated, its process counts them
                self.calls.instrument(self.harness, self.specs)
            self.clock.autojump_threshold = IO_GRACE_CALLS
            try:
                return True, await self.harness.call(entry, **arguments)
            except Exception as exc:
                return False, exc
            finally:
                self.clock.autojump_threshold = math.inf

        assert self._token is not None and self._thread is not None
        result: list[tuple[bool, Any]] = []
        caller = threading.Thread(
            target=lambda: result.append(trio.from_thread.run(one, trio_token=self._token)),
            daemon=True,
        )
        caller.start()
        caller.join(self.call_timeout)
        if not result:
            raise Stalled(stuck_at(self._thread, None))
        return result[0]

    def reached(self, entry: str) -> int:
        """How many calls to ``entry`` reached the plugin's own code so far (isolated: as
        its process reported them, each before the call's answer)."""
        isolated = self.harness.isolated if self.harness is not None else None
        if isolated is not None:
            return isolated.probes.reached.get(entry, 0)
        return self.calls.reached.get(entry, 0)

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the host and wait for its thread (idempotent); :class:`Stalled` if it hangs."""
        if self._closed:
            return
        self._closed = True
        assert self._thread is not None
        if self._token is not None and self._stop is not None:
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join(self.stall_timeout)
        if self._thread.is_alive():
            where = stuck_at(self._thread, None)
            interrupt(self._thread)
            _ABANDONED.append(self)
            raise Stalled(where)
