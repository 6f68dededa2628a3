"""nekohooks: plugins as packages, pluggy hooks, a trio runner.

The public API is what this module names in ``__all__``, plus the public submodules:
:mod:`nekohooks.errors` (the error tree), :mod:`nekohooks.records` (the frozen records and
enums hosts read), :mod:`nekohooks.hookspecs` (the raw pluggy hooks), :mod:`nekohooks.discovery`
(the entry-point scan) and :mod:`nekohooks.testing` (the contract kit, ``nekohooks[testing]``).
Everything in a ``_module`` is private.
"""

from ._api import NekoPluginBase, lifecycle, neko_plugin, periodic, plugin_entry, timer_interval
from ._config import HostConfig, Limits, RestartPolicy, load_config
from ._context import PluginContext, PluginTasks
from ._errors import NekoError
from ._host import Host, open_host
from ._net import retry
from ._process import serve
from ._public import publish
from ._schedule import Cron, Every, daily
from ._schema import tool_definitions
from ._store import PluginStore
from ._version import __version__
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

publish(__name__, globals(), __all__)
