"""Host configuration: the one place that reads ``neko.toml`` and the ``NEKO_*`` environment.

Everything is an explicit frozen value with a documented default. :func:`load_config` reads an
optional ``neko.toml`` and the environment:

===========================  ==============================================================
``NEKO_HOME``                the nekohooks home (default: the platform's user data folder)
``NEKO_CONFIG``              the host config file (default: ``$NEKO_HOME/neko.toml``); a file
                             named here must exist
``NEKO_LOAD_PLUGINS``        comma-separated plugin names: load only these
``NEKO_DISABLE_PLUGINS``     comma-separated plugin names: never import these
===========================  ==============================================================

``neko.toml``::

    [plugins]
    allow = ["weather", "reminder"]    # optional
    deny = ["noisy"]
    folders = ["../my_neko_plugin"]    # plugin folders used in place (relative to this file)
    isolation = "process"              # default for all: "none" (in process) or "process"

    [plugins.weather]                  # one plugin (overrides [plugins])
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
    worker_threads = 8

    [restart]
    max_restarts = 5
    window = 300
    initial_backoff = 1
    max_backoff = 60
    jitter = 0.25

Every error names the file and the key (``[limits] entry_timeout``); an unknown table or key is a
warning with the nearest known name, kept in :attr:`HostConfig.warnings` and logged.
"""

from __future__ import annotations

import difflib
import logging
import os
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ._errors import ConfigError
from ._home import default_home

__all__ = [
    "HostConfig",
    "Limits",
    "PluginFilter",
    "PluginOptions",
    "RestartPolicy",
    "check_home",
    "default_home",
    "home_problem",
    "load_config",
]

log = logging.getLogger("nekohooks.config")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


@attrs.frozen
class Limits:
    """Time limits the host enforces on every plugin (seconds)."""

    startup_timeout: float = attrs.field(default=30.0, validator=_positive)
    entry_timeout: float = attrs.field(default=60.0, validator=_positive)
    terminate_grace: float = attrs.field(default=5.0, validator=_positive)
    shutdown_timeout: float = attrs.field(default=30.0, validator=_positive)
    block_threshold: float = attrs.field(default=1.0, validator=_positive)
    """How long plugin code may hold the trio loop before the watchdog reports it."""
    worker_threads: int = attrs.field(default=8, validator=_positive)
    """Worker threads per plugin for sync entries and hooks (one plugin cannot starve others)."""


@attrs.frozen
class RestartPolicy:
    """How a crashed plugin is restarted: exponential backoff with jitter, then give up.

    After a crash the plugin waits ``initial_backoff * 2**n`` seconds (capped at ``max_backoff``,
    plus up to ``jitter`` of that as random extra), where ``n`` counts crashes inside the last
    ``window`` seconds. More than ``max_restarts`` crashes in ``window`` marks it failed.
    A run that stayed up for ``window`` seconds resets the count.
    """

    max_restarts: int = attrs.field(default=5, validator=_non_negative)
    window: float = attrs.field(default=300.0, validator=_positive)
    initial_backoff: float = attrs.field(default=1.0, validator=_positive)
    max_backoff: float = attrs.field(default=60.0, validator=_positive)
    jitter: float = attrs.field(default=0.25, validator=_non_negative)


@attrs.frozen
class PluginFilter:
    """Which plugins may load: ``allow`` (``None`` = all) minus ``deny``; deny always wins."""

    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    def permits(self, name: str) -> bool:
        """True if plugin ``name`` may be imported."""
        if name in self.deny:
            return False
        return self.allow is None or name in self.allow

    def named(self) -> frozenset[str]:
        """Every plugin name the filter mentions (to check them against what is installed)."""
        return (self.allow or frozenset()) | self.deny


