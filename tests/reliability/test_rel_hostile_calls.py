"""Hostile input to calls: ``host.call`` arguments and ``neko call`` argument parsing (hypothesis).

``host.call``: one host, started once for the module in a background thread, serves plugins with
varied schemas (type hints, explicit constrained schemas, a recursive schema, an open schema
with ``patternProperties``, no arguments, an untyped argument, sync, async and generator entries,
a module-style plugin). Hypothesis throws at it wrong types, unknown keys, NaN/inf, huge
strings, non-UTF-8 bytes, lone surrogates, huge integers, deep nesting and non-string keys. The
only acceptable outcomes are a result or a typed nekohooks error (``NekoError``; mostly
``InvalidArguments`` naming the argument); the host must answer a ping after every example and
every plugin must still be running at the end. Each hostile category is its own test, so one
bug does not hide the others.

``neko call``: the CLI's value parser (``_parse_value``) in-process for volume, the ``call``
command in-process through click (pairs and ``--`` handling, against the installed ``hello``
example), and a handful of real ``neko call`` processes checking exit code and message.
"""

from __future__ import annotations

import decimal
import fractions
import functools
import inspect
import json
import math
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import click
import pytest
import trio
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nekohooks import HostConfig, NekoError, NekoPluginBase, hookimpl, open_host, plugin_entry
from nekohooks import cli as neko_cli
from nekohooks.cli import _args as neko_cli_args
from nekohooks.errors import InvalidArguments
from nekohooks.records import PluginState


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        derandomize=True,  # the same inputs on every run: CI failures reproduce
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---- the plugins under fire -------------------------------------------------------------------

