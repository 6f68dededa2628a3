"""Where nekohooks keeps its files unless told otherwise: the home, and the folder for caches."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

__all__ = ["cache_dir", "default_home"]


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$NEKO_HOME`` or the platform's user data folder for nekohooks."""
    env = (os.environ if environ is None else environ).get("NEKO_HOME", "").strip()
    return Path(env).expanduser() if env else platformdirs.user_data_path("nekohooks")


def cache_dir(home: Path | None = None) -> Path:
    """Where scans and manifests are cached: ``<home>/cache``, where ``home`` defaults to
    ``$NEKO_HOME``; for the default home (the platform's user data folder) the platform's user
    cache folder."""
    home = default_home() if home is None else home
    if home == platformdirs.user_data_path("nekohooks"):
        return platformdirs.user_cache_path("nekohooks")
    return home / "cache"
