"""The ``astrbot.*`` modules a plugin imports, made for each plugin loaded through this layer.

They are never put in ``sys.modules``: each plugin module loaded by :mod:`._loader` gets its own
builtins whose ``__import__`` answers ``astrbot`` and ``astrbot.*`` from this plugin's set (and
``os``/``open`` from its :class:`~._paths.PathGuard`), and defers everything else to Python's.
So ``import astrbot`` works inside those plugins, also lazily inside functions, and fails
everywhere else. A name AstrBot has but this layer does not raises ``ImportError`` naming it.
"""

from __future__ import annotations

import builtins
import logging
import types
from collections.abc import Callable, Mapping
from typing import Any

from nekohooks.messages import Rest

from . import _event, _star
from ._paths import PathGuard

__all__ = ["SUPPORTED", "UNSUPPORTED", "plugin_builtins"]

_FILTER_NAMES = {
    "command": _star.command,
    "command_group": _star.command_group,
    "permission_type": _star.permission_type,
    "event_message_type": _star.event_message_type,
    "regex": _star.regex,
    "on_astrbot_loaded": _star.on_astrbot_loaded,
    "llm_tool": _star.llm_tool,
    "PermissionType": _star.PermissionType,
    "EventMessageType": _star.EventMessageType,
}
_EVENT_NAMES = {
    "AstrMessageEvent": _event.AstrMessageEvent,
    "MessageChain": _event.MessageChain,
    "MessageEventResult": _event.MessageEventResult,
    "EventResultType": _event.EventResultType,
}
_COMPONENTS = {"Plain": _event.Plain, "Image": _event.Image, "At": _event.At}
_PLATFORM = {
    "AstrMessageEvent": _event.AstrMessageEvent,
    "AstrBotMessage": _event.AstrBotMessage,
    "MessageMember": _event.MessageMember,
    "MessageType": _event.MessageType,
}

#: Names of AstrBot's plugin API that a plugin loaded through this layer can import.
SUPPORTED: Mapping[str, tuple[str, ...]] = {
    "astrbot": ("logger",),
    "astrbot.api": ("logger", "AstrBotConfig", "llm_tool"),
    "astrbot.api.star": ("Context", "Star", "StarTools", "register"),
    "astrbot.api.event": (*_EVENT_NAMES, "filter"),
    "astrbot.api.event.filter": tuple(_FILTER_NAMES),
    "astrbot.api.message_components": tuple(_COMPONENTS),
    "astrbot.api.platform": tuple(_PLATFORM),
    "astrbot.api.all": (),  # every name above
    # the same objects under the astrbot.core paths real plugins import them from
    "astrbot.core.config.astrbot_config": ("AstrBotConfig",),
    "astrbot.core.platform": ("AstrMessageEvent", "AstrBotMessage", "MessageType"),
    "astrbot.core.platform.astr_message_event": ("AstrMessageEvent",),
    "astrbot.core.message.components": tuple(_COMPONENTS),
    "astrbot.core.star.filter.command": ("GreedyStr",),
    "astrbot.core.star.filter.permission": ("PermissionType",),
    "astrbot.core.star.filter.event_message_type": ("EventMessageType",),
    "astrbot.core.utils.astrbot_path": ("get_astrbot_data_path",),
}

#: Commonly used AstrBot names that this layer does not provide (importing one fails).
UNSUPPORTED = (
    "filter.custom_filter",
    "filter.platform_adapter_type",
    "filter.after_message_sent",
    "filter.on_llm_request",
    "filter.on_llm_response",
    "filter.on_decorating_result",
    "filter.on_platform_loaded",
    "filter.on_plugin_error / on_plugin_loaded / on_plugin_unloaded",
    "filter.on_agent_begin / on_agent_done / on_using_llm_tool / on_llm_tool_respond",
    "astrbot.api.html_renderer, sp, agent, FunctionTool, ToolSet",
    "astrbot.api.provider (LLM providers), astrbot.api.util (session_waiter)",
    "astrbot.core.* (AstrBot internals)",
    "Star.text_to_image, Star.html_render, Star.put_kv_data / get_kv_data",
    "AstrMessageEvent.request_llm, send_streaming, react, get_group, bot",
)


class _ShimModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"module {self.__name__!r} has no attribute {name!r}: nekohooks' AstrBot layer "
            "does not provide it"
        )


def _module(name: str, values: Mapping[str, Any]) -> _ShimModule:
    module = _ShimModule(name)
    module.__dict__.update(values)
    module.__package__ = name
    module.__path__ = []  # a package, so "import astrbot.api.event" walks it
    return module


def _data_path(runtime: _star.Runtime) -> Callable[[], str]:
    def get_astrbot_data_path() -> str:
        """AstrBot's ``data`` folder; here the plugin's own ``<home>/data``."""
        return str(_star.StarTools.data_dir(runtime))

    return get_astrbot_data_path


