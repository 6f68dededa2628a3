"""The host's event stream: every state change, job run, restart, fault, loop block and message.

Runners and the host :meth:`~EventStream.emit` events; surfaces (the terminal table, the control
API's server-sent events, metrics, the console, tests) :meth:`~EventStream.subscribe`. Nobody
polls private attributes. Emitting is synchronous and cheap (nothing happens without a
subscriber); a subscriber that falls behind loses its oldest events, never blocks the host, and
sees how many it lost in :attr:`Subscription.dropped`.

============  =========================================================================
kind          data
============  =========================================================================
state         ``state``, ``previous`` (:class:`~nekohooks.records.PluginState` values)
fault         ``phase``, ``error``: the plugin failed (it may be restarted)
restart       ``attempt``, ``backoff`` (seconds until the next start)
job           ``job``, ``outcome`` (``ok``, ``failed``, ``timeout``, ``skipped``), ``error``
loop-block    ``seconds``, ``where``
message       ``target``, ``message`` (as sent; not necessarily JSON)
table         ``change`` (``added`` or ``removed``): the host's plugin table changed
============  =========================================================================
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import trio

__all__ = ["Event", "EventKind", "EventStream", "Subscription"]


class EventKind(enum.StrEnum):
    """What an :class:`Event` reports; see the module docstring for each kind's data."""

    STATE = "state"
    FAULT = "fault"
    RESTART = "restart"
    JOB = "job"
    LOOP_BLOCK = "loop-block"
    MESSAGE = "message"
    TABLE = "table"


@attrs.frozen
class Event:
    """One thing that happened in the host: ``kind`` about ``plugin`` at ``time`` (epoch s)."""

    kind: EventKind
    plugin: str | None
    time: float
    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.define(eq=False)
class Subscription:
    """The events one subscriber has not read yet, oldest first; iterate it with ``async for``.

    ``dropped`` counts events lost because the buffer was full when they came.
    """

    _send: trio.MemorySendChannel[Event]
    _receive: trio.MemoryReceiveChannel[Event]
    dropped: int = 0

    def _put(self, event: Event) -> None:
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:  # full: lose the oldest, keep the newest
            self._receive.receive_nowait()
            self.dropped += 1
            self._send.send_nowait(event)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        """The next event; waits for one.

        Cancellation: cancelling the wait loses nothing; the event stays for the next call.
        """
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def receive_nowait(self) -> Event | None:
        """The next event if one is waiting, else ``None``."""
        try:
            return self._receive.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            return None


class EventStream:
    """Fans events out to subscribers; one per host, made on its trio thread."""

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self._wall_clock = wall_clock
        self._subscribers: list[Subscription] = []
        self._thread = threading.get_ident()
        self._token = trio.lowlevel.current_trio_token()

    def emit(self, kind: EventKind, plugin: str | None, /, **data: Any) -> None:
        """Record an event now. Costs nothing without subscribers. From another thread (the
        loop watchdog's) the event is handed to the trio thread, which delivers it."""
        if not self._subscribers:
            return
        event = Event(kind, plugin, self._wall_clock(), data)
        if threading.get_ident() == self._thread:
            self._publish(event)
        else:
            self._token.run_sync_soon(self._publish, event)

    def _publish(self, event: Event) -> None:
        for subscription in self._subscribers:
            subscription._put(event)

    @contextlib.contextmanager
    def subscribe(self, *, buffer: int = 1000) -> Iterator[Subscription]:
        """Receive every event emitted inside the ``with`` block (at most ``buffer`` unread).

        Raises:
            ValueError: ``buffer`` is not a positive number.
        """
        if not buffer > 0:
            raise ValueError(f"buffer must be positive, got {buffer!r}")
        send, receive = trio.open_memory_channel[Event](buffer)
        subscription = Subscription(send, receive)
        self._subscribers.append(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.remove(subscription)
            send.close()
