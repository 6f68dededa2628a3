"""Messages in, replies out: the frozen records a chat adapter hands the host and gets back.

A chat adapter (a Telegram bridge, a QQ gateway, ``neko say``) turns each incoming chat message or
platform event into one :class:`Message` and passes it to ``host.dispatch``; the plugins' answers
come back as :class:`Reply` records, in order, while they are produced. Both are plain data: no
plugin can change a message another plugin sees.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Final

import attrs

__all__ = ["STOP", "Message", "Reply", "ReplyKind", "message_from_json", "reply_record"]


def _text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"Message.{attribute.name} must be a str, got {type(value).__name__}")


def _roles(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise TypeError("Message.roles must be a collection of str, not one str")
    return frozenset(value)


@attrs.frozen
class Message:
    """One incoming chat message or platform event.

    Attributes:
        text: the plain text (for commands: ``"/countdown 10"``); empty for most events.
        sender: the sender's id on the platform.
        origin: where replies go (a chat, a channel, a user); ``ctx.send_message(origin, ...)``
            reaches the same place later. AstrBot calls this ``unified_msg_origin``.
        platform: the adapter's platform name (``"telegram"``, ``"cli"``, ...).
        channel: the group or channel the message was posted in; empty for a private message.
        sender_name: a display name for the sender (default: the id).
        kind: ``"message"`` for chat messages, anything else for a platform event
            (``"member_join"``, ``"poke"``, ...), which only ``@on_event`` handlers receive.
        roles: what the adapter knows the sender may do (``{"admin"}``); the host's
            ``neko_check_permission`` hook decides, this is its default answer.
        id: the platform's message id, if any.
        raw: the adapter's own payload, untouched (not compared, not shown).
    """

    text: str = attrs.field(default="", validator=_text)
    sender: str = attrs.field(default="", validator=_text)
    origin: str = attrs.field(default="", validator=_text)
    platform: str = attrs.field(default="", validator=_text)
    channel: str = attrs.field(default="", validator=_text)
    sender_name: str = attrs.field(default="", validator=_text)
    kind: str = attrs.field(default="message", validator=_text)
    roles: frozenset[str] = attrs.field(default=frozenset(), converter=_roles)
    id: str = attrs.field(default="", validator=_text)
    raw: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def private(self) -> bool:
        """True for a direct message (no channel)."""
        return not self.channel


class ReplyKind(enum.Enum):
    """What a :class:`Reply` is."""

    REPLY = "reply"
    """Something a handler returned or yielded."""
    USAGE = "usage"
    """The host's answer to a command with missing or malformed arguments; no plugin code ran."""
    DENIED = "denied"
    """The sender may not use the command (``neko_check_permission`` said no); nothing ran."""
    ERROR = "error"
    """The handler raised, timed out or its plugin stopped; ``content`` says which and why."""


@attrs.frozen
class Reply:
    """One answer to a dispatched :class:`Message`.

    Attributes:
        plugin: the plugin that answered (or whose command was refused).
        handler: which handler: ``"/countdown"`` for a command, ``"on_message echo"``,
            ``"on_event member_join greet"``, ``"neko_message"`` for a raw hook.
        target: where it goes (the message's ``origin``).
        content: what the handler produced (text, or a plugin's own message object); for
            ``USAGE``, ``DENIED`` and ``ERROR`` a text written by the host.
        kind: see :class:`ReplyKind`.
    """

    plugin: str
    handler: str
    target: str
    content: Any
    kind: ReplyKind = ReplyKind.REPLY


class _Stop:
    """The type of :data:`STOP`."""

    _instance: _Stop | None = None

    def __new__(cls) -> _Stop:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "nekohooks.messages.STOP"


STOP: Final = _Stop()

#: How :data:`STOP` crosses the pipe to and from an isolated plugin's process.
STOP_ON_THE_WIRE: Final = "\x00nekohooks.messages.STOP"
"""Return or yield this from a message handler to stop the message reaching lower-priority
handlers (it is not a reply). ``block=True`` on the decorator does the same whenever the
handler runs."""


def reply_record(reply: Reply) -> dict[str, Any]:
    """``reply`` as JSON-ready data (``neko say --json`` prints one per line; the control API's
    ``POST /v1/say`` streams the same records). Content that is not text is shown as text."""
    content = reply.content
    if not isinstance(content, str | int | float | bool) and content is not None:
        content = str(content)
    return {
        "plugin": reply.plugin,
        "handler": reply.handler,
        "target": reply.target,
        "kind": reply.kind.value,
        "content": content,
    }


_FIELDS = ("text", "origin", "sender", "platform", "channel", "sender_name", "kind", "id")


def message_from_json(body: object) -> Message:
    """The :class:`Message` a JSON object describes (``{"text": ..., "origin": ..., "sender":
    ..., "platform": ..., "roles": [...]}``), for ``POST /v1/say``.

    Raises ``ValueError`` naming the first field that is missing, unknown or not text.
    """
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    unknown = sorted(set(body) - {*_FIELDS, "roles"})
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (fields: {', '.join(_FIELDS)}, roles)")
    values: dict[str, Any] = {}
    for field in _FIELDS:
        value = body.get(field, "message" if field == "kind" else "")
        if not isinstance(value, str):
            raise ValueError(f"field {field!r} must be a string")
        values[field] = value
    roles = body.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise ValueError("field 'roles' must be a list of strings")
    return Message(**values, roles=frozenset(roles))
