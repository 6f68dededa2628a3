"""Running asyncio-only plugin code (aiohttp and friends) from the trio host.

Each plugin that needs it gets one asyncio event loop in a daemon thread. ``await
thread.run(fn, ...)`` creates the coroutine inside that loop and waits for it from trio without
holding a worker thread: the asyncio future's done-callback wakes the trio task through its
trio token. Entries are routed here when declared (``asyncio=True``) or detected by
:func:`uses_asyncio`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import inspect
import threading
import types
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # asyncio when a plugin first needs its loop; trio when the host runs one
    import asyncio

__all__ = ["AsyncioThread", "uses_asyncio"]

T = TypeVar("T")
ASYNCIO_ONLY = frozenset({"aiohttp", "asyncio", "aiofiles", "aiosqlite", "asyncpg", "aioredis"})


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def uses_asyncio(func: Callable[..., Any]) -> bool:
    """True if ``func``'s code refers to an asyncio-only library by a module global."""
    target = inspect.unwrap(func)
    code = getattr(target, "__code__", None)
    if code is None:
        return False
    module_globals = getattr(target, "__globals__", {})
    for name in _code_names(code) & ASYNCIO_ONLY:
        value = module_globals.get(name)
        if value is None or isinstance(value, types.ModuleType):
            return True
    return False


class AsyncioThread:
    """One asyncio loop in a daemon thread, owned by one plugin; started on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _ensure(self) -> asyncio.AbstractEventLoop:
        import asyncio

        if self._loop is None:
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def main() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=main, name=self.name, daemon=True)
            self._thread.start()
            ready.wait()
            self._loop = loop
        return self._loop

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run ``await fn(*args, **kwargs)`` on the asyncio loop and return its result.

        On trio cancellation the asyncio task is cancelled and awaited (up to 5 s, shielded)
        before ``Cancelled`` propagates. Exceptions come back unchanged.
        """
        import asyncio

        import trio

        loop = self._ensure()

        async def wrapper() -> T:
            return await fn(*args, **kwargs)

        future = asyncio.run_coroutine_threadsafe(wrapper(), loop)
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()

        def wake(_: concurrent.futures.Future[T]) -> None:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(done.set)

        future.add_done_callback(wake)
        try:
            await done.wait()
        except trio.Cancelled:
            future.cancel()
            with trio.move_on_after(5, shield=True):
                await done.wait()
            raise
        return future.result()

    def close(self, timeout: float = 5.0) -> None:
        """Cancel what is left, stop the loop and join the thread. Idempotent."""
        import asyncio

        loop, self._loop = self._loop, None
        if loop is None or self._thread is None:
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            loop.close()
        self._thread = None
