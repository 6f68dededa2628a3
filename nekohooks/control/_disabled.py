"""Plugins the user disabled, kept in ``<home>/disabled.json`` so they stay disabled across
host restarts (written atomically: a crash leaves the old list or the new one)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import attrs

from .._config import HostConfig, PluginFilter
from .._errors import ConfigError

__all__ = ["deny_disabled", "disabled_path", "read_disabled", "write_disabled"]


def disabled_path(home: Path) -> Path:
    """``<home>/disabled.json``: ``{"disabled": ["name", ...]}``."""
    return home / "disabled.json"


def read_disabled(home: Path) -> frozenset[str]:
    """The names disabled in ``home`` (none if the file is absent).

    Raises:
        ConfigError: the file is not a JSON object with a list of names under ``disabled``.
    """
    path = disabled_path(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return frozenset()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable list of disabled plugins: {exc}", path=path) from exc
    names = data.get("disabled") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError('expected {"disabled": ["name", ...]}', path=path)
    return frozenset(names)


def write_disabled(home: Path, names: frozenset[str]) -> None:
    """Replace the list with ``names`` (sorted), atomically and durably."""
    path = disabled_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"disabled": sorted(names)}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".disabled-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def deny_disabled(config: HostConfig) -> HostConfig:
    """``config`` with the home's disabled plugins added to its deny list: a host started
    with it never imports them, lists them ``disabled``, and can enable them at run time.

    Raises:
        ConfigError: the list of disabled plugins is unreadable.
    """
    names = read_disabled(config.home)
    if not names:
        return config
    current = config.plugin_filter
    return attrs.evolve(config, plugin_filter=PluginFilter(current.allow, current.deny | names))
