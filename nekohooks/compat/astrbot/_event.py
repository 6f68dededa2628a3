"""AstrBot's message side: ``AstrMessageEvent``, ``MessageChain`` and its components.

An :class:`AstrMessageEvent` is made for each handler call from the nekohooks
:class:`~nekohooks.messages.Message`; its results (``plain_result`` ...) become the handler's replies.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any

from nekohooks.messages import Message

__all__ = [
    "AstrBotMessage",
    "AstrMessageEvent",
    "At",
    "EventResultType",
    "Image",
    "MessageChain",
    "MessageEventResult",
    "MessageMember",
    "MessageType",
    "Plain",
    "render",
]


class BaseMessageComponent:
    """A part of a message chain."""

    type = "Unknown"

    def text(self) -> str:
        return f"[{self.type}]"


class Plain(BaseMessageComponent):
    """Plain text."""

    type = "Plain"

    def __init__(self, text: str = "", convert: bool = True, **_: Any) -> None:
        self.text_ = str(text)

    def text(self) -> str:
        return self.text_

    def __repr__(self) -> str:
        return f"Plain({self.text_!r})"


class Image(BaseMessageComponent):
    """An image by URL or file path (shown as ``[Image: ...]`` where only text goes)."""

    type = "Image"

    def __init__(self, file: str = "", url: str = "", **_: Any) -> None:
        self.file = file or url
        self.url = url

    @classmethod
    def fromURL(cls, url: str, **_: Any) -> Image:
        return cls(url=url)

    @classmethod
    def fromFileSystem(cls, path: str, **_: Any) -> Image:
        return cls(file=str(path))

    def text(self) -> str:
        return f"[Image: {self.file}]"


class At(BaseMessageComponent):
    """A mention."""

    type = "At"

    def __init__(self, qq: str | int = "", name: str = "", **_: Any) -> None:
        self.qq = str(qq)
        self.name = name

    def text(self) -> str:
        return f"@{self.name or self.qq}"


class MessageChain:
    """A list of components; ``MessageChain().message("hi")`` appends text."""

    def __init__(self, chain: list[BaseMessageComponent] | None = None, **_: Any) -> None:
        self.chain: list[BaseMessageComponent] = list(chain or [])

    def message(self, text: str) -> MessageChain:
        self.chain.append(Plain(text))
        return self

    def at(self, name: str, qq: str | int) -> MessageChain:
        self.chain.append(At(qq=qq, name=name))
        return self

    def url_image(self, url: str) -> MessageChain:
        self.chain.append(Image.fromURL(url))
        return self

    def file_image(self, path: str) -> MessageChain:
        self.chain.append(Image.fromFileSystem(path))
        return self

    def get_plain_text(self) -> str:
        return " ".join(c.text() for c in self.chain if isinstance(c, Plain))

    def __str__(self) -> str:
        return "".join(c.text() for c in self.chain)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.chain!r})"


class EventResultType(enum.Enum):
    CONTINUE = enum.auto()
    STOP = enum.auto()


class MessageEventResult(MessageChain):
    """What ``event.plain_result(...)`` returns: a chain the handler yields."""

    def __init__(self, chain: list[BaseMessageComponent] | None = None, **kwargs: Any) -> None:
        super().__init__(chain, **kwargs)
        self.result_type = EventResultType.CONTINUE

    def stop_event(self) -> MessageEventResult:
        self.result_type = EventResultType.STOP
        return self

    def continue_event(self) -> MessageEventResult:
        self.result_type = EventResultType.CONTINUE
        return self

    def is_stopped(self) -> bool:
        return self.result_type is EventResultType.STOP


def render(value: Any) -> Any:
    """A handler's result as reply content: text when it is all text, else the chain."""
    if isinstance(value, MessageChain):
        if all(isinstance(c, Plain) for c in value.chain):
            return "".join(c.text() for c in value.chain)
        return value
    return value


class MessageType(enum.Enum):
    GROUP_MESSAGE = "GroupMessage"
    FRIEND_MESSAGE = "FriendMessage"
    OTHER_MESSAGE = "OtherMessage"


class MessageMember:
    def __init__(self, user_id: str, nickname: str = "") -> None:
        self.user_id = user_id
        self.nickname = nickname


