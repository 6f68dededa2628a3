"""Console sessions: one-time login codes, HttpOnly session cookies and their CSRF tokens.

The flow: whoever holds the API token (``neko console``) asks the running host for a login
link; the link carries a random one-time code that expires after a few minutes. Opening it
trades the code for a session: a random id in an ``HttpOnly; SameSite=Strict`` cookie, and a
CSRF token the page reads from its own HTML and sends back in the ``X-CSRF-Token`` header on
every state-changing request. Sessions live in memory only: restarting the host logs every
browser out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping

import attrs

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "ConsoleAuth",
    "Session",
    "Verdict",
]

COOKIE = "neko_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@attrs.frozen
class Session:
    """A logged-in browser: its cookie value, its CSRF token, when it expires (monotonic)."""

    id: str = attrs.field(repr=False)
    csrf: str = attrs.field(repr=False)
    expires: float


@attrs.frozen
class Verdict:
    """What :meth:`ConsoleAuth.check` decided: the session if allowed, else why not."""

    session: Session | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when the request may proceed."""
        return self.session is not None


def _digest(secret: str) -> str:
    """Store secrets by hash so a lookup's timing says nothing about a near miss."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _cookie_value(cookie_header: str) -> str | None:
    """The console's cookie from a raw ``Cookie`` header (first one wins, as browsers send)."""
    for part in cookie_header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE:
            return value
    return None


@attrs.define(eq=False)
class ConsoleAuth:
    """The host's console sessions and pending login codes (in memory, per host process).

    Attributes:
        code_ttl: seconds a login code stays valid before it is used.
        session_ttl: seconds a session lasts from login (no sliding renewal).
        secure_cookie: add ``Secure`` to the cookie (set when served over HTTPS).
        clock: a monotonic clock, replaceable in tests.
    """

    code_ttl: float = 300.0
    session_ttl: float = 8 * 3600.0
    secure_cookie: bool = False
    clock: Callable[[], float] = time.monotonic
    _codes: dict[str, float] = attrs.field(factory=dict, init=False)
    _sessions: dict[str, Session] = attrs.field(factory=dict, init=False)

    def mint_code(self) -> str:
        """A fresh one-time login code; only its hash is kept."""
        self._forget_expired()
        code = secrets.token_urlsafe(32)
        self._codes[_digest(code)] = self.clock() + self.code_ttl
        return code

    def redeem(self, code: str) -> Session | None:
        """Trade a login code for a new session; ``None`` if unknown, used or expired."""
        self._forget_expired()
        expires = self._codes.pop(_digest(code), None)
        if expires is None:
            return None
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            expires=self.clock() + self.session_ttl,
        )
        self._sessions[_digest(session.id)] = session
        return session

    def lookup(self, cookie_header: str | None) -> Session | None:
        """The live session named by a request's ``Cookie`` header, if any."""
        value = _cookie_value(cookie_header or "")
        if not value:
            return None
        session = self._sessions.get(_digest(value))
        if session is None:
            return None
        if session.expires <= self.clock():
            del self._sessions[_digest(value)]
            return None
        return session

    def end(self, session: Session) -> None:
        """Log a session out (its cookie stops working at once)."""
        self._sessions.pop(_digest(session.id), None)

    def check(self, method: str, headers: Mapping[str, str]) -> Verdict:
        """Decide a request by its session cookie, and its CSRF header unless it is a read.

        ``headers`` maps lower-case header names to values (Starlette's ``request.headers``).
        """
        session = self.lookup(headers.get("cookie"))
        if session is None:
            return Verdict(None, "no valid console session")
        if method.upper() not in SAFE_METHODS:
            sent = headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                return Verdict(None, "missing or wrong CSRF token")
        return Verdict(session)

    def set_cookie_header(self, session: Session) -> str:
        """The ``Set-Cookie`` value that stores ``session`` in the browser."""
        secure = "; Secure" if self.secure_cookie else ""
        max_age = int(self.session_ttl)
        return (
            f"{COOKIE}={session.id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        )

    def clear_cookie_header(self) -> str:
        """The ``Set-Cookie`` value that deletes the cookie."""
        return f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"

    def _forget_expired(self) -> None:
        now = self.clock()
        for key in [k for k, until in self._codes.items() if until <= now]:
            del self._codes[key]
        for key in [k for k, s in self._sessions.items() if s.expires <= now]:
            del self._sessions[key]
