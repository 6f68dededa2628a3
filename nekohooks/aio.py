"""Run the nekohooks host inside an asyncio application's own loop, with trio's guest mode.

Most bot and companion programs are asyncio (FastAPI, discord.py, aiohttp). Here the trio host
runs as a *guest* of the running asyncio loop (``trio.lowlevel.start_guest_run``): on the same
thread, its I/O waits handed to a helper thread and its ticks scheduled as asyncio callbacks.
Nothing is copied: the plugins run exactly as under ``trio.run``::

    async with nekohooks.aio.open_host(HostConfig()) as host:
        print(await host.call("hello.greet", name="Ada"))
        async for item in host.stream("some.generator"):
            ...

Each call is a trio task in the host's run; the asyncio side awaits an asyncio future that
the task resolves. Cancelling the awaiting asyncio task cancels the trio task (and so the
plugin code), as ``host.call`` does under trio.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import outcome
import trio
import trio.lowlevel

from ._config import HostConfig
from ._host import Host
from ._host import open_host as _open_trio_host
from ._model import EntrySpec, LoadFailure, PluginInfo, PluginStatus

__all__ = ["AioHost", "open_host"]

T = TypeVar("T")


class AioHost:
    """The asyncio face of a running host. Made by :func:`open_host`; use it inside that block.

    ``call``/``stream`` go through the trio run; ``status``, ``statuses``, ``plugins``,
    ``failures`` and ``entries`` are plain reads (the guest runs on this very thread, so no
    trio code runs while asyncio code does).
    """

    def __init__(self, host: Host, nursery: trio.Nursery, token: trio.lowlevel.TrioToken) -> None:
        self.host = host
        self._nursery = nursery
        self._token = token
        self._loop = asyncio.get_running_loop()

    # ---- reads --------------------------------------------------------------------------------

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Every loaded plugin's record, in load order."""
        return self.host.plugins

    @property
    def failures(self) -> list[LoadFailure]:
        """Plugins that could not be loaded, and why."""
        return self.host.failures

    def status(self, name: str) -> PluginStatus:
        """The status of plugin ``name`` (see :meth:`nekohooks.Host.status`)."""
        return self.host.status(name)

    def statuses(self) -> list[PluginStatus]:
        """The status of every plugin, sorted by name."""
        return self.host.statuses()

    def entries(self) -> list[tuple[str, EntrySpec]]:
        """Every entry as ``("plugin.entry", spec)``."""
        return self.host.entries()

    # ---- calls --------------------------------------------------------------------------------

    async def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``await fn()`` as a task of the host's trio run and return its result.

        Args:
            fn: an async function of no arguments, run in trio (it may call any ``host``
                method).

        Raises:
            whatever ``fn`` raises.

        Cancellation: cancelling the awaiting asyncio task cancels the trio task and waits
        for it to finish (its clean-up runs), then raises ``asyncio.CancelledError``.
        """
        future: asyncio.Future[outcome.Outcome[T]] = self._loop.create_future()
        scope = trio.CancelScope()

        async def task() -> None:
            await _resolve(future, scope, fn)

        self._token.run_sync_soon(self._nursery.start_soon, task)
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            self._token.run_sync_soon(scope.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await future  # the trio task finishes its clean-up first
            raise
        return result.unwrap()

    async def call(self, target: str, /, **arguments: Any) -> Any:
        """``await host.call(target, **arguments)`` in the trio run; see
        :meth:`nekohooks.Host.call` for the errors it raises.

        Cancellation: cancelling the asyncio task cancels the call (the plugin code too).
        """
        return await self.run(lambda: self.host.call(target, **arguments))

    async def stream(self, target: str, /, **arguments: Any) -> AsyncIterator[Any]:
        """The items of a generator entry as they come (see :meth:`nekohooks.Host.stream`).

        One trio task drives the entry and hands over one item at a time (the entry does not
        run ahead of the consumer). Breaking out of the loop, or cancelling, stops it.
        """
        send, receive = trio.open_memory_channel[Any](0)
        scope = trio.CancelScope()

        async def pump() -> None:
            with scope:
                async with send:
                    async for item in self.host.stream(target, **arguments):
                        await send.send(item)

        failure: asyncio.Future[outcome.Outcome[None]] = self._loop.create_future()

        async def driver() -> None:
            try:
                await _resolve(failure, trio.CancelScope(), pump)
            finally:
                await receive.aclose()

        self._token.run_sync_soon(self._nursery.start_soon, driver)
        try:
            while True:
                try:
                    item = await self.run(receive.receive)
                except (trio.EndOfChannel, trio.ClosedResourceError):
                    break
                yield item
            (await failure).unwrap()
        finally:
            self._token.run_sync_soon(scope.cancel)


async def _resolve(
    future: asyncio.Future[outcome.Outcome[T]],
    scope: trio.CancelScope,
    fn: Callable[[], Awaitable[T]],
) -> None:
    """Run ``fn`` in ``scope`` and put its outcome in ``future``; a cancelled run becomes
    ``asyncio.CancelledError`` there (trio's ``Cancelled`` itself propagates, as it must)."""
    result: outcome.Outcome[T] = outcome.Error(asyncio.CancelledError())
    try:
        with scope:
            result = outcome.Value(await fn())
    except Exception as exc:  # handed to the asyncio side, which re-raises it
        result = outcome.Error(exc)
    finally:
        if not future.done():
            future.set_result(result)


@contextlib.asynccontextmanager
async def open_host(config: HostConfig | None = None, **options: Any) -> AsyncIterator[AioHost]:
    """Start the host as a trio guest of the running asyncio loop; yield an :class:`AioHost`.

    Args:
        config: as for :func:`nekohooks.open_host`.
        options: the other keyword arguments of :func:`nekohooks.open_host` (``plugins``,
            ``wall_clock``, ``message_sink``, ``rng``, ``watchdog``).

    Raises:
        whatever starting the host raises (a bad config, ...). Plugins that fail to load or
        start do not raise: see ``host.failures`` and ``host.status()``, as under trio.

    On exit, normal or by an exception, in-flight calls are cancelled and the host shuts
    down as ``nekohooks.open_host`` does (terminate hooks within their grace); the block
    returns when the trio run has ended. Cancelling the asyncio task during that shutdown
    does not cut it short.
    """
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[AioHost] = loop.create_future()
    done: asyncio.Future[outcome.Outcome[None]] = loop.create_future()
    closing: list[trio.Event] = []

    async def main() -> None:
        async with _open_trio_host(config, **options) as host, trio.open_nursery() as nursery:
            stop = trio.Event()
            closing.append(stop)
            ready.set_result(AioHost(host, nursery, trio.lowlevel.current_trio_token()))
            await stop.wait()
            nursery.cancel_scope.cancel()

    trio.lowlevel.start_guest_run(
        main,
        run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        done_callback=done.set_result,
        host_uses_signal_set_wakeup_fd=True,
    )
    waiting: list[asyncio.Future[Any]] = [ready, done]
    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        done.result().unwrap()
        raise RuntimeError("the trio host ended before it started")  # pragma: no cover
    aio_host = ready.result()
    try:
        yield aio_host
    finally:
        aio_host._token.run_sync_soon(closing[0].set)
        (await asyncio.shield(done)).unwrap()
