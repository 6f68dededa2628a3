"""The TCP listener's bearer token: generated on first use, kept 0600 in ``<home>/run/token``."""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from .._errors import NekoError
from ._paths import ensure_run_dir, token_path

__all__ = ["load_token", "token_matches"]


def load_token(home: Path, *, create: bool = True) -> str | None:
    """The home's token; with ``create``, a new random one (256 bits) on first use.

    The file is created with ``O_EXCL`` and mode 0600 inside the 0700 run folder, so no other
    user can read it or swap it. Returns ``None`` when there is none and ``create`` is false.

    Raises:
        NekoError: the token file is readable by others, or empty.
    """
    path = token_path(home)
    if create:
        ensure_run_dir(home)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(32) + "\n")
    try:
        info = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) & 0o077:
        raise NekoError(f"{path} must be a regular file with mode 0600; fix or delete it")
    token = path.read_text().strip()
    if not token:
        raise NekoError(f"{path} is empty; delete it and a new token is made")
    return token


def token_matches(expected: str, authorization: str | None) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <expected>`` (constant time)."""
    if authorization is None:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())
