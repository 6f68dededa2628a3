"""``push_message``: N.E.K.O's keyword form, old and new, turned into one message dict.

The message has ``source``, ``priority``, ``visibility`` (``chat``/``hud``), ``ai_behavior``
(``respond``/``read``/``blind``), ordered ``parts`` (``{"type": "text", "text": ...}``, media
with ``url`` or inline bytes as ``binary_base64``, ``ui_action``), ``coalesce_key`` and
``metadata``. The older ``message_type``/``content``/``description``/``binary_*`` keywords
map onto it. It is delivered with ``ctx.send_message(target, message)``, the target being
``target_lanlan`` or ``"neko"``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ._result import ValidationError

__all__ = ["DEFAULT_TARGET", "build_message"]

DEFAULT_TARGET = "neko"
VISIBILITY = ("chat", "hud")
AI_BEHAVIOR = ("respond", "read", "blind")
_DELIVERY = {"proactive": ([], "respond"), "passive": ([], "read"), "silent": (["hud"], "blind")}


def _media_type(mime: str | None) -> str:
    kind = (mime or "").split("/", 1)[0].lower()
    return kind if kind in ("audio", "video") else "image"


def _part(part: object) -> dict[str, Any]:
    if not isinstance(part, Mapping):
        raise ValidationError(f"push_message parts must be dicts, got {type(part).__name__}")
    out = dict(part)
    data = out.pop("data", None)
    if data is not None:
        if not isinstance(data, bytes | bytearray):
            raise ValidationError("push_message part 'data' must be bytes")
        out["binary_base64"] = base64.b64encode(bytes(data)).decode("ascii")
    return out


def _axes(
    visibility: object, ai_behavior: object, delivery: object, reply: object
) -> tuple[list[str], str]:
    if visibility is None and ai_behavior is None:
        if isinstance(delivery, str) and delivery in _DELIVERY:
            seen, behaviour = _DELIVERY[delivery]
            return list(seen), behaviour
        flag = delivery if isinstance(delivery, bool) else reply
        if isinstance(flag, bool):
            return ([], "respond") if flag else (["hud"], "blind")
        return [], "respond"
    shown: list[str] = []
    if visibility is not None:
        if not isinstance(visibility, Sequence) or isinstance(visibility, str):
            raise ValidationError("push_message visibility must be a list of 'chat'/'hud'")
        for item in visibility:
            if item not in VISIBILITY:
                raise ValidationError(f"push_message visibility {item!r} is not one of chat, hud")
            if item not in shown:
                shown.append(item)
    behaviour = "respond" if ai_behavior is None else str(ai_behavior)
    if behaviour not in AI_BEHAVIOR:
        raise ValidationError(
            f"push_message ai_behavior {behaviour!r} is not one of {', '.join(AI_BEHAVIOR)}"
        )
    return shown, behaviour


def build_message(plugin_id: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    """``(target, message)`` for one ``push_message(**kw)`` call; ``ValidationError`` if malformed."""
    visibility, behaviour = _axes(
        kw.get("visibility"), kw.get("ai_behavior"), kw.get("delivery"), kw.get("reply")
    )
    parts_in = kw.get("parts")
    parts: list[dict[str, Any]] = []
    if parts_in is not None:
        if not isinstance(parts_in, Sequence) or isinstance(parts_in, str | bytes):
            raise ValidationError("push_message parts must be a list of dicts")
        parts = [_part(p) for p in parts_in]
    else:
        if kw.get("content") is not None:
            parts.append({"type": "text", "text": str(kw["content"])})
        mime = kw.get("mime")
        if kw.get("binary_data") is not None:
            parts.append(
                _part(
                    {
                        "type": _media_type(mime),
                        "data": kw["binary_data"],
                        "mime": mime or "application/octet-stream",
                    }
                )
            )
        elif kw.get("binary_url") is not None:
            parts.append({"type": _media_type(mime), "url": str(kw["binary_url"]), "mime": mime})
    metadata_in = kw.get("metadata")
    metadata = dict(metadata_in) if isinstance(metadata_in, Mapping) else {}
    if kw.get("description") is not None:
        metadata.setdefault("description", str(kw["description"]))
    message_type = kw.get("message_type")
    if message_type is not None:
        metadata.setdefault("message_type", str(message_type))
    priority = kw.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValidationError(f"push_message priority must be an int, got {priority!r}")
    target = kw.get("target_lanlan")
    message = {
        "source": str(kw.get("source") or plugin_id),
        "plugin": plugin_id,
        "priority": priority,
        "visibility": visibility,
        "ai_behavior": behaviour,
        "parts": parts,
        "coalesce_key": kw.get("coalesce_key") if isinstance(kw.get("coalesce_key"), str) else "",
        "metadata": metadata,
    }
    return (str(target) if target else DEFAULT_TARGET), message
