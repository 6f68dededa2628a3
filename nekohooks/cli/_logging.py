"""Where the ``neko`` command's log goes: stderr or a file, as text lines or one JSON object a line."""

from __future__ import annotations

import datetime
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

__all__ = ["LOG_FORMAT", "JsonFormatter", "log_handler", "setup_logging"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Loggers whose records are about one plugin: ``neko.plugin.<name>`` (``ctx.logger``).
_PLUGIN_LOGGER = "neko.plugin."


def record_plugin(record: logging.LogRecord) -> str | None:
    """The plugin a record is about: its ``plugin`` extra, else a plugin logger's name."""
    plugin = getattr(record, "plugin", None)
    if plugin is None and record.name.startswith(_PLUGIN_LOGGER):
        plugin = record.name[len(_PLUGIN_LOGGER) :]
    return None if plugin is None else str(plugin)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``plugin``, ``phase``, ``message`` and ``exception`` (the traceback, or null)."""

    def format(self, record: logging.LogRecord) -> str:
        exception = None
        if record.exc_info and record.exc_info[1] is not None:
            exception = "".join(traceback.format_exception(record.exc_info[1])).rstrip()
        phase = getattr(record, "phase", None)
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "plugin": record_plugin(record),
            "phase": None if phase is None else str(phase),
            "message": record.getMessage(),
            "exception": exception,
        }
        return json.dumps(line, ensure_ascii=False, default=str)


def log_handler(log_file: Path | None = None, log_format: str = "text") -> logging.Handler:
    """A handler writing to ``log_file`` (appending) or stderr, as text or JSON lines."""
    handler: logging.Handler
    if log_file is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler


def setup_logging(
    verbose: int, *, default: int = logging.WARNING, handler: logging.Handler | None = None
) -> None:
    """Log lines on stderr (or ``handler``); each ``-v`` lowers the threshold one level.

    The threshold is set on the handler too, so code that lowers a logger's level to capture
    records (the contract kit does) does not spill them onto the terminal.
    """
    level = max(logging.DEBUG, default - 10 * verbose)
    if handler is None:
        handler = log_handler()
    handler.setLevel(level)
    logging.basicConfig(level=level, handlers=[handler], force=True)
