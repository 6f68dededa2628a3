"""Waiting on work outside trio (worker threads, the asyncio loop) so that it takes real time.

In production this is just ``trio.to_thread.run_sync``. Under an autojumping
``trio.testing.MockClock`` (tests, the contract kit) a task waiting on a thread looks idle, and
the clock would jump straight past every timeout while the thread works; so there the loop is
kept busy until the outside work is done.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import outcome
import trio
import trio.lowlevel

__all__ = ["in_real_time", "in_thread"]

T = TypeVar("T")


def _autojumping() -> bool:
    """True under a ``MockClock`` that jumps ahead when the loop is idle."""
    testing = sys.modules.get("trio.testing")  # not imported: no MockClock (and no pytest cost)
    clock = trio.lowlevel.current_clock()
    return (
        testing is not None
        and isinstance(clock, testing.MockClock)
        and clock.autojump_threshold != float("inf")
    )


async def in_thread(fn: Callable[[], Any], limiter: trio.CapacityLimiter) -> Any:
    """Run ``fn()`` in a worker thread; on cancel the thread is abandoned (it keeps its slot)."""
    return await in_real_time(
        functools.partial(trio.to_thread.run_sync, fn, abandon_on_cancel=True, limiter=limiter)
    )


async def in_real_time(wait: Callable[[], Awaitable[T]]) -> T:
    """``await wait()``, where the wait is for work outside trio (a thread, the asyncio loop).

    Under an autojumping ``MockClock`` a task waiting on such work looks idle and the clock
    would jump straight to any timeout; so there, the loop is kept busy meanwhile and outside
    work takes real time, as it does in production.
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
            # Captured, so the work's exception is not wrapped in the nursery's group.
            result: outcome.Outcome[T] = await outcome.acapture(wait)
        finally:
            finished = True
    return result.unwrap()
