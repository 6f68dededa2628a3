"""A ``Star`` class as a nekohooks plugin class: lifecycle, handlers and tools mapped one to one.

============================  ===========================================================
AstrBot                       nekohooks
============================  ===========================================================
``Star.__init__``,            startup, on the plugin's asyncio loop (AstrBot constructs plugins
``initialize()``,             inside its loop, so ``asyncio.create_task`` in ``__init__``
``@on_astrbot_loaded``        works); a failure is a startup crash, restarted with backoff
``terminate()``               terminate, on the asyncio loop, always once per successful
                              start: disable, reload, restart, shutdown, Ctrl-C; then every
                              asyncio task the plugin left is cancelled with its loop
``@filter.command`` (+group)  ``@command``, arguments parsed by the handler's signature;
                              ``block=False`` (AstrBot lets other handlers see the message)
``@filter.event_message_type``,  ``@on_message`` with a filter on the message's type / text
``@filter.regex``
``@filter.permission_type``   ``permission="admin"`` (the host's ``neko_check_permission``)
``@filter.llm_tool``          an entry (so an LLM tool in ``neko schema``)
``yield event.plain_result``  a reply; ``event.stop_event()`` → ``STOP``
============================  ===========================================================

A command handler that takes only ``(self, event)`` reads ``event.message_str`` itself, so any
words after the command are accepted; one with typed parameters gets a usage reply for extra
words (AstrBot silently drops them).
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import trio

from nekohooks import NekoPluginBase, lifecycle, neko_plugin, plugin_entry
from nekohooks.messages import STOP, Message, Rest, command, on_message

from . import _star
from ._event import AstrMessageEvent, MessageEventResult, render
from ._paths import PathGuard

__all__ = ["adapt"]

_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _members(cls: type) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        seen.update(vars(klass))
    return seen


def _signature(func: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(func, eval_str=True)
    except Exception:  # annotations that do not evaluate: take them as written
        return inspect.signature(func)


def _command_signature(func: Callable[..., Any]) -> inspect.Signature:
    signature = _signature(func)
    kept = [  # after self and event; AstrBot's GreedyStr (our Rest) is "" when absent
        p.replace(default="") if p.annotation is Rest and p.default is p.empty else p
        for p in list(signature.parameters.values())[2:]
    ]
    if not kept:
        kept = [
            inspect.Parameter("words", inspect.Parameter.KEYWORD_ONLY, default="", annotation=Rest)
        ]
    return signature.replace(parameters=kept)


def _tool_schema(func: Callable[..., Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in list(_signature(func).parameters.values())[2:]:
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        hint = parameter.annotation
        properties[parameter.name] = {"type": _TYPES[hint]} if hint in _TYPES else {}
        if parameter.default is inspect.Parameter.empty:
            required.append(parameter.name)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _message_filter(mark: _star.Mark) -> Any:
    if mark.kind == "regex":
        return mark.pattern
    wanted = mark.message_type

    def accepts(message: Message) -> bool:
        if wanted is _star.EventMessageType.GROUP_MESSAGE:
            return not message.private
        if wanted is _star.EventMessageType.PRIVATE_MESSAGE:
            return message.private
        return wanted is _star.EventMessageType.ALL

    return accepts


async def _results(event: AstrMessageEvent, result: Any) -> AsyncIterator[Any]:
    """What an AstrBot handler produced, as reply contents."""
    if inspect.isasyncgen(result):
        async with contextlib.aclosing(result) as items:
            async for item in items:
                if isinstance(item, MessageEventResult) and item.is_stopped():
                    event.stop_event()
                if item is not None:
                    yield render(item)
    elif inspect.isawaitable(result):
        value = await result
        if value is not None:
            yield render(value)
    elif result is not None:
        yield render(result)
    pending = event.get_result()
    if pending is not None:
        event.clear_result()
        yield render(pending)


def adapt(
    star_cls: type,
    runtime: _star.Runtime,
    guard: PathGuard,
    *,
    config_schema: dict[str, Any] | None = None,
    description: str = "",
) -> type[NekoPluginBase]:
    """The nekohooks plugin class that runs ``star_cls`` (see the module docstring)."""
    members = _members(star_cls)
    namespace: dict[str, Any] = {"__module__": star_cls.__module__, "star": None}
    loaded_hooks: list[Callable[..., Any]] = []
    meta = getattr(star_cls, _star.META, {})
    description = description or meta.get("desc", "") or inspect.getdoc(star_cls) or ""

    async def startup(self: Any) -> None:
        """On trio: connect the runtime to this run's context."""
        runtime.token = trio.lowlevel.current_trio_token()
        runtime.home = guard.home = self.ctx.home
        runtime.send = self.ctx.send_message
        runtime.config = (
            _star.AstrBotConfig(config_schema, self.ctx.home / "astrbot_config.json")
            if config_schema is not None
            else None
        )

    async def start_star(self: Any) -> None:
        """On asyncio: construct the Star, ``initialize()``, ``on_astrbot_loaded`` handlers."""
        context = _star.Context(runtime)
        parameters = list(_signature(star_cls).parameters.values())
        if len(parameters) >= 2 or any(p.name == "config" for p in parameters):
            config = runtime.config if runtime.config is not None else _star.AstrBotConfig()
            self.star = star_cls(context, config)
        else:
            self.star = star_cls(context)
        result = self.star.initialize()
        if inspect.isawaitable(result):
            await result
        for hook in loaded_hooks:
            result = hook(self.star)
            if inspect.isawaitable(result):
                await result

    async def stop_star(self: Any) -> None:
        """On asyncio: the Star's ``terminate()``, once per run that constructed it."""
        star, self.star = self.star, None
        if star is not None:
            result = star.terminate()
            if inspect.isawaitable(result):
                await result

    namespace["startup"] = startup
    namespace["_astrbot_start"] = lifecycle("startup", asyncio=True)(start_star)
    namespace["_astrbot_stop"] = lifecycle("terminate", asyncio=True)(stop_star)

    for attr, value in members.items():
        marks = _star.marks_of(value)
        if not marks or not callable(value):
            continue
        permission = getattr(value, _star.PERMISSION, None)
        doc = inspect.getdoc(value) or ""
        for index, mark in enumerate(marks):
            label = f"_astrbot_{attr}_{index}"
            if mark.kind == "loaded":
                loaded_hooks.append(value)
            elif mark.kind == "command":
                signature = _command_signature(value)
                namespace[label] = command(
                    mark.name,
                    aliases=mark.aliases,
                    group=mark.group,
                    priority=mark.priority,
                    block=False,
                    permission=permission,
                    description=mark.description or (doc.splitlines()[0] if doc else ""),
                    asyncio=True,
                    signature=signature,
                )(_handler(value, runtime, attr, signature))
            elif mark.kind in ("message", "regex"):
                namespace[label] = on_message(
                    _message_filter(mark),
                    priority=mark.priority,
                    permission=permission,
                    asyncio=True,
                )(_handler(value, runtime, attr))
            elif mark.kind == "tool":
                namespace[label] = plugin_entry(
                    id=mark.name,
                    description=doc.split("\n\n")[0].strip() if doc else mark.name,
                    input_schema=_tool_schema(value),
                    asyncio=True,
                )(_tool(value, runtime))
    adapted = type(star_cls.__name__, (NekoPluginBase,), namespace)
    adapted.__doc__ = description
    return neko_plugin(description=description.splitlines()[0] if description else "")(adapted)


