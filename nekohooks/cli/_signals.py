"""How the ``neko`` process ends: signals, hard real-time deadlines, and exiting past leaked threads.

A plugin can defeat trio's cancellation (catch ``trio.Cancelled`` in a loop), so no command
relies on cancellation alone: each phase of a one-shot command runs under a :class:`Deadline`,
a daemon thread that ends the process with one error line if the phase outlives its limit,
and a second SIGINT/SIGTERM ends the process at once (130).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import trio

from .._process import EXIT_INTERRUPTED, exit_after

__all__ = ["Deadline", "StartupSignals", "exit_despite_leaked_threads"]

log = logging.getLogger("neko")


def exit_despite_leaked_threads(code: int, *, wait: float = 1.0) -> None:
    """Exit with ``code`` now if threads a plugin left behind would keep the process alive.

    The host has stopped every plugin by the time a command returns, but the interpreter
    waits for every non-daemon thread at exit, forever if a plugin started one that never
    ends. Give such threads ``wait`` seconds, then name them and end the process with
    ``os._exit``. Returns (and the interpreter exits normally) when no such thread is left.
    """
    deadline = time.monotonic() + wait
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    leaked = [
        t.name
        for t in threading.enumerate()
        if t is not threading.current_thread() and not t.daemon and t.is_alive()
    ]
    if not leaked:
        return
    log.warning("exiting although plugin threads are still running: %s", ", ".join(leaked))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Deadline:
    """A hard real-time limit on one phase of a command (:func:`~nekohooks._process.exit_after`).

    :meth:`arm` starts the clock; unless :meth:`disarm` (or another :meth:`arm`) comes
    within ``seconds``, the process prints ``Error: <why()>`` and exits with ``code``,
    whatever trio and the plugins are doing (a thread's timer fires even while plugin code
    holds the trio loop). ``why`` is called at expiry, so it can name what is still stuck.
    """

    def __init__(self) -> None:
        self._timer: threading.Timer | None = None

    def arm(self, seconds: float, why: Callable[[], str], *, code: int = 1) -> None:
        """Start the clock: ``seconds`` from now, unless disarmed or re-armed before."""
        self.disarm()
        self._timer = exit_after(seconds, why, code=code)

    def disarm(self) -> None:
        """Stop the clock."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class StartupSignals:
    """SIGINT/SIGTERM while the plugins start (``neko run``, until :func:`serve` handles
    signals), or for the whole of a one-shot command.

    A first signal cancels ``startup`` (the host then stops the plugins that did start,
    terminate included) and is kept in :attr:`signal`; a second one ends the process with
    ``os._exit(130)``. :meth:`hand_over` closes this receiver (``serve`` takes over).
    """

    def __init__(self, during: str = "start-up") -> None:
        self.during = during
        self.startup = trio.CancelScope()
        self.signal: int | None = None
        self._watching = trio.CancelScope()
        self._closed = trio.Event()

    async def watch(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Receive signals until :meth:`hand_over` (run with ``nursery.start``)."""
        try:
            with (
                self._watching,
                trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals,
            ):
                task_status.started()
                async for signum in signals:
                    if self.startup.cancel_called:
                        log.error("second signal: exiting now")
                        logging.shutdown()
                        os._exit(EXIT_INTERRUPTED)
                    log.info("signal %d during %s: shutting down", signum, self.during)
                    self.signal = int(signum)
                    self.startup.cancel()
        finally:
            self._closed.set()

    async def hand_over(self) -> None:
        """Stop watching and wait until the receiver is closed (its handlers restored)."""
        self._watching.cancel()
        await self._closed.wait()
