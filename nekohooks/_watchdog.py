"""The loop watchdog: notice plugin code that holds the trio loop, and name the plugin.

A trio instrument records when the loop leaves its I/O wait (``after_io_wait``) and when it
returns (``before_io_wait``): two calls per loop turn, nothing per task step. A daemon thread
checks a few times per threshold; when one turn has run longer than the threshold, it looks at
the trio thread's current stack, finds the innermost frame that belongs to a plugin and reports
it once for that turn. The host keeps running either way: this only tells who is to blame.

Time the trio thread spent waiting for a CPU (runnable, but the machine was busy with other
work) is not the plugin's doing: on Linux the thread's run-queue wait, read from
``/proc/self/task/<tid>/schedstat`` at each check, is taken off a turn before it is compared
with the threshold. A plugin sleeping or in a blocking call is not runnable, so that counts.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from ._model import EntrySpec, JobSpec
    from ._registry import LoadedPlugin

__all__ = ["LoopWatchdog", "plugin_code"]

Report = Callable[[str | None, float, str], None]


class LoopWatchdog(trio.abc.Instrument):
    """Reports loop turns longer than ``threshold`` seconds via ``report(plugin, seconds, where)``.

    ``owner_of(code)`` maps a code object to the plugin that owns it, or ``None``.
    """

    def __init__(
        self,
        threshold: float,
        owner_of: Callable[[types.CodeType], str | None],
        report: Report,
    ) -> None:
        self.threshold = threshold
        self._owner_of = owner_of
        self._report = report
        self._busy_since: float | None = None
        self._reported_turn: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._trio_thread_id = threading.get_ident()
        self._schedstat = ""

    def after_io_wait(self, timeout: float) -> None:
        self._busy_since = time.monotonic()

    def before_io_wait(self, timeout: float) -> None:
        self._busy_since = None

    def start(self) -> None:
        """Install the instrument in the running trio loop and start the checking thread."""
        self._trio_thread_id = threading.get_ident()
        self._schedstat = f"/proc/self/task/{threading.get_native_id()}/schedstat"
        trio.lowlevel.add_instrument(self)
        self._thread = threading.Thread(target=self._watch, name="neko-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Remove the instrument and stop the thread (returns within one check interval)."""
        self._stop.set()
        with contextlib.suppress(KeyError):
            trio.lowlevel.remove_instrument(self)
        if self._thread is not None:
            self._thread.join(timeout=self.threshold)

    def _watch(self) -> None:
        interval = min(self.threshold / 4, 0.25)
        samples: collections.deque[tuple[float, float]] = collections.deque(maxlen=16)
        while not self._stop.wait(interval):
            now, queued = time.monotonic(), self._queued()
            samples.append((now, queued))
            since = self._busy_since
            if since is None or since == self._reported_turn:
                continue
            # the run-queue wait since the last sample taken before this turn began
            before = [waited for at, waited in samples if at <= since]
            held = now - since - (queued - before[-1] if before else 0.0)
            if held < self.threshold:
                continue
            self._reported_turn = since
            plugin, where = self._blame()
            self._report(plugin, held, where)

    def _queued(self) -> float:
        """Seconds the trio thread has waited on a run queue so far (0 where unknown)."""
        try:
            with open(self._schedstat, "rb") as stat:
                return int(stat.read().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return 0.0

    def _blame(self) -> tuple[str | None, str]:
        frame = sys._current_frames().get(self._trio_thread_id)
        innermost = ""
        while frame is not None:
            if not innermost:
                innermost = _where(frame)
            plugin = self._owner_of(frame.f_code)
            if plugin is not None:
                return plugin, _where(frame)
            frame = frame.f_back
        return None, innermost


def _where(frame: types.FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename}:{frame.f_lineno} in {code.co_qualname}"


def plugin_code(plugins: Iterable[LoadedPlugin]) -> dict[types.CodeType, str]:
    """The code objects of the plugins' functions, each to its plugin's name: the watchdog's
    blame (``.get``), and what an isolated plugin's process reads to see if it uses HTTP."""
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
    return owners
