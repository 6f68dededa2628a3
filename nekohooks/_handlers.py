"""Message handlers: ``@command``, ``@on_message`` and ``@on_event``, and the records they become.

A plugin class marks methods; the registry turns each into a :class:`HandlerSpec` when the plugin
loads (a bad signature fails the plugin then, phase ``validate``). A module plugin may implement
the ``neko_message`` hook instead, which becomes one catch-all handler. Each handler carries an
ordinary :class:`~nekohooks.records.EntrySpec` for the way it is called, so the runner invokes it
exactly as it invokes an entry: same timeout, same cancellation, same failure reports.

Handler signature: ``(self, message, <command parameters>...)``; the first parameter after
``self`` receives the :class:`~nekohooks.messages.Message`. A handler may return a reply, a list of
replies, ``None``, or :data:`~nekohooks.messages.STOP`; or yield replies (sync or async generator).
"""

from __future__ import annotations

import enum
import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs

from ._asyncio_bridge import uses_asyncio
from ._commands import Param, params_from_signature, signature_params, usage
from ._messages import Message
from ._model import EntryKind, EntrySpec, RunsOn

__all__ = [
    "HandlerKind",
    "HandlerSpec",
    "class_handlers",
    "command",
    "hook_handler",
    "on_event",
    "on_message",
]

F = TypeVar("F", bound=Callable[..., Any])

_HANDLER_ATTR = "__neko_handlers__"
_NAME = re.compile(r"[^\s/]{1,64}")
MessageFilter = Callable[[Message], bool]


class HandlerKind(enum.Enum):
    """What selects a handler."""

    COMMAND = "command"
    MESSAGE = "message"
    EVENT = "event"


@attrs.frozen(eq=False)
class _Mark:
    kind: HandlerKind
    name: str
    aliases: tuple[str, ...]
    match: MessageFilter | None
    event: str | None
    priority: int
    block: bool
    permission: str | None
    description: str | None
    timeout: float | None
    asyncio: bool | None
    signature: inspect.Signature | None


@attrs.frozen(eq=False)
class HandlerSpec:
    """One message handler of a plugin, as loaded.

    Attributes:
        kind: command, message or event handler.
        name: for a command its full name without the prefix (``"countdown"``,
            ``"math add"``); else the function's name.
        aliases: other full names of a command.
        event: the event kind an ``@on_event`` handler receives (``"*"``: every event).
        match: an ``@on_message`` handler's filter (``None``: every message).
        priority: higher runs first; equal priorities run in plugin load order, then in
            definition order.
        block: once this handler has run (or a command was refused for usage or permission),
            lower-priority handlers do not see the message.
        permission: a permission the sender needs (``"admin"``), checked by the host's
            ``neko_check_permission`` hook before any plugin code runs.
        params: a command's parameters, parsed from the text after its name.
        message_param: the name of the parameter that receives the message.
        entry: how the runner calls it (id ``command:<name>``, ``message:<fn>``, ...).
    """

    kind: HandlerKind
    name: str
    aliases: tuple[str, ...]
    event: str | None
    match: MessageFilter | None = attrs.field(repr=False)
    priority: int
    block: bool
    permission: str | None
    description: str
    params: tuple[Param, ...]
    message_param: str
    entry: EntrySpec = attrs.field(repr=False)

    def record(self) -> dict[str, Any]:
        """This handler as JSON-ready data (``neko info --json``'s ``commands``): its label,
        kind, usage line (``/countdown <seconds:int>``), aliases, description, priority, block
        and permission."""
        is_command = self.kind is HandlerKind.COMMAND
        return {
            "handler": self.label,
            "kind": self.kind.value,
            "usage": usage(self.label, self.params).removeprefix("usage: ")
            if is_command
            else self.label,
            "aliases": [f"/{a}" for a in self.aliases],
            "description": self.description,
            "priority": self.priority,
            "block": self.block,
            "permission": self.permission,
        }

    @property
    def label(self) -> str:
        """How replies and errors name this handler: ``/countdown``, ``on_message echo``."""
        if self.kind is HandlerKind.COMMAND:
            return f"/{self.name}"
        if self.kind is HandlerKind.EVENT:
            return f"on_event {self.event} {self.entry.func.__name__}"
        if self.name == "neko_message":
            return "neko_message"
        return f"on_message {self.name}"


