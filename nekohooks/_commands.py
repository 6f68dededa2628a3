"""Command lines: split the text after ``/name`` into words and bind them to typed parameters.

The words follow shell quoting: ``"two words"`` and ``'two words'`` are one word, a backslash
escapes the next character outside single quotes. The splitter is one compiled regular
expression, linear in the text (``shlex`` is quadratic on long words: 14 s for a 1 MB one).

A handler's parameters after the message come from its signature: ``str`` (or no annotation),
``int``, ``float`` (finite only), ``bool`` (``true/false``, ``yes/no``, ``on/off``, ``1/0``),
``Literal["a", "b"]``, ``X | None`` and unions (the first member that parses wins). A parameter
without a default is required; an unannotated one with a default takes its default's type.
:data:`Rest` as the last annotation takes the rest of the line verbatim. Anything else is refused
when the plugin loads. Every problem with a command line (an unbalanced quote, a missing or
malformed argument, extra words) is a :class:`CommandLineError` whose text is the usage reply.
"""

from __future__ import annotations

import enum
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, Union

import attrs

__all__ = [
    "CommandLineError",
    "Param",
    "Rest",
    "bind",
    "params_from_signature",
    "signature_params",
    "split",
    "usage",
    "words",
]


class Rest(str):
    """Annotate the last command parameter ``Rest`` to receive the rest of the line as it was
    typed (quotes and spaces kept), e.g. ``async def echo(self, message, text: Rest)``."""


class CommandLineError(ValueError):
    """A command line does not fit the command; the message is the usage reply's text."""


