"""Quote feed: a N.E.K.O SDK v2 plugin written for the nekohooks tests.

It fetches with urllib in asyncio.to_thread (as published plugins do), keeps its source in
the config API, pushes parts with inline bytes, offers an LLM tool, and describes itself
with tr() keys from its locale files.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

from plugin.sdk.plugin import (
    Err,
    NekoPluginBase,
    Ok,
    SdkError,
    llm_tool,
    neko_plugin,
    plugin_entry,
    tr,
)

PIXEL = b"\x89PNG\r\n\x1a\n"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


@neko_plugin
class QuoteFeed(NekoPluginBase):
    @plugin_entry(
        id="set_source",
        description=tr("entry.set_source", default="Set the source"),
        input_schema={
            "type": "object",
            "properties": {"url": {"type": "string", "description": tr("field.url")}},
            "required": ["url"],
        },
    )
    async def set_source(self, url: str, **_):
        if not url.startswith("http://"):
            return Err(SdkError(f"not an http:// URL: {url!r}", code="BAD_URL"))
        await self.config.set("feed.url", url)
        return Ok({"url": await self.config.get_str("feed.url")})

    @plugin_entry(id="fetch", description=tr("entry.fetch"), timeout=10)
    async def fetch(self, **_):
        url = await self.config.get_str("feed.url", "")
        if not url:
            return Err({"code": "NO_SOURCE", "message": self.i18n.t("error.no_source")})
        try:
            quote = json.loads(await asyncio.to_thread(_get, url))
        except (OSError, ValueError) as exc:
            return Err(SdkError(f"the feed failed: {exc}", code="FETCH_FAILED"))
        receipt = self.push_message(
            source="quote_feed",
            visibility=["chat"],
            ai_behavior="read",
            coalesce_key="quote",
            parts=[
                {"type": "text", "text": quote["text"]},
                {"type": "image", "data": PIXEL, "mime": "image/png"},
            ],
        )
        return Ok({"text": quote["text"], "submitted": receipt["submitted"]})

    @llm_tool(
        name="quote.today",
        description="The quote of the day, for the model",
        parameters={
            "type": "object",
            "properties": {"lang": {"type": "string", "enum": ["en", "zh-CN"]}},
        },
    )
    async def quote_today(self, lang: str = "en", **_):
        return {"output": self.i18n.t("entry.fetch", locale=lang)}