def _add_mark(func: F, mark: _Mark) -> F:
    marks = list(getattr(func, _HANDLER_ATTR, ()))
    marks.append(mark)
    setattr(func, _HANDLER_ATTR, tuple(marks))
    return func


def _check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"{what} {name!r} must be 1-64 characters without spaces or '/'")
    return name


def _positive(timeout: float | None) -> float | None:
    if timeout is not None and timeout <= 0:
        raise ValueError(f"handler timeout must be positive, got {timeout!r}")
    return timeout


def command(
    name: str,
    *,
    aliases: Iterable[str] = (),
    group: str | Iterable[str] = (),
    priority: int = 0,
    block: bool = True,
    permission: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    asyncio: bool | None = None,
    signature: inspect.Signature | None = None,
) -> Callable[[F], F]:
    """Mark a method as the command ``/name`` (``/group name`` when ``group`` is given).

    Args:
        name: the command word, without the ``/``.
        aliases: other words for it.
        group: the group word(s) in front, e.g. ``"math"`` for ``/math add 1 2``; a tuple for
            nested groups. ``/math`` alone (or with an unknown word) gets the group's usage.
        priority: higher runs first (default 0).
        block: stop the message reaching lower-priority handlers once this command matched
            (default True).
        permission: a permission the sender must have (see ``neko_check_permission``).
        description: shown by ``neko info`` (default: the docstring's first line).
        timeout: seconds per step (the whole call, or each yielded reply) before it is
            cancelled (default: the host's entry timeout).
        asyncio: run on the plugin's asyncio loop (``None``: detect aiohttp and friends).
        signature: parse the arguments by this signature (parameters after the message)
            instead of the method's own; for adapters whose wrapper takes ``**kwargs``.

    The arguments after the name are parsed by the handler's signature (see
    :mod:`nekohooks._commands`); a line that does not fit gets a usage reply and no plugin code
    runs.
    """
    groups = (group,) if isinstance(group, str) else tuple(group)
    words = [_check_name("command group", g) for g in groups if g]
    words.append(_check_name("command", name))
    full = " ".join(words)
    prefix = " ".join(words[:-1])
    alias_names = tuple(f"{prefix} {_check_name('command alias', a)}".strip() for a in aliases)
    mark = _Mark(
        HandlerKind.COMMAND,
        full,
        alias_names,
        None,
        None,
        int(priority),
        bool(block),
        permission,
        description,
        _positive(timeout),
        asyncio,
        signature,
    )
    return lambda func: _add_mark(func, mark)


def on_message(
    match: str | re.Pattern[str] | MessageFilter | None = None,
    *,
    priority: int = 0,
    block: bool = False,
    permission: str | None = None,
    timeout: float | None = None,
    asyncio: bool | None = None,
) -> Callable[[F], F]:
    """Mark a method to receive chat messages (``kind == "message"``), commands included.

    Args:
        match: ``None`` for every message; a regular expression searched in the text; or a
            function ``message -> bool`` (plugin code: keep it quick, it runs on the host loop).
        priority, block, permission, timeout, asyncio: as for :func:`command`; ``block``
            defaults to False, so other handlers still see the message.
    """
    test: MessageFilter | None
    if match is None or callable(match):
        test = match
    else:
        pattern = re.compile(match) if isinstance(match, str) else match

        def test(message: Message) -> bool:
            return pattern.search(message.text) is not None

    mark = _Mark(
        HandlerKind.MESSAGE,
        "",
        (),
        test,
        None,
        int(priority),
        bool(block),
        permission,
        None,
        _positive(timeout),
        asyncio,
        None,
    )
    return lambda func: _add_mark(func, mark)


def on_event(
    kind: str = "*",
    *,
    priority: int = 0,
    block: bool = False,
    timeout: float | None = None,
    asyncio: bool | None = None,
) -> Callable[[F], F]:
    """Mark a method to receive platform events of ``kind`` (``"*"``: every kind but chat
    messages), e.g. ``@on_event("member_join")``. Options as for :func:`on_message`."""
    if not isinstance(kind, str) or not kind or kind == "message":
        raise ValueError("on_event needs an event kind other than 'message' (use on_message)")
    mark = _Mark(
        HandlerKind.EVENT,
        "",
        (),
        None,
        kind,
        int(priority),
        bool(block),
        None,
        None,
        _positive(timeout),
        asyncio,
        None,
    )
    return lambda func: _add_mark(func, mark)


