"""Where a running host keeps its control files: ``$NEKO_HOME/run/`` (socket, token), mode 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .._errors import NekoError

__all__ = ["ensure_run_dir", "run_dir", "socket_path", "token_path"]

#: ``sun_path`` holds 108 bytes on Linux, 104 on macOS, with the terminating NUL.
MAX_SOCKET_PATH = 103


def run_dir(home: Path) -> Path:
    """``<home>/run``: the socket and the token live here, readable by their owner only."""
    return home / "run"


def socket_path(home: Path) -> Path:
    """The Unix socket the control API listens on, ``<home>/run/neko.sock``."""
    return run_dir(home) / "neko.sock"


def token_path(home: Path) -> Path:
    """The bearer token for the TCP listener, ``<home>/run/token``."""
    return run_dir(home) / "token"


def ensure_run_dir(home: Path) -> Path:
    """Create ``<home>/run`` with mode 0700 (tighten it if it exists) and return it.

    Raises:
        NekoError: the folder belongs to another user, or is a symlink.
    """
    path = run_dir(home)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise NekoError(f"{path} is not a folder (a symlink?); refusing to use it")
    if info.st_uid != os.getuid():
        raise NekoError(f"{path} belongs to uid {info.st_uid}, not to us; refusing to use it")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path
