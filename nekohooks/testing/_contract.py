"""Contract properties over a plugin's entries, checked with hypothesis."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hypothesis
import hypothesis.strategies as st
import jsonschema
import trio
import trio.testing

from .._config import HostConfig
from .._errors import InvalidArguments, NekoError
from .._host import open_host

__all__ = [
    "ContractViolation",
    "check_entries",
    "from_schema",
    "invalid_arguments",
    "valid_arguments",
]

_WRONG_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


class ContractViolation(AssertionError):
    """A plugin broke the hook contract; the message names the plugin, entry and example."""


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


def _json_ok(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def check_entries(
    name: str,
    plugin: object,
    *,
    max_examples: int = 25,
    home: Path | None = None,
) -> None:
    """Check every entry of ``plugin`` (loaded as ``name``) against the call contract.

    Raises :class:`ContractViolation` with hypothesis's minimal failing example.
    """
    home = home or Path(tempfile.mkdtemp(prefix="neko-contract-"))
    config = HostConfig(home=home)
    entries = _entries(name, plugin, config)
    settings = hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        database=None,
    )
    for entry_id, schema in entries.items():
        _check_entry(plugin, name, config, f"{name}.{entry_id}", schema, settings)


def _check_entry(
    plugin: object,
    name: str,
    config: HostConfig,
    target: str,
    schema: Mapping[str, Any],
    settings: hypothesis.settings,
) -> None:
    @settings
    @hypothesis.given(valid_arguments(schema))
    def valid(arguments: dict[str, Any]) -> None:
        result = _call(plugin, name, config, target, arguments)
        if isinstance(result, BaseException):
            if not isinstance(result, NekoError) or isinstance(result, InvalidArguments):
                raise ContractViolation(
                    f"{target} with valid arguments {arguments!r} raised "
                    f"{type(result).__name__}: {result} (expected a result or a typed "
                    "nekohooks error)"
                )
        elif not _json_ok(result):
            raise ContractViolation(
                f"{target} returned a value that is not JSON-serialisable: {result!r} "
                f"(arguments {arguments!r})"
            )

    @settings
    @hypothesis.given(invalid_arguments(schema))
    def invalid(arguments: dict[str, Any]) -> None:
        result = _call(plugin, name, config, target, arguments)
        if not isinstance(result, InvalidArguments):
            raise ContractViolation(
                f"{target} accepted invalid arguments {arguments!r} (got {result!r})"
            )

    valid()
    if schema.get("properties") or schema.get("required"):
        invalid()


def _entries(name: str, plugin: object, config: HostConfig) -> dict[str, Mapping[str, Any]]:
    async def collect() -> dict[str, Mapping[str, Any]]:
        async with open_host(config, plugins={name: plugin}, watchdog=False) as host:
            if host.failures:
                raise ContractViolation(str(host.failures[0]))
            return {spec.id: spec.input_schema for _, spec in host.entries()}

    return trio.run(collect, clock=trio.testing.MockClock(autojump_threshold=0))


def _call(plugin: object, name: str, config: HostConfig, target: str, arguments: Any) -> Any:
    async def run() -> Any:
        async with open_host(config, plugins={name: plugin}, watchdog=False) as host:
            try:
                return await host.call(target, **arguments)
            except Exception as exc:
                return exc

    return trio.run(run, clock=trio.testing.MockClock(autojump_threshold=0))
