"""The data model: small frozen records that describe plugins, entries, jobs and their state."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import Phase
from ._schedule import Schedule, describe

if TYPE_CHECKING:
    from ._handlers import HandlerSpec

__all__ = [
    "EntryCall",
    "EntryKind",
    "EntrySpec",
    "JobSpec",
    "LoadFailure",
    "LoopBlock",
    "PluginInfo",
    "PluginState",
    "PluginStatus",
    "RunsOn",
]


class EntryKind(enum.Enum):
    """How an entry produces its result."""

    SYNC = "sync"
    ASYNC = "async"
    SYNC_GEN = "sync-generator"
    ASYNC_GEN = "async-generator"

    @classmethod
    def of(cls, func: Callable[..., Any]) -> EntryKind:
        """Classify ``func`` (following ``__wrapped__`` only for generators, whose wrappers lie)."""
        if inspect.isasyncgenfunction(func):
            return cls.ASYNC_GEN
        if inspect.iscoroutinefunction(func):
            return cls.ASYNC
        if inspect.isgeneratorfunction(inspect.unwrap(func)):
            return cls.SYNC_GEN
        return cls.SYNC


class RunsOn(enum.Enum):
    """Where plugin code runs: trio's loop, a worker thread, or the plugin's asyncio thread."""

    TRIO = "trio"
    THREAD = "thread"
    ASYNCIO = "asyncio"


@attrs.frozen(eq=False)
class EntrySpec:
    """One named action a plugin offers, addressed as ``<plugin>.<id>``."""

    id: str
    name: str
    description: str
    input_schema: Mapping[str, Any]
    timeout: float | None
    func: Callable[..., Any] = attrs.field(repr=False)
    kind: EntryKind
    runs_on: RunsOn
    wants_ctx: bool
    is_method: bool


@attrs.frozen(eq=False)
class JobSpec:
    """A periodic job: what to run and on which schedule."""

    id: str
    schedule: Schedule
    timeout: float | None
    func: Callable[..., Any] = attrs.field(repr=False)
    runs_on: RunsOn
    wants_ctx: bool
    is_method: bool

    def describe(self) -> str:
        """Human text for the schedule, e.g. ``every 60s``."""
        return describe(self.schedule)


@attrs.frozen(eq=False)
class PluginInfo:
    """A plugin that discovery loaded and registered."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    style: str  # "class" or "module"
    module: str
    entries: tuple[EntrySpec, ...]
    jobs: tuple[JobSpec, ...]
    description: str = ""
    handlers: tuple[HandlerSpec, ...] = ()  # message handlers: commands, on_message, on_event


@attrs.frozen
class LoadFailure:
    """A plugin discovery could not load, and why; the host keeps running without it."""

    name: str
    value: str
    distribution: str | None
    version: str | None
    phase: Phase  # VERSION, IMPORT, REGISTER or VALIDATE
    error: str

    def __str__(self) -> str:
        dist = f" from {self.distribution} {self.version}" if self.distribution else ""
        return f"plugin {self.name!r}{dist} failed at {self.phase}: {self.error}"


class PluginState(enum.Enum):
    """Where a plugin is in its life."""

    DISABLED = "disabled"
    FAILED_TO_LOAD = "failed-to-load"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    FAILED = "failed"
    STOPPING = "stopping"
    STOPPED = "stopped"


@attrs.frozen
class PluginStatus:
    """A snapshot of one plugin's state, for status pages and ``neko list``."""

    name: str
    state: PluginState
    restarts: int = 0
    last_error: str | None = None
    phase: Phase | None = None
    tasks: tuple[str, ...] = ()
    job_runs: Mapping[str, int] = attrs.field(factory=dict)
    job_failures: Mapping[str, int] = attrs.field(factory=dict)
    job_skipped: Mapping[str, int] = attrs.field(factory=dict)
    loop_blocks: int = 0
    calls: int = 0
    """Entry calls that reached the plugin's code (all runs)."""
    call_failures: int = 0
    """Of those, the calls that raised (``EntryFailed``)."""
    call_timeouts: int = 0
    """Of those, the calls cancelled by their timeout (``EntryTimeout``)."""
    since: float | None = None
    """When the current run reached RUNNING (epoch seconds); ``None`` while not running."""
    pid: int | None = None
    """An isolated plugin's process id (``None``: in the host's process, or not running)."""
    rss: int | None = None
    """Resident memory of an isolated plugin's process and its children, in bytes."""


@attrs.frozen
class LoopBlock:
    """The loop watchdog saw ``plugin`` (``None``: no plugin on the stack) hold the trio loop
    for ``seconds`` at ``where`` (``file:line in function``)."""

    plugin: str | None
    seconds: float
    where: str


@attrs.frozen
class EntryCall:
    """What an entry-interception wrapper sees of a call (see ``neko_entry_call``)."""

    plugin: str
    entry: str
    arguments: Mapping[str, Any]
