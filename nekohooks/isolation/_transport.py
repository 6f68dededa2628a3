"""The transport: frames over a byte stream, length-prefixed, pushed as they come (no polling).

This module is the one seam between a host and a plugin's process. Everything above it (the
process runner, the child's server) only sends encoded frames and receives decoded ones; the
bytes travel over pipes today, but any pair of byte streams will do, so a later backend can put
a plugin on another machine (a TCP or SSH stream in place of the pipes) without touching
either side's logic.

A frame longer than :data:`~._frames.MAX_FRAME`, one that does not decode, or a stream that ends
in the middle of a frame raises :class:`BadFrame`: the peer broke the protocol.
"""

from __future__ import annotations

import os
import queue
import threading

import msgspec
import trio

from ._frames import MAX_FRAME, Frame, decode

__all__ = ["BadFrame", "FrameReader", "FrameWriter", "ThreadFrameWriter"]


class BadFrame(Exception):
    """The peer sent bytes that are not a valid frame (too long, undecodable, truncated)."""


class FrameReader:
    """Decodes frames from a trio receive stream as bytes arrive."""

    def __init__(self, stream: trio.abc.ReceiveStream, *, max_frame: int = MAX_FRAME) -> None:
        self._stream = stream
        self._max = max_frame
        self._buffer = bytearray()

    async def receive(self) -> Frame | None:
        """The next frame, or ``None`` when the stream ended cleanly between frames.

        Raises:
            BadFrame: an oversized, undecodable or truncated frame.

        Cancellation: safe; bytes already read stay buffered for the next call.
        """
        buffer = self._buffer
        while True:
            if len(buffer) >= 4:
                size = int.from_bytes(buffer[:4], "big")
                if size > self._max:
                    raise BadFrame(f"a frame of {size} bytes is over the limit of {self._max}")
                end = 4 + size
                if len(buffer) >= end:
                    body = bytes(buffer[4:end])
                    del buffer[:end]
                    try:
                        return decode(body)
                    except msgspec.DecodeError as exc:
                        raise BadFrame(f"an undecodable frame ({exc})") from exc
            chunk = await self._stream.receive_some(1 << 16)
            if not chunk:
                if buffer:
                    raise BadFrame(f"the stream ended inside a frame ({len(buffer)} bytes)")
                return None
            buffer += chunk

    async def aclose(self) -> None:
        """Close the stream (idempotent)."""
        await self._stream.aclose()


class FrameWriter:
    """Sends encoded frames on a trio send stream from one task, in order, batching them.

    :meth:`send` never waits (frames queue in memory), so no caller ever blocks on a peer that
    does not read; run :meth:`pump` in a task to move them.
    """

    def __init__(self, stream: trio.abc.SendStream) -> None:
        self._stream = stream
        self._send, self._receive = trio.open_memory_channel[bytes](float("inf"))

    def send(self, data: bytes) -> None:
        """Queue one encoded frame (see :func:`~._frames.encode`). Dropped once closed."""
        try:  # noqa: SIM105 - contextlib.suppress costs ~0.5 us on every frame
            self._send.send_nowait(data)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    def close(self) -> None:
        """Stop accepting frames; :meth:`pump` returns once it has sent those already queued."""
        self._send.close()

    async def aclose(self) -> None:
        """Drop what is queued and close the stream (idempotent)."""
        self._send.close()
        await self._stream.aclose()

    async def pump(self) -> None:
        """Write queued frames until :meth:`close`; a batch of waiting frames goes in one write.

        Raises ``trio.BrokenResourceError`` when the peer's end is gone. Cancellation: frames
        not yet written are lost.
        """
        async for data in self._receive:
            batch = [data]
            while True:
                try:
                    batch.append(self._receive.receive_nowait())
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            await self._stream.send_all(b"".join(batch) if len(batch) > 1 else data)


class ThreadFrameWriter:
    """Sends encoded frames on a blocking file descriptor from a daemon thread.

    For the child: :meth:`send` is safe from any thread (trio's, worker threads, the asyncio
    thread, the loop watchdog) and from a trio loop that a plugin holds busy.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.broken = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="neko-frames-out", daemon=True)
        self._thread.start()

    def send(self, data: bytes) -> None:
        """Queue one encoded frame."""
        self._queue.put(data)

    def send_now(self, data: bytes) -> None:
        """Write one encoded frame before returning (for what must arrive even if the process
        dies right after: the phase it is entering). Frames queued earlier may follow it."""
        with self._lock:
            self._write(data)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop (waits at most ``timeout`` seconds)."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        get, get_nowait = self._queue.get, self._queue.get_nowait
        while True:
            data = get()
            if data is None:
                return
            batch = [data]
            try:
                while (more := get_nowait()) is not None:
                    batch.append(more)
            except queue.Empty:
                more = b""
            with self._lock:
                self._write(b"".join(batch))
            if more is None or self.broken.is_set():
                return

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self.broken.set()