class _Type(enum.Enum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    REST = "rest"


_TRUE = frozenset({"true", "yes", "on", "1", "y"})
_FALSE = frozenset({"false", "no", "off", "0", "n"})


@attrs.frozen
class Param:
    """One command parameter: its name, the types it accepts in order, its default."""

    name: str
    types: tuple[_Type, ...]
    choices: tuple[str, ...] = ()
    required: bool = True
    default: Any = None

    def describe(self) -> str:
        """``<seconds:int>`` for a required parameter, ``[target:str]`` for an optional one,
        ``<text...>`` for the rest of the line."""
        if _Type.REST in self.types:
            return f"<{self.name}...>" if self.required else f"[{self.name}...]"
        kind = "|".join(self.choices) if self.choices else "|".join(t.value for t in self.types)
        text = f"{self.name}:{kind}"
        return f"<{text}>" if self.required else f"[{text}]"

    def convert(self, word: str) -> Any:
        """The typed value of ``word``; raises ``ValueError`` naming what was expected."""
        if self.choices:
            if word in self.choices:
                return word
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        for kind in self.types:
            try:
                return _convert(kind, word)
            except ValueError:
                continue
        names = " or ".join(_NAMES[t] for t in self.types)
        raise ValueError(f"is not {names}")


_NAMES = {
    _Type.STR: "text",
    _Type.REST: "text",
    _Type.INT: "an integer",
    _Type.FLOAT: "a number",
    _Type.BOOL: "true or false",
}


def _convert(kind: _Type, word: str) -> Any:
    if kind in (_Type.STR, _Type.REST):
        return word
    if kind is _Type.INT:
        if not re.fullmatch(r"[+-]?\d{1,4300}", word):  # int() accepts "1_000" and " 7 "
            raise ValueError(word)
        return int(word)
    if kind is _Type.FLOAT:
        if len(word) > 400:
            raise ValueError(word)
        value = float(word)  # raises ValueError
        if not math.isfinite(value):
            raise ValueError(word)
        return value
    lowered = word.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(word)


_SIMPLE = {str: _Type.STR, int: _Type.INT, float: _Type.FLOAT, bool: _Type.BOOL, Rest: _Type.REST}


def _types_of(
    name: str, hint: object, default: object
) -> tuple[tuple[_Type, ...], tuple[str, ...]]:
    if hint is inspect.Parameter.empty or hint is Any:
        if default is inspect.Parameter.empty or default is None:
            return (_Type.STR,), ()
        hint = type(default)
    if hint in _SIMPLE:
        return (_SIMPLE[hint],), ()
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if all(isinstance(c, str) for c in choices):
            return (_Type.STR,), tuple(choices)
    if origin in (Union, types.UnionType):
        found: list[_Type] = []
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            if arg not in _SIMPLE or arg is Rest:
                break
            found.append(_SIMPLE[arg])
        else:
            # try the stricter types first: "3" is an int before it is a str
            order = [_Type.BOOL, _Type.INT, _Type.FLOAT, _Type.STR]
            return tuple(t for t in order if t in found), ()
    raise TypeError(
        f"command parameter {name!r} has an unsupported type {hint!r} "
        "(use str, int, float, bool, Literal[...], a union of these, or Rest)"
    )


def params_from_signature(signature: inspect.Signature, hints: dict[str, Any]) -> tuple[Param, ...]:
    """The command parameters of ``signature`` (already without ``self`` and the message).

    Raises ``TypeError`` for a parameter that cannot come from a command line.
    """
    params: list[Param] = []
    items = list(signature.parameters.values())
    for index, parameter in enumerate(items):
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue  # **_ catch-alls receive nothing
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise TypeError(f"command parameter {parameter.name!r} must not be positional-only")
        hint = hints.get(parameter.name, parameter.annotation)
        kinds, choices = _types_of(parameter.name, hint, parameter.default)
        if _Type.REST in kinds and index != len(items) - 1:
            raise TypeError(f"command parameter {parameter.name!r}: Rest must come last")
        required = parameter.default is inspect.Parameter.empty
        params.append(
            Param(
                parameter.name,
                kinds,
                choices,
                required,
                None if required else parameter.default,
            )
        )
    return tuple(params)


# A word: runs of plain characters, backslash escapes and quoted strings, with no space between.
_WORD = re.compile(r"""(?:[^\s"'\\]|\\.|"(?:[^"\\]|\\.)*"|'[^']*')+""", re.DOTALL)
_SPACE = re.compile(r"\s*")
_PIECE = re.compile(r"""\\(.)|"((?:[^"\\]|\\.)*)"|'([^']*)'""", re.DOTALL)
_DQ_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unquote(word: str) -> str:
    def piece(match: re.Match[str]) -> str:
        escaped, double, single = match.groups()
        if escaped is not None:
            return escaped
        if double is not None:
            return _DQ_ESCAPE.sub(r"\1", double)
        return single or ""

    return _PIECE.sub(piece, word)


def words(text: str) -> Iterator[tuple[str, int]]:
    """The words of ``text``, each with the offset where it ends, as they are read.

    Raises :class:`CommandLineError` on reaching an unbalanced quote or a trailing backslash.
    """
    position = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    while position < len(text):
        match = _WORD.match(text, position)
        if match is None:
            quote = text[position]
            what = "a trailing backslash" if quote == "\\" else f"an unbalanced {quote}"
            raise CommandLineError(f"{what} at {_shown(text[position : position + 41])}")
        yield _unquote(match.group()), match.end()
        position = _SPACE.match(text, match.end()).end()  # type: ignore[union-attr]


def split(text: str) -> list[str]:
    """The words of ``text`` (see :func:`words`)."""
    return [word for word, _ in words(text)]


def usage(command: str, params: Sequence[Param]) -> str:
    """``usage: /countdown <seconds:int> [target:str]``."""
    return " ".join(["usage:", command, *(p.describe() for p in params)])


def _shown(word: str, limit: int = 40) -> str:
    shown = word if len(word) <= limit else word[:limit] + "…"
    return repr(shown)  # escapes control characters


def bind(command: str, params: Sequence[Param], text: str) -> dict[str, Any]:
    """Parse ``text`` (the line after the command name) into keyword arguments.

    Raises:
        CommandLineError: the line does not fit; its text names the problem and the usage.
    """

    def fail(problem: str) -> CommandLineError:
        return CommandLineError(f"{command}: {problem}\n{usage(command, params)}")

    rest_param = params[-1] if params and _Type.REST in params[-1].types else None
    fixed = params[:-1] if rest_param is not None else params
    reader = words(text)
    arguments: dict[str, Any] = {}
    consumed_to = 0
    try:
        for param in fixed:
            found = next(reader, None)
            if found is None:
                if param.required:
                    raise fail(f"missing argument {param.name}")
                break
            word, consumed_to = found
            try:
                arguments[param.name] = param.convert(word)
            except ValueError as exc:
                raise fail(f"argument {param.name}: {_shown(word)} {exc}") from None
        if rest_param is not None:
            remainder = text[consumed_to:].strip()
            if remainder:
                arguments[rest_param.name] = remainder
            elif rest_param.required:
                raise fail(f"missing argument {rest_param.name}")
        else:
            extra = next(reader, None)
            if extra is not None:
                raise fail(f"unexpected argument {_shown(extra[0])}")
    except CommandLineError as exc:
        if exc.args[0].startswith(command):
            raise
        raise fail(str(exc)) from None
    return arguments


def signature_params(func: Callable[..., Any], *, skip: int) -> tuple[Param, ...]:
    """The command parameters of ``func`` after its first ``skip`` parameters."""
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable annotations: use them as written
        hints = {}
    kept = list(signature.parameters.values())[skip:]
    return params_from_signature(signature.replace(parameters=kept), hints)
