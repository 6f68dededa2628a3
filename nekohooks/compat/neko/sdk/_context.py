"""``self.ctx`` of a N.E.K.O plugin running on nekohooks: its id, metadata, logger and messages."""

# ruff: noqa: ASYNC109  (N.E.K.O's API takes timeout=)

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._logger import SdkLogger
from ._push import build_message
from ._unsupported import Unsupported

if TYPE_CHECKING:
    from .._runtime import Runtime

__all__ = ["SdkContext"]


class _Images:
    """``ctx.images``: an upload is the inline image part (nekohooks has no media host)."""

    async def upload(
        self, data: bytes, *, mime: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        if not isinstance(data, bytes | bytearray) or not data:
            raise ValueError("image data must be non-empty bytes")
        return {"type": "image", "data": bytes(data), "mime": mime or "image/png"}


class SdkContext:
    """The context a N.E.K.O plugin's constructor receives."""

    def __init__(self, runtime: Runtime, logger: SdkLogger) -> None:
        self._runtime = runtime
        self.plugin_id = runtime.manifest.id
        self.logger = logger
        self.config_path: Path = runtime.ctx.config_path
        self.images = _Images()
        self.status: dict[str, Any] = {}
        self.bus = Unsupported("ctx.bus", "the plugin bus")

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The ``[plugin]`` table of ``plugin.toml``."""
        return dict(self._runtime.manifest.metadata)

    def push_message(self, **kwargs: Any) -> dict[str, Any]:
        """Send a message (keyword form); returns ``{"submitted": bool, "message_id": ...}``.

        Raises ``ValidationError`` for a malformed message; never blocks: the message is
        queued and sent by the plugin's outbox task in order.
        """
        target, message = build_message(self.plugin_id, **kwargs)
        message_id = uuid.uuid4().hex
        message["message_id"] = message_id
        if not self._runtime.post(target, message):
            return {"submitted": False, "reason": "not delivered: outbox full or plugin stopped"}
        return {"submitted": True, "message_id": message_id}

    def update_status(self, status: Mapping[str, Any]) -> None:
        """Remember the plugin's self-reported status (logged at debug level)."""
        self.status = dict(status)
        self.logger.debug("status: {}", self.status)
