"""Hypothesis strategies for entry arguments, generated from their JSON Schema.

Exported for authors' own tests: ``valid_arguments(schema)`` draws argument dicts an entry must
accept, ``invalid_arguments(schema)`` ones the host must refuse before any plugin code runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hypothesis.strategies as st
import jsonschema

from ._budget import Budget

__all__ = ["from_schema", "invalid_arguments", "valid_arguments"]

_WRONG_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),  # the host refuses these before the plugin sees any
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _bounds(schema: Mapping[str, Any], widest: int) -> tuple[Any, Any]:
    """The schema's minimum and maximum, each unbounded side at most ``widest`` from zero
    (or from the other bound, if that lies beyond)."""
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is None:
        low = -widest if high is None else min(-widest, high - widest)
    if high is None:
        high = max(widest, low + widest)
    return low, high


def from_schema(schema: Mapping[str, Any], budget: Budget | None = None) -> st.SearchStrategy[Any]:
    """Values for the JSON Schema subset entries use (types, enum, anyOf, bounds, objects).

    Sizes follow ``budget`` (:class:`Budget`'s defaults: numbers the schema leaves unbounded
    within ±10,000, strings up to 50 characters, up to 5 items). Keywords outside that
    subset are honoured by filtering with the schema's validator.
    """
    budget = budget or Budget()
    validator = jsonschema.Draft202012Validator(dict(schema))
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    if "anyOf" in schema:
        return st.one_of([from_schema(part, budget) for part in schema["anyOf"]])
    kind = schema.get("type")
    strategy: st.SearchStrategy[Any]
    if kind == "string":
        shortest = int(schema.get("minLength", 0))
        strategy = st.text(min_size=shortest, max_size=max(shortest, budget.max_text))
    elif kind == "integer":
        strategy = st.integers(*_bounds(schema, budget.max_integer))
    elif kind == "number":
        low, high = _bounds(schema, budget.max_integer)
        strategy = st.floats(low, high, allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        strategy = st.booleans()
    elif kind == "null":
        strategy = st.none()
    elif kind == "array":
        items = from_schema(schema.get("items", {}), budget)
        strategy = st.lists(items, max_size=budget.max_items)
    elif kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        strategy = st.fixed_dictionaries(
            {k: from_schema(v, budget) for k, v in props.items() if k in required},
            optional={k: from_schema(v, budget) for k, v in props.items() if k not in required},
        )
        if not props and schema.get("additionalProperties", True) is not False:
            strategy = st.dictionaries(
                st.text(min_size=1, max_size=8), _scalars(budget), max_size=budget.max_items
            )
    else:
        strategy = st.recursive(
            _scalars(budget),
            lambda inner: st.lists(inner, max_size=budget.max_items),
            max_leaves=budget.max_items,
        )
    return strategy.filter(validator.is_valid)


def _scalars(budget: Budget) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-budget.max_integer, budget.max_integer),
        st.floats(-budget.max_integer, budget.max_integer, allow_nan=False),
        st.text(max_size=min(20, budget.max_text)),
    )


def valid_arguments(
    schema: Mapping[str, Any], budget: Budget | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Argument dicts that satisfy an entry's JSON Schema (sizes as in :func:`from_schema`)."""
    return from_schema({**schema, "type": "object"}, budget)


def invalid_arguments(
    schema: Mapping[str, Any], budget: Budget | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Argument dicts that violate an entry's schema: a required key dropped, an unknown key
    added, or a value of the wrong type; each checked to really be invalid."""
    validator = jsonschema.Draft202012Validator(dict(schema))
    properties = list(schema.get("properties", {}))
    required = list(schema.get("required", []))
    base = valid_arguments(schema, budget)
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