CONSTRAINED = {
    "type": "object",
    "properties": {
        "user": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "email": {"type": "string", "pattern": "^[^@]+@[^@]+$", "maxLength": 254},
            },
            "required": ["id"],
            "additionalProperties": False,
        },
        "items": {"type": "array", "items": {"type": "number"}, "maxItems": 50},
        "unique": {"type": "array", "uniqueItems": True},
        "level": {"enum": [1, 2, 3, "max"]},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "label": {"type": "string", "minLength": 1, "maxLength": 32},
    },
    "required": ["user"],
    "additionalProperties": False,
}
TREE = {
    "type": "object",
    "properties": {"tree": {"$ref": "#/$defs/node"}},
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
        }
    },
}
OPEN = {
    "type": "object",
    "additionalProperties": True,
    "patternProperties": {"^x_": {"type": "integer"}},
    "properties": {
        "meta": {
            "type": "object",
            "patternProperties": {"^m_": {"type": "integer"}},
            "additionalProperties": False,
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


class Fuzzed(NekoPluginBase):
    @plugin_entry(id="typed")
    async def typed(
        self,
        name: str,
        count: int = 1,
        ratio: float = 0.5,
        flag: bool = False,
        tags: list[str] | None = None,
        opts: dict[str, int] | None = None,
        mode: Literal["fast", "slow"] = "fast",
    ) -> dict[str, Any]:
        return {"name": name, "count": count, "tags": tags, "opts": opts, "mode": mode}

    @plugin_entry(id="threaded")
    def threaded(self, text: str, n: int = 0) -> int:
        return len(text) + n

    @plugin_entry(id="nothing")
    async def nothing(self) -> str:
        return "ok"

    @plugin_entry(id="anything")
    async def anything(self, value=None):  # type: ignore[no-untyped-def]
        return type(value).__name__

    @plugin_entry(id="count")
    async def count(self, n: int):  # type: ignore[no-untyped-def]
        for i in range(max(0, min(n, 3))):
            yield i

    @plugin_entry(id="constrained", input_schema=CONSTRAINED)
    async def constrained(self, **arguments: Any) -> list[str]:
        return sorted(arguments)

    @plugin_entry(id="tree", input_schema=TREE)
    async def tree(self, **arguments: Any) -> str:
        return "ok"

    @plugin_entry(id="open", input_schema=OPEN)
    async def open_(self, **arguments: Any) -> int:
        return len(arguments)

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"


@plugin_entry(id="echo")
def module_echo(ctx: Any, text: str = "", times: int = 1) -> str:
    return f"{ctx.name}:{text[:10]}" * max(0, min(times, 3))


class ModuleStyle:
    @hookimpl
    def neko_entries(self) -> list[Any]:
        return [module_echo]


ENTRIES = [
    "fuzz.typed",
    "fuzz.threaded",
    "fuzz.nothing",
    "fuzz.anything",
    "fuzz.count",
    "fuzz.constrained",
    "fuzz.tree",
    "fuzz.open",
    "mod.echo",
    "fuzz__typed",  # the LLM tool-name form
]
BOGUS_TARGETS = ["", ".", "fuzz", "fuzz.", ".typed", "fuzz.nope", "nope.typed", "fuzz.typed.x"]
KNOWN_KEYS = [
    "name",
    "count",
    "ratio",
    "flag",
    "tags",
    "opts",
    "mode",
    "text",
    "n",
    "value",
    "user",
    "items",
    "unique",
    "level",
    "label",
    "tree",
    "meta",
    "x_1",
    "labels",
    "times",
]
#: Valid required arguments per entry, so a hostile value gets past "missing argument".
BASE: dict[str, dict[str, Any]] = {
    "fuzz.typed": {"name": "neko"},
    "fuzz__typed": {"name": "neko"},
    "fuzz.threaded": {"text": "neko"},
    "fuzz.count": {"n": 2},
    "fuzz.constrained": {"user": {"id": 1}},
}


class Served:
    """A host running in its own thread; ``call`` hops into it like a real embedding would."""

    def __init__(self, host: Any, token: trio.lowlevel.TrioToken) -> None:
        self.host = host
        self.token = token
        self.calls = 0

    def call(self, target: str, /, **arguments: Any) -> Any:
        self.calls += 1
        return trio.from_thread.run(
            functools.partial(self.host.call, target, **arguments), trio_token=self.token
        )

    def statuses(self) -> list[Any]:
        return trio.from_thread.run_sync(self.host.statuses, trio_token=self.token)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    box: dict[str, Any] = {}
    ready = threading.Event()
    config = HostConfig(home=tmp_path_factory.mktemp("fuzzhost"))

    async def main() -> None:
        async with open_host(
            config, plugins={"fuzz": Fuzzed, "mod": ModuleStyle()}, watchdog=False
        ) as host:
            box["served"] = Served(host, trio.lowlevel.current_trio_token())
            box["stop"] = trio.Event()
            ready.set()
            await box["stop"].wait()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # surfaced by the fixture below
            box["error"] = exc
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="fuzz-host", daemon=True)
    thread.start()
    assert ready.wait(30) and "served" in box, box.get("error")
    try:
        yield box["served"]
    finally:
        trio.from_thread.run_sync(box["stop"].set, trio_token=box["served"].token)
        thread.join(30)
        assert "error" not in box, box["error"]


def check_call(served: Served, target: str, arguments: dict[str, Any]) -> None:
    """The property: a result or a typed NekoError, and the host answers afterwards."""
    try:
        served.call(target, **arguments)
    except InvalidArguments as exc:
        assert exc.plugin in ("fuzz", "mod")
        assert exc.argument is None or exc.argument in arguments or "missing" in str(exc)
    except NekoError:
        pass
    except Exception as exc:
        raise AssertionError(
            f"host.call({target!r}, {sorted(map(repr, arguments))[:6]}...) raised "
            f"{type(exc).__name__} (not a NekoError): {str(exc)[:200]}"
        ) from exc
    assert served.call("fuzz.ping") == "pong"


class Big(str):
    """A huge string that reports itself briefly (hypothesis prints failing inputs)."""

    def __repr__(self) -> str:
        return f"<{len(self)} chars: {str.__repr__(self[:8])}...>"


# ---- strategies -----------------------------------------------------------------------------

SURROGATE = st.characters(categories=["Cs"])
TEXT = st.text(st.one_of(st.characters(), SURROGATE), max_size=12)
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), TEXT)
TARGETS = st.one_of(st.sampled_from(ENTRIES), st.sampled_from(BOGUS_TARGETS), TEXT)

WRONG_TYPE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.tuples(st.integers()),
    st.frozensets(st.integers(), max_size=3),
    st.sampled_from([object(), Ellipsis, print, type, 1j, bytearray(b"ab")]),
    st.sampled_from(["fast", "slow", "max", "a@b", ""]),
    st.sampled_from([0, 1, 2, 3, -1, 0.5, 1.0]),
)


def _nested(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
        ),
        max_leaves=10,
    )


WRONG_TYPES = _nested(WRONG_TYPE_SCALARS)

ODD_SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324]),
    st.text(st.one_of(st.characters(), SURROGATE), max_size=40),
    st.sampled_from(["\udcff\udcfe", "\ud800", "\x00", "\u202e", "𝕟𝕖𝕜𝕠"]),
    st.sampled_from([Big("x" * 1_000_000), Big("\udcff" * 10_000), Big("é" * 100_000)]),
    st.binary(max_size=32),
    st.sampled_from([b"\xff\xfe\xfd", b"\xc3\x28", b"\x80", bytearray(b"\x80\x81")]),
)
ODD = _nested(ODD_SCALARS)


