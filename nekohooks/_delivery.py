"""Message delivery: a plugin's ``ctx.send_message`` goes to transport hooks, else the sink.

``neko_deliver_message`` implementations (the host application's, or a transport plugin's) are
tried newest first; the first that returns true has delivered it. A hook that raises is logged
and the next one tried. When none delivers, the host's message sink gets the message (``neko
run`` logs it).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["MessageSink", "deliver_message", "log_message"]

log = logging.getLogger("nekohooks.host")
message_log = logging.getLogger("nekohooks.messages")

MessageSink = Callable[[str, str, Any], Any]
"""``sink(plugin, target, message)``, sync or async: where undelivered messages go."""


def log_message(plugin: str, target: str, message: Any) -> None:
    """The default message sink: log the message (``neko run`` shows the log on stdout)."""
    message_log.info("[%s → %s] %s", plugin, target, message)


async def deliver_message(
    pm: pluggy.PluginManager, sink: MessageSink, plugin: str, target: str, message: Any
) -> None:
    """Try each ``neko_deliver_message`` hook, newest first, then ``sink``.

    Cancellation: cancelling it cancels the hook or sink being awaited; the message may or may
    not have been delivered.
    """
    for impl in reversed(pm.hook.neko_deliver_message.get_hookimpls()):
        try:
            result = impl.function(plugin=plugin, target=target, message=message)
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            log.exception("message transport %r failed", impl.plugin_name)
            continue
        if result:
            return
    result = sink(plugin, target, message)
    if inspect.isawaitable(result):
        await result
