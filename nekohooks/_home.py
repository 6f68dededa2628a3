"""Where nekohooks keeps its files unless told otherwise: the home, and the folder for caches."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["cache_dir", "default_home"]


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$NEKO_HOME`` or the platform's user data folder for nekohooks."""
    env = (os.environ if environ is None else environ).get("NEKO_HOME", "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs  # here: a $NEKO_HOME needs none of it (neko --version is timed)

    return platformdirs.user_data_path("nekohooks")


def cache_dir(home: Path | None = None) -> Path:
    """Where scans and manifests are cached: ``<home>/cache``, where ``home`` defaults to
    ``$NEKO_HOME``; for the default home (the platform's user data folder) the platform's user
    cache folder."""
    home = default_home() if home is None else home
    if home.name != "nekohooks":  # the platform's folder for nekohooks ends so, on every OS
        return home / "cache"
    import platformdirs

    if home == platformdirs.user_data_path("nekohooks"):
        return platformdirs.user_cache_path("nekohooks")
    return home / "cache"