def _runs_on(func: Callable[..., Any], kind: EntryKind, asyncio: bool | None) -> RunsOn:
    if kind in (EntryKind.SYNC, EntryKind.SYNC_GEN):
        return RunsOn.THREAD
    detected = uses_asyncio(func) if asyncio is None else asyncio
    return RunsOn.ASYNCIO if detected else RunsOn.TRIO


def _spec(func: Callable[..., Any], mark: _Mark, *, is_method: bool) -> HandlerSpec:
    signature = inspect.signature(func)
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if is_method:
        positional = positional[1:]
    if not positional or positional[0].kind is inspect.Parameter.POSITIONAL_ONLY:
        raise TypeError("it must take the message as its first parameter (after self), by name")
    message_param = positional[0].name
    if mark.kind is HandlerKind.COMMAND:
        if mark.signature is not None:
            params = params_from_signature(mark.signature, {})
        else:
            params = signature_params(func, skip=2 if is_method else 1)
    else:
        params = ()
    kind = EntryKind.of(func)
    prefix = {HandlerKind.COMMAND: "command", HandlerKind.MESSAGE: "message"}.get(
        mark.kind, "event"
    )
    name = mark.name or func.__name__
    doc = inspect.getdoc(func) or ""
    description = mark.description or (doc.strip().splitlines()[0] if doc.strip() else "")
    entry = EntrySpec(
        id=f"{prefix}:{name}"
        if mark.kind is not HandlerKind.EVENT
        else f"event:{mark.event}:{func.__name__}",
        name=name,
        description=description,
        input_schema={},
        timeout=mark.timeout,
        func=func,
        kind=kind,
        runs_on=_runs_on(func, kind, mark.asyncio),
        wants_ctx=False,
        is_method=is_method,
    )
    return HandlerSpec(
        kind=mark.kind,
        name=name,
        aliases=mark.aliases,
        event=mark.event,
        match=mark.match,
        priority=mark.priority,
        block=mark.block,
        permission=mark.permission,
        description=description,
        params=params,
        message_param=message_param,
        entry=entry,
    )


def class_handlers(
    cls: type, members: Iterable[tuple[str, Any]] | None = None
) -> list[HandlerSpec]:
    """The handlers of a plugin class, in definition order (base classes first).

    ``members`` are the class's attributes in that order (``_api.class_members``), if the
    caller has them. Raises ``TypeError``/``ValueError`` naming the handler when one cannot be
    used, and ``ValueError`` when two handlers claim the same command name.
    """
    if members is None:
        seen: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            seen.update(vars(klass))
        members = seen.items()
    specs: list[HandlerSpec] = []
    for _, value in members:
        for mark in getattr(value, _HANDLER_ATTR, ()) if callable(value) else ():
            try:
                specs.append(_spec(value, mark, is_method=True))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"handler {getattr(value, '__name__', value)!r}: {exc}") from exc
    _check_unique(specs)
    return specs


def hook_handler(function: Callable[..., Any]) -> HandlerSpec:
    """The handler for a module plugin's ``neko_message(message, ctx)`` hook implementation."""
    mark = _Mark(
        HandlerKind.MESSAGE,
        "neko_message",
        (),
        None,
        None,
        0,
        False,
        None,
        None,
        None,
        None,
        None,
    )
    spec = _spec(function, mark, is_method=False)
    return attrs.evolve(spec, entry=attrs.evolve(spec.entry, wants_ctx=True))


def _check_unique(specs: list[HandlerSpec]) -> None:
    taken: dict[str, str] = {}
    ids: set[str] = set()
    for spec in specs:
        if spec.kind is HandlerKind.COMMAND:
            for word in (spec.name, *spec.aliases):
                if word in taken:
                    raise ValueError(f"command /{word} is defined twice ({taken[word]})")
                taken[word] = spec.entry.func.__name__
        if spec.entry.id in ids:
            raise ValueError(f"two handlers have the id {spec.entry.id!r}")
        ids.add(spec.entry.id)
