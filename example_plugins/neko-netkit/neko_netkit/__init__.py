"""The AstrBot "async tasks and network requests" examples, ported to nekohooks.

Each seed command becomes an entry. The plugin's own ``ctx.http`` client replaces a fresh
``aiohttp.ClientSession`` per call; ``nekohooks.retry`` replaces the hand-written retry loop;
``ctx.download`` replaces ``os.path.join("data", "downloads", filename)``, which let
``../../x`` escape and had no size limit. Results are returned instead of ``yield
event.plain_result(...)``; errors are mapped to the same user-facing texts.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import trio

from nekohooks import NekoError, NekoPluginBase, neko_plugin, plugin_entry, retry

#: What a request can raise: httpx's errors, and ``InvalidURL``, which is not one of them.
NETWORK_ERRORS = (httpx.HTTPError, httpx.InvalidURL)


def _describe(exc: Exception) -> str:
    """The seed's error mapping (``safe_network_operation``), as text for the user."""
    if isinstance(exc, httpx.InvalidURL):
        return f"invalid URL: {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return "request timed out"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP error: {exc.response.status_code}"
    if isinstance(exc, httpx.RequestError):
        return f"network error: {exc}"
    if isinstance(exc, json.JSONDecodeError):
        return "JSON parse error"
    return f"unknown error: {exc}"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@neko_plugin
class NetKit(NekoPluginBase):
    """HTTP helpers for chat users: fetch, post, retry, fetch many, download."""

    @plugin_entry(id="fetch", description="GET a URL; pretty JSON or the first 500 characters")
    async def fetch(self, url: str, **_: Any) -> str:
        try:
            response = await self.ctx.http.get(url, timeout=10)
        except NETWORK_ERRORS as exc:
            return _describe(exc)
        if response.status_code != 200:
            return f"request failed: HTTP {response.status_code}"
        if "application/json" in response.headers.get("content-type", ""):
            text = json.dumps(response.json(), indent=2, ensure_ascii=False)
            return f"JSON data: {text[:500]}"
        return f"response: {response.text[:500]}"

    @plugin_entry(id="post", description="POST a JSON document given as text")
    async def post(self, url: str, data: str, **_: Any) -> str:
        try:
            payload = json.loads(data, parse_constant=_no_constants)
        except ValueError:  # JSONDecodeError, or NaN / Infinity, which JSON does not have
            return "invalid data: please provide valid JSON"
        try:
            response = await self.ctx.http.post(url, json=payload, timeout=10)
        except NETWORK_ERRORS as exc:
            return f"request failed: {_describe(exc)}"
        return f"POST response: {response.text[:500]}"

    @plugin_entry(id="httpx_get", description="GET with httpx; the first 500 characters")
    async def httpx_get(self, url: str, **_: Any) -> str:
        try:
            response = await self.ctx.http.get(url, timeout=10)
        except httpx.TimeoutException:
            return "request timed out"
        except (httpx.RequestError, httpx.InvalidURL) as exc:
            return f"request error: {exc}"
        if response.status_code == 200:
            return f"response: {response.text[:500]}"
        return f"request failed: {response.status_code}"

    @retry(attempts=3, initial=1.0)
    async def request_with_retry(self, url: str) -> Any:
        """GET JSON, retried on network errors, timeouts, 429 and 5xx with backoff."""
        response = await self.ctx.http.get(url, timeout=10)
        response.raise_for_status()
        return response.json()

    @plugin_entry(id="retry_fetch", description="GET JSON with retries and exponential backoff")
    async def retry_fetch(self, url: str, **_: Any) -> str:
        try:
            data = await self.request_with_retry(url)
        except (*NETWORK_ERRORS, json.JSONDecodeError) as exc:
            return f"request failed: {_describe(exc)}"
        return f"data: {json.dumps(data, indent=2, ensure_ascii=False)[:500]}"

    @plugin_entry(id="concurrent_fetch", description="GET several URLs at once; count successes")
    async def concurrent_fetch(self, urls: list[str], **_: Any) -> dict[str, Any]:
        failures: dict[str, str] = {}

        async def one(url: str) -> None:
            try:
                response = await self.ctx.http.get(url)
                response.raise_for_status()
                response.json()
            except (*NETWORK_ERRORS, json.JSONDecodeError) as exc:
                failures[url] = _describe(exc)
                self.ctx.logger.error("URL %s failed: %s", url, exc)

        async with trio.open_nursery() as nursery:
            for url in urls:
                nursery.start_soon(one, url)
        ok = len(urls) - len(failures)
        return {"summary": f"done, succeeded: {ok}/{len(urls)}", "failures": failures}

    @plugin_entry(id="download", description="Download a file into this plugin's data folder")
    async def download(self, url: str, filename: str, **_: Any) -> str:
        try:
            path = await self.ctx.download(url, filename, max_bytes=50 << 20)
        except NekoError as exc:
            return f"download failed: {exc}"
        return f"file downloaded: {path.name}"
