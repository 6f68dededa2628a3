"""Recent log lines and messages per plugin, kept in memory for the console's plugin page."""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["PLUGIN_LOGGER", "RecentLines", "capture_recent", "recent_or_new"]

PLUGIN_LOGGER = "neko.plugin"  # each plugin logs to neko.plugin.<name> (ctx.logger)
MESSAGE_LOGGER = "nekohooks.messages"  # the host logs every ctx.send_message here


def _text(value: object, limit: int = 2000) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


class RecentLines(logging.Handler):
    """A logging handler that keeps the last ``keep`` log lines and messages of each plugin.

    Lines are plain data (time, level, text); the page shows them with ``textContent``, so a
    plugin that logs markup gets it shown as text.
    """

    def __init__(self, keep: int = 200) -> None:
        super().__init__(level=logging.DEBUG)
        self.keep = keep
        self._logs: dict[str, collections.deque[dict[str, Any]]] = {}
        self._messages: dict[str, collections.deque[dict[str, Any]]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.name == MESSAGE_LOGGER and isinstance(record.args, tuple):
                plugin, target, message = (*record.args, None, None, None)[:3]
                self._add(
                    self._messages,
                    str(plugin),
                    {"time": record.created, "target": _text(target), "text": _text(message)},
                )
                return
            plugin = record.name.removeprefix(PLUGIN_LOGGER + ".").split(".", 1)[0]
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                text += f" ({type(exc).__name__}: {exc})"
            self._add(
                self._logs,
                plugin,
                {"time": record.created, "level": record.levelname, "text": _text(text)},
            )
        except Exception:  # a logging handler must never raise into the plugin that logged
            self.handleError(record)

    def _add(
        self, table: dict[str, collections.deque[dict[str, Any]]], plugin: str, line: dict[str, Any]
    ) -> None:
        lines = table.get(plugin)
        if lines is None:
            lines = table[plugin] = collections.deque(maxlen=self.keep)
        lines.append(line)

    def logs(self, plugin: str) -> list[dict[str, Any]]:
        """The plugin's recent log lines, oldest first."""
        return list(self._logs.get(plugin, ()))

    def messages(self, plugin: str) -> list[dict[str, Any]]:
        """The plugin's recent ``ctx.send_message`` messages, oldest first."""
        return list(self._messages.get(plugin, ()))


@contextmanager
def capture_recent(handler: RecentLines | None = None) -> Iterator[RecentLines]:
    """Attach ``handler`` (default: a new :class:`RecentLines`) to the plugin and message
    loggers for the block."""
    handler = handler or RecentLines()
    loggers = [logging.getLogger(PLUGIN_LOGGER), logging.getLogger(MESSAGE_LOGGER)]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def recent_or_new() -> RecentLines:
    """The :class:`RecentLines` already capturing (``neko run`` attaches one before plugins
    start, so their start-up lines are kept), or a new one."""
    for handler in logging.getLogger(PLUGIN_LOGGER).handlers:
        if isinstance(handler, RecentLines):
            return handler
    return RecentLines()