def _handler(
    func: Callable[..., Any],
    runtime: _star.Runtime,
    name: str,
    signature: inspect.Signature | None = None,
) -> Callable[..., Any]:
    # arguments left out get the defaults this layer gave (GreedyStr's ""), which the
    # plugin's own signature may not have
    defaults = {
        p.name: p.default
        for p in (signature.parameters.values() if signature is not None else ())
        if p.default is not p.empty
    }

    async def handler(self: Any, message: Message, **params: Any) -> AsyncIterator[Any]:
        params = {**defaults, **params}
        if "words" in params and "words" not in _signature(func).parameters:
            del params["words"]  # the catch-all of a handler that reads message_str itself
        event = AstrMessageEvent(message, runtime.deliver)
        async for content in _results(event, func(self.star, event, **params)):
            yield content
        if event.is_stopped():
            yield STOP

    handler.__name__ = name
    handler.__doc__ = func.__doc__
    return handler


def _tool(func: Callable[..., Any], runtime: _star.Runtime) -> Callable[..., Any]:
    async def tool(self: Any, **arguments: Any) -> Any:
        event = AstrMessageEvent(Message(platform="llm"), runtime.deliver)
        replies = [r async for r in _results(event, func(self.star, event, **arguments))]
        texts = [r if isinstance(r, str) else str(r) for r in replies]
        return texts[0] if len(texts) == 1 else texts

    tool.__name__ = func.__name__
    return tool


def read_schema(folder: Path) -> dict[str, Any] | None:
    """The plugin's ``_conf_schema.json``, or None if it has none."""
    path = folder / "_conf_schema.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(schema, dict):
        raise ValueError("_conf_schema.json must hold a JSON object")
    return schema
