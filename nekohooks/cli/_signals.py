"""How the ``neko`` process ends: signals during start-up, and exiting past threads a plugin leaked."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Any

import trio

__all__ = ["StartupSignals", "exit_despite_leaked_threads"]

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


class StartupSignals:
    """SIGINT/SIGTERM while the plugins start, before :func:`serve` handles signals.

    A first signal cancels ``startup`` (the host then stops the plugins that did start,
    terminate included); a second one ends the process with ``os._exit(130)``. Once the host
    has started, :meth:`hand_over` closes this receiver and ``serve`` takes over.
    """

    def __init__(self) -> None:
        self.startup = trio.CancelScope()
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
                        os._exit(130)
                    log.info("signal %d during start-up: shutting down", signum)
                    self.startup.cancel()
        finally:
            self._closed.set()

    async def hand_over(self) -> None:
        """Stop watching and wait until the receiver is closed (its handlers restored)."""
        self._watching.cancel()
        await self._closed.wait()
