"""AstrBot's plugin side: ``Star``, ``Context``, ``register``, ``StarTools``, ``AstrBotConfig``
and the ``filter`` decorators, which only record what they mark (see :mod:`._adapter`)."""

from __future__ import annotations

import asyncio
import enum
import functools
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import trio

from ._event import MessageChain, render

__all__ = [
    "AstrBotConfig",
    "Context",
    "EventMessageType",
    "Mark",
    "PermissionType",
    "Runtime",
    "Star",
    "StarTools",
    "command",
    "command_group",
    "event_message_type",
    "llm_tool",
    "marks_of",
    "on_astrbot_loaded",
    "permission_type",
    "regex",
    "register",
]

F = TypeVar("F", bound=Callable[..., Any])
MARKS = "__astrbot_marks__"
PERMISSION = "__astrbot_permission__"
META = "__astrbot_meta__"


@attrs.define(eq=False)
class Runtime:
    """One AstrBot plugin's link to its nekohooks host, filled in when the plugin starts."""

    name: str
    folder: Path
    logger: logging.Logger
    home: Path | None = None
    token: trio.lowlevel.TrioToken | None = None
    send: Callable[[str, Any], Any] | None = None  # ctx.send_message (a trio coroutine)
    config: AstrBotConfig | None = None

    async def deliver(self, target: str, message: Any) -> bool:
        """From the plugin's asyncio loop: hand ``message`` to the host's trio loop."""
        if self.token is None or self.send is None:
            raise RuntimeError(f"AstrBot plugin {self.name!r} is not running")
        send, token = self.send, self.token
        loop = asyncio.get_running_loop()
        call = functools.partial(
            trio.from_thread.run, send, target, render(message), trio_token=token
        )
        await loop.run_in_executor(None, call)
        return True


# ---- config ------------------------------------------------------------------------------------

_DEFAULTS: dict[str, Any] = {
    "string": "",
    "text": "",
    "int": 0,
    "float": 0.0,
    "bool": False,
    "list": [],
    "dict": {},
    "template_list": [],
}


def _defaults(schema: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, item in schema.items():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "object":
            values[key] = _defaults(item.get("items") or {})
        elif "default" in item:
            values[key] = item["default"]
        else:
            default = _DEFAULTS.get(str(item.get("type")))
            values[key] = default.copy() if isinstance(default, list | dict) else default
    return values


class AstrBotConfig(dict[str, Any]):
    """The plugin's settings: ``_conf_schema.json``'s defaults, overlaid by the saved file
    ``<plugin home>/astrbot_config.json``; ``save_config()`` writes it back."""

    def __init__(self, schema: dict[str, Any] | None = None, path: Path | None = None) -> None:
        super().__init__(_defaults(schema or {}))
        self.schema = schema or {}
        self.config_path = path
        if path is not None and path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(saved, dict):
                self.update(saved)

    def save_config(self, replace_config: dict[str, Any] | None = None) -> None:
        if replace_config is not None:
            self.clear()
            self.update(replace_config)
        if self.config_path is not None:
            tmp = self.config_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self, ensure_ascii=False, indent=2), encoding="utf-8")
            tmp.replace(self.config_path)


# ---- the plugin base ---------------------------------------------------------------------------


