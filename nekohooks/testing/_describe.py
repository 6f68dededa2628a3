"""How violations show what broke: an example's arguments, an op sequence, an error, a span."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["describe_error", "duration", "json_ok", "show", "show_ops"]


def describe_error(exc: BaseException) -> str:
    """``ZeroDivisionError: division by zero``."""
    return f"{type(exc).__name__}: {exc}"


def json_ok(value: Any) -> bool:
    """True if ``value`` is JSON (no NaN, no arbitrary objects)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def show(args: dict[str, Any]) -> str:
    """``(**{...})``, cut at 200 characters."""
    text = repr(args)
    return f"(**{text if len(text) <= 200 else text[:200] + '...'})"


def show_ops(ops: list[tuple[str, Any]]) -> str:
    """``start, call e(**{...}), advance 60s, restart, stop``."""
    parts = []
    for kind, value in ops:
        if kind == "call":
            parts.append(f"call {value[0]}{show(value[1])}")
        elif kind == "advance":
            parts.append(f"advance {value:g}s")
        else:
            parts.append(kind)
    return "start, " + ", ".join([*parts, "stop"])


def duration(seconds: float) -> str:
    """``3 days`` or ``90s``."""
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds:g}s"
