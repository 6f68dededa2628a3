"""Hypothesis strategies for entry arguments, generated from their JSON Schema.

Exported for authors' own tests: ``valid_arguments(schema)`` draws argument dicts an entry must
accept, ``invalid_arguments(schema)`` ones the host must refuse before any plugin code runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hypothesis.strategies as st
import jsonschema

__all__ = ["from_schema", "invalid_arguments", "valid_arguments"]

_WRONG_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


_JSON_SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)


def from_schema(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values for the JSON Schema subset entries use (types, enum, anyOf, bounds, objects).

    Keywords outside that subset are honoured by filtering with the schema's validator.
    """
    validator = jsonschema.Draft202012Validator(dict(schema))
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if "anyOf" in schema:
        return st.one_of([from_schema(part) for part in schema["anyOf"]])
    kind = schema.get("type")
    strategy: st.SearchStrategy[Any]
    if kind == "string":
        strategy = st.text(max_size=50)
    elif kind == "integer":
        strategy = st.integers(schema.get("minimum"), schema.get("maximum"))
    elif kind == "number":
        strategy = st.floats(
            schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False
        )
    elif kind == "boolean":
        strategy = st.booleans()
    elif kind == "null":
        strategy = st.none()
    elif kind == "array":
        strategy = st.lists(from_schema(schema.get("items", {})), max_size=5)
    elif kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        strategy = st.fixed_dictionaries(
            {k: from_schema(v) for k, v in props.items() if k in required},
            optional={k: from_schema(v) for k, v in props.items() if k not in required},
        )
        if not props and schema.get("additionalProperties", True) is not False:
            strategy = st.dictionaries(st.text(min_size=1, max_size=8), _JSON_SCALARS, max_size=3)
    else:
        strategy = st.recursive(
            _JSON_SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=5
        )
    return strategy.filter(validator.is_valid)


def valid_arguments(schema: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Argument dicts that satisfy an entry's JSON Schema."""
    return from_schema({**schema, "type": "object"})


def invalid_arguments(schema: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Argument dicts that violate an entry's schema: a required key dropped, an unknown key
    added, or a value of the wrong type; each checked to really be invalid."""
    validator = jsonschema.Draft202012Validator(dict(schema))
    properties = list(schema.get("properties", {}))
    required = list(schema.get("required", []))
    base = valid_arguments(schema)
    options: list[st.SearchStrategy[dict[str, Any]]] = []
    if required:
        options.append(
            st.tuples(base, st.sampled_from(required)).map(
                lambda pair: {k: v for k, v in pair[0].items() if k != pair[1]}
            )
        )
    if schema.get("additionalProperties") is False:
        unknown = st.text(min_size=1, max_size=10).filter(lambda k: k not in properties)
        options.append(st.tuples(base, unknown, _WRONG_TYPES).map(lambda t: {**t[0], t[1]: t[2]}))
    if properties:
        options.append(
            st.tuples(base, st.sampled_from(properties), _WRONG_TYPES).map(
                lambda t: {**t[0], t[1]: t[2]}
            )
        )
    if not options:
        return st.nothing()
    return st.one_of(options).filter(lambda args: not validator.is_valid(args))
