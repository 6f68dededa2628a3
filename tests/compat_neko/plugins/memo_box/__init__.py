"""Memo box: a N.E.K.O SDK v2 plugin written for the nekohooks tests.

It uses the SDK the way published plugins do: lifecycle hooks, the async store, push_message
in both keyword forms, a timer, file logging, Err with a code, and imports of its own modules
both relative and absolute.
"""

from __future__ import annotations

import time

from plugin.plugins.memo_box._format import MAX_TEXT
from plugin.sdk.plugin import (
    Err,
    NekoPluginBase,
    Ok,
    SdkError,
    lifecycle,
    neko_plugin,
    plugin_entry,
    timer_interval,
)

from ._format import note_line


@neko_plugin
class MemoBox(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.file_logger = self.enable_file_logging(log_level="INFO")
        self.logger = self.file_logger
        self.limit = 10

    @lifecycle(id="startup")
    async def startup(self, **_):
        boots = (await self.store.get("boots", 0)).unwrap() + 1
        await self.store.set("boots", boots)
        self.limit = await self.config.get_int("memo.max_notes", 10)
        self.logger.info("memo box started {} time(s), limit {}", boots, self.limit)
        self.push_message(
            source="memo_box",
            message_type="proactive_notification",
            description="memo box is up",
            content=f"memo box started ({boots})",
            priority=1,
        )
        return Ok({"boots": boots})

    @lifecycle(id="shutdown")
    async def shutdown(self, **_):
        self.push_message(
            source="memo_box",
            visibility=["hud"],
            ai_behavior="blind",
            parts=[{"type": "text", "text": "memo box stopped"}],
        )
        return Ok(None)

    @plugin_entry(
        id="add",
        name="Add a note",
        description="Keep a note, due now or in some seconds",
        input_schema={
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
                "due_in": {"type": "integer", "minimum": 0, "maximum": 86400, "default": 0},
            },
            "required": ["text"],
            "additionalProperties": False,
        },
    )
    async def add(self, text: str, due_in: int = 0, **_):
        keys = (await self.store.keys("note:")).unwrap()
        if len(keys) >= self.limit:
            return Err(SdkError(f"the box holds {self.limit} notes", code="BOX_FULL"))
        number = (await self.store.get("next", 1)).unwrap()
        key = f"note:{number:04d}"
        await self.store.set(key, {"text": text, "due": time.time() + due_in})
        await self.store.set("next", number + 1)
        return Ok({"id": key, "count": len(keys) + 1})

    @plugin_entry(id="notes", description="Every note, oldest first")
    async def notes(self, **_):
        stored = (await self.store.dump()).unwrap()
        return Ok([note_line(k, v) for k, v in sorted(stored.items()) if k.startswith("note:")])

    @plugin_entry(
        id="forget",
        description="Forget one note",
        input_schema={
            "type": "object",
            "properties": {"id": {"type": "string"}},
            "required": ["id"],
        },
    )
    async def forget(self, id: str, **_):
        if not (await self.store.delete(id)).unwrap():
            return Err({"code": "NOT_FOUND", "message": f"no note {id!r}"})
        return Ok({"forgotten": id})

    @timer_interval(id="deliver_due", seconds=60, name="Deliver due notes")
    async def deliver_due(self, **_):
        stored = (await self.store.dump()).unwrap()
        sent = 0
        for key, note in sorted(stored.items()):
            if key.startswith("note:") and note["due"] <= time.time():
                self.push_message(
                    source="memo_box",
                    content=note["text"],
                    metadata={"note": key},
                    priority=5,
                )
                await self.store.delete(key)
                sent += 1
        return Ok({"sent": sent})
