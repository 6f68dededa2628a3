"""The frozen records and enums a host reads: plugins, entries, jobs, status, events, phases."""

from ._address import Address, parse_address
from ._errors import Phase
from ._events import Event, EventKind, EventStream, Subscription
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
    RunsOn,
)
from ._public import publish

__all__ = [
    "Address",
    "EntryCall",
    "EntryKind",
    "EntrySpec",
    "Event",
    "EventKind",
    "EventStream",
    "JobSpec",
    "LoadFailure",
    "LoopBlock",
    "Phase",
    "PluginInfo",
    "PluginState",
    "PluginStatus",
    "RunsOn",
    "Subscription",
    "parse_address",
]

publish(__name__, globals(), __all__)
