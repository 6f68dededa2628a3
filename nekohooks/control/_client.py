"""The client of the control API (httpx over the home's Unix socket, or TCP with the token).

The ``neko`` command uses it when a host answers on ``<home>/run/neko.sock``; any Python
program may too::

    from nekohooks.control import connect

    with connect(home) as client:          # None when no host is running there
        client.call("hello.greet", {"name": "Ada"})

Errors come back as the nekohooks error the host raised (``EntryNotFound``,
``PluginUnavailable``, ``InvalidArguments``, ...) or :class:`ControlError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from ._paths import socket_path
from ._wire import ControlError, raise_error

__all__ = ["ControlClient", "connect"]

#: Everything but calls and streams: 2 s to connect, 10 s for the rest.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=2.0)
#: Calls wait as long as the entry may run (the host enforces the entry's own timeout).
CALL_TIMEOUT = httpx.Timeout(10.0, connect=2.0, read=None)


class ControlClient:
    """A synchronous client of one running host's control API.

    Args:
        socket: the host's Unix socket (``<home>/run/neko.sock``).
        url: instead of a socket, ``http://HOST:PORT`` of a ``--listen`` address.
        token: the bearer token for ``url`` (``neko token`` prints it).
        timeout: the default ``httpx.Timeout`` (calls and streams wait for the host).
    """

    def __init__(
        self,
        *,
        socket: Path | None = None,
        url: str | None = None,
        token: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if (socket is None) == (url is None):
            raise ValueError("give exactly one of socket= and url=")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if socket is not None:
            transport = httpx.HTTPTransport(uds=str(socket))
            self.where = str(socket)
            base = "http://localhost"
        else:
            assert url is not None
            transport = httpx.HTTPTransport()
            self.where = url
            base = url
        self._http = httpx.Client(
            transport=transport, base_url=base, headers=headers, timeout=timeout
        )
        self.health: dict[str, Any] = {}
        """The last ``/v1/healthz`` answer :func:`connect` saw (``pid``, ``python``, ...)."""

    # ---- plumbing -----------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        return _decode(response)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- routes -------------------------------------------------------------------------------

    def healthz(self) -> dict[str, Any]:
        """``GET /v1/healthz``: ``{"ok": true, "version", "pid", "python"}``."""
        result: dict[str, Any] = self._json("GET", "/v1/healthz")
        return result

    def plugins(self) -> list[dict[str, Any]]:
        """``GET /v1/plugins``: every plugin's record, as ``neko list --json``."""
        result: list[dict[str, Any]] = self._json("GET", "/v1/plugins")
        return result

    def plugin(self, name: str) -> dict[str, Any]:
        """``GET /v1/plugins/{name}``: one plugin in detail, as ``neko info --json``."""
        result: dict[str, Any] = self._json("GET", f"/v1/plugins/{_segment(name)}")
        return result

    def action(self, name: str, verb: str) -> dict[str, Any]:
        """``POST /v1/plugins/{name}/{verb}`` (enable, disable, restart, reload): the record
        after the change. Waits as long as stopping and starting the plugin take."""
        result: dict[str, Any] = self._json(
            "POST", f"/v1/plugins/{_segment(name)}/{verb}", timeout=CALL_TIMEOUT
        )
        return result

    def rescan(self) -> dict[str, list[str]]:
        """``POST /v1/rescan``: ``{"added": [...], "removed": [...]}``."""
        result: dict[str, list[str]] = self._json("POST", "/v1/rescan", timeout=CALL_TIMEOUT)
        return result

    def schema(self) -> list[dict[str, Any]]:
        """``GET /v1/schema``: every entry as an OpenAI-style tool."""
        result: list[dict[str, Any]] = self._json("GET", "/v1/schema")
        return result

    def console_link(self) -> str:
        """``POST /v1/console/login-link``: a one-time login link to the web console (only a
        host listening on TCP serves the console)."""
        result: dict[str, Any] = self._json("POST", "/v1/console/login-link")
        return str(result["url"])

    def metrics(self) -> str:
        """``GET /metrics``: the Prometheus text."""
        response = self._http.get("/metrics")
        if response.status_code != 200:
            _decode(response)
        return response.text

    def call(self, target: str, arguments: dict[str, Any] | None = None) -> Any:
        """``POST /v1/call/{target}``: the entry's result (a generator's items as a list)."""
        body = json.dumps(arguments or {}).encode()
        return self._json(
            "POST",
            f"/v1/call/{_segment(target)}",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=CALL_TIMEOUT,
        )["result"]

    def stream(self, target: str, arguments: dict[str, Any] | None = None) -> Iterator[Any]:
        """``POST /v1/call/{target}`` as JSON lines: each item as it comes. Closing the
        iterator early disconnects, which cancels the call on the host."""
        path = f"/v1/call/{_segment(target)}"
        yield from self._lines(path, arguments or {}, "item", f"the stream of {target}")

    def say(self, message: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``POST /v1/say``: each reply record as the plugins answer (``neko say``)."""
        yield from self._lines("/v1/say", message, "reply", "the replies")

    def _lines(self, path: str, body: dict[str, Any], key: str, what: str) -> Iterator[Any]:
        """POST ``body`` and yield each JSON line's ``key`` until the end mark; an error line
        raises the nekohooks error it names."""
        headers = {"Content-Type": "application/json", "Accept": "application/x-ndjson"}
        with self._http.stream(
            "POST", path, content=json.dumps(body).encode(), headers=headers, timeout=CALL_TIMEOUT
        ) as response:
            if response.status_code != 200:
                response.read()
                _decode(response)
            for line in response.iter_lines():
                if not line:
                    continue
                message = json.loads(line)
                if key in message:
                    yield message[key]
                elif "error" in message:
                    raise_error(200, message)
                elif message.get("end"):
                    return
        raise ControlError(502, "StreamCut", f"{what} ended without its end mark")

    def events(self) -> Iterator[dict[str, Any]]:
        """``GET /v1/events?format=jsonl``: each event as it happens, until closed."""
        with self._http.stream(
            "GET", "/v1/events", params={"format": "jsonl"}, timeout=CALL_TIMEOUT
        ) as response:
            if response.status_code != 200:
                response.read()
                _decode(response)
            for line in response.iter_lines():
                if line:
                    yield json.loads(line)


def _segment(text: str) -> str:
    """One URL path segment: ``/`` and friends escaped (a name cannot climb the routes)."""
    return quote(text, safe="")


def _decode(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        raise_error(response.status_code, body)
    return body


def connect(home: Path, *, timeout: float = 2.0) -> ControlClient | None:
    """A client of the host running in ``home``, or ``None`` if none answers on its socket.

    A socket file left by a host that died is treated as no host (connecting fails at once).
    """
    path = socket_path(home)
    if not path.exists():
        return None
    client = ControlClient(socket=path, timeout=httpx.Timeout(10.0, connect=timeout))
    try:
        client.health = client.healthz()
    except (httpx.TransportError, ControlError):
        client.close()
        return None
    return client
