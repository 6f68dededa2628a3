"""Dispatch: hand one incoming message to the plugins' handlers and stream their replies back.

``host.dispatch(message)`` runs this. For a chat message it selects, across the running plugins,

* commands: the text starts with ``/`` and then a command's full name (``/countdown``, ``/math
  add``); the rest of the line is parsed by the handler's signature. When names of different
  lengths match (``/todo`` and ``/todo add``), only the longest (the most specific) run;
* ``@on_message`` handlers whose filter accepts the message, and ``neko_message`` hooks;

and for any other ``kind`` the ``@on_event`` handlers of that kind. The selected handlers run one
after the other, highest ``priority`` first (ties: plugin load order, then definition order),
until one with ``block=True`` has run or a handler returned :data:`~nekohooks.messages.STOP`. Before a
handler with a ``permission`` runs, the host's ``neko_check_permission`` hook decides (default:
the permission must be in ``message.roles``).

Each handler runs through its plugin's runner like an entry call: in the plugin's scope, under its
timeout, cancelled when the plugin stops or the caller cancels. Its replies are yielded as they
come and each is delivered to ``message.origin`` through ``neko_deliver_message`` (else the host's
message sink). A command line that does not parse gets a ``USAGE`` reply, and no plugin code
runs; ``/group`` alone gets the group's usage. A handler that raises or times out becomes an
``ERROR`` reply naming the plugin and handler (logged, not delivered), and the next handler runs.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Protocol, cast

from ._commands import CommandLineError, bind, usage
from ._errors import NekoError
from ._handlers import HandlerKind, HandlerSpec
from ._messages import STOP, Message, Reply, ReplyKind
from ._model import PluginState
from ._runtime import Runner

if TYPE_CHECKING:
    import pluggy

__all__ = ["COMMAND_PREFIX", "Plan", "dispatch", "plan"]

log = logging.getLogger("nekohooks.inbound")

COMMAND_PREFIX = "/"


class _Host(Protocol):
    """What dispatch needs of the host."""

    def message_handlers(self) -> Iterable[tuple[Runner, Sequence[HandlerSpec]]]: ...

    @property
    def hook(self) -> pluggy.HookRelay: ...

    async def deliver(self, plugin: str, target: str, message: Any) -> None: ...


class Plan:
    """One selected handler: who runs it with what, or why it cannot (a usage text)."""

    __slots__ = ("arguments", "order", "problem", "runner", "spec")

    def __init__(
        self,
        runner: Runner,
        spec: HandlerSpec,
        order: int,
        arguments: dict[str, Any] | None,
        problem: str | None,
    ) -> None:
        self.runner = runner
        self.spec = spec
        self.order = order
        self.arguments = arguments
        self.problem = problem


@functools.lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str]:
    words = name.split(" ")
    return re.compile(r"\s*" + r"\s+".join(map(re.escape, words)) + r"(?=\s|$)")


def _match_command(body: str, spec: HandlerSpec) -> tuple[str, int] | None:
    """The rest of the line and the number of words of the name, if ``body`` calls ``spec``
    (by its name or an alias), else None."""
    best: re.Match[str] | None = None
    words = 0
    for name in (spec.name, *spec.aliases):
        found = _name_pattern(name).match(body)
        if found is not None and (best is None or found.end() > best.end()):
            best, words = found, name.count(" ") + 1
    return None if best is None else (body[best.end() :], words)


def _accepts(spec: HandlerSpec, message: Message) -> bool:
    """Whether a message or event handler wants ``message`` (may raise: plugin code)."""
    if spec.kind is HandlerKind.EVENT:
        return message.kind != "message" and spec.event in ("*", message.kind)
    if message.kind != "message":
        return False
    return spec.match is None or bool(spec.match(message))


def plan(host: _Host, message: Message) -> tuple[list[Plan], list[Reply]]:
    """The handlers ``message`` reaches, in the order they run, and replies due before any runs
    (a filter that raised, a group's usage)."""
    plans: list[Plan] = []
    early: list[Reply] = []
    body: str | None = None
    if message.kind == "message":
        stripped = message.text.lstrip()
        if stripped.startswith(COMMAND_PREFIX):
            body = stripped[len(COMMAND_PREFIX) :]
    groups: dict[str, tuple[Runner, list[HandlerSpec]]] = {}
    deepest = 0  # the most words of a matched command name: the most specific command wins
    order = 0
    for runner, handlers in host.message_handlers():
        if runner.state is not PluginState.RUNNING:
            continue
        for spec in handlers:
            order += 1
            if spec.kind is HandlerKind.COMMAND:
                if body is None:
                    continue
                matched = _match_command(body, spec)
                if matched is None:
                    group = spec.name.rpartition(" ")[0]
                    if group and _name_pattern(group).match(body):
                        groups.setdefault(group, (runner, []))[1].append(spec)
                    continue
                rest, words = matched
                if words < deepest:
                    continue  # a longer command name matched: "/todo add" over "/todo"
                if words > deepest:
                    deepest = words
                    plans = [p for p in plans if p.spec.kind is not HandlerKind.COMMAND]
                try:
                    arguments = bind(COMMAND_PREFIX + spec.name, spec.params, rest)
                except CommandLineError as exc:
                    plans.append(Plan(runner, spec, order, None, str(exc)))
                else:
                    plans.append(Plan(runner, spec, order, arguments, None))
                continue
            try:
                wanted = _accepts(spec, message)
            except Exception as exc:  # a plugin's filter raised: its failure, not the host's
                early.append(_failure(runner.name, spec, f"its filter raised {_describe(exc)}"))
                continue
            if wanted:
                plans.append(Plan(runner, spec, order, {}, None))
    if not any(p.spec.kind is HandlerKind.COMMAND for p in plans):
        for group, (runner, specs) in groups.items():
            choices = " | ".join(sorted(s.name[len(group) + 1 :] for s in specs))
            text = f"{COMMAND_PREFIX}{group}: choose one of: {choices}"
            lines = [usage(COMMAND_PREFIX + s.name, s.params) for s in specs]
            early.append(
                Reply(
                    runner.name,
                    f"/{group}",
                    message.origin,
                    "\n".join([text, *lines]),
                    ReplyKind.USAGE,
                )
            )
    plans.sort(key=lambda p: (-p.spec.priority, p.order))
    return plans, early


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _failure(plugin: str, spec: HandlerSpec, why: str) -> Reply:
    text = f"plugin {plugin!r}: {spec.label} failed: {why}"
    log.error("%s", text)
    return Reply(plugin, spec.label, "", text, ReplyKind.ERROR)


def _expand(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [item for item in value if item is not None]
    return [value]


async def _permitted(host: _Host, message: Message, plugin: str, spec: HandlerSpec) -> bool:
    hook = host.hook.neko_check_permission
    for impl in reversed(hook.get_hookimpls()):
        try:
            answer = impl.function(
                message=message, plugin=plugin, handler=spec.label, permission=spec.permission
            )
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception:
            log.exception("permission check %r failed; denying %s", impl.plugin_name, spec.label)
            return False
        if answer is not None:
            return bool(answer)
    return spec.permission in message.roles


def dispatch(host: _Host, message: Message) -> AsyncIterator[Reply]:
    """Run the handlers ``message`` reaches and yield their replies as they come.

    Args:
        host: the host (its plugin table, hooks and message delivery).
        message: the incoming message or event.

    Raises:
        TypeError: ``message`` is not a :class:`~nekohooks.messages.Message`.

    Plugin failures do not raise: they become ``ERROR`` replies. On cancel (or when the caller
    closes the iterator) the running handler is cancelled like an entry call and nothing
    further runs; replies already yielded have been delivered.
    """
    if not isinstance(message, Message):
        raise TypeError(
            f"dispatch() takes a nekohooks.messages.Message, not {type(message).__name__}"
        )
    return _replies(host, message)


async def _replies(host: _Host, message: Message) -> AsyncIterator[Reply]:
    plans, early = plan(host, message)
    for reply in early:
        reply = _retarget(reply, message)
        if reply.kind is ReplyKind.USAGE:
            await host.deliver(reply.plugin, message.origin, reply.content)
        yield reply
    for item in plans:
        spec, plugin = item.spec, item.runner.name
        if spec.permission is not None and not await _permitted(host, message, plugin, spec):
            text = f"{spec.label}: permission denied (needs {spec.permission})"
            await host.deliver(plugin, message.origin, text)
            yield Reply(plugin, spec.label, message.origin, text, ReplyKind.DENIED)
            if spec.block:
                return
            continue
        if item.problem is not None:
            await host.deliver(plugin, message.origin, item.problem)
            yield Reply(plugin, spec.label, message.origin, item.problem, ReplyKind.USAGE)
            if spec.block:
                return
            continue
        if item.runner.state is not PluginState.RUNNING:  # stopped by an earlier handler's turn
            continue
        stopped = False
        arguments = {spec.message_param: message, **(item.arguments or {})}
        try:
            stream = cast("AsyncGenerator[Any, None]", item.runner.stream(spec.entry, arguments))
            async with aclosing(stream) as values:
                async for value in values:
                    for content in _expand(value):
                        if content is STOP:
                            stopped = True
                            continue
                        await host.deliver(plugin, message.origin, content)
                        yield Reply(plugin, spec.label, message.origin, content)
        except NekoError as exc:  # EntryFailed, EntryTimeout, PluginUnavailable
            detail = getattr(exc, "detail", str(exc))
            yield _retarget(_failure(plugin, spec, detail), message)
        if stopped or spec.block:
            return


def _retarget(reply: Reply, message: Message) -> Reply:
    if reply.target == message.origin:
        return reply
    return Reply(reply.plugin, reply.handler, message.origin, reply.content, reply.kind)
