"""Serve a host's control API with the web console mounted on it (what ``neko run --listen`` does)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from .._host import Host
from ..control import open_control
from ._pages import Console

__all__ = ["open_console"]

log = logging.getLogger("nekohooks.console")


def _url_host(host: str) -> str:
    """``host`` as a browser writes it in a link (a wildcard address: loopback)."""
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@contextlib.asynccontextmanager
async def open_console(
    host: Host,
    *,
    home: Path,
    listen: tuple[str, int],
    allow_install: bool = False,
) -> AsyncIterator[Console]:
    """Serve ``host``'s control API on its Unix socket and on ``listen``, with the console at
    ``/`` of the TCP address, while the block runs.

    Args:
        host: the running host (inside its ``open_host`` block).
        home: the nekohooks home (socket, token, plugins' ``plugin.toml``).
        listen: the TCP address (``("127.0.0.1", 8765)``; port 0 picks a free one).
        allow_install: the console may pip install and uninstall plugins, then rescan.

    Raises:
        NekoError: as :func:`nekohooks.control.open_control` (socket taken, address in use).

    Yields the :class:`Console`; ``console.login_url()`` mints a one-time link. Plugins' log
    lines are kept for its pages while the block runs (from before it too, when
    ``capture_recent()`` was entered before the host started). On exit or cancel the listeners
    close as ``open_control`` describes; every console session ends with them.
    """
    console = Console(home=home, host=host, allow_install=allow_install)
    with console.capturing():
        async with open_control(
            host, home=home, listen=listen, routes=console.routes(), session=console.admits
        ) as server:
            assert server.tcp is not None  # listen was given
            console.base_url = f"http://{_url_host(listen[0])}:{server.tcp[1]}"
            console.registry = server.metrics.registry
            console.rescan = server.live.rescan
            console.server = server
            log.info("web console at %s/ (`neko console` prints a login link)", console.base_url)
            yield console