def _deep(depth: int, kind: str) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        if kind == "list":
            value = [value]
        elif kind == "dict":
            value = {"children": [value]} if depth % 2 else {"k": value}
        else:
            value = {"children": [{"children": [value]}]}
    return value


DEEP = st.builds(
    _deep,
    st.sampled_from([200, 990, 1_100, 5_000, 50_000]),
    st.sampled_from(["list", "dict", "tree"]),
)

NON_STR_KEYS = st.dictionaries(
    st.one_of(
        st.integers(),
        st.none(),
        st.booleans(),
        st.floats(allow_nan=True),
        st.tuples(st.integers()),
        st.binary(max_size=4),
        st.text(max_size=4),
    ),
    st.one_of(st.integers(), st.text(max_size=4), st.none()),
    min_size=1,
    max_size=5,
)

EXOTIC_NUMBERS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([decimal.Decimal("NaN"), decimal.Decimal("sNaN"), decimal.Decimal("-Inf")]),
    st.fractions(),
    st.sampled_from([fractions.Fraction(1, 3), complex(math.nan, 1)]),
    st.complex_numbers(allow_nan=True),
)


def _arguments(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(KEYS, values, max_size=6)


def with_base(target: str, hostile: dict[str, Any]) -> dict[str, Any]:
    """The entry's valid required arguments, overridden by the hostile ones."""
    return {**BASE.get(target, {}), **hostile}


# ---- host.call -------------------------------------------------------------------------------

CALL_EXAMPLES = {
    "wrong_types": 600,
    "odd_scalars": 300,
    "huge_integers": 60,
    "deep_nesting": 40,
    "non_str_keys": 150,
    "exotic_numbers": 150,
}


@fuzz_settings(CALL_EXAMPLES["wrong_types"])
@given(target=TARGETS, arguments=_arguments(WRONG_TYPES), base=st.booleans())
@example(target="fuzz.typed", arguments={"name": "x", "nmae": "typo"}, base=False)
@example(target="fuzz.constrained", arguments={"user": {"id": 0, "extra": 1}}, base=False)
@example(target="fuzz.count", arguments={"n": 2**70}, base=False)
def test_call_wrong_types_and_unknown_keys(
    served: Served, target: str, arguments: dict[str, Any], base: bool
) -> None:
    check_call(served, target, with_base(target, arguments) if base else arguments)


@fuzz_settings(CALL_EXAMPLES["odd_scalars"])
@given(target=st.sampled_from(ENTRIES), arguments=_arguments(ODD))
@example(target="fuzz.typed", arguments={"name": "\udcff", "ratio": math.nan})
@example(target="fuzz.threaded", arguments={"text": Big("x" * 1_000_000), "n": 1})
@example(target="fuzz.constrained", arguments={"user": {"id": 1}, "ratio": math.inf})
@example(target="fuzz.typed", arguments={"name": b"\xff\xfe"})
def test_call_nan_inf_huge_strings_bytes_and_surrogates(
    served: Served, target: str, arguments: dict[str, Any]
) -> None:
    check_call(served, target, with_base(target, arguments))


@fuzz_settings(CALL_EXAMPLES["huge_integers"])
@given(
    target=st.sampled_from(ENTRIES),
    key=st.sampled_from(KNOWN_KEYS),
    digits=st.integers(4_301, 12_000),
    negative=st.booleans(),
)
@example(target="fuzz.typed", key="name", digits=5_001, negative=False)
@example(target="fuzz.constrained", key="ratio", digits=5_001, negative=False)
def test_call_huge_integers(
    served: Served, target: str, key: str, digits: int, negative: bool
) -> None:
    number = (-1 if negative else 1) * (10 ** (digits - 1) + 7)  # built here: short reports
    check_call(served, target, with_base(target, {key: number}))


@fuzz_settings(CALL_EXAMPLES["deep_nesting"])
@given(
    target=st.sampled_from(ENTRIES),
    key=st.sampled_from(KNOWN_KEYS),
    depth=st.sampled_from([200, 990, 1_100, 5_000, 50_000]),
    kind=st.sampled_from(["list", "dict", "tree"]),
)
@example(target="fuzz.tree", key="tree", depth=5_000, kind="tree")
@example(target="fuzz.typed", key="tags", depth=50_000, kind="list")
def test_call_deep_nesting(served: Served, target: str, key: str, depth: int, kind: str) -> None:
    check_call(served, target, with_base(target, {key: _deep(depth, kind)}))  # built here


@fuzz_settings(CALL_EXAMPLES["non_str_keys"])
@given(target=st.sampled_from(ENTRIES), key=st.sampled_from(KNOWN_KEYS), value=NON_STR_KEYS)
@example(target="fuzz.open", key="meta", value={1: 2, "a": 3})
@example(target="fuzz.open", key="labels", value={None: 1})
@example(target="fuzz.typed", key="opts", value={1: "x"})
def test_call_non_string_keys_in_nested_objects(
    served: Served, target: str, key: str, value: dict[Any, Any]
) -> None:
    check_call(served, target, with_base(target, {key: value}))


@fuzz_settings(CALL_EXAMPLES["exotic_numbers"])
@given(target=st.sampled_from(ENTRIES), key=st.sampled_from(KNOWN_KEYS), number=EXOTIC_NUMBERS)
@example(target="fuzz.constrained", key="ratio", number=decimal.Decimal("NaN"))
def test_call_exotic_number_types(served: Served, target: str, key: str, number: Any) -> None:
    check_call(served, target, with_base(target, {key: number}))


def test_every_fuzzed_plugin_is_still_running(served: Served) -> None:
    """After all of the above, nothing crashed or restarted (runs last in this module)."""
    for status in served.statuses():
        assert status.state is PluginState.RUNNING and status.restarts == 0, status
    assert served.call("mod.echo", text="still", times=1) == "mod:still"


# ---- neko call: the value parser, in-process -------------------------------------------------------

PARSE_EXAMPLES = {"text_and_json": 2000, "long_digits": 60, "deep_brackets": 40, "pairs": 150}

#: Generated inputs per run in this module (hypothesis max_examples; explicit examples extra).
HYPOTHESIS_INPUTS = sum(CALL_EXAMPLES.values()) + sum(PARSE_EXAMPLES.values())  # 3550


def parse_value(text: str) -> Any:
    """The CLI's parser for one ``key=value`` value, for a parameter with no declared type."""
    parse = neko_cli_args.parse_value
    if len(inspect.signature(parse).parameters) == 1:
        return parse(text)  # type: ignore[call-arg]
    return parse(text, None)


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(st.one_of(st.characters(), SURROGATE), max_size=10),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
PARSER_TEXT = st.one_of(
    st.text(st.one_of(st.characters(), SURROGATE), max_size=40),
    JSON_VALUES.map(json.dumps),
    JSON_VALUES.map(lambda v: json.dumps(v, ensure_ascii=False)),
    st.sampled_from(
        ["NaN", "-Infinity", "1e999", "0x10", "01", " 1", "[1,", '{"a":1', "", "null", '"\\ud800"']
    ),
)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def expected_parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@fuzz_settings(PARSE_EXAMPLES["text_and_json"])
@given(text=PARSER_TEXT)
def test_parse_value_text_and_json(text: str) -> None:
    assert _same(parse_value(text), expected_parse(text))


@fuzz_settings(PARSE_EXAMPLES["long_digits"])
@given(digits=st.integers(4_301, 20_000), sign=st.sampled_from(["", "-"]))
@example(digits=4_301, sign="")
def test_parse_value_long_digit_strings(digits: int, sign: str) -> None:
    text = sign + "7" * digits
    try:
        value = parse_value(text)
    except Exception as exc:
        raise AssertionError(
            f"parsing a {digits}-digit value raised {type(exc).__name__}: {str(exc)[:90]} "
            "(`neko call x.y n=<that>` dies with a traceback)"
        ) from exc
    assert value == text or isinstance(value, int)  # kept as text, or a number


@fuzz_settings(PARSE_EXAMPLES["deep_brackets"])
@given(depth=st.integers(1_000, 100_000), close=st.booleans(), kind=st.sampled_from("[{"))
@example(depth=100_000, close=True, kind="[")
def test_parse_value_deep_brackets(depth: int, close: bool, kind: str) -> None:
    if kind == "[":
        text = "[" * depth + ("]" * depth if close else "")
    else:
        text = '{"a":' * depth + "1" + ("}" * depth if close else "")
    try:
        parse_value(text)
    except Exception as exc:
        raise AssertionError(
            f"parsing {depth} nested {kind!r} raised {type(exc).__name__}: {str(exc)[:90]} "
            "(`neko call x.y v=<that>` dies with a traceback)"
        ) from exc


# ---- neko call: the whole command in-process (click), against the installed hello plugin ----------

PAIR_KEY = st.one_of(st.sampled_from(["name", "nmae", "", "name ", "x"]), TEXT)
PAIR_VALUE = st.text(st.one_of(st.characters(), SURROGATE), max_size=30)
PAIRS = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k}={v}", PAIR_KEY, PAIR_VALUE),
        TEXT,  # often no "=" at all
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        "NEKO_HOME": str(tmp_path_factory.mktemp("clihome")),
        "NEKO_LOAD_PLUGINS": "hello",
        "NEKO_CONFIG": "",
    }


