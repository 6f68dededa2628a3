"""The frames a host and an isolated plugin's process exchange: small typed msgspec messages.

A frame on the wire is a 4-byte big-endian length, then one MessagePack-encoded frame (a
tagged array, see :data:`Frame`). Parent to child: :class:`Call`, :class:`Pull`,
:class:`Cancel`, :class:`Stop`, :class:`Advance` (contract kit). Child to parent: :class:`Ready`, :class:`Result`,
:class:`Item`, :class:`Error`, :class:`Log`, :class:`Message`, :class:`Activity`,
:class:`Event`, :class:`Status`, :class:`Crash`, and for the contract kit :class:`Reached` and
:class:`Leaks`. Values (arguments, results, items, messages) are whatever
MessagePack can carry: ``None``, booleans, numbers, strings, bytes, lists and dicts
(plus what msgspec adds: tuples, sets, datetimes, dataclasses, attrs classes).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "EXIT_MEMORY",
    "MAX_FRAME",
    "Activity",
    "Advance",
    "Call",
    "Cancel",
    "Crash",
    "Error",
    "Event",
    "Frame",
    "Item",
    "Leaks",
    "Log",
    "Message",
    "Pull",
    "Reached",
    "Ready",
    "Result",
    "Status",
    "Stop",
    "decode",
    "encode",
]

#: The exit code of a plugin's process that ran out of its memory limit.
EXIT_MEMORY = 86

#: The largest frame either side accepts (bytes after the length prefix): 16 MiB.
MAX_FRAME = 16 << 20


class _Frame(msgspec.Struct, array_like=True, tag=True):
    pass


# ---- parent → child -------------------------------------------------------------------------


class Call(_Frame, tag="call"):
    """Call entry ``entry`` with ``arguments``; ``stream``: items come one :class:`Pull` at a time."""

    id: int
    entry: str
    arguments: dict[str, Any]
    stream: bool = False


class Pull(_Frame, tag="pull"):
    """Send the next item of streaming call ``id`` (as :class:`Item`, or :class:`Result` at its end)."""

    id: int


class Cancel(_Frame, tag="cancel"):
    """The caller gave up on call ``id``: cancel it (no answer is expected)."""

    id: int


class Stop(_Frame, tag="stop"):
    """Stop the plugin (terminate hooks within their grace), then exit."""


class Advance(_Frame, tag="advance"):
    """Let ``seconds`` of mock time pass in a child on the kit's mock clock (every timer due
    meanwhile fires, in order), then answer :class:`Status` and ``Result(id, clock)``."""

    id: int
    seconds: float


# ---- child → parent -------------------------------------------------------------------------


class Ready(_Frame, tag="ready"):
    """The plugin started; it serves calls from now on."""

    pid: int
    clock: float | None = None
    """The child's trio time when it is on the kit's mock clock."""


class Result(_Frame, tag="result"):
    """Call ``id`` returned ``value`` (for a stream: the stream ended)."""

    id: int
    value: Any = None


class Item(_Frame, tag="item"):
    """The next item of streaming call ``id``."""

    id: int
    value: Any


class Error(_Frame, tag="error"):
    """Call ``id`` failed: ``kind`` is the nekohooks error's class name, ``message`` its detail.

    ``cause`` is the plugin exception's traceback text (for ``EntryFailed``).
    """

    id: int
    kind: str
    message: str
    argument: str | None = None
    timeout: float | None = None
    cause: str | None = None


class Log(_Frame, tag="log"):
    """A log record from the plugin's process."""

    level: int
    logger: str
    message: str


class Message(_Frame, tag="message"):
    """The plugin called ``ctx.send_message(target, body)``."""

    target: str
    body: Any


class Activity(_Frame, tag="activity"):
    """The plugin began (``begin``) or ended a phase (a :class:`~nekohooks.errors.Phase` value)
    such as ``periodic`` (``what``: ``"job 'tick'"``) or ``terminate``.

    Sent before the work starts, so a process that dies meanwhile is blamed on the right phase.
    """

    phase: str
    what: str
    begin: bool


class Event(_Frame, tag="event"):
    """An event for the host's stream (an :class:`~nekohooks.records.EventKind` value and its
    data), about this plugin: job runs, faults it survived, loop blocks."""

    kind: str
    data: dict[str, Any]


class Status(_Frame, tag="status"):
    """The in-process runner's counters, sent when they change (after each job run)."""

    tasks: list[str]
    job_runs: dict[str, int]
    job_failures: dict[str, int]
    job_skipped: dict[str, int]
    loop_blocks: int
    job_coalesced: dict[str, int] = {}
    job_timeouts: dict[str, int] = {}
    job_errors: dict[str, str] = {}
    """The last error of each job that failed (``Type: text``)."""


class Crash(_Frame, tag="crash"):
    """The plugin failed in ``phase`` (startup, task, ...); the process exits next."""

    phase: str
    error: str


class Reached(_Frame, tag="reached"):
    """A call got past the host's checks into the plugin's own code for ``entry`` (sent, for
    the contract kit, before the plugin's code runs)."""

    entry: str


class Leaks(_Frame, tag="leaks"):
    """What the plugin left behind after it stopped, for the contract kit: trio tasks,
    threads and file descriptors of its process, HTTP clients and stores still open."""

    tasks: list[str]
    threads: list[str]
    fds: list[str]
    clients: int
    stores: int


Frame = (
    Call
    | Pull
    | Cancel
    | Stop
    | Advance
    | Ready
    | Result
    | Item
    | Error
    | Log
    | Message
    | Activity
    | Event
    | Status
    | Crash
    | Reached
    | Leaks
)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Frame)


def encode(frame: _Frame) -> bytes:
    """The frame as it goes on the wire: length prefix and body.

    Raises ``TypeError`` when a value cannot be encoded, ``ValueError`` when the frame is
    larger than :data:`MAX_FRAME`.
    """
    body = _encoder.encode(frame)
    if len(body) > MAX_FRAME:
        raise ValueError(f"a frame of {len(body)} bytes is over the limit of {MAX_FRAME}")
    return len(body).to_bytes(4, "big") + body


def decode(body: bytes | memoryview) -> Frame:
    """One frame from its body (without the length prefix).

    Raises ``msgspec.DecodeError`` (a ``ValueError``) when the bytes are not a valid frame.
    """
    return _decoder.decode(body)
