"""The JSON Schema of a N.E.K.O entry: its own ``input_schema``, its ``params`` model's, or one
inferred from the handler's signature (as N.E.K.O infers it), with ``tr()`` text resolved.

A handler without ``**kwargs`` gets ``additionalProperties: false`` (unless the schema says
otherwise), so arguments it cannot take are refused before it runs.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from .sdk._decorators import HandlerMeta
from .sdk.shared.i18n import PluginI18n

__all__ = ["entry_schema"]

_SKIP = frozenset({"self", "cls", "_ctx", "args", "kwargs"})
_JSON_TYPES: dict[object, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
}


def _hint_schema(hint: object) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin is typing.Annotated:
        return _hint_schema(args[0])
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        inner = _hint_schema(args[0])
        if isinstance(inner.get("type"), str):
            inner["type"] = [inner["type"], "null"]
        return inner
    if origin in (list, dict):
        return {"type": _JSON_TYPES[origin]}
    kind = _JSON_TYPES.get(hint)
    return {"type": kind} if kind else {}


def _signature_schema(func: Callable[..., Any]) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception:  # unresolvable annotations: untyped properties
        hints = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(func).parameters.items():
        if name in _SKIP or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        prop = _hint_schema(hints.get(name))
        if param.default is param.empty:
            required.append(name)
        elif param.default is None or isinstance(param.default, str | int | float | bool):
            prop["default"] = param.default
        properties[name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def entry_schema(func: Callable[..., Any], meta: HandlerMeta, i18n: PluginI18n) -> dict[str, Any]:
    """The nekohooks ``input_schema`` for handler ``func`` marked with ``meta``."""
    if meta.input_schema is not None:
        schema = dict(meta.input_schema)
    elif meta.params is not None:
        model = meta.params
        maker = getattr(model, "model_json_schema", None) or getattr(model, "schema", None)
        if maker is None:
            raise TypeError(f"params model {model!r} has no model_json_schema()")
        schema = dict(maker())
    else:
        schema = _signature_schema(func)
    resolved: dict[str, Any] = i18n.resolve(schema)
    resolved.setdefault("type", "object")
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(func).parameters.values())
    if not takes_any:  # arguments the handler cannot take are refused before it runs
        resolved.setdefault("additionalProperties", False)
    return resolved
