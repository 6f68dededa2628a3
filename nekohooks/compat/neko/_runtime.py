"""The bridge between one running N.E.K.O plugin (on its asyncio loop and its own threads) and
its nekohooks context (on trio).

The SDK objects a plugin holds (store, config, ``push_message``) live on the plugin's side;
they reach the context through a :class:`Runtime`: blocking calls into trio from any thread
but trio's own, awaitable ones from the asyncio loop, and a bounded outbox that
``push_message`` fills without blocking and a trio task empties into ``ctx.send_message``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import trio

from nekohooks import PluginContext

from ._manifest import Manifest

__all__ = ["OUTBOX_SIZE", "Runtime"]

T = TypeVar("T")
OUTBOX_SIZE = 1000

log = logging.getLogger("nekohooks.compat.neko")


class Runtime:
    """What the SDK objects of one plugin run use to reach trio; made by the adapter at start."""

    def __init__(self, ctx: PluginContext, manifest: Manifest, folder: Path) -> None:
        self.ctx = ctx
        self.manifest = manifest
        self.folder = folder
        self.token = trio.lowlevel.current_trio_token()
        self.outbox, self.inbox = trio.open_memory_channel[tuple[str, Any]](OUTBOX_SIZE)
        self.file_handlers: list[tuple[logging.Logger, logging.Handler]] = []

    def _on_trio_thread(self) -> bool:
        try:
            return trio.lowlevel.current_trio_token() is self.token
        except RuntimeError:
            return False

    def block_on(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``await fn(*args)`` on trio from another thread and wait for its result."""
        if self._on_trio_thread():
            raise RuntimeError("this N.E.K.O SDK call blocks; it cannot run on the trio thread")
        return trio.from_thread.run(fn, *args, trio_token=self.token)

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` on trio, awaited from the plugin's asyncio loop."""
        return await asyncio.to_thread(self.block_on, fn, *args)

    def post(self, target: str, message: Any) -> bool:
        """Queue ``message`` for ``ctx.send_message`` from any thread; False if the outbox is full."""
        try:
            if self._on_trio_thread():
                self.outbox.send_nowait((target, message))
            else:
                trio.from_thread.run_sync(
                    self.outbox.send_nowait, (target, message), trio_token=self.token
                )
        except trio.WouldBlock:
            log.warning(
                "N.E.K.O plugin %r: message dropped, %d are waiting", self.ctx.name, OUTBOX_SIZE
            )
            return False
        except (trio.ClosedResourceError, trio.RunFinishedError):
            log.warning("N.E.K.O plugin %r: message dropped, the plugin has stopped", self.ctx.name)
            return False
        return True

    async def deliver(self) -> None:
        """Send queued messages in order, until cancelled (with the plugin's tasks)."""
        async for target, message in self.inbox:
            await self._send(target, message)

    async def flush(self) -> None:
        """Send what is still queued (at stop, after the shutdown hooks), then close the outbox."""
        self.outbox.close()
        while True:
            try:
                target, message = self.inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                return
            await self._send(target, message)

    def close_files(self) -> None:
        """Detach and close the file log handlers ``enable_file_logging`` added."""
        for logger, handler in self.file_handlers:
            logger.removeHandler(handler)
            handler.close()
        self.file_handlers.clear()

    async def _send(self, target: str, message: Any) -> None:
        try:
            await self.ctx.send_message(target, message)
        except Exception as exc:  # one undeliverable message must not stop the others
            log.warning(
                "N.E.K.O plugin %r: message to %r not delivered: %s", self.ctx.name, target, exc
            )