@attrs.frozen
class PluginOptions:
    """Where one plugin runs: in the host's process, or its own (``[plugins.NAME]``)."""

    isolation: str = attrs.field(
        default="none", validator=attrs.validators.in_({"none", "process"})
    )
    memory_limit: int | None = None
    """Bytes of address space the plugin may map on top of its process's baseline (the
    interpreter and nekohooks), enforced by the OS (``"256MiB"`` in neko.toml)."""
    sandbox: bool = False
    """Run the plugin's process under bubblewrap: read-only system, only its home writable."""
    network: bool = False
    """In the sandbox, whether the plugin may use the network."""

    @property
    def isolated(self) -> bool:
        """True if the plugin runs in its own process."""
        return self.isolation == "process" or self.sandbox


_OPTION_KEYS = ("isolation", "memory_limit", "sandbox", "network")
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


def _plugin_options(table: Mapping[str, Any], default: PluginOptions) -> PluginOptions:
    keys = {k: table[k] for k in _OPTION_KEYS if k in table}
    if keys.get("isolation", "none") not in ("none", "process"):
        raise ValueError(f'isolation must be "none" or "process", got {keys["isolation"]!r}')
    if "memory_limit" in keys:
        keys["memory_limit"] = _bytes(keys["memory_limit"])
    for key in ("sandbox", "network"):
        if key in keys and not isinstance(keys[key], bool):
            raise ValueError(f"{key} must be true or false")
    options = attrs.evolve(default, **keys)
    if options.memory_limit is not None and not options.isolated:
        raise ValueError('memory_limit needs isolation = "process"')
    return options


