"""Messages in, replies out: the public face of commands and chat handlers.

Plugins mark handlers with :func:`command`, :func:`on_message` and :func:`on_event` and receive
a :class:`Message`; hosts and chat adapters pass one to ``host.dispatch`` and read
:class:`Reply` records back. See the README section "Messages in, replies out".
"""

from ._commands import Rest
from ._handlers import HandlerKind, HandlerSpec, command, on_event, on_message
from ._messages import STOP, Message, Reply, ReplyKind, message_from_json, reply_record
from ._public import publish

__all__ = [
    "STOP",
    "HandlerKind",
    "HandlerSpec",
    "Message",
    "Reply",
    "ReplyKind",
    "Rest",
    "command",
    "message_from_json",
    "on_event",
    "on_message",
    "reply_record",
]

publish(__name__, globals(), __all__)
