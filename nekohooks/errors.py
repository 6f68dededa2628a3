"""Every error nekohooks raises, in one tree; the classes live in the private _errors module.

::

    NekoError
    ├── ConfigError                 a host or plugin configuration file is unreadable or invalid
    ├── PluginError                 something is wrong with one plugin (.plugin, .phase)
    │   ├── PluginLoadError         discovery: import, registration, validation or version check
    │   ├── PluginUnavailable       the plugin is not running (disabled, failed, restarting, stopped)
    │   ├── EntryNotFound           no such plugin, or no such entry on that plugin
    │   └── EntryError              one entry call went wrong (.entry)
    │       ├── InvalidArguments    rejected before the plugin code ran (.argument)
    │       ├── EntryTimeout        the call outlived its timeout and was cancelled (.timeout)
    │       └── EntryFailed         the plugin code raised (the cause is chained as __cause__)
    └── ContextError                a plugin misused its context (.plugin)
        ├── UnsafePath              a file name would escape the plugin's folder
        ├── DownloadError           a download failed (HTTP status, size limit, network)
        │   └── DownloadTooLarge    the body exceeded the size limit; nothing was kept
        └── StoreError              the plugin's persistent store failed

:func:`is_transient` tells whether an exception is worth retrying (what ``nekohooks.retry``
retries on).
"""

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
from ._net import is_transient
from ._public import publish

__all__ = [
    "ConfigError",
    "ContextError",
    "DownloadError",
    "DownloadTooLarge",
    "EntryError",
    "EntryFailed",
    "EntryNotFound",
    "EntryTimeout",
    "InvalidArguments",
    "NekoError",
    "PluginError",
    "PluginLoadError",
    "PluginUnavailable",
    "StoreError",
    "UnsafePath",
    "is_transient",
]

publish(__name__, globals(), __all__)
