"""Changes to a running host's plugin table: enable, disable, restart, reload, rescan."""

from __future__ import annotations

from pathlib import Path

import trio

from .._host import Host

__all__ = ["Live"]


class Live:
    """The table operations the control API exposes, one at a time (a lock orders them)."""

    def __init__(self, host: Host, home: Path) -> None:
        self.host = host
        self.home = home
        self.lock = trio.Lock()
