"""Process and signal policy: how a serving host, and any command, ends its process.

One place for what ``neko run``, the one-shot commands and embedding applications share:

* :func:`serve` waits for SIGINT or SIGTERM and returns, so the caller's ``open_host`` block
  shuts the plugins down gracefully;
* a second signal ends the process at once with :data:`EXIT_INTERRUPTED` (130);
* :func:`exit_after` is a hard, real-time deadline: a plugin can defeat cancellation (catch
  ``trio.Cancelled`` in a loop, or block in C code), so after the deadline the process logs why
  and ends with ``os._exit``, whatever the plugin does.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

import trio

from ._host import Host
from ._model import PluginState

__all__ = ["EXIT_INTERRUPTED", "exit_after", "exit_on_second_signal", "serve"]

log = logging.getLogger("nekohooks.host")

EXIT_INTERRUPTED = 130
"""The exit status after a second Ctrl-C / SIGTERM (128 + SIGINT, as shells report it)."""


def exit_after(seconds: float, why: Callable[[], str], *, code: int = 1) -> threading.Timer:
    """End the process with ``code`` after ``seconds`` of real time unless cancelled first.

    ``why()`` is called at the deadline and its text logged as critical (and printed on stderr).
    Returns the timer: ``.cancel()`` it once the guarded work has finished.
    """

    def expire() -> None:
        text = why()
        log.critical("%s", text)
        print(f"Error: {text}", file=sys.stderr, flush=True)
        os._exit(code)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


async def exit_on_second_signal() -> None:
    """Wait for SIGINT or SIGTERM and end the process at once with 130 (run it as a system
    task once the first signal is being handled)."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            log.error("second signal: exiting now")
            os._exit(EXIT_INTERRUPTED)


async def serve(
    host: Host,
    *,
    on_ready: Callable[[], None] | None = None,
    hard_deadline: float | None = -1.0,
) -> int:
    """Run until SIGINT or SIGTERM; return the signal number. A second signal exits at once.

    Args:
        host: the running host (inside its ``open_host`` block).
        on_ready: called once the signal handlers are installed.
        hard_deadline: real seconds from the first signal after which the process ends with
            status 1, naming the plugins still stopping (default: the shutdown timeout plus
            5 s; ``None``: never).

    The first signal returns so the caller's ``open_host`` block shuts down gracefully; the
    signal receiver stays installed during that shutdown, and a second signal ends the process
    with ``os._exit(130)``.

    Cancellation: cancelling it returns nothing and removes the signal handlers.
    """
    if hard_deadline is not None and hard_deadline < 0:
        hard_deadline = host.config.limits.shutdown_timeout + 5.0
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        if on_ready is not None:
            on_ready()  # signals are handled from here on
        async for signum in signals:
            trio.lowlevel.spawn_system_task(exit_on_second_signal)
            if hard_deadline is not None:
                exit_after(hard_deadline, functools.partial(_still_stopping, host, hard_deadline))
            return int(signum)
    raise AssertionError("unreachable: the signal stream does not end")


def _still_stopping(host: Host, seconds: float) -> str:
    names = [r.name for r in host.runners.values() if r.state is PluginState.STOPPING]
    return (
        f"shutdown did not finish within {seconds:g}s "
        f"(still stopping: {', '.join(names) or 'no plugin'}); exiting now"
    )
