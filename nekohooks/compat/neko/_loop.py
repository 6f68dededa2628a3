"""One asyncio event loop in a daemon thread per N.E.K.O plugin, driven from trio.

N.E.K.O runs each plugin's async code on asyncio (``asyncio.to_thread``, ``asyncio.sleep``,
aiohttp...). The adapter gives each plugin run one such loop: its constructor, lifecycle hooks,
entries and timers all run there, so state a plugin keeps on its loop (tasks, locks, clients)
stays on one loop. Trio awaits a coroutine on it without holding a worker thread: the asyncio
future's done-callback wakes the waiting trio task through the trio token.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import outcome
import trio

__all__ = ["PluginLoop", "real_time"]

T = TypeVar("T")


class PluginLoop:
    """An asyncio loop running in its own daemon thread; :meth:`close` stops it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, name=name, daemon=True)
        self.thread.start()
        ready.wait()

    async def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Await ``fn()`` on the asyncio loop and return its result (or raise its exception).

        Args:
            fn: a callable returning an awaitable; it is called on the loop's thread.

        Raises:
            Whatever ``fn()`` raises, unchanged.

        Under an autojumping ``MockClock`` the trio loop is kept busy meanwhile, so the work
        takes real time as it does in production (the clock does not jump past timeouts).

        Cancellation: if the trio caller is cancelled, the asyncio task is cancelled and
        awaited (at most 5 s, shielded) before ``trio.Cancelled`` propagates; a timeout of the
        caller's scope therefore also stops the plugin's coroutine.
        """
        return await real_time(functools.partial(self._wait, fn))

    async def _wait(self, fn: Callable[[], Awaitable[T]]) -> T:
        token = trio.lowlevel.current_trio_token()
        finished = trio.Event()  # the future holds the outcome
        unwound = trio.Event()  # the plugin's coroutine has ended (after a cancel: seen it)
        started = False

        def on_trio(event: trio.Event) -> None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(event.set)

        async def wrapper() -> T:
            nonlocal started
            started = True
            try:
                return await fn()
            finally:
                on_trio(unwound)

        future = asyncio.run_coroutine_threadsafe(wrapper(), self.loop)
        # The result is read once the future holds it, not when the coroutine ends: between the
        # two the loop may run other callbacks, and one that waits on trio (a plugin pushing a
        # message) would wait forever on a trio thread blocked in future.result().
        future.add_done_callback(lambda _: on_trio(finished))
        try:
            await finished.wait()
        except trio.Cancelled:
            future.cancel()  # done at once: the coroutine is cancelled on the loop after this
            if started:  # let the plugin's coroutine see its cancellation through
                with trio.move_on_after(5, shield=True):
                    await unwound.wait()
            raise
        return future.result()

    def close(self, timeout: float = 5.0) -> None:
        """Cancel the loop's remaining tasks, stop it and join its thread. Idempotent."""
        if self.loop.is_closed():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.get_running_loop().shutdown_default_executor()

        if self.thread.is_alive():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout)
        if not self.thread.is_alive():
            self.loop.close()


def _autojumping() -> bool:
    """True under a ``trio.testing.MockClock`` that jumps ahead when the loop is idle."""
    testing = sys.modules.get("trio.testing")
    clock = trio.lowlevel.current_clock()
    return (
        testing is not None
        and isinstance(clock, testing.MockClock)
        and clock.autojump_threshold != float("inf")
    )


async def real_time(wait: Callable[[], Awaitable[T]]) -> T:
    """``await wait()`` where the wait is for work outside trio (a thread, the asyncio loop).

    Under an autojumping ``MockClock`` a task waiting on outside work looks idle and the
    clock would jump straight to the next timeout; there the loop is kept busy meanwhile.
    """
    if not _autojumping():
        return await wait()
    finished = False

    async def keep_busy() -> None:
        while not finished:
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(keep_busy)
        try:
            result = await outcome.acapture(wait)
        finally:
            finished = True
    return result.unwrap()
