"""An entry's parameters as JSON Schema: derived from type hints, validated, exported for LLMs.

An entry either brings its own ``input_schema`` or gets one derived from its signature: each
named parameter becomes a property (``str`` → string, ``int`` → integer, ``float`` → number,
``bool`` → boolean, ``list[X]`` → array, ``dict[str, X]`` → object, ``Literal[...]`` → enum,
``X | None`` → nullable); parameters without a default are required. ``self``, a ``ctx``
parameter (injected by the host) and ``*args`` / ``**kwargs`` catch-alls are not arguments.
Derived schemas refuse unknown arguments (``additionalProperties: false``): the seeds' ``**_``
exists to swallow host extras, and silently dropping a user's typo is a known peer bug.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, Union

from ._address import parse_address
from ._errors import InvalidArguments

if typing.TYPE_CHECKING:
    from ._model import EntrySpec

__all__ = ["ArgumentValidator", "schema_from_signature", "schema_problem", "tool_definitions"]

JSONSchema = dict[str, Any]

_SCALARS: dict[object, JSONSchema] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    Any: {},
    object: {},
}

_NOT_ARGUMENTS = frozenset({"self", "cls", "ctx"})


def _schema_for(hint: object) -> JSONSchema:
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema_for(arg) for arg in args]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set, frozenset):
        schema: JSONSchema = {"type": "array"}
        if args and args[-1] is not Ellipsis:
            schema["items"] = _schema_for(args[0])
        return schema
    if origin is dict or hint is dict:
        schema = {"type": "object"}
        if len(args) == 2:
            schema["additionalProperties"] = _schema_for(args[1])
        return schema
    if origin is typing.Annotated:
        return _schema_for(args[0])
    raise TypeError(f"cannot express type {hint!r} as JSON Schema; give input_schema explicitly")


def schema_from_signature(
    func: Callable[..., Any],
    *,
    is_method: bool,
    signature: inspect.Signature | None = None,
) -> JSONSchema:
    """Derive a JSON Schema object for ``func``'s named parameters from its type hints.

    Raises ``TypeError`` if a hint has no JSON Schema form. An unannotated parameter accepts any
    JSON value (``{}``), unlike peers that fail at call time on a missing annotation. Pass
    ``signature`` when the caller has ``inspect.signature(func)`` already.
    """
    if signature is None:
        signature = inspect.signature(func)
    # get_type_hints is the costly part (it evaluates string annotations), and only the
    # parameters' hints are used: skip it when no parameter is annotated (``-> str`` alone)
    annotations = getattr(func, "__annotations__", None)
    no_hints = isinstance(annotations, dict) and annotations.keys() <= {"return"}
    hints = {} if no_hints else typing.get_type_hints(func, include_extras=True)
    properties: dict[str, JSONSchema] = {}
    required: list[str] = []
    params = list(signature.parameters.values())
    if is_method and params:
        params = params[1:]
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in _NOT_ARGUMENTS:
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(f"parameter {param.name!r} is positional-only; entries take keywords")
        prop = _schema_for(hints[param.name]) if param.name in hints else {}
        if param.default is param.empty:
            required.append(param.name)
        elif _json_safe(param.default):
            prop["default"] = param.default
        properties[param.name] = prop
    schema: JSONSchema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    # Valid by construction if it is JSON: no meta-schema check (nor jsonschema import). If it
    # is not (a Literal of non-JSON values), schema_problem says so at registration.
    with contextlib.suppress(TypeError, ValueError):
        _VALID_SCHEMAS.add(json.dumps(schema, sort_keys=True))
    return schema


_VALID_SCHEMAS: set[str] = set()
"""Schemas known to be valid (as sorted JSON): meta-checked, or derived by this module."""


def _json_safe(value: object) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return False


def schema_problem(schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` is not a valid JSON Schema (2020-12), or ``None`` if it is.

    Each distinct schema is checked once per process: a thousand plugins with the same
    entry signature pay for one meta-schema check, and schemas derived from signatures (valid
    by construction) for none.
    """
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError) as exc:
        return f"not JSON: {exc}"
    if key in _VALID_SCHEMAS:
        return None
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(dict(schema))
    except jsonschema.SchemaError as exc:
        return str(exc.message)
    _VALID_SCHEMAS.add(key)
    return None


class ArgumentValidator:
    """Checks call arguments against one entry's schema before any plugin code runs."""

    __slots__ = (
        "_entry",
        "_plugin",
        "_properties",
        "_required",
        "_schema",
        "_strict",
        "_validator",
    )

    def __init__(self, plugin: str, entry: str, schema: JSONSchema) -> None:
        self._plugin = plugin
        self._entry = entry
        self._schema = schema
        self._validator: Any = None  # built on the first call: starting a host never validates
        self._properties: Mapping[str, object] = schema.get("properties", {})
        self._required: tuple[str, ...] = tuple(schema.get("required", ()))
        self._strict = schema.get("additionalProperties", True) is False

    def validate(self, arguments: Mapping[str, object]) -> None:
        """Raise :class:`InvalidArguments` naming the first bad argument; return if all is well."""
        for name in self._required:
            if name not in arguments:
                self._fail(f"missing required argument {name!r}", name)
        if self._strict:
            for name in arguments:
                if name not in self._properties:
                    known = ", ".join(sorted(self._properties)) or "none"
                    self._fail(f"unknown argument {name!r} (accepted: {known})", name)
        import jsonschema  # here, not at import: most commands never validate
        from jsonschema.exceptions import best_match

        if self._validator is None:
            self._validator = jsonschema.Draft202012Validator(self._schema)
        try:
            error = best_match(self._validator.iter_errors(dict(arguments)))
        except (RecursionError, ValueError, TypeError, ArithmeticError) as exc:
            # Input past what validation can handle: 4300-digit integers, deep nesting,
            # non-string keys, Decimal('NaN') in comparisons.
            self._fail(f"arguments cannot be validated: {type(exc).__name__}", None)
        if error is not None:
            path = list(error.absolute_path)
            argument = str(path[0]) if path else None
            where = f"argument {argument!r}: " if argument else ""
            self._fail(f"{where}{error.message}", argument)

    def _fail(self, message: str, argument: str | None) -> typing.NoReturn:
        raise InvalidArguments(self._plugin, self._entry, message, argument=argument)


def _tool_name(target: str) -> str:
    address = parse_address(target)
    return address.tool_name if address is not None else target


def tool_definitions(entries: Iterable[tuple[str, EntrySpec]]) -> list[dict[str, Any]]:
    """Entries as an OpenAI-style function list; ``plugin.entry`` becomes ``plugin__entry``.

    Function names allow only letters, digits, ``_`` and ``-``; ``host.call`` accepts both forms.
    """
    return [
        {
            "type": "function",
            "function": {
                "name": _tool_name(target),
                "description": spec.description or spec.name,
                "parameters": dict(spec.input_schema),
            },
        }
        for target, spec in entries
    ]
