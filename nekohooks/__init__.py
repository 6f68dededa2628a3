"""nekohooks: plugins as packages, pluggy hooks, a trio runner.

The public API is exactly what this module names in ``__all__``.
"""

__version__ = "0.1.0"

from ._api import NekoPluginBase, lifecycle, neko_plugin, periodic, plugin_entry, timer_interval
from ._config import HostConfig, Limits, RestartPolicy, load_config
from ._context import PluginContext, PluginTasks
from ._discovery import ENTRY_POINT_GROUP, Candidate, PluginFilter, scan
from ._errors import (
    ConfigError,
    ContextError,
    DownloadError,
    DownloadTooLarge,
    EntryError,
    EntryFailed,
    EntryNotFound,
    EntryTimeout,
    InvalidArguments,
    NekoError,
    PluginError,
    PluginLoadError,
    PluginUnavailable,
    StoreError,
    UnsafePath,
)
from ._host import Host, open_host, serve
from ._model import (
    EntryCall,
    EntryKind,
    EntrySpec,
    JobSpec,
    LoadFailure,
    LoopBlock,
    PluginInfo,
    PluginState,
    PluginStatus,
)
from ._net import is_transient, retry
from ._schedule import Cron, Every, daily
from ._schema import tool_definitions
from ._store import PluginStore
from .hookspecs import hookimpl, hookspec

__all__ = [
    "ENTRY_POINT_GROUP",
    "Candidate",
    "ConfigError",
    "ContextError",
    "Cron",
    "DownloadError",
    "DownloadTooLarge",
    "EntryCall",
    "EntryError",
    "EntryFailed",
    "EntryKind",
    "EntryNotFound",
    "EntrySpec",
    "EntryTimeout",
    "Every",
    "Host",
    "HostConfig",
    "InvalidArguments",
    "JobSpec",
    "Limits",
    "LoadFailure",
    "LoopBlock",
    "NekoError",
    "NekoPluginBase",
    "PluginContext",
    "PluginError",
    "PluginFilter",
    "PluginInfo",
    "PluginLoadError",
    "PluginState",
    "PluginStatus",
    "PluginStore",
    "PluginTasks",
    "PluginUnavailable",
    "RestartPolicy",
    "StoreError",
    "UnsafePath",
    "__version__",
    "daily",
    "hookimpl",
    "hookspec",
    "is_transient",
    "lifecycle",
    "load_config",
    "neko_plugin",
    "open_host",
    "periodic",
    "plugin_entry",
    "retry",
    "scan",
    "serve",
    "timer_interval",
    "tool_definitions",
]
