"""The transport: frames over a byte stream, length-prefixed, pushed as they come (no polling).

This module is the one seam between a host and a plugin's process. Everything above it (the
process runner, the child's server) only sends encoded frames and receives decoded ones; the
bytes travel over pipes today, but any pair of stream descriptors will do, so a later backend
can put a plugin on another machine (a connected TCP or SSH-forwarded socket in place of the
pipes) without touching either side's logic.

A frame longer than :data:`~._frames.MAX_FRAME`, one that does not decode, or a stream that ends
in the middle of a frame raises :class:`BadFrame`: the peer broke the protocol.
"""

from __future__ import annotations

import collections
import os
import threading

import msgspec
import trio

from ._frames import MAX_FRAME, Frame, decode

__all__ = [
    "BadFrame",
    "BlockingFrameWriter",
    "FrameReader",
    "FrameWriter",
    "PipeReceiveStream",
]


class BadFrame(Exception):
    """The peer sent bytes that are not a valid frame (too long, undecodable, truncated)."""


class FrameReader:
    """Decodes frames from a trio receive stream as bytes arrive."""

    def __init__(self, stream: trio.abc.ReceiveStream, *, max_frame: int = MAX_FRAME) -> None:
        self._stream = stream
        self._max = max_frame
        self._buffer = bytearray()
        self._ready: collections.deque[Frame] = collections.deque()
        self._bad: BadFrame | None = None  # met after frames still to hand out

    async def receive(self) -> Frame | None:
        """The next frame, or ``None`` when the stream ended cleanly between frames.

        Raises:
            BadFrame: an oversized, undecodable or truncated frame.

        Cancellation: safe; bytes already read stay buffered for the next call.
        """
        if not self._ready:
            self._ready.extend(await self.receive_all())
            if not self._ready:
                return None
        return self._ready.popleft()

    async def receive_all(self) -> list[Frame]:
        """Every frame that has arrived (waiting for at least one), in order; ``[]`` when the
        stream ended cleanly between frames.

        Raises:
            BadFrame: an oversized, undecodable or truncated frame (after the good frames
                read before it have been returned).

        Cancellation: safe; bytes already read stay buffered for the next call.
        """
        frames = list(self._ready)
        self._ready.clear()
        while not frames:
            if self._bad is not None:
                raise self._bad
            if self._buffer:
                self._decode(frames)
                if frames:
                    break
            chunk = await self._stream.receive_some(1 << 16)
            if not chunk:
                if self._buffer:
                    raise BadFrame(f"the stream ended inside a frame ({len(self._buffer)} bytes)")
                return frames
            self._buffer += chunk
        return frames

    def unread(self, frames: list[Frame]) -> None:
        """Put back ``frames`` (from :meth:`receive_all`, not acted on): they come next."""
        self._ready.extendleft(reversed(frames))

    def _decode(self, frames: list[Frame]) -> None:
        """Move the whole frames in the buffer to ``frames`` (a bad one is kept for later)."""
        buffer, start, end = self._buffer, 0, len(self._buffer)
        try:  # a view of a copy: what decoding may keep of it cannot pin the buffer's size
            with memoryview(bytes(buffer)) as view:
                while end - start >= 4:
                    size = int.from_bytes(view[start : start + 4], "big")
                    if size > self._max:
                        raise BadFrame(f"a frame of {size} bytes is over the limit of {self._max}")
                    if end - start - 4 < size:
                        break
                    try:
                        frames.append(decode(view[start + 4 : start + 4 + size]))
                    except msgspec.DecodeError as exc:
                        raise BadFrame(f"an undecodable frame ({exc})") from exc
                    start += 4 + size
        except BadFrame as exc:
            self._bad = exc
            if not frames:
                raise
        if start:
            del buffer[:start]

    async def aclose(self) -> None:
        """Close the stream (idempotent)."""
        await self._stream.aclose()