@fuzz_settings(PARSE_EXAMPLES["pairs"])
@given(pairs=PAIRS)
@example(pairs=["name=Ada"])
@example(pairs=["name=Ada", "name=Bob"])
@example(pairs=["=Ada"])
@example(pairs=["name"])
@example(pairs=["-x=1", "--json"])
def test_call_command_pairs(cli_env: dict[str, str], pairs: list[str]) -> None:
    result = CliRunner().invoke(
        neko_cli.main,
        ["call", "hello.greet", "--", *pairs],
        env=cli_env,
        standalone_mode=False,  # exceptions come back as they are, no sys.exit
    )
    error = result.exception
    malformed = [p for p in pairs if not p.partition("=")[1] or not p.partition("=")[0]]
    keys = {p.partition("=")[0] for p in pairs}
    repeated = len(keys) < len(pairs)
    if error is not None and not isinstance(error, click.ClickException):
        raise AssertionError(
            f"neko call hello.greet -- {pairs!r} crashed: {type(error).__name__}: {error}"
        ) from error
    if malformed:
        assert isinstance(error, click.BadParameter) and error.exit_code == 2, result
        assert "is not key=value" in str(error)
    elif repeated:  # a key given twice is a usage error, never merged silently
        assert isinstance(error, click.BadParameter) and error.exit_code == 2, result
        assert "is given twice" in str(error)
    elif keys - {"name"}:
        assert isinstance(error, click.ClickException) and error.exit_code == 1, result
        assert "unknown argument" in str(error)
    else:
        assert error is None, error
        name = pairs[0].partition("=")[2] if pairs else "world"
        try:
            shown = json.loads(result.stdout)
        except json.JSONDecodeError:
            shown = result.stdout
        if isinstance(shown, dict):
            shown = shown.get("message")
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in name):  # those print as replacements
            assert f"Hello, {name}!" in str(shown), result.stdout


