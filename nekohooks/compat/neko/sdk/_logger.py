"""A logger with N.E.K.O's (loguru's) ``{}`` formatting, on top of the plugin's stdlib logger.

``logger.info("{} reminders, tz={}", n, tz)`` formats with ``str.format``; text that does not
format (stray braces) is logged as written, with the arguments appended.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["SdkLogger"]

_LEVELS = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "SUCCESS": 25,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}


def level_number(level: str) -> int:
    """The stdlib level for a N.E.K.O level name; ``ValueError`` for an unknown one."""
    try:
        return _LEVELS[level.strip().upper()]
    except KeyError:
        raise ValueError(f"invalid log level: {level!r}") from None


class SdkLogger:
    """``debug`` … ``critical``, ``success``, ``trace`` and ``exception`` with ``{}`` formatting."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def log(self, level: int | str, message: object, *args: Any, **kwargs: Any) -> None:
        number = level if isinstance(level, int) else level_number(level)
        if not self.logger.isEnabledFor(number):
            return
        exc_info = kwargs.pop("exc_info", None)
        text = str(message)
        if args or kwargs:
            try:
                text = text.format(*args, **kwargs)
            except (IndexError, KeyError, ValueError, AttributeError):
                text = " ".join([text, *map(str, args)])
        self.logger.log(number, "%s", text, exc_info=exc_info, stacklevel=3)

    def trace(self, message: object, *args: Any, **kwargs: Any) -> None:
        self.log(5, message, *args, **kwargs)

    def debug(self, message: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.DEBUG, message, *args, **kwargs)

    def info(self, message: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.INFO, message, *args, **kwargs)

    def success(self, message: object, *args: Any, **kwargs: Any) -> None:
        self.log(25, message, *args, **kwargs)

    def warning(self, message: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.WARNING, message, *args, **kwargs)

    warn = warning

    def error(self, message: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.ERROR, message, *args, **kwargs)

    def critical(self, message: object, *args: Any, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, message, *args, **kwargs)

    def exception(self, message: object, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, message, *args, **kwargs)

    def bind(self, **_: Any) -> SdkLogger:
        """loguru's ``bind``: context is not kept; the same logger is returned."""
        return self

    def opt(self, **_: Any) -> SdkLogger:
        """loguru's ``opt``: options are ignored; the same logger is returned."""
        return self


class _Forward(logging.Handler):
    """Passes records on to ``parent`` only at the levels ``parent`` itself logs."""

    def __init__(self, parent: logging.Logger) -> None:
        super().__init__()
        self.parent = parent

    def emit(self, record: logging.LogRecord) -> None:
        if self.parent.isEnabledFor(record.levelno):
            self.parent.handle(record)


def file_logger(
    parent: logging.Logger, path: Path, level: str, max_bytes: int | None, backups: int | None
) -> tuple[logging.Logger, list[logging.Handler]]:
    """A child of ``parent`` that writes ``level`` and above to ``path`` (rotating) and passes
    on to ``parent`` only what ``parent`` logs anyway; returns it and its two handlers."""
    from logging.handlers import RotatingFileHandler

    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = RotatingFileHandler(
        path, maxBytes=max_bytes or 5 << 20, backupCount=backups or 3, encoding="utf-8"
    )
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    child = parent.getChild("file")
    child.setLevel(level_number(level))
    child.propagate = False
    forward = _Forward(parent)
    child.addHandler(to_file)
    child.addHandler(forward)
    return child, [to_file, forward]
