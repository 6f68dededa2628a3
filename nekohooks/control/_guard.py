"""The boundary every request crosses before routing: Host, Origin, bearer token, body size.

A pure ASGI wrapper (no per-request task). On the TCP listener it checks, in order:

1. ``Host`` is one of this server's own names (``127.0.0.1:PORT``, ``localhost:PORT``, ...):
   a page that rebinds its DNS name to 127.0.0.1 still sends its own name, and is refused.
2. ``Origin``, when a browser sends one, is this server itself: no other site's script may
   drive the API, and no CORS header is ever sent.
3. ``Authorization: Bearer <token>`` matches the home's token (constant-time compare).

On both listeners, a body longer than ``max_body`` is refused with 413, by its
``Content-Length`` before it is read, or while it is read. Each refusal is a JSON error, and
ends its connection (``Connection: close``: the body may be unread).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import attrs
from starlette.exceptions import HTTPException

from ._token import token_matches
from ._wire import dumps

__all__ = ["Guard", "GuardPolicy", "SessionCheck", "local_hosts"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: ``(method, path, headers) -> admitted``: lets a request in without the bearer token.
SessionCheck = Callable[[str, str, Mapping[str, str]], bool]

#: Request bodies (call arguments) above this size are refused with 413.
DEFAULT_MAX_BODY = 1 << 20
#: How much of a refused body is read and dropped before answering (past it: a reset).
DRAIN_LIMIT = 64 << 20


def local_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` values a listener on ``host:port`` answers to: its address and, for a
    loopback or wildcard address, the loopback names."""
    names = {host}
    if host in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::"):
        names |= {"127.0.0.1", "localhost", "::1"}
    names.discard("0.0.0.0")
    names.discard("::")
    return frozenset(f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names)


@attrs.frozen
class GuardPolicy:
    """What a listener demands of a request.

    ``token``: the bearer token required (``None``: the Unix socket, whose file mode is the
    authentication). ``hosts``: the accepted ``Host`` values (``None``: any).
    ``max_body``: the largest request body, in bytes. ``session``: admits a request that has
    no token, given its method, path and headers (the web console's session cookie + CSRF).
    """

    token: str | None = None
    hosts: frozenset[str] | None = None
    max_body: int = DEFAULT_MAX_BODY
    session: SessionCheck | None = None


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the body outgrows the limit; rendered as a 413."""


class Guard:
    """Wrap an ASGI app with a :class:`GuardPolicy`."""

    def __init__(self, app: ASGIApp, policy: GuardPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policy
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name, value)
        if policy.hosts is not None:
            host = headers.get(b"host", b"").decode("latin-1")
            if host not in policy.hosts:
                await _refuse(
                    send,
                    403,
                    "ForbiddenHost",
                    f"Host {host!r} is not this server (expected one of "
                    f"{', '.join(sorted(policy.hosts))}); DNS rebinding is refused",
                )
                return
            origin = headers.get(b"origin")
            if origin is not None and not _same_origin(origin.decode("latin-1"), policy.hosts):
                await _refuse(
                    send,
                    403,
                    "ForbiddenOrigin",
                    f"Origin {origin.decode('latin-1')!r} may not use this API (no CORS)",
                )
                return
        if policy.token is not None:
            authorization = headers.get(b"authorization")
            given = None if authorization is None else authorization.decode("latin-1")
            if not token_matches(policy.token, given) and not _by_session(policy, scope, headers):
                why = "missing" if authorization is None else "wrong"
                await _refuse(
                    send,
                    401,
                    "Unauthorized",
                    f"bearer token {why}: send 'Authorization: Bearer <token>' "
                    "(`neko token` prints it)",
                    extra=[(b"www-authenticate", b'Bearer realm="nekohooks"')],
                )
                return
        body = _Body(receive, policy.max_body)
        length = headers.get(b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                await _refuse(send, 400, "BadRequest", "Content-Length is not a number")
                return
            if size > policy.max_body:
                await body.drain()
                await _refuse(send, 413, "BodyTooLarge", body.too_large)
                return

        async def send_after_body(message: Message) -> None:
            if message["type"] == "http.response.start":
                await body.drain()  # answering before the body is read gets it reset
            await send(message)

        await self.app(scope, body.receive, send_after_body)


def _by_session(policy: GuardPolicy, scope: Scope, headers: dict[bytes, bytes]) -> bool:
    if policy.session is None:
        return False
    text = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
    return policy.session(scope["method"], scope["path"], text)


class _Body:
    """The request body as the app reads it: counted against the limit, and drained before
    any response starts (a client still sending a body the app did not read would get a
    connection reset instead of the answer)."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.seen = 0
        self.done = False
        self.too_large = f"request body larger than {limit} bytes"

    async def receive(self) -> Message:
        if self.done:  # the body is read: what is left to wait for is the disconnect
            return await self._receive()
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            self.done = not message.get("more_body", False)
            if self.seen > self.limit:
                await self.drain()
                raise BodyTooLarge(413, self.too_large)
        return message

    async def drain(self) -> None:
        """Read and drop the rest of the body (up to :data:`DRAIN_LIMIT` bytes)."""
        drained = 0
        while not self.done and drained < DRAIN_LIMIT:
            message = await self._receive()
            if message["type"] != "http.request":
                self.done = True  # disconnected
                return
            drained += len(message.get("body", b""))
            self.done = not message.get("more_body", False)


def _same_origin(origin: str, hosts: frozenset[str]) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == "http" and parts.netloc in hosts


async def _refuse(
    send: Send,
    status: int,
    kind: str,
    message: str,
    *,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = dumps(
        {"error": {"type": kind, "message": message, "plugin": None, "entry": None, "phase": None}}
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The request's body may be unread: the server cannot take another request on
                # this connection, and a client must not reuse it (it would find it closed).
                (b"connection", b"close"),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
