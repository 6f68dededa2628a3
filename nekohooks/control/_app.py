"""The control API's routes: one Starlette app over a running :class:`~nekohooks.Host`.

Routes (all JSON, see ``ROUTES.md`` beside this file for every body)::

    GET  /v1/healthz                      GET  /v1/plugins          GET /v1/plugins/{name}
    POST /v1/plugins/{name}/{enable|disable|restart|reload}         POST /v1/rescan
    POST /v1/call/{plugin}.{entry}        GET  /v1/schema           GET /v1/events
    GET  /metrics

Handlers only translate: the work is the host's (calls, status) and :class:`Live`'s (table
changes). Any nekohooks error becomes its status and ``{"error": {...}}``; a request the
routes do not know, a malformed body or a wrong method too.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, cast

import trio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from .._errors import EntryNotFound, NekoError, PluginUnavailable
from .._host import Host
from .._records import plugin_detail, plugin_record, plugin_records
from .._schema import tool_definitions
from ._live import Live
from ._metrics import CONTENT_TYPE, Metrics
from ._wire import ControlError, dumps, error_body, error_status

__all__ = ["create_app"]

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
#: An idle event stream sends an SSE comment this often, so a vanished client is noticed.
KEEPALIVE = 15.0
#: A plain call starts watching for its client's disconnect after this long (seconds):
#: waiting on the server's receive queue costs more than a quick call itself.
WATCH_AFTER = 0.05
_HTTP_TYPES = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "BodyTooLarge",
}
_ACTIONS = ("enable", "disable", "restart", "reload")


class JSON(Response):
    """A JSON response rendered with :func:`~._wire.dumps` (``str`` for what JSON cannot hold)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def _error(exc: NekoError) -> JSON:
    return JSON(error_body(exc), status_code=error_status(exc))