# ---- neko call: a handful of real processes ------------------------------------------------------

#: (id, argv after ``neko call``, expected exit code, text expected on stdout or stderr)
CLI_CASES: list[tuple[str, list[str | bytes], int, str]] = [
    ("plain", ["hello.greet", "name=Ada"], 0, "Hello, Ada!"),
    ("typo", ["hello.greet", "nmae=Ada"], 1, "unknown argument 'nmae'"),
    ("no-key", ["hello.greet", "=Ada"], 2, "is not key=value"),
    ("no-equals", ["hello.greet", "Ada"], 2, "is not key=value"),
    ("json-list-for-string", ["hello.greet", "--args", '{"name": [1, 2]}'], 1, "name"),
    ("nan", ["hello.greet", "--args", '{"name": NaN}'], 1, "name"),
    ("non-utf8-argv", [b"hello.greet", b"name=\xff\xfe"], 0, "Hello, "),
    ("huge-string", ["hello.greet", "name=" + "x" * 100_000], 0, "Hello, xxx"),
    ("no-such-plugin", ["nope.greet"], 1, "nope"),
    ("long-digits-unknown-key", ["hello.greet", "x=" + "7" * 5_000], 1, "unknown argument 'x'"),
    ("deep-brackets-unknown-key", ["hello.greet", "x=" + "[" * 5_000], 1, "unknown argument 'x'"),
]


@pytest.mark.parametrize(
    ("argv", "code", "text"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_neko_call_process(tmp_path: Path, argv: list[str | bytes], code: int, text: str) -> None:
    env = {**os.environ, "NEKO_HOME": str(tmp_path), "NEKO_LOAD_PLUGINS": "hello"}
    env.pop("NEKO_CONFIG", None)
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"nekohooks.cli", b"call"]
        + [a if isinstance(a, bytes) else a.encode("utf-8", "surrogateescape") for a in argv],
        capture_output=True,
        env=env,
        timeout=60,
    )
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, f"neko call crashed (exit {proc.returncode}):\n{err[-1500:]}"
    assert proc.returncode == code, (proc.returncode, out[-500:], err[-500:])
    assert text in out + err
    if code:
        assert "Error" in err  # a one-line explanation, not a stack
