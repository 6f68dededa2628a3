"""The error classes (drawn as a tree in :mod:`nekohooks.errors`, their public home) and phases.

Only :data:`PLUGIN_FAULTS` (``Exception`` and ``SystemExit``) raised by plugin code count as the
plugin's fault. ``KeyboardInterrupt`` is never one: a real Ctrl-C (or the SIGTERM that ``neko run``
turns into one) always reaches the host, and ``trio.Cancelled`` always passes through.
"""

from __future__ import annotations

import enum

__all__ = [
    "PLUGIN_FAULTS",
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
    "Phase",
    "PluginError",
    "PluginLoadError",
    "PluginUnavailable",
    "StoreError",
    "UnsafePath",
]


class Phase(enum.StrEnum):
    """The step of a plugin's life in which something happened (errors, failures, status).

    A ``StrEnum``: each member equals its value, so ``Phase.STARTUP == "startup"``.
    """

    VERSION = "version"
    """discovery: the distribution's requirement on nekohooks excludes this version"""
    IMPORT = "import"
    """discovery: importing the entry point raised or hung"""
    REGISTER = "register"
    """registration with pluggy failed (a duplicate name, a bad hookimpl)"""
    VALIDATE = "validate"
    """the plugin's name, entries, jobs or schemas are invalid"""
    CONFIG = "config"
    """the plugin's home or ``plugin.toml`` could not be prepared or read"""
    STARTUP = "startup"
    """construction or a startup hook raised or timed out"""
    ENTRY = "entry"
    """an entry call"""
    PERIODIC = "periodic"
    """a periodic job's run"""
    TASK = "task"
    """a background task the plugin started"""
    TERMINATE = "terminate"
    """a terminate hook raised or overran its grace period"""
    EVENT_LOOP = "event-loop"
    """plugin code held the trio loop past the block threshold"""


#: What plugin code may raise that the host contains and reports as the plugin's fault.
#: ``KeyboardInterrupt`` is deliberately absent (a real Ctrl-C must stop the host), and so is
#: ``trio.Cancelled`` (a ``BaseException``).
PLUGIN_FAULTS: tuple[type[BaseException], ...] = (Exception, SystemExit)


class NekoError(Exception):
    """The root of every error nekohooks raises."""


class ConfigError(NekoError):
    """A configuration file (host ``neko.toml`` or a plugin's ``plugin.toml``) is corrupt or invalid."""

    def __init__(self, message: str, *, path: object = None, plugin: str | None = None) -> None:
        where = f"{plugin}: " if plugin else ""
        at = f" ({path})" if path is not None else ""
        super().__init__(f"{where}{message}{at}")
        self.path = path
        self.plugin = plugin


class PluginError(NekoError):
    """An error that concerns one plugin, named by its entry-point name in ``.plugin``."""

    def __init__(self, plugin: str, message: str, *, phase: Phase | None = None) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin
        self.phase = phase
        self.detail = message


class PluginLoadError(PluginError):
    """Discovery could not load a plugin; ``.phase`` says which step failed."""


class PluginUnavailable(PluginError):
    """The plugin exists but is not running, so its entries cannot be called."""


class EntryNotFound(PluginError):
    """The plugin has no entry with that id (or no plugin has that name)."""


class EntryError(PluginError):
    """One entry call went wrong; ``.entry`` is the entry id."""

    def __init__(
        self, plugin: str, entry: str, message: str, *, phase: Phase = Phase.ENTRY
    ) -> None:
        super().__init__(plugin, f"entry {entry!r}: {message}", phase=phase)
        self.entry = entry
        self.detail = message


class InvalidArguments(EntryError):
    """The arguments do not match the entry's schema; the plugin code did not run.

    ``.argument`` names the offending argument (``None`` when the problem is the whole set).
    """

    def __init__(self, plugin: str, entry: str, message: str, *, argument: str | None) -> None:
        super().__init__(plugin, entry, message)
        self.argument = argument


class EntryTimeout(EntryError):
    """The call ran longer than its timeout (``.timeout`` seconds) and was cancelled."""

    def __init__(
        self, plugin: str, entry: str, timeout: float, *, phase: Phase = Phase.ENTRY
    ) -> None:
        super().__init__(plugin, entry, f"timed out after {timeout:g}s", phase=phase)
        self.timeout = timeout


class EntryFailed(EntryError):
    """The plugin's code raised; the original exception is ``__cause__``.

    ``.code`` is the exception's own ``code`` attribute when it has a text one (an error code
    the plugin chose, e.g. a N.E.K.O ``Err``'s), else ``None``.
    """

    def __init__(self, plugin: str, entry: str, message: str, *, code: str | None = None) -> None:
        super().__init__(plugin, entry, message)
        self.code = code


class ContextError(NekoError):
    """A plugin asked its context for something it may not have."""

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}: {message}")
        self.plugin = plugin


class UnsafePath(ContextError):
    """A file name would leave the plugin's own folder (``..``, absolute, or through a symlink)."""


class DownloadError(ContextError):
    """A download did not complete; no partial file is left behind."""


class DownloadTooLarge(DownloadError):
    """The response body was larger than the download's ``max_bytes``."""


class StoreError(ContextError):
    """The plugin's SQLite store could not be opened or written."""