def home_problem(home: Path) -> str | None:
    """Why plugins cannot keep their files under ``home``, or ``None`` if they can.

    Creates ``home`` if it is missing and writes (and removes) one probe file in it.
    """
    existing = next((p for p in (home, *home.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".neko-probe-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def check_home(home: Path) -> None:
    """Raise :class:`ConfigError` naming ``home`` and why plugins cannot keep files there."""
    problem = home_problem(home)
    if problem is not None:
        raise ConfigError(f"the nekohooks home {home} cannot be used: {problem}")


@attrs.frozen
class HostConfig:
    """Everything a host needs to know; every field has a default."""

    home: Path = attrs.field(factory=default_home, converter=Path)
    """Where plugin homes live: ``<home>/plugins/<name>/``."""
    plugin_filter: PluginFilter = attrs.field(factory=PluginFilter)
    limits: Limits = attrs.field(factory=Limits)
    restart: RestartPolicy = attrs.field(factory=RestartPolicy)
    plugin_folders: tuple[Path, ...] = ()
    """Plugin folders loaded where they are (``[plugins] folders``), e.g. N.E.K.O plugins."""
    source: Path | None = attrs.field(default=None, eq=False)
    """The ``neko.toml`` this was read from, if one was."""
    warnings: tuple[str, ...] = attrs.field(default=(), eq=False)
    """Problems in the file that did not stop it from loading (unknown tables and keys)."""
    plugin_options: Mapping[str, PluginOptions] = attrs.field(factory=dict)
    """``[plugins.NAME]`` tables; the ``""`` key holds the defaults from ``[plugins]``."""

    def options(self, name: str) -> PluginOptions:
        """How plugin ``name`` runs (its own table, else the defaults)."""
        options = self.plugin_options
        return options.get(name) or options.get("") or PluginOptions()


def _split(text: str) -> set[str]:
    return {part.strip() for part in text.split(",") if part.strip()}


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    """Reads one parsed ``neko.toml``, naming the file and key in every problem."""

    SECTIONS = ("plugins", "limits", "restart")

    def __init__(self, data: Mapping[str, Any], path: Path) -> None:
        self.data, self.path = data, path
        self.warnings: list[str] = []
        for name in data:
            if name not in self.SECTIONS:
                self._warn(f"unknown table [{name}]{_suggest(name, self.SECTIONS)}")

    def _warn(self, text: str) -> None:
        self.warnings.append(f"{self.path}: {text}")

    def section(self, name: str, known: Iterable[str]) -> dict[str, Any]:
        section = self.data.get(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"[{name}] must be a table", path=self.path)
        known = list(known)
        for key in section:
            if key not in known and not isinstance(section[key], dict):
                self._warn(f"unknown key [{name}] {key}{_suggest(key, known)}")
        return section

    def record(self, name: str, cls: type[Any]) -> Any:
        fields = {f.name: f for f in attrs.fields(cls)}
        values = {}
        for key, value in self.section(name, fields).items():
            field = fields.get(key)
            if field is None:
                continue
            wanted = int if field.type in (int, "int") else float
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"[{name}] {key} must be a number, got {value!r}", path=self.path)
            if wanted is int and not isinstance(value, int):
                raise ConfigError(
                    f"[{name}] {key} must be a whole number, got {value!r}", path=self.path
                )
            values[key] = value
        try:
            return cls(**values)
        except ValueError as exc:
            raise ConfigError(f"[{name}] {exc}", path=self.path) from exc

    def names(self, section: Mapping[str, Any], key: str) -> list[str] | None:
        value = section.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(f"[plugins] {key} must be a list of names", path=self.path)
        return value


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> HostConfig:
    """Build a :class:`HostConfig` from ``neko.toml`` and the environment.

    Args:
        path: the config file (default: ``$NEKO_CONFIG``, else ``$NEKO_HOME/neko.toml``).
        environ: the environment to read (default: ``os.environ``).

    Raises:
        ConfigError: the file is unreadable or invalid (naming the file and the key), or a file
            given by ``path`` or ``$NEKO_CONFIG`` does not exist. A missing default
            ``$NEKO_HOME/neko.toml`` is fine: every value has a default.
    """
    env = os.environ if environ is None else environ
    home = default_home(env)
    config_env = env.get("NEKO_CONFIG", "").strip()
    explicit = path is not None or bool(config_env)
    path = path or (Path(config_env).expanduser() if config_env else home / "neko.toml")
    data: dict[str, Any] = {}
    source: Path | None = None
    if path.is_file() or explicit:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("the host config file does not exist", path=path) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError, RecursionError) as exc:
            raise ConfigError(f"cannot read host config: {exc}", path=path) from exc
        source = path
    reader = _Reader(data, path)
    plugins = reader.section("plugins", ("allow", "deny", "folders", *_OPTION_KEYS))
    options: dict[str, PluginOptions] = {}
    where = "[plugins]"
    try:
        options[""] = _plugin_options(plugins, PluginOptions())
        for name, table in plugins.items():
            if isinstance(table, dict):
                where = f"[plugins.{name}]"
                for key in table:
                    if key not in _OPTION_KEYS:
                        reader._warn(f"unknown key {where} {key}{_suggest(key, _OPTION_KEYS)}")
                options[name] = _plugin_options(table, options[""])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where} {exc}", path=path) from exc
    allow = reader.names(plugins, "allow")
    deny = reader.names(plugins, "deny") or []
    allowed = set(allow) if allow is not None else None
    if env.get("NEKO_LOAD_PLUGINS", "").strip():
        from_env = _split(env["NEKO_LOAD_PLUGINS"])
        allowed = from_env if allowed is None else allowed & from_env
    denied = set(deny) | _split(env.get("NEKO_DISABLE_PLUGINS", ""))
    folders = plugins.get("folders", [])
    if not (isinstance(folders, list) and all(isinstance(f, str) for f in folders)):
        raise ConfigError("[plugins] folders must be a list of paths", path=path)
    config = HostConfig(
        home=home,
        plugin_folders=tuple(path.parent / Path(f).expanduser() for f in folders),
        plugin_filter=PluginFilter(
            frozenset(allowed) if allowed is not None else None, frozenset(denied)
        ),
        limits=reader.record("limits", Limits),
        restart=reader.record("restart", RestartPolicy),
        source=source,
        warnings=tuple(reader.warnings),
        plugin_options=options,
    )
    for warning in config.warnings:
        log.warning("%s", warning)
    return config
