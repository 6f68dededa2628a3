"""Host configuration: limits, restart policy, plugin filters and where plugins keep their files.

Everything is an explicit frozen value with a documented default. :func:`load_config` reads an
optional ``neko.toml`` and the environment:

===========================  ==============================================================
``NEKO_HOME``                the nekohooks home (default: the platform's user data folder)
``NEKO_CONFIG``              the host config file (default: ``$NEKO_HOME/neko.toml``)
``NEKO_LOAD_PLUGINS``        comma-separated plugin names: load only these
``NEKO_DISABLE_PLUGINS``     comma-separated plugin names: never import these
===========================  ==============================================================

``neko.toml``::

    [plugins]
    allow = ["weather", "reminder"]    # optional
    deny = ["noisy"]
    isolation = "process"              # default for all: "none" (in process) or "process"

    [plugins.weather]                  # per plugin (overrides [plugins])
    isolation = "process"
    memory_limit = "256MiB"            # needs isolation = "process"
    sandbox = true                     # bubblewrap; implies isolation = "process"
    network = false                    # in the sandbox

    [limits]
    startup_timeout = 30
    entry_timeout = 60
    terminate_grace = 5
    shutdown_timeout = 30
    block_threshold = 1.0

    [restart]
    max_restarts = 5
    window = 300
    initial_backoff = 1
    max_backoff = 60
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import platformdirs

from ._discovery import PluginFilter
from ._errors import ConfigError

__all__ = [
    "HostConfig",
    "Limits",
    "PluginOptions",
    "RestartPolicy",
    "default_home",
    "load_config",
]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen
class Limits:
    """Time limits the host enforces on every plugin (seconds)."""

    startup_timeout: float = attrs.field(default=30.0, validator=_positive)
    entry_timeout: float = attrs.field(default=60.0, validator=_positive)
    terminate_grace: float = attrs.field(default=5.0, validator=_positive)
    shutdown_timeout: float = attrs.field(default=30.0, validator=_positive)
    block_threshold: float = attrs.field(default=1.0, validator=_positive)
    """How long plugin code may hold the trio loop before the watchdog reports it."""
    worker_threads: int = 8
    """Worker threads per plugin for sync entries and hooks (one plugin cannot starve others)."""


@attrs.frozen
class RestartPolicy:
    """How a crashed plugin is restarted: exponential backoff with jitter, then give up.

    After a crash the plugin waits ``initial_backoff * 2**n`` seconds (capped at ``max_backoff``,
    plus up to ``jitter`` of that as random extra), where ``n`` counts crashes inside the last
    ``window`` seconds. More than ``max_restarts`` crashes in ``window`` marks it failed.
    A run that stayed up for ``window`` seconds resets the count.
    """

    max_restarts: int = 5
    window: float = attrs.field(default=300.0, validator=_positive)
    initial_backoff: float = attrs.field(default=1.0, validator=_positive)
    max_backoff: float = attrs.field(default=60.0, validator=_positive)
    jitter: float = 0.25


@attrs.frozen
class PluginOptions:
    """Where one plugin runs: in the host's process, or its own (``[plugins.NAME]``)."""

    isolation: str = attrs.field(
        default="none", validator=attrs.validators.in_({"none", "process"})
    )
    memory_limit: int | None = None
    """Bytes of address space the plugin's process may use (``"256MiB"`` in neko.toml)."""
    sandbox: bool = False
    """Run the plugin's process under bubblewrap: read-only system, only its home writable."""
    network: bool = False
    """In the sandbox, whether the plugin may use the network."""

    @property
    def isolated(self) -> bool:
        """True if the plugin runs in its own process."""
        return self.isolation == "process" or self.sandbox


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _bytes(value: object) -> int:
    """``"256MiB"``, ``"1G"``, ``"512 MB"`` or an integer of bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    text = str(value).strip().lower().replace(" ", "").removesuffix("b").removesuffix("i")
    number, unit = text.rstrip("kmg"), text[len(text.rstrip("kmg")) :]
    try:
        amount = float(number) * _UNITS[unit]
    except (KeyError, ValueError):
        raise ValueError(f'memory_limit: {value!r} is not a size like "256MiB"') from None
    if amount < 1 << 20:
        raise ValueError(f"memory_limit: {value!r} is less than 1 MiB")
    return int(amount)


def _plugin_options(
    plugins: Mapping[str, Any], default: PluginOptions | None = None
) -> PluginOptions:
    keys = {
        k: plugins[k] for k in ("isolation", "memory_limit", "sandbox", "network") if k in plugins
    }
    if "memory_limit" in keys:
        keys["memory_limit"] = _bytes(keys["memory_limit"])
    for key in ("sandbox", "network"):
        if key in keys and not isinstance(keys[key], bool):
            raise ValueError(f"{key} must be true or false")
    options = attrs.evolve(default, **keys) if default is not None else PluginOptions(**keys)
    if options.memory_limit is not None and not options.isolated:
        raise ValueError('memory_limit needs isolation = "process"')
    return options


def default_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$NEKO_HOME`` or the platform's user data folder for nekohooks."""
    env = (os.environ if environ is None else environ).get("NEKO_HOME", "").strip()
    return Path(env).expanduser() if env else platformdirs.user_data_path("nekohooks")


@attrs.frozen
class HostConfig:
    """Everything a host needs to know; every field has a default."""

    home: Path = attrs.field(factory=default_home, converter=Path)
    """Where plugin homes live: ``<home>/plugins/<name>/``."""
    plugin_filter: PluginFilter = attrs.field(factory=PluginFilter)
    limits: Limits = attrs.field(factory=Limits)
    restart: RestartPolicy = attrs.field(factory=RestartPolicy)
    plugin_options: Mapping[str, PluginOptions] = attrs.field(factory=dict)
    """``[plugins.NAME]`` tables; the ``""`` key holds the defaults from ``[plugins]``."""

    def options(self, name: str) -> PluginOptions:
        """How plugin ``name`` runs (its own table, else the defaults)."""
        options = self.plugin_options
        return options.get(name) or options.get("") or PluginOptions()


def _section(data: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"[{name}] must be a table", path=path)
    return section


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> HostConfig:
    """Build a :class:`HostConfig` from ``neko.toml`` (if it exists) and the environment.

    Raises :class:`ConfigError` naming the file and the problem if it is corrupt or invalid.
    """
    env = dict(os.environ if environ is None else environ)
    home = default_home(env)
    config_env = env.get("NEKO_CONFIG", "").strip()
    path = path or (Path(config_env) if config_env else home / "neko.toml")
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"cannot read host config: {exc}", path=path) from exc
    try:
        plugins = _section(data, "plugins", path)
        allow = plugins.get("allow")
        deny = plugins.get("deny", [])
        for key, value in (("allow", allow), ("deny", deny)):
            if value is not None and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                raise ConfigError(f"[plugins] {key} must be a list of names", path=path)
        default = _plugin_options(plugins)
        options = {"": default}
        for name, table in plugins.items():
            if isinstance(table, dict):
                try:
                    options[name] = _plugin_options(table, default)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"[plugins.{name}] {exc}") from exc
        return HostConfig(
            plugin_options=options,
            home=home,
            plugin_filter=PluginFilter.from_env(allow, deny, environ=env),
            limits=Limits(**_section(data, "limits", path)),
            restart=RestartPolicy(**_section(data, "restart", path)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid host config: {exc}", path=path) from exc
