"""nekohooks: plugins as packages, pluggy hooks, a trio runner.

The public API is what this module names in ``__all__``, plus the public submodules:
:mod:`nekohooks.errors` (the error tree), :mod:`nekohooks.records` (the frozen records and
enums hosts read), :mod:`nekohooks.hookspecs` (the raw pluggy hooks), :mod:`nekohooks.discovery`
(the entry-point scan) and :mod:`nekohooks.testing` (the contract kit, ``nekohooks[testing]``).
Everything in a ``_module`` is private.
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:  # the names, for type checkers; at run time each is imported on first use
    from ._api import NekoPluginBase, lifecycle, neko_plugin, periodic, plugin_entry, timer_interval
    from ._config import HostConfig, Limits, RestartPolicy, load_config
    from ._context import PluginContext, PluginTasks
    from ._errors import NekoError
    from ._host import Host, open_host
    from ._net import retry
    from ._process import serve
    from ._schedule import Cron, Every, daily
    from ._schema import tool_definitions
    from ._store import PluginStore
    from .hookspecs import hookimpl

__all__ = [
    "Cron",
    "Every",
    "Host",
    "HostConfig",
    "Limits",
    "NekoError",
    "NekoPluginBase",
    "PluginContext",
    "PluginStore",
    "PluginTasks",
    "RestartPolicy",
    "__version__",
    "daily",
    "hookimpl",
    "lifecycle",
    "load_config",
    "neko_plugin",
    "open_host",
    "periodic",
    "plugin_entry",
    "retry",
    "serve",
    "timer_interval",
    "tool_definitions",
]

_HOMES = {
    "NekoPluginBase": "_api",
    "lifecycle": "_api",
    "neko_plugin": "_api",
    "periodic": "_api",
    "plugin_entry": "_api",
    "timer_interval": "_api",
    "HostConfig": "_config",
    "Limits": "_config",
    "RestartPolicy": "_config",
    "load_config": "_config",
    "PluginContext": "_context",
    "PluginTasks": "_context",
    "NekoError": "_errors",
    "Host": "_host",
    "open_host": "_host",
    "retry": "_net",
    "serve": "_process",
    "Cron": "_schedule",
    "Every": "_schedule",
    "daily": "_schedule",
    "tool_definitions": "_schema",
    "PluginStore": "_store",
    "hookimpl": "hookspecs",
}
"""Where each public name lives. ``import nekohooks`` imports none of them (trio, pluggy and
the host cost ~150 ms); ``nekohooks.X`` or ``from nekohooks import X`` imports X's module."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nekohooks' has no attribute {name!r}")
    from importlib import import_module

    from ._public import publish

    value = getattr(import_module(f"nekohooks.{home}"), name)
    publish(__name__, {name: value}, [name])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
