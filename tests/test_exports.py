"""The public API is deliberate: these tests pin every exported name and where it says it lives."""

from __future__ import annotations

import importlib

import pytest

import nekohooks

PUBLIC = {
    "nekohooks": [
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
    ],
    "nekohooks.errors": [
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
    ],
    "nekohooks.records": [
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
    ],
    "nekohooks.messages": [
        "HandlerKind",
        "HandlerSpec",
        "Message",
        "Reply",
        "ReplyKind",
        "Rest",
        "STOP",
        "command",
        "message_from_json",
        "on_event",
        "on_message",
        "reply_record",
    ],
    "nekohooks.discovery": [
        "ENTRY_POINT_GROUP",
        "Candidate",
        "LoadedPlugin",
        "PluginFilter",
        "Registry",
        "load_plugins",
        "scan",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_names_are_pinned(module: str) -> None:
    assert sorted(importlib.import_module(module).__all__) == sorted(PUBLIC[module])


def test_the_top_level_api_stays_small() -> None:
    assert len(nekohooks.__all__) <= 25


@pytest.mark.parametrize(
    ("module", "name"), [(m, n) for m, names in PUBLIC.items() for n in names if n[0] != "_"]
)
def test_public_objects_report_their_public_module(module: str, name: str) -> None:
    obj = getattr(importlib.import_module(module), name)
    if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__code__")):
        # an error defined once is re-exported at the top too: it keeps its own public home
        assert obj.__module__ in PUBLIC and not obj.__module__.split(".")[-1].startswith("_")
        assert name in PUBLIC[obj.__module__] or obj.__module__ == module


def test_tracebacks_show_public_names() -> None:
    from nekohooks.errors import EntryTimeout

    assert EntryTimeout.__module__ == "nekohooks.errors"
    assert nekohooks.open_host.__module__ == "nekohooks"