class PipeReceiveStream(trio.abc.ReceiveStream):
    """The reading end of a pipe: each receive waits until the pipe is readable, then reads.

    One loop turn per read, where ``trio.lowlevel.FdStream`` takes two (a checkpoint first,
    then a read that finds nothing, then the wait) when the reader is ahead of the writer, as a
    frame reader usually is.
    """

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Up to ``max_bytes`` (64 KiB by default) once some have arrived; ``b""`` at the end.

        Raises ``trio.ClosedResourceError`` once closed (also when closed meanwhile), and
        ``trio.BrokenResourceError`` when the read fails.
        """
        while True:
            if self._fd < 0:
                raise trio.ClosedResourceError("the pipe was closed")
            await trio.lowlevel.wait_readable(self._fd)
            try:
                return os.read(self._fd, max_bytes or 1 << 16)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise trio.BrokenResourceError from exc

    async def aclose(self) -> None:
        """Close the pipe (idempotent)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            trio.lowlevel.notify_closing(fd)
            os.close(fd)
        await trio.lowlevel.checkpoint()


class FrameWriter:
    """Sends encoded frames on a file descriptor from trio, in order, never waiting.

    :meth:`send` writes at once when nothing is queued and the pipe has room (the common case:
    no task switch on the way out); whatever does not fit waits in memory for :meth:`pump`,
    which runs in a task and writes it when the peer reads. So no caller ever blocks on a
    peer that does not read.
    """

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._backlog = bytearray()
        self._wake = trio.Event()
        self.broken = False

    def send(self, data: bytes) -> None:
        """Write or queue one encoded frame (see :func:`~._frames.encode`). Dropped once broken."""
        if self.broken:
            return
        if not self._backlog:
            try:
                written = os.write(self._fd, data)
            except BlockingIOError:
                written = 0
            except OSError:
                self.broken = True
                self._wake.set()
                return
            if written == len(data):
                return
            data = data[written:]
        self._backlog += data
        self._wake.set()

    async def pump(self) -> None:
        """Write queued bytes as the peer makes room, until the peer's end is gone.

        Cancellation: bytes not yet written stay queued.
        """
        while not self.broken:
            await self._wake.wait()
            self._wake = trio.Event()
            while self._backlog and not self.broken:
                await trio.lowlevel.wait_writable(self._fd)
                try:
                    written = os.write(self._fd, self._backlog)
                except BlockingIOError:
                    continue
                except OSError:
                    self.broken = True
                    break
                del self._backlog[:written]

    async def aclose(self) -> None:
        """Drop what is queued and close the descriptor (idempotent)."""
        self.broken = True
        self._backlog.clear()
        self._wake.set()
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            trio.lowlevel.notify_closing(fd)
            os.close(fd)
        await trio.lowlevel.checkpoint()


class BlockingFrameWriter(trio.abc.Instrument):
    r"""Sends encoded frames on a blocking file descriptor, from any thread, under a lock.

    For the child: :meth:`send` works from trio's thread, worker threads, the asyncio thread
    and the loop watchdog alike, and while a plugin holds the trio loop; the frame is written
    before it returns, so it arrives even if the process dies right after. :meth:`post` is for
    answers: from the trio thread (once :meth:`attach`\ ed) they wait for the end of the loop
    turn and leave in one write, so 16 answers ready together cost one system call.
    """

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, True)
        self._fd = fd
        self._lock = threading.Lock()
        self._trio_thread: int | None = None
        self._pending: list[bytes] = []
        self.broken = False

    def attach(self) -> None:
        r"""Batch :meth:`post`\ ed frames per turn of the running trio loop."""
        self._trio_thread = threading.get_ident()
        trio.lowlevel.add_instrument(self)

    def post(self, data: bytes) -> None:
        """Send one encoded frame by the end of this loop turn (at once from other threads)."""
        if threading.get_ident() == self._trio_thread:
            self._pending.append(data)
        else:
            self.send(data)

    def before_io_wait(self, timeout: float) -> None:
        if self._pending:
            self.flush()

    def flush(self) -> None:
        """Write the frames posted so far, now (from the trio thread)."""
        pending = self._pending
        if pending:
            data = pending[0] if len(pending) == 1 else b"".join(pending)
            pending.clear()
            self._write(data)

    def send(self, data: bytes) -> None:
        """Write one encoded frame now, after any posted from this thread (dropped once the
        host's end is gone)."""
        if self._pending and threading.get_ident() == self._trio_thread:
            data = b"".join([*self._pending, data])
            self._pending.clear()
        self._write(data)

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self.broken:
                return
            try:
                written = os.write(self._fd, data)  # all of it, unless the pipe is full
                if written < len(data):
                    view = memoryview(data)[written:]
                    while view:
                        view = view[os.write(self._fd, view) :]
            except OSError:
                self.broken = True
