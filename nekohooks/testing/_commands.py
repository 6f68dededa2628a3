"""The contract for command handlers: generated command lines, good and bad.

For each ``@command`` of the plugin, hypothesis writes command lines from the handler's
signature and dispatches them as chat messages through the host:

* **Lines that fit the signature are answered.** Every typed argument drawn from its type
  (quoted text with spaces, quotes, control characters and any Unicode; integers, finite
  floats, booleans, choices; optional arguments left out or given): the handler replies or stays
  silent, but never fails, times out or gets a usage reply.
* **Lines that do not fit never reach the handler.** A missing or mistyped argument, an extra
  word, an unbalanced quote: exactly a usage reply, and no plugin code runs.

Commands that need a permission are sent with that role, so they run.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import hypothesis.strategies as st
import trio

from .._commands import _FALSE, _TRUE, Param, _Type
from .._handlers import HandlerKind, HandlerSpec
from .._messages import Message, Reply, ReplyKind
from ._watched import IO_GRACE_CALLS, LiveHost, Stalled, stuck_at

if TYPE_CHECKING:
    from .._model import EntrySpec
    from ._properties import Checker

__all__ = ["bad_command_lines", "check_commands", "command_lines"]

#: Text a user can type: anything but surrogates (control characters included).
_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_NOT_A_NUMBER = st.text(st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=8)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _word(param: Param) -> st.SearchStrategy[str]:
    """One argument as it would be typed, for a value ``param`` accepts."""
    if param.choices:
        return st.sampled_from(param.choices)
    kind = param.types[0]
    if kind is _Type.INT:
        return st.integers(-(10**9), 10**9).map(str)
    if kind is _Type.FLOAT:
        return st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr)
    if kind is _Type.BOOL:
        return st.sampled_from(["true", "false", "yes", "no", "on", "off", "1", "0"])
    if kind is _Type.REST:
        text = _TEXT.map(str.strip)
        return text.filter(bool) if param.required else text
    return _TEXT.map(_quoted)


@st.composite
def _line(draw: st.DrawFn, params: tuple[Param, ...]) -> str:
    required = [p for p in params if p.required]
    optional = [p for p in params if not p.required]
    given = required + optional[: draw(st.integers(0, len(optional)))]
    words = [draw(_word(p)) for p in params if p in given]
    return " ".join(words)


def command_lines(spec: HandlerSpec) -> st.SearchStrategy[str]:
    """Whole command lines (``/name args...``) that fit ``spec``'s signature."""
    return _line(spec.params).map(lambda rest: f"/{spec.name} {rest}".rstrip())


def _wrong(param: Param) -> st.SearchStrategy[str] | None:
    """A word ``param`` refuses, or None if it accepts any word (text)."""
    if param.choices:
        return _NOT_A_NUMBER.filter(lambda w: w not in param.choices)
    if set(param.types) & {_Type.STR, _Type.REST}:
        return None
    if _Type.BOOL in param.types:
        return _NOT_A_NUMBER.filter(lambda w: w.lower() not in _TRUE | _FALSE)
    return _NOT_A_NUMBER  # letters are never a number ("nan" and "inf" are refused too)


@st.composite
def _bad_line(draw: st.DrawFn, params: tuple[Param, ...]) -> str | None:
    rest = params[-1] if params and _Type.REST in params[-1].types else None
    fixed = params[:-1] if rest is not None else params
    required = [p for p in fixed if p.required]
    ways = []
    if required or (rest is not None and rest.required):
        ways.append("missing")
    mistypable = [i for i, p in enumerate(fixed) if _wrong(p) is not None]
    if mistypable:
        ways.append("mistyped")
    if rest is None:
        ways += ["extra", "quote"]
    if not ways:
        return None  # every line fits: nothing to refuse
    way = draw(st.sampled_from(ways))
    good = [draw(_word(p)) for p in fixed]
    if way == "missing":
        cut = len(required) - 1 if required else len(fixed)
        words = good[: max(cut, 0)]
    elif way == "mistyped":
        index = draw(st.sampled_from(mistypable))
        wrong = _wrong(fixed[index])
        assert wrong is not None
        words = [*good[:index], draw(wrong), *good[index + 1 :]]
    elif way == "extra":
        words = [*good, draw(_TEXT.map(_quoted))]
    else:
        words = [*good, '"' + draw(_TEXT).replace('"', "").replace("\\", "")]
    return " ".join(words)


def bad_command_lines(spec: HandlerSpec) -> st.SearchStrategy[str | None]:
    """Command lines that must get a usage reply (``None``: the command accepts every line)."""
    return _bad_line(spec.params).map(
        lambda rest: None if rest is None else f"/{spec.name} {rest}".rstrip()
    )


def _dispatch(live: LiveHost, message: Message) -> list[Reply]:
    """Dispatch ``message`` in the live host (from this thread) and collect the replies."""

    async def one() -> list[Reply]:
        assert live.harness is not None
        live.clock.autojump_threshold = IO_GRACE_CALLS
        try:
            return [reply async for reply in live.harness.host.dispatch(message)]
        finally:
            live.clock.autojump_threshold = math.inf

    token = live._token
    assert token is not None
    result: list[list[Reply]] = []
    caller = threading.Thread(
        target=lambda: result.append(trio.from_thread.run(one, trio_token=token)), daemon=True
    )
    caller.start()
    caller.join(live.stall_timeout)
    if not result:
        assert live._thread is not None
        raise Stalled(stuck_at(live._thread, None))
    return result[0]


def _message(spec: HandlerSpec, text: str) -> Message:
    roles = frozenset({spec.permission}) if spec.permission else frozenset()
    return Message(text, sender="contract-kit", origin="contract-kit", roles=roles)


def check_commands(checker: Checker, specs: Mapping[str, EntrySpec]) -> None:
    """Run both command properties for every command of the plugin, in a live host."""
    with LiveHost(checker.harness, specs, stall_timeout=checker.stall_timeout) as live:
        assert live.harness is not None
        info = live.harness.host.plugins[live.harness.name]
        for spec in info.handlers:
            if spec.kind is not HandlerKind.COMMAND:
                continue
            good = functools.partial(_judge_good, checker, live, spec)
            bad = functools.partial(_judge_bad, checker, live, spec)
            checker._property(good, command_lines(spec), subject=repr)
            checker._property(bad, bad_command_lines(spec), subject=repr)


def _own(replies: list[Reply], spec: HandlerSpec) -> list[Reply]:
    return [r for r in replies if r.handler == spec.label]


def _judge_good(checker: Checker, live: LiveHost, spec: HandlerSpec, line: str) -> str | None:
    replies = _own(_dispatch(live, _message(spec, line)), spec)
    where = f"{checker.label} {spec.label}: {line!r}"
    for reply in replies:
        if reply.kind is ReplyKind.ERROR:
            return f"{line!r}: {reply.content}"
        if reply.kind is not ReplyKind.REPLY:
            return f"{where} fits the signature but got a {reply.kind.value} reply: {reply.content}"
    return None


def _judge_bad(checker: Checker, live: LiveHost, spec: HandlerSpec, line: str | None) -> str | None:
    if line is None:
        return None
    replies = _own(_dispatch(live, _message(spec, line)), spec)
    if [r.kind for r in replies] == [ReplyKind.USAGE]:
        return None
    got: Any = [(r.kind.value, r.content) for r in replies] or "no reply"
    return f"{checker.label} {spec.label}: {line!r} does not fit the signature, yet got {got}"