class _Streamed(Response):
    """A response whose body is produced by an async iterator of chunks.

    Unlike a plain streaming response it owns the iterator: a client that disconnects cancels
    the producer at once (a watcher task reads ``http.disconnect``), and the iterator is
    closed before the response returns, so the entry's generator is finished (its
    ``finally`` run) before the request ends, not when the garbage collector gets to it.
    """

    def __init__(self, chunks: AsyncGenerator[bytes, None], media_type: str) -> None:
        self.chunks = chunks
        self.background = None
        self.raw_headers = [
            (b"content-type", media_type.encode()),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            try:
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                async for chunk in self.chunks:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            finally:
                with trio.CancelScope(shield=True):
                    await self.chunks.aclose()
            nursery.cancel_scope.cancel()


async def _cancel_on_disconnect(
    receive: Any, scope: trio.CancelScope, *, after: float = 0.0
) -> None:
    if after:  # most calls are over by then: they never wait on the server's queue
        await trio.sleep(after)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


async def _until_disconnect(request: Request, fn: Callable[[], Awaitable[Any]]) -> Any:
    """``await fn()``, cancelled if the client disconnects first; then :data:`GONE` is
    returned (there is no one left to answer). ``fn``'s own error is raised as it is."""
    value: Any = GONE
    error: Exception | None = None
    async with trio.open_nursery() as nursery:
        watch = functools.partial(_cancel_on_disconnect, after=WATCH_AFTER)
        nursery.start_soon(watch, request.receive, nursery.cancel_scope)
        try:
            value = await fn()
        except Exception as exc:  # raised below, outside the nursery: not in a group
            error = exc
        nursery.cancel_scope.cancel()
    if error is not None:
        raise error
    return value


async def _arguments(request: Request) -> dict[str, Any]:
    """The call's arguments: the body as a JSON object (empty body: no arguments)."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ControlError(400, "BadRequest", f"body is not UTF-8: {exc}") from None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ControlError(400, "BadRequest", f"body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ControlError(
            400, "BadRequest", f"arguments must be a JSON object, got {type(value).__name__}"
        )
    return value


def _wants_stream(request: Request) -> str | None:
    accept = request.headers.get("accept", "")
    if SSE in accept:
        return SSE
    if NDJSON in accept:
        return NDJSON
    return None


def _sse(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head.encode() + b"data: " + dumps(data) + b"\n\n"


def create_app(host: Host, live: Live, metrics: Metrics) -> Starlette:
    """The control API for ``host``: an ASGI app (wrap it in a :class:`~._guard.Guard`)."""

    async def healthz(request: Request) -> Response:
        return JSON(
            {"ok": True, "version": __version__, "pid": os.getpid(), "python": sys.executable}
        )

    async def plugins(request: Request) -> Response:
        return JSON(plugin_records(host, live.state))

    async def plugin(request: Request) -> Response:
        return JSON(plugin_detail(host, request.path_params["name"], live.state))

    async def action(request: Request) -> Response:
        name = request.path_params["name"]
        verb = request.path_params["action"]
        if verb not in _ACTIONS:
            raise HTTPException(404, f"no action {verb!r} (actions: {', '.join(_ACTIONS)})")
        host.status(name)  # unknown plugin: 404 before anything changes
        await getattr(live, verb)(name)
        return JSON(plugin_record(host, name, live.state))

    async def rescan(request: Request) -> Response:
        added, removed = await live.rescan()
        return JSON({"added": added, "removed": removed})

    async def schema(request: Request) -> Response:
        return JSON(tool_definitions(host.entries()))

    async def call(request: Request) -> Response:
        target = request.path_params["target"]
        arguments = await _arguments(request)
        mode = _wants_stream(request)
        if mode is not None:
            return await _stream(target, arguments, mode)
        started = time.perf_counter()
        error: NekoError | None = None
        try:
            result = await _until_disconnect(request, lambda: host.call(target, **arguments))
        except (PluginUnavailable, EntryNotFound) as exc:
            error = _explain(exc)
            if error is exc:
                raise
            raise error from exc
        except NekoError as exc:
            error = exc
            raise
        finally:
            _observe(target, time.perf_counter() - started, error)
        if result is GONE:
            return Response(status_code=499)  # nginx's "client closed request": unsent
        try:
            return JSON({"result": result})
        except (TypeError, ValueError) as exc:  # circular, NaN, ...
            raise ControlError(
                502, "ResultNotJSON", f"{target} returned a value JSON cannot hold: {exc}"
            ) from None

    def _observe(target: str, seconds: float, error: NekoError | None) -> None:
        try:
            address, _ = host.entry(target)
        except NekoError:
            return  # no label for names that do not exist (hostile requests make many)
        metrics.observe(address.plugin, address.entry, seconds, error)

    async def _stream(target: str, arguments: dict[str, Any], mode: str) -> Response:
        items = cast(AsyncGenerator[Any, None], host.stream(target, **arguments))
        try:
            first = await items.__anext__()
        except StopAsyncIteration:
            first = _NOTHING
        except (PluginUnavailable, EntryNotFound) as exc:
            await items.aclose()
            error = _explain(exc)
            if error is exc:
                raise
            raise error from exc
        except NekoError:
            await items.aclose()
            raise

        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                if first is not _NOTHING:
                    yield _encode_item(first, mode)
                async for item in items:
                    yield _encode_item(item, mode)
            except NekoError as exc:
                yield (
                    _sse("error", error_body(exc))
                    if mode == SSE
                    else dumps(error_body(exc)) + b"\n"
                )
                return
            finally:
                with trio.CancelScope(shield=True):
                    await items.aclose()
            yield _sse("end", {}) if mode == SSE else b'{"end":true}\n'

        return _Streamed(chunks(), mode)

    async def events(request: Request) -> Response:
        mode = NDJSON if request.query_params.get("format") == "jsonl" else SSE

        async def chunks() -> AsyncGenerator[bytes, None]:
            with host.events.subscribe() as subscription:
                # at once, so the client knows it is subscribed (a comment; a blank line)
                yield b": nekohooks events\n\n" if mode == SSE else b"\n"
                sequence = dropped = 0
                while True:
                    event = None
                    with trio.move_on_after(KEEPALIVE):
                        event = await subscription.__anext__()
                    if subscription.dropped != dropped:  # this client fell behind
                        lost, dropped = subscription.dropped - dropped, subscription.dropped
                        yield _encode_event(
                            "dropped", {"kind": "dropped", "data": {"lost": lost}}, None, mode
                        )
                    if event is None:
                        yield b": keepalive\n\n" if mode == SSE else b"\n"
                        continue
                    sequence += 1
                    yield _encode_event(str(event.kind), _event_json(event), sequence, mode)

        return _Streamed(chunks(), mode)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    def _explain(exc: PluginUnavailable | EntryNotFound) -> NekoError:
        """A plugin the user disabled is unavailable, with a word on how to enable it, even
        when the host never imported it (disabled before it started: no entries known)."""
        if exc.plugin not in live.disabled or not _disabled(exc.plugin):
            return exc
        return PluginUnavailable(
            exc.plugin,
            f"is disabled; enable it with `neko enable {exc.plugin}` "
            f"(POST /v1/plugins/{exc.plugin}/enable)",
            phase=exc.phase,
        )

    def _disabled(name: str) -> bool:
        try:
            return live.state(host.status(name)) == "disabled"
        except EntryNotFound:
            return False

    async def neko_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NekoError)
        return _error(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = _HTTP_TYPES.get(exc.status_code, "HTTPError")
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route {request.method} {request.url.path} (see /v1/healthz, /v1/plugins)"
        elif exc.status_code == 405:
            detail = f"method {request.method} not allowed on {request.url.path}"
        return _error(ControlError(exc.status_code, kind, str(detail)))

    routes = [
        Route("/v1/healthz", healthz, methods=["GET"]),
        Route("/v1/plugins", plugins, methods=["GET"]),
        Route("/v1/plugins/{name}", plugin, methods=["GET"]),
        Route("/v1/plugins/{name}/{action}", action, methods=["POST"]),
        Route("/v1/rescan", rescan, methods=["POST"]),
        Route("/v1/call/{target}", call, methods=["POST"]),
        Route("/v1/schema", schema, methods=["GET"]),
        Route("/v1/events", events, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={NekoError: neko_error, HTTPException: http_error},
    )


_NOTHING = object()
#: What a call returns when its client went away before it finished (and was cancelled).
GONE = object()


def _encode_item(item: Any, mode: str) -> bytes:
    if mode == SSE:
        return _sse("item", item)
    return dumps({"item": item}) + b"\n"


def _encode_event(kind: str, data: dict[str, Any], sequence: int | None, mode: str) -> bytes:
    if mode == SSE:
        return _sse(kind, data, sequence)
    return dumps(data) + b"\n"


def _event_json(event: Any) -> dict[str, Any]:
    kind = getattr(event.kind, "value", event.kind)
    when = (
        event.time if isinstance(event.time, (int, float)) and math.isfinite(event.time) else None
    )
    return {"kind": kind, "plugin": event.plugin, "time": when, "data": event.data}