class Context:
    """What AstrBot gives a plugin: sending messages to a ``unified_msg_origin``."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def send_message(self, session: str, message_chain: MessageChain) -> bool:
        """Send ``message_chain`` to ``session`` (an event's ``unified_msg_origin``)."""
        return await self._runtime.deliver(str(session), message_chain)

    def get_config(self, umo: str | None = None) -> dict[str, Any]:
        return {}

    def get_using_provider(self, umo: str | None = None) -> None:
        return None  # no LLM provider on nekohooks

    async def get_current_chat_provider_id(self, umo: str | None = None) -> None:
        return None  # no LLM provider: plugins take their no-LLM path


class Star:
    """AstrBot's plugin base class."""

    def __init__(self, context: Context, config: AstrBotConfig | None = None) -> None:
        self.context = context
        if config is not None:
            self.config = config

    async def initialize(self) -> None:
        """Called once after construction."""

    async def terminate(self) -> None:
        """Called when the plugin stops."""


def register(
    name: str, author: str = "", desc: str = "", version: str = "", repo: str = "", **_: Any
) -> Callable[[type], type]:
    """``@register("name", "author", "description", "1.0.0")`` on a ``Star`` subclass."""

    def mark(cls: type) -> type:
        setattr(cls, META, {"name": name, "author": author, "desc": desc, "version": version})
        return cls

    return mark


class StarTools:
    """AstrBot's helpers for the current plugin (each plugin gets its own subclass)."""

    runtime: Runtime | None = None

    @classmethod
    def get_data_dir(cls, plugin_name: str | None = None) -> Path:
        """The plugin's own data folder (``<plugin home>/data``), created if needed."""
        return StarTools.data_dir(cls.runtime)

    @staticmethod
    def data_dir(runtime: Runtime | None) -> Path:
        if runtime is None or runtime.home is None:
            raise RuntimeError("AstrBot's data folder exists once the plugin has started")
        path = runtime.home / "data"
        path.mkdir(parents=True, exist_ok=True)
        return path


# ---- filter ------------------------------------------------------------------------------------


class PermissionType(enum.Enum):
    ADMIN = "admin"
    MEMBER = "member"


class EventMessageType(enum.Enum):
    ALL = "all"
    GROUP_MESSAGE = "group"
    PRIVATE_MESSAGE = "private"
    OTHER_MESSAGE = "other"


@attrs.frozen
class Mark:
    """What one ``filter`` decorator said about a handler."""

    kind: str  # "command", "message", "regex", "loaded", "tool"
    name: str = ""
    aliases: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    priority: int = 0
    message_type: EventMessageType = EventMessageType.ALL
    pattern: str = ""
    description: str = ""


def marks_of(func: object) -> list[Mark]:
    return list(getattr(func, MARKS, ()))


def _mark(func: F, mark: Mark) -> F:
    setattr(func, MARKS, (*marks_of(func), mark))
    return func


def _aliases(alias: Any) -> tuple[str, ...]:
    return tuple(sorted(str(a) for a in alias or ()))


class CommandGroup:
    """What ``@filter.command_group("math")`` leaves in the class: ``@math.command("add")``."""

    def __init__(self, path: tuple[str, ...], aliases: tuple[str, ...]) -> None:
        self.path = path
        self.aliases = aliases

    def command(
        self, sub_command: str, alias: Any = None, priority: int = 0, **kwargs: Any
    ) -> Callable[[F], F]:
        mark = Mark(
            "command",
            sub_command,
            _aliases(alias),
            self.path,
            priority,
            description=str(kwargs.get("desc", "")),
        )
        return lambda func: _mark(func, mark)

    def group(self, sub_command: str, alias: Any = None, **_: Any) -> Callable[[Any], CommandGroup]:
        return lambda _func: CommandGroup((*self.path, sub_command), _aliases(alias))


def command(
    command_name: str,
    sub_command: str | None = None,
    alias: Any = None,
    priority: int = 0,
    **kwargs: Any,
) -> Callable[[F], F]:
    """``@filter.command("name", alias={"other"}, priority=0)``."""
    mark = Mark(
        "command",
        command_name,
        _aliases(alias),
        (),
        priority,
        description=str(kwargs.get("desc", "")),
    )
    return lambda func: _mark(func, mark)


def command_group(
    command_group_name: str, alias: Any = None, **_: Any
) -> Callable[[Any], CommandGroup]:
    """``@filter.command_group("math")`` over an empty method; subcommands hang off it."""
    return lambda _func: CommandGroup((command_group_name,), _aliases(alias))


def permission_type(
    permission: PermissionType, raise_error: bool = True, **_: Any
) -> Callable[[F], F]:
    """``@filter.permission_type(filter.PermissionType.ADMIN)``: admins only."""

    def mark(func: F) -> F:
        if permission is PermissionType.ADMIN:
            setattr(func, PERMISSION, "admin")
        return func

    return mark


def event_message_type(
    message_type: EventMessageType, priority: int = 0, **_: Any
) -> Callable[[F], F]:
    """``@filter.event_message_type(filter.EventMessageType.ALL)``: every message of that type."""
    mark = Mark("message", priority=priority, message_type=message_type)
    return lambda func: _mark(func, mark)


def regex(pattern: str | re.Pattern[str], priority: int = 0, **_: Any) -> Callable[[F], F]:
    """``@filter.regex(r"...")``: messages whose text matches."""
    text = pattern.pattern if isinstance(pattern, re.Pattern) else str(pattern)
    re.compile(text)
    mark = Mark("regex", priority=priority, pattern=text)
    return lambda func: _mark(func, mark)


def on_astrbot_loaded(**_: Any) -> Callable[[F], F]:
    """Run once the plugin has started (after ``initialize``)."""
    return lambda func: _mark(func, Mark("loaded"))


def llm_tool(name: str | None = None, **_: Any) -> Callable[[F], F]:
    """``@filter.llm_tool(name=...)``: an LLM tool, which on nekohooks is an entry."""

    def mark(func: F) -> F:
        return _mark(func, Mark("tool", name or func.__name__))

    return mark
