"""The console's routes: the login link, the page shell and its static files, and page data.

Every route here answers only to a valid console session (the login route trades a one-time
code for one). The ``/v1`` routes the pages call belong to the control API, which accepts the
same session through :meth:`ConsoleAuth.check` (cookie, plus the CSRF header on writes).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import re
import string
from collections.abc import Awaitable, Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import trio
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._host import Host
from ..control import ControlServer
from ._auth import ConsoleAuth
from ._packages import PipFailed, install_args, run_pip
from ._recent import RecentLines, capture_recent, recent_or_new
from ._stats import plugin_stats

__all__ = ["Console"]

_STATIC = resources.files(__package__) / "static"
_ASSETS = {
    "console.js": "text/javascript",
    "console.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
_SHELL = string.Template(_STATIC.joinpath("console.html").read_text(encoding="utf-8"))
_PAGES = frozenset({"/", "/login", "/logout"})
_PAGE_PREFIXES = ("/plugins/", "/console/")
_PLUGIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TOML_LIMIT = 64 * 1024

_REFUSAL_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f6f7f9;color:#1d2330}"
    "main{max-width:560px;margin:80px auto;background:#fff;border:1px solid #d9dde5;"
    "border-radius:8px;padding:24px}code{background:#eef0f4;padding:1px 5px;border-radius:4px}"
)
_REFUSAL_STYLE_HASH = base64.b64encode(hashlib.sha256(_REFUSAL_STYLE.encode()).digest()).decode()

# The pages load only their own script and stylesheet: even a string that slipped past
# escaping could not run inline script or load anything from elsewhere.
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


_LOGGED_IN = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<meta http-equiv='refresh' content='0; url=/'><title>nekohooks console</title></head>"
    "<body><p>Logged in. <a href='/'>Open the console</a>.</p></body></html>"
)


def _headers(csp: str = _PAGE_CSP) -> dict[str, str]:
    return {**_COMMON_HEADERS, "Content-Security-Policy": csp}


def _refusal(status: int, title: str, text: str) -> HTMLResponse:
    """A small self-contained page saying why the console refuses, with how to log in."""
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · nekohooks console</title><style>{_REFUSAL_STYLE}</style>"
        f"</head><body><main role='alert'><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        "<p>On the host, run <code>neko console</code> to print a one-time login link.</p>"
        "</main></body></html>"
    )
    csp = f"default-src 'none'; style-src 'sha256-{_REFUSAL_STYLE_HASH}'; frame-ancestors 'none'"
    return HTMLResponse(body, status_code=status, headers=_headers(csp))


def _json_error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "message": message}}, status_code=status, headers=_headers()
    )


@attrs.define(eq=False)
class Console:
    """The console of one host: its sessions, recent plugin lines, and the routes serving it.

    Attributes:
        home: the nekohooks home (plugin ``plugin.toml`` files live under ``home/plugins``).
        auth: the console sessions; the control API checks the same object.
        recent: recent log lines and messages per plugin (attach it with ``capture_recent``).
        base_url: where the console is served (``http://127.0.0.1:8765``), for login links.
        allow_install: offer install / uninstall (pip in the host's environment, then
            ``rescan``); off unless the host's operator turns it on.
        host: the running host, for uptime and restarts.
        registry: the control API's Prometheus registry, for calls and failures.
        rescan: the running host's rescan, after an install or uninstall.
        server: the control API serving the console (its socket and TCP address).
    """

    home: Path
    auth: ConsoleAuth = attrs.field(factory=ConsoleAuth)
    recent: RecentLines = attrs.field(factory=recent_or_new)
    allow_install: bool = False
    base_url: str | None = None
    host: Host | None = None
    registry: CollectorRegistry | None = None
    rescan: Callable[[], Awaitable[tuple[list[str], list[str]]]] | None = None
    server: ControlServer | None = None
    _pip_lock: trio.Lock = attrs.field(factory=trio.Lock, init=False)

    def login_url(self) -> str:
        """A fresh one-time login link (raises ``LookupError`` when not served over TCP)."""
        if self.base_url is None:
            raise LookupError("the console is served only when the host listens on TCP (--listen)")
        return f"{self.base_url.rstrip('/')}/login?code={self.auth.mint_code()}"

    def admits(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        """The control API's guard asks this of a TCP request without the bearer token.

        The console's own pages pass (each refuses without a session itself); any other path,
        ``/v1/...`` above all, needs a valid session, plus its CSRF header unless a read.
        """
        if path in _PAGES or path.startswith(_PAGE_PREFIXES):
            return True
        return self.auth.check(method, headers).ok

    @contextlib.contextmanager
    def capturing(self) -> Iterator[Console]:
        """Keep the plugins' recent log lines and messages while the block runs."""
        with capture_recent(self.recent):
            yield self

    def routes(self) -> list[BaseRoute]:
        """The console's pages and their data, to mount beside the control API.

        ``POST /v1/console/login-link`` answers with a fresh one-time login link: it relies on
        the API's guard (the token on TCP, the file mode of the Unix socket).
        """
        return [
            Route("/v1/console/login-link", self._mint, methods=["POST"]),
            Route("/", self._shell, methods=["GET"]),
            Route("/plugins/{name}", self._shell, methods=["GET"]),
            Route("/login", self._login, methods=["GET"]),
            Route("/logout", self._logout, methods=["POST"]),
            Route("/console/static/{asset}", self._asset, methods=["GET"]),
            Route("/console/api/settings", self._settings, methods=["GET"]),
            Route("/console/api/stats", self._stats, methods=["GET"]),
            Route("/console/api/install", self._install, methods=["POST"]),
            Route("/console/api/uninstall", self._uninstall, methods=["POST"]),
            Route("/console/api/plugins/{name}/recent", self._recent, methods=["GET"]),
        ]

    # ---- pages --------------------------------------------------------------------------------

    async def _shell(self, request: Request) -> Response:
        verdict = self.auth.check(request.method, request.headers)
        if verdict.session is None:
            return _refusal(401, "Not logged in", "This console needs a login.")
        page = _SHELL.substitute(csrf=html.escape(verdict.session.csrf))
        return HTMLResponse(page, headers=_headers())

    async def _login(self, request: Request) -> Response:
        session = self.auth.redeem(request.query_params.get("code", ""))
        if session is None:
            return _refusal(
                403, "Login link refused", "This login link is unknown, used or expired."
            )
        # A page that moves on by itself, not a redirect: a redirect would stay part of the
        # navigation that opened the link, and if that came from another site, the browser
        # would withhold the new SameSite=Strict cookie from it.
        response = HTMLResponse(_LOGGED_IN, headers=_headers("default-src 'none'"))
        response.headers["Set-Cookie"] = self.auth.set_cookie_header(session)
        return response

    async def _logout(self, request: Request) -> Response:
        verdict = self.auth.check(request.method, request.headers)
        if verdict.session is None:
            return _json_error(
                401 if "session" in verdict.reason else 403, "Refused", verdict.reason
            )
        self.auth.end(verdict.session)
        response = Response(status_code=204, headers=_headers())
        response.headers["Set-Cookie"] = self.auth.clear_cookie_header()
        return response

    async def _asset(self, request: Request) -> Response:
        if not self.auth.check(request.method, request.headers).ok:
            return _refusal(401, "Not logged in", "This console needs a login.")
        asset = request.path_params["asset"]
        kind = _ASSETS.get(asset)
        if kind is None:
            return _json_error(404, "NotFound", f"no console file {asset!r}")
        data = _STATIC.joinpath(asset).read_bytes()
        return Response(data, media_type=kind, headers=_headers())

    async def _mint(self, request: Request) -> Response:
        try:
            url = self.login_url()
        except LookupError as exc:
            return _json_error(409, "ConsoleNotServed", str(exc))
        return JSONResponse({"url": url, "expires_in": self.auth.code_ttl}, headers=_headers())

    # ---- page data ----------------------------------------------------------------------------

    async def _settings(self, request: Request) -> Response:
        if not self.auth.check(request.method, request.headers).ok:
            return _json_error(401, "Unauthorized", "no valid console session")
        return JSONResponse({"install": self.allow_install}, headers=_headers())

    async def _stats(self, request: Request) -> Response:
        if not self.auth.check(request.method, request.headers).ok:
            return _json_error(401, "Unauthorized", "no valid console session")
        stats = plugin_stats(self.host, self.registry) if self.host is not None else {}
        return JSONResponse(stats, headers=_headers())

    async def _install(self, request: Request) -> Response:
        body, refused = await self._package_request(request, "requirement")
        if refused is not None:
            return refused
        try:
            args = install_args(body)
        except ValueError as exc:
            return _json_error(400, "BadRequest", str(exc))
        return await self._pip_then_rescan(args)

    async def _uninstall(self, request: Request) -> Response:
        name, refused = await self._package_request(request, "plugin")
        if refused is not None:
            return refused
        assert self.host is not None
        info = self.host.plugins.get(name)
        failure = next((f for f in self.host.failures if f.name == name), None)
        dist = info.distribution if info else failure.distribution if failure else None
        if not dist:
            return _json_error(
                404, "NotFound", f"plugin {name!r} does not come from an installed distribution"
            )
        return await self._pip_then_rescan(["uninstall", "--yes", "--", dist])

    async def _package_request(self, request: Request, key: str) -> tuple[str, Response | None]:
        """The request's ``key`` string, or the refusal to send instead."""
        verdict = self.auth.check(request.method, request.headers)
        if not verdict.ok:
            return "", _json_error(401, "Unauthorized", verdict.reason)
        if not self.allow_install or self.rescan is None or self.host is None:
            return "", _json_error(
                403, "Forbidden", "installing from the console is off in this host's config"
            )
        try:
            body = json.loads(await request.body())
        except ValueError:
            return "", _json_error(400, "BadRequest", "the body is not JSON")
        value = body.get(key) if isinstance(body, dict) else None
        if not isinstance(value, str):
            return "", _json_error(400, "BadRequest", f'expected {{"{key}": "..."}}')
        return value, None

    async def _pip_then_rescan(self, args: list[str]) -> Response:
        assert self.rescan is not None
        async with self._pip_lock:
            try:
                output = await run_pip(args)
            except PipFailed as exc:
                return _json_error(502, "PipFailed", str(exc))
            added, removed = await self.rescan()
        return JSONResponse({"added": added, "removed": removed, "pip": output}, headers=_headers())

    async def _recent(self, request: Request) -> Response:
        if not self.auth.check(request.method, request.headers).ok:
            return _json_error(401, "Unauthorized", "no valid console session")
        name = request.path_params["name"]
        if not _PLUGIN_NAME.fullmatch(name) or ".." in name:
            return _json_error(400, "BadRequest", f"not a plugin name: {name!r}")
        body: dict[str, Any] = {
            "plugin": name,
            "plugin_toml": await _read_toml(self.home / "plugins" / name / "plugin.toml"),
            "logs": self.recent.logs(name),
            "messages": self.recent.messages(name),
        }
        return Response(
            json.dumps(body, ensure_ascii=False, default=str),
            media_type="application/json",
            headers=_headers(),
        )


async def _read_toml(path: Path) -> str | None:
    """The plugin's ``plugin.toml`` as text (first 64 KiB), ``None`` if it has none."""
    try:
        async with await trio.open_file(path, "rb") as file:
            data = await file.read(_TOML_LIMIT + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    text = data[:_TOML_LIMIT].decode("utf-8", errors="replace")
    return text + "\n# … (cut at 64 KiB)" if len(data) > _TOML_LIMIT else text