class AstrBotMessage:
    """``event.message_obj``: the message as AstrBot's adapters describe it."""

    def __init__(self, message: Message, text: str) -> None:
        self.type = MessageType.GROUP_MESSAGE if message.channel else MessageType.FRIEND_MESSAGE
        self.self_id = "nekohooks"
        self.session_id = message.channel or message.sender
        self.message_id = message.id
        self.group_id = message.channel
        self.sender = MessageMember(message.sender, message.sender_name or message.sender)
        self.message: list[BaseMessageComponent] = [Plain(text)]
        self.message_str = text
        self.raw_message = message.raw
        self.timestamp = 0


Sender = Callable[[str, Any], Awaitable[bool]]


class AstrMessageEvent:
    """One message as an AstrBot handler sees it."""

    def __init__(self, message: Message, send: Sender) -> None:
        text = message.text.lstrip()
        self.message_str = text[1:] if text.startswith("/") else message.text  # no wake prefix
        self.message_obj = AstrBotMessage(message, self.message_str)
        self.role = "admin" if "admin" in message.roles else "member"
        self.is_wake = True
        self.is_at_or_wake_command = True
        self.call_llm = False
        self._message = message
        self._send = send
        self._extras: dict[str, Any] = {}
        self._stopped = False
        self._result: MessageEventResult | None = None

    @property
    def unified_msg_origin(self) -> str:
        if self._message.origin:
            return self._message.origin
        kind = self.message_obj.type.value
        return f"{self._message.platform or 'neko'}:{kind}:{self.message_obj.session_id}"

    @property
    def session_id(self) -> str:
        return self.message_obj.session_id

    def get_platform_name(self) -> str:
        return self._message.platform

    def get_platform_id(self) -> str:
        return self._message.platform

    def get_message_str(self) -> str:
        return self.message_str

    def get_message_outline(self) -> str:
        return self.message_str

    def get_messages(self) -> list[BaseMessageComponent]:
        return list(self.message_obj.message)

    def get_message_type(self) -> MessageType:
        return self.message_obj.type

    def get_session_id(self) -> str:
        return self.session_id

    def get_group_id(self) -> str:
        return self._message.channel

    def get_self_id(self) -> str:
        return self.message_obj.self_id

    def get_sender_id(self) -> str:
        return self._message.sender

    def get_sender_name(self) -> str:
        return self._message.sender_name or self._message.sender

    def set_extra(self, key: str, value: Any) -> None:
        self._extras[key] = value

    def get_extra(self, key: str | None = None, default: Any = None) -> Any:
        return self._extras if key is None else self._extras.get(key, default)

    def clear_extra(self) -> None:
        self._extras.clear()

    def is_private_chat(self) -> bool:
        return self._message.private

    def is_wake_up(self) -> bool:
        return True

    def is_admin(self) -> bool:
        return self.role == "admin"

    def stop_event(self) -> None:
        self._stopped = True

    def continue_event(self) -> None:
        self._stopped = False

    def is_stopped(self) -> bool:
        return self._stopped

    def should_call_llm(self, call_llm: bool) -> None:
        self.call_llm = call_llm

    def set_result(self, result: MessageEventResult | str) -> None:
        if isinstance(result, str):
            result = MessageEventResult().message(result)  # type: ignore[assignment]
        self._result = result  # type: ignore[assignment]

    def get_result(self) -> MessageEventResult | None:
        return self._result

    def clear_result(self) -> None:
        self._result = None

    def make_result(self) -> MessageEventResult:
        return MessageEventResult()

    def plain_result(self, text: str) -> MessageEventResult:
        return MessageEventResult([Plain(text)])

    def image_result(self, url_or_path: str) -> MessageEventResult:
        if url_or_path.startswith(("http://", "https://")):
            return MessageEventResult([Image.fromURL(url_or_path)])
        return MessageEventResult([Image.fromFileSystem(url_or_path)])

    def chain_result(self, chain: list[BaseMessageComponent]) -> MessageEventResult:
        return MessageEventResult(list(chain))

    async def send(self, message: MessageChain) -> None:
        """Send ``message`` to where this event came from, now."""
        await self._send(self.unified_msg_origin, message)
