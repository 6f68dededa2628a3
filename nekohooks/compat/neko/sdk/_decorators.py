"""N.E.K.O's decorators: they only attach a :class:`HandlerMeta` the adapter reads.

``@plugin_entry`` and ``@llm_tool`` become nekohooks entries, ``@timer_interval`` a periodic
job, ``@lifecycle(id="startup"|"shutdown")`` runs at start and stop. ``reload``,
``config_change``, ``freeze`` and ``unfreeze`` are accepted and never fired (nekohooks has no
such events). Entry hooks, events, messages and quick actions are not supported: their
decorators raise ``NotImplementedError`` when applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

import attrs

from ._unsupported import Unsupported

__all__ = [
    "HANDLER_ATTR",
    "EntryKind",
    "HandlerMeta",
    "LlmToolMeta",
    "handler_meta",
    "lifecycle",
    "llm_tool",
    "neko_plugin",
    "plugin",
    "plugin_entry",
    "timer_interval",
]

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)

HANDLER_ATTR = "__nekohooks_neko_handler__"
PLUGIN_TAG = "__neko_plugin__"
LIFECYCLE_IDS = ("startup", "shutdown", "reload", "freeze", "unfreeze", "config_change")
EntryKind = Literal["service", "action", "hook", "custom", "lifecycle", "consumer", "timer"]
_TOOL_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@attrs.frozen
class HandlerMeta:
    """What a decorator recorded on a method: its role and the options the adapter honours."""

    role: Literal["entry", "llm_tool", "lifecycle", "timer"]
    id: str | None
    name: str | None = None
    description: object = ""
    input_schema: Mapping[str, Any] | None = None
    params: type | None = None
    timeout: float | None = None
    seconds: float | None = None
    auto_start: bool = False
    extra: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class LlmToolMeta:
    """The options of ``@llm_tool`` (kept as N.E.K.O names them)."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    timeout_seconds: float = 30.0
    role: str | None = None


def _attach(meta: HandlerMeta) -> Callable[[F], F]:
    def mark(func: F) -> F:
        if not callable(func):
            raise TypeError(f"@{meta.role} may only decorate callables")
        setattr(func, HANDLER_ATTR, meta)
        return func

    return mark


def handler_meta(func: object) -> HandlerMeta | None:
    """The :class:`HandlerMeta` a decorator attached to ``func``, if any."""
    meta = getattr(func, HANDLER_ATTR, None)
    return meta if isinstance(meta, HandlerMeta) else None


def neko_plugin(cls: C) -> C:
    """Mark a plugin class (the ``[plugin] entry`` class need not carry it)."""
    setattr(cls, PLUGIN_TAG, True)
    return cls


def plugin_entry(
    *,
    id: str | None = None,
    name: str | None = None,
    description: object = "",
    input_schema: Mapping[str, Any] | None = None,
    params: type | None = None,
    kind: EntryKind = "action",
    auto_start: bool = False,
    persist: bool | None = None,
    model_validate: bool = True,
    timeout: float | None = None,
    llm_result_fields: list[str] | None = None,
    llm_result_model: type | None = None,
    fields: type | None = None,
    metadata: Mapping[str, Any] | None = None,
    **_ignored: Any,
) -> Callable[[F], F]:
    """An entry, callable as ``<plugin id>.<id>``; its arguments come as keyword arguments.

    ``input_schema`` (or a ``params`` model's JSON Schema, or the signature) becomes the
    nekohooks schema; ``timeout`` the entry timeout. ``kind``, ``persist``,
    ``model_validate`` and the ``llm_result_*`` options are accepted and recorded only.
    """
    if input_schema is not None and params is not None:
        raise ValueError("input_schema and params are mutually exclusive")
    if timeout is not None and timeout <= 0:
        raise ValueError(f"plugin_entry timeout must be positive, got {timeout!r}")
    extra = {"kind": kind, "llm_result_fields": llm_result_fields, "metadata": dict(metadata or {})}
    return _attach(
        HandlerMeta(
            "entry",
            id,
            name,
            description,
            input_schema,
            params,
            timeout,
            auto_start=auto_start,
            extra=extra,
        )
    )


def lifecycle(
    *,
    id: Literal["startup", "shutdown", "reload", "freeze", "unfreeze", "config_change"],
    name: str | None = None,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Run at ``startup`` or ``shutdown``; the other ids are accepted and never fired."""
    if id not in LIFECYCLE_IDS:
        raise ValueError(f"lifecycle id must be one of {', '.join(LIFECYCLE_IDS)}, got {id!r}")
    return _attach(HandlerMeta("lifecycle", id, name, description))


def timer_interval(
    *,
    id: str,
    seconds: float,
    name: str | None = None,
    description: str = "",
    auto_start: bool = True,
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Run at start, then every ``seconds`` (``auto_start=False`` timers never run)."""
    if seconds <= 0:
        raise ValueError("seconds must be > 0")
    return _attach(
        HandlerMeta("timer", id, name, description, seconds=seconds, auto_start=auto_start)
    )


def llm_tool(
    *,
    name: str | None = None,
    description: str = "",
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 30.0,
    role: str | None = None,
) -> Callable[[F], F]:
    """A tool for the LLM: an entry whose id is the tool name (``.`` becomes ``_``)."""
    if name is not None and not _TOOL_NAME.fullmatch(name):
        raise ValueError(f"LLM tool name {name!r} must match {_TOOL_NAME.pattern}")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise TypeError(f"@llm_tool parameters must be a dict, got {type(parameters).__name__}")
    if timeout <= 0:
        raise ValueError(f"@llm_tool timeout must be > 0, got {timeout}")

    def mark(func: F) -> F:
        tool = name or func.__name__
        params = (
            dict(parameters) if parameters is not None else {"type": "object", "properties": {}}
        )
        setattr(  # noqa: B010  (a function attribute mypy does not know)
            func,
            "__neko_llm_tool_meta__",
            LlmToolMeta(tool, description, params, float(timeout), role),
        )
        return _attach(
            HandlerMeta(
                "llm_tool",
                tool.replace(".", "_"),
                tool,
                description,
                params,
                timeout=float(timeout),
            )
        )(func)

    return mark


class _PluginDecorators:
    """``plugin.entry(...)``, ``plugin.lifecycle(...)``, ``plugin.timer(...)``."""

    entry = staticmethod(plugin_entry)
    lifecycle = staticmethod(lifecycle)

    @staticmethod
    def timer(**options: Any) -> Callable[[F], F]:
        return timer_interval(**options)

    event = Unsupported("plugin.event", "custom events")
    hook = Unsupported("plugin.hook", "entry hooks")
    message = Unsupported("plugin.message", "message consumers")
    custom_event = Unsupported("plugin.custom_event", "custom events")


plugin = _PluginDecorators()
