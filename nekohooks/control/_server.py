"""Serve the control API of a running host: on ``<home>/run/neko.sock`` (0600) and, if asked,
on TCP with a bearer token, both with Hypercorn's trio worker inside the host's trio run."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import attrs
import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app
from starlette.routing import BaseRoute

from .._errors import NekoError
from .._host import Host
from ._app import create_app
from ._guard import DEFAULT_MAX_BODY, Guard, GuardPolicy, SessionCheck, local_hosts
from ._live import Live
from ._metrics import Metrics
from ._paths import MAX_SOCKET_PATH, ensure_run_dir, socket_path
from ._token import load_token

__all__ = ["ControlServer", "open_control", "parse_listen"]

log = logging.getLogger("nekohooks.control")
#: Hypercorn's own log: its errors; not its "Running on ... (CTRL + C to quit)" lines.
server_log = logging.getLogger("nekohooks.control.server")
server_log.setLevel(logging.WARNING)


@attrs.frozen
class ControlServer:
    """Where a running control API answers: its socket path and, if any, its TCP address."""

    socket: Path
    tcp: tuple[str, int] | None
    live: Live
    metrics: Metrics


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) as a pair.

    Raises:
        ValueError: not ``HOST:PORT`` with a port in 0-65535.
    """
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8765)")
    return host, int(port)


def _unix_listener(path: Path) -> socket.socket:
    """Bind ``path`` (in the 0700 run folder) and make it 0600; refuse if a host answers there."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise NekoError(
            f"socket path {path} is longer than {MAX_SOCKET_PATH} bytes; use a shorter NEKO_HOME"
        )
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(os.fspath(path))
            except OSError:
                os.unlink(path)  # a stale socket of a host that is gone
            else:
                raise NekoError(f"another host is already serving on {path}")
            finally:
                probe.close()
        else:
            raise NekoError(f"{path} exists and is not a socket; refusing to replace it")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(path))
        os.chmod(path, 0o600)
    except BaseException:
        sock.close()
        raise
    return sock


def _tcp_listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise NekoError(f"cannot listen on {host}:{port}: the address is in use") from exc
        raise NekoError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


@contextlib.asynccontextmanager
async def open_control(
    host: Host,
    *,
    home: Path,
    listen: tuple[str, int] | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    routes: Sequence[BaseRoute] = (),
    session: SessionCheck | None = None,
) -> AsyncIterator[ControlServer]:
    """Serve ``host``'s control API while the block runs.

    Args:
        host: the running host (inside its ``open_host`` block).
        home: the nekohooks home; the socket is ``<home>/run/neko.sock``, the token
            ``<home>/run/token`` (created on first use when ``listen`` is given).
        listen: also serve TCP on this address, every request needing the bearer token and a
            ``Host`` of this server's own names.
        max_body: the largest request body accepted, in bytes.
        routes: more Starlette routes served behind the same checks (the web console's).
        session: on TCP, admits a request without the token when it returns true for its
            method, path and headers (the web console's session; Host/Origin still checked).

    Raises:
        NekoError: the socket is taken by another running host, its path is too long, or the
            TCP address cannot be bound.

    The listeners are bound when the block is entered. On exit (or cancel) they close, open
    requests get ``graceful_timeout`` (1 s) to finish and are then cancelled, and the socket
    file is removed.
    """
    ensure_run_dir(home)
    live = Live(host, home)
    metrics = Metrics(host)
    app = create_app(host, live, metrics)
    app.router.routes.extend(routes)
    listeners: list[tuple[Guard, socket.socket]] = []
    tcp_address: tuple[str, int] | None = None
    path = socket_path(home)
    try:
        if listen is not None:
            token = load_token(home, create=True)
            tcp = _tcp_listener(*listen)
            tcp_address = tcp.getsockname()[:2]
            hosts = local_hosts(listen[0], tcp.getsockname()[1])
            listeners.append((Guard(app, GuardPolicy(token, hosts, max_body, session)), tcp))
        listeners.insert(0, (Guard(app, GuardPolicy(max_body=max_body)), _unix_listener(path)))
    except BaseException:
        for _, sock in listeners:
            sock.close()
        raise
    inode = os.stat(path).st_ino
    stopping = trio.Event()
    try:
        async with trio.open_nursery() as nursery:
            for guarded, sock in listeners:
                await nursery.start(_serve, guarded, sock, stopping)
            where = f" and http://{listen[0]}:{tcp_address[1]}" if listen and tcp_address else ""
            log.info("control API on %s%s", path, where)
            try:
                yield ControlServer(path, tcp_address, live, metrics)
            finally:
                stopping.set()
    finally:
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == inode:
                os.unlink(path)


async def _serve(
    app: Guard,
    sock: socket.socket,
    stopping: trio.Event,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``sock`` until ``stopping`` is set; the socket is closed after.

    Hypercorn's ``worker_serve`` (what ``hypercorn.trio.serve`` calls) is given our own
    socket, so it is bound before serving starts and closed by us, exactly once, after.
    """
    config = Config()
    config.accesslog = None
    config.errorlog = server_log
    config.graceful_timeout = 1.0
    # longer than clients keep idle connections (httpx: 5 s), so a client never reuses one
    # the server is closing at that very moment
    config.keep_alive_timeout = 30.0
    config.include_server_header = False
    with sock:
        sock.setblocking(False)
        sock.listen(config.backlog)
        await worker_serve(
            wrap_app(app, config.wsgi_max_body_size, "asgi"),  # type: ignore[arg-type]
            config,
            sockets=Sockets([], [sock], []),
            shutdown_trigger=stopping.wait,
            task_status=task_status,
        )