def _aliases(runtime: _star.Runtime) -> dict[str, dict[str, Any]]:
    return {
        "astrbot.core.config.astrbot_config": {"AstrBotConfig": _star.AstrBotConfig},
        "astrbot.core.platform": {
            "AstrMessageEvent": _event.AstrMessageEvent,
            "AstrBotMessage": _event.AstrBotMessage,
            "MessageType": _event.MessageType,
        },
        "astrbot.core.platform.astr_message_event": {"AstrMessageEvent": _event.AstrMessageEvent},
        "astrbot.core.message.components": dict(_COMPONENTS),
        "astrbot.core.star.filter.command": {"GreedyStr": Rest},
        "astrbot.core.star.filter.permission": {"PermissionType": _star.PermissionType},
        "astrbot.core.star.filter.event_message_type": {"EventMessageType": _star.EventMessageType},
        "astrbot.core.utils.astrbot_path": {"get_astrbot_data_path": _data_path(runtime)},
    }


def _with_parents(modules: dict[str, _ShimModule]) -> dict[str, _ShimModule]:
    """Add the missing parent packages and link each module as its parent's attribute."""
    for name in list(modules):
        child = name
        parent, _, attribute = child.rpartition(".")
        while parent:
            if parent not in modules:
                modules[parent] = _module(parent, {})
            modules[parent].__dict__.setdefault(attribute, modules[child])
            child = parent
            parent, _, attribute = child.rpartition(".")
    return modules


def _tree(runtime: _star.Runtime) -> dict[str, _ShimModule]:
    logger = runtime.logger
    tools = type("StarTools", (_star.StarTools,), {"runtime": runtime})
    filter_module = _module("astrbot.api.event.filter", _FILTER_NAMES)
    event = _module("astrbot.api.event", {**_EVENT_NAMES, "filter": filter_module})
    star = _module(
        "astrbot.api.star",
        {
            "Context": _star.Context,
            "Star": _star.Star,
            "StarTools": tools,
            "register": _star.register,
        },
    )
    components = _module("astrbot.api.message_components", _COMPONENTS)
    platform = _module("astrbot.api.platform", {**_PLATFORM, **_COMPONENTS})
    every = {
        **_EVENT_NAMES,
        **_COMPONENTS,
        **_PLATFORM,
        **{k: v for k, v in _FILTER_NAMES.items()},
        "filter": filter_module,
        "Context": _star.Context,
        "Star": _star.Star,
        "StarTools": tools,
        "register": _star.register,
        "AstrBotConfig": _star.AstrBotConfig,
        "logger": logger,
    }
    api = _module(
        "astrbot.api",
        {
            "logger": logger,
            "AstrBotConfig": _star.AstrBotConfig,
            "llm_tool": _star.llm_tool,
            "star": star,
            "event": event,
            "message_components": components,
            "platform": platform,
        },
    )
    api.__dict__["all"] = _module("astrbot.api.all", every)
    event.__dict__["filter"] = filter_module
    root = _module("astrbot", {"logger": logger, "api": api})
    aliases = {name: _module(name, values) for name, values in _aliases(runtime).items()}
    return _with_parents(
        {
            **aliases,
            "astrbot": root,
            "astrbot.api": api,
            "astrbot.api.star": star,
            "astrbot.api.event": event,
            "astrbot.api.event.filter": filter_module,
            "astrbot.api.message_components": components,
            "astrbot.api.platform": platform,
            "astrbot.api.all": api.__dict__["all"],
        }
    )


def plugin_builtins(runtime: _star.Runtime, guard: PathGuard) -> dict[str, Any]:
    """The builtins for one plugin's modules: Python's, with ``__import__`` and ``open``
    answering as described above."""
    modules = _tree(runtime)
    real_import: Callable[..., Any] = builtins.__import__

    def plugin_import(
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level == 0:
            if name == "astrbot" or name.startswith("astrbot."):
                module = modules.get(name)
                if module is None:
                    raise ModuleNotFoundError(
                        f"No module named {name!r} (nekohooks' AstrBot layer provides "
                        f"{', '.join(sorted(modules))})",
                        name=name,
                    )
                return module if fromlist else modules["astrbot"]
            if name == "os" or name == "os.path":
                if fromlist and name == "os.path":
                    return guard.os.path
                return guard.os
        return real_import(name, globals, locals, fromlist, level)

    namespace = dict(vars(builtins))
    namespace["__import__"] = plugin_import
    namespace["open"] = guard.open
    return namespace


def plugin_logger(name: str) -> logging.Logger:
    """The logger an AstrBot plugin's ``logger`` is: ``neko.plugin.<name>``, as ctx.logger."""
    return logging.getLogger(f"neko.plugin.{name}")
