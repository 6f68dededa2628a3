"""``plugin.sdk.plugin``: the N.E.K.O SDK v2 names plugins import, as provided by nekohooks.

Supported: ``NekoPluginBase``, ``neko_plugin``, ``plugin_entry``, ``lifecycle``,
``timer_interval``, ``llm_tool``, ``plugin`` (``.entry``/``.lifecycle``/``.timer``), ``Ok``,
``Err``, ``Result``, ``unwrap``, ``unwrap_or``, ``SdkError``, ``TransportError``,
``PluginConfig``, ``PluginStore``, ``PluginI18n``, ``tr``, ``get_plugin_logger``,
``LlmToolMeta``, ``EntryKind`` and the marker constants. The others import but raise
``NotImplementedError`` naming the feature when used.
"""

from __future__ import annotations

import logging

from ._base import NekoPluginBase
from ._config import PluginConfig
from ._decorators import (
    EntryKind,
    LlmToolMeta,
    lifecycle,
    llm_tool,
    neko_plugin,
    plugin,
    plugin_entry,
    timer_interval,
)
from ._logger import SdkLogger
from ._result import Err, Ok, Result, SdkError, TransportError, unwrap, unwrap_or
from ._store import PluginStore
from ._unsupported import Unsupported, unsupported_class
from .shared.i18n import PluginI18n, tr

__all__ = [
    "NEKO_PLUGIN_META_ATTR",
    "NEKO_PLUGIN_TAG",
    "EntryKind",
    "Err",
    "LlmToolMeta",
    "MemoryClient",
    "NekoPluginBase",
    "Ok",
    "PluginConfig",
    "PluginI18n",
    "PluginMeta",
    "PluginRouter",
    "PluginSettings",
    "PluginStore",
    "Plugins",
    "Result",
    "SdkError",
    "SettingsField",
    "SystemInfo",
    "TransportError",
    "after_entry",
    "around_entry",
    "before_entry",
    "custom_event",
    "get_plugin_logger",
    "hook",
    "lifecycle",
    "llm_tool",
    "message",
    "neko_plugin",
    "on_event",
    "plugin",
    "plugin_entry",
    "quick_action",
    "replace_entry",
    "timer_interval",
    "tr",
    "ui",
    "unwrap",
    "unwrap_or",
]

NEKO_PLUGIN_META_ATTR = "__neko_plugin_meta__"
NEKO_PLUGIN_TAG = "__neko_plugin__"


def get_plugin_logger(plugin_id: str, suffix: str | None = None) -> SdkLogger:
    """A ``{}``-formatting logger named ``neko.plugin.<plugin_id>[.<suffix>]``."""
    name = f"neko.plugin.{plugin_id}" + (f".{suffix}" if suffix else "")
    return SdkLogger(logging.getLogger(name))


# Names real plugins may import but nekohooks does not provide (they fail when used).
on_event = Unsupported("on_event", "custom events")
message = Unsupported("message", "message consumers")
custom_event = Unsupported("custom_event", "custom events")
hook = Unsupported("hook", "entry hooks")
before_entry = Unsupported("before_entry", "entry hooks")
after_entry = Unsupported("after_entry", "entry hooks")
around_entry = Unsupported("around_entry", "entry hooks")
replace_entry = Unsupported("replace_entry", "entry hooks")
quick_action = Unsupported("quick_action", "quick actions")
ui = Unsupported("ui", "UI panels")
PluginMeta = unsupported_class("PluginMeta", "plugin metadata records")
PluginRouter = unsupported_class("PluginRouter", "routers")
Plugins = unsupported_class("Plugins", "calls to other plugins")
SystemInfo = unsupported_class("SystemInfo", "host system information")
MemoryClient = unsupported_class("MemoryClient", "the memory client")
PluginSettings = unsupported_class("PluginSettings", "typed settings")
SettingsField = Unsupported("SettingsField", "typed settings")
