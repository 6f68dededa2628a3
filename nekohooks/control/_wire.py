"""Errors on the wire: a nekohooks error becomes a status and ``{"error": {...}}``, and back.

Every error response of the control API has the body::

    {"error": {"type": "EntryNotFound", "message": "...", "plugin": ..., "entry": ..., "phase": ...}}

``type`` is the nekohooks error class (or an HTTP-level type such as ``BadRequest``,
``Unauthorized``, ``ForbiddenHost``, ``BodyTooLarge``); the client rebuilds the same class.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from .. import _errors as errors
from .._errors import (
    EntryFailed,
    EntryNotFound,
    EntryTimeout,
    InvalidArguments,
    NekoError,
    PluginError,
    PluginLoadError,
    PluginUnavailable,
)

__all__ = ["ControlError", "dumps", "error_body", "error_status", "raise_error"]

#: The most specific class first.
_STATUS: tuple[tuple[type[NekoError], int], ...] = (
    (InvalidArguments, 422),
    (EntryNotFound, 404),
    (PluginUnavailable, 503),
    (EntryTimeout, 504),
    (EntryFailed, 502),
    (PluginLoadError, 409),
    (PluginError, 409),
)


class ControlError(NekoError):
    """The control API refused a request for a reason of its own (HTTP level: a malformed
    body, a missing token, a foreign Host, a body too large, an unknown route, ...).

    ``.status`` is the HTTP status, ``.type`` the error type the server named.
    """

    def __init__(self, status: int, type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type = type


def dumps(value: Any) -> bytes:
    """Compact JSON; values JSON cannot hold (sets, paths, ...) as their ``str``."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":")).encode()


def error_status(exc: NekoError) -> int:
    """The HTTP status for a nekohooks error."""
    if isinstance(exc, ControlError):
        return exc.status
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_body(exc: NekoError) -> dict[str, Any]:
    """``{"error": {...}}`` for a nekohooks error."""
    return {
        "error": {
            "type": exc.type if isinstance(exc, ControlError) else type(exc).__name__,
            "message": str(exc),
            "plugin": getattr(exc, "plugin", None),
            "entry": getattr(exc, "entry", None),
            "phase": getattr(exc, "phase", None),
            "code": getattr(exc, "code", None),  # an EntryFailed's code, as the plugin gave it
        }
    }


def raise_error(status: int, body: object) -> NoReturn:
    """Raise the error an error response describes: the same nekohooks class when the server
    named one (``EntryNotFound``, ``PluginUnavailable``, ...), else :class:`ControlError`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise ControlError(status, "HTTPError", f"HTTP {status}: {str(body)[:200]}")
    kind = str(error.get("type", "HTTPError"))
    message = str(error.get("message", ""))
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, NekoError)) or kind == "NekoError":
        raise ControlError(status, kind, message)
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    for attr in ("plugin", "entry", "phase", "code"):
        if error.get(attr) is not None or attr == "plugin":
            setattr(exc, attr, error.get(attr))
    prefix = f"plugin {error.get('plugin')!r}: "
    exc.detail = message.removeprefix(prefix)  # type: ignore[attr-defined]
    raise exc
