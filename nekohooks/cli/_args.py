"""``neko call``'s arguments: ``key=value`` pairs, ``--args`` JSON and the ``PLUGIN.ENTRY`` target."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import click

from .._address import parse_address

__all__ = ["not_json", "parse_args_json", "parse_pairs", "parse_value", "split_target"]


def parse_value(text: str, schema: Any) -> Any:
    """A ``key=value`` value: the text itself where the entry wants a string, else JSON if it
    parses (``n=3``, ``flag=true``, ``tags='["a"]'``), else the text."""
    if isinstance(schema, dict) and schema.get("type") == "string":
        return text
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or JSON past int/nesting limits
        return text


def parse_args_json(args_json: str | None) -> dict[str, Any]:
    """``--args``: one JSON object (usage error otherwise)."""
    if not args_json:
        return {}
    try:
        parsed = json.loads(args_json)
    except (ValueError, RecursionError) as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="'--args'") from exc
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object", param_hint="'--args'")
    return parsed


def parse_pairs(pairs: tuple[str, ...], *, args_json: str | None = None) -> dict[str, str]:
    """``key=value`` words → ``{key: text}``.

    Usage errors: a word without ``=``, a key given twice, and pairs together with ``--args``
    (which holds all the arguments): nothing is merged silently.
    """
    for pair in pairs:  # a malformed word first, wherever it is
        key, sep, _ = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="PAIRS")
    texts: dict[str, str] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key in texts:
            raise click.BadParameter(
                f"{key!r} is given twice ({key}={texts[key]} and {pair})", param_hint="PAIRS"
            )
        texts[key] = value
    if texts and args_json:
        raise click.BadParameter(
            "give the arguments either as key=value pairs or as one --args JSON object, not both",
            param_hint="'--args'",
        )
    return texts


def not_json(value: Any) -> bool:
    """True if ``value`` is not JSON (the contract kit's test: no NaN, no arbitrary objects)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return True
    return False


def split_target(target: str, plugins: Collection[str] = ()) -> str:
    """The plugin of ``PLUGIN.ENTRY`` or ``plugin__entry`` (usage error otherwise)."""
    address = parse_address(target, plugins=plugins)
    if address is None:
        raise click.BadParameter(
            f"{target!r} is not PLUGIN.ENTRY (e.g. hello.greet)", param_hint="TARGET"
        )
    return address.plugin
