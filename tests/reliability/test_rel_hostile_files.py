"""Hostile files and names: plugin.toml contents, entry-point values, path traversal (hypothesis).

* ``plugin.toml``: random bytes, random text, generated TOML documents and byte-mutated ones are
  put in a plugin's home before the host starts. If Python's TOML reader accepts the file (read
  as ``Path.read_text`` does), the plugin runs with exactly that config; otherwise the plugin
  fails with a ConfigError-style report (phase ``config``, ``plugin.toml`` in the error, a log
  record naming the plugin), the neighbour is unaffected and the file is left byte-for-byte.
* Entry points: distributions with fuzzed ``name = module:attr`` lines are put on ``sys.path``
  and go through real discovery (``scan`` + ``load_plugins``): every candidate ends loaded or
  as a ``LoadFailure`` that names it and its phase; discovery never raises. A smaller run starts
  a whole host on them next to a healthy entry point of the same distribution.
* Paths: ``ctx.path`` and ``ctx.download`` get ``..``, absolute, Windows, UNC, NUL, symlinked
  and generated names; each is refused with ``UnsafePath`` (before any request, for downloads)
  or lands inside the plugin's folder, and nothing is written outside the plugin's home.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import random
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from relkit import Healthy, collect_logs, tree_snapshot

import nekohooks
from nekohooks import HostConfig, NekoError, NekoPluginBase, PluginContext, open_host, plugin_entry
from nekohooks._discovery import load_plugins
from nekohooks._registry import Registry
from nekohooks.discovery import PluginFilter, scan
from nekohooks.errors import UnsafePath
from nekohooks.records import PluginState


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---- plugin.toml -----------------------------------------------------------------------------

TOML_EXAMPLES = {"bytes": 120, "text": 80, "documents": 80, "mutated": 120}


class Configured(NekoPluginBase):
    @plugin_entry(id="config")
    async def config(self) -> dict[str, Any]:
        return self.ctx.config


def as_read_text(data: bytes) -> str:
    """What ``Path.read_text(encoding="utf-8")`` makes of ``data`` (universal newlines)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()


def toml_oracle(data: bytes) -> dict[str, Any] | None:
    """The parsed config, or None if a TOML reader must refuse the file."""
    try:
        return tomllib.loads(as_read_text(data))
    except Exception:
        return None


def run_with_plugin_toml(root: Path, data: bytes) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(dir=root))
    config_file = home / "plugins" / "cfg" / "plugin.toml"
    config_file.parent.mkdir(parents=True)
    config_file.write_bytes(data)
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with open_host(
            HostConfig(home=home),
            plugins={"cfg": Configured, "other": Healthy},
            watchdog=False,
            rng=random.Random(0),
        ) as host:
            seen["status"] = host.status("cfg")
            seen["other"] = await host.call("other.ping")
            if seen["status"].state is PluginState.RUNNING:
                seen["config"] = await host.call("cfg.config")

    with collect_logs() as logs:
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    seen["logs"] = logs.messages()
    seen["after"] = config_file.read_bytes()
    return seen


def check_plugin_toml(root: Path, data: bytes) -> None:
    seen = run_with_plugin_toml(root, data)
    assert seen["other"] == "pong"  # the neighbour is unaffected
    assert seen["after"] == data  # the file is left as it was
    status = seen["status"]
    expected = toml_oracle(data)
    if expected is not None:
        assert status.state is PluginState.RUNNING, status
        assert seen["config"] == expected or (
            repr(seen["config"]) == repr(expected)  # NaN != NaN
        )
        return
    assert status.state is not PluginState.RUNNING, status
    assert status.phase == "config", status
    assert "plugin.toml" in (status.last_error or ""), (
        f"not a ConfigError-style report: {status.last_error!r}"
    )
    assert any("'cfg'" in m and "config" in m and "plugin.toml" in m for m in seen["logs"]), seen[
        "logs"
    ]


@pytest.fixture(scope="module")
def toml_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tomlfuzz")


TOML_SCALARS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=12),
)
TOML_KEYS = st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True), st.text(max_size=6))


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_quote(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")  # surrogates make an invalid escape: a bad file
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(TOML_KEYS, inner, max_size=3)
    ),
    max_leaves=8,
)
TOML_DOCUMENTS = st.dictionaries(TOML_KEYS, TOML_VALUES, max_size=5).map(
    lambda doc: "".join(f"{_quote(k)} = {toml_value(v)}\n" for k, v in doc.items()).encode(
        "utf-8", "surrogatepass"
    )
)


def _mutate(data: bytes, position: int, insert: bytes, cut: int) -> bytes:
    position = position % (len(data) + 1)
    return data[:position] + insert + data[position + cut :]


@fuzz_settings(TOML_EXAMPLES["bytes"])
@given(data=st.binary(max_size=300))
@example(data=b"this is = = not toml")
@example(data=b"\xff\xfe\x00t\x00")
@example(data=b'a = "\xc3\x28"')
@example(data=b"")
def test_plugin_toml_random_bytes(toml_root: Path, data: bytes) -> None:
    check_plugin_toml(toml_root, data)


@fuzz_settings(TOML_EXAMPLES["text"])
@given(text=st.text(st.sampled_from("ab =[]{}\"'#.\n\r\t1\\,") | st.characters(), max_size=80))
def test_plugin_toml_random_text(toml_root: Path, text: str) -> None:
    check_plugin_toml(toml_root, text.encode("utf-8", "surrogatepass"))


@fuzz_settings(TOML_EXAMPLES["documents"])
@given(data=TOML_DOCUMENTS)
def test_plugin_toml_generated_documents(toml_root: Path, data: bytes) -> None:
    check_plugin_toml(toml_root, data)


@fuzz_settings(TOML_EXAMPLES["mutated"])
@given(
    data=TOML_DOCUMENTS,
    position=st.integers(0, 10_000),
    insert=st.binary(max_size=3) | st.sampled_from([b"[", b"]", b"=", b'"', b"\n", b"\r", b"\x00"]),
    cut=st.integers(0, 3),
)
def test_plugin_toml_mutated_documents(
    toml_root: Path, data: bytes, position: int, insert: bytes, cut: int
) -> None:
    check_plugin_toml(toml_root, _mutate(data, position, insert, cut))


@pytest.mark.parametrize(
    "data",
    [
        b"a = " + b"[" * 2_000 + b"]" * 2_000,
        b"a = " + b"{b = " * 600 + b"1" + b"}" * 600,
        b"a = " + b"7" * 5_000,
        b"[table]\nn = -" + b"1" * 4_301,
    ],
    ids=["deep-arrays", "deep-inline-tables", "huge-int", "huge-negative-int"],
)
def test_plugin_toml_deep_or_huge(toml_root: Path, data: bytes) -> None:
    check_plugin_toml(toml_root, data)


# ---- entry points through discovery -----------------------------------------------------------

EP_EXAMPLES = {"values": 300, "line_breaks": 40, "host": 40}

TARGET_MODULE = """
from nekohooks import hookimpl, NekoPluginBase, plugin_entry


class Plugin(NekoPluginBase):
    @plugin_entry(id="ping")
    async def ping(self):
        return "pong"


class Healthy(Plugin):
    pass


class NotAPlugin:
    pass


class BadHook:
    @hookimpl
    def neko_startup(self, context):  # the spec says ctx
        pass


class Raises(NekoPluginBase):
    def __init__(self, ctx):
        raise RuntimeError("refuses to be built")


NUMBER = 42


def function():
    return 1


nested = type("Nested", (), {"Plugin": Plugin})
"""


@pytest.fixture(scope="module")
def ep_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("epfuzz")
    (root / "nekofuzz_target.py").write_text(TARGET_MODULE)
    (root / "nekofuzz_boom.py").write_text('raise RuntimeError("boom at import")\n')
    (root / "nekofuzz_pkg").mkdir()
    (root / "nekofuzz_pkg" / "__init__.py").write_text("")
    (root / "nekofuzz_pkg" / "sub.py").write_text(TARGET_MODULE)
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("nekofuzz_")]:
            del sys.modules[name]


_counter = iter(range(10**9))


@contextlib.contextmanager
def installed(root: Path, lines: list[tuple[str, str]]) -> Iterator[str]:
    """A distribution whose entry_points.txt has ``lines``, on sys.path while inside."""
    n = next(_counter)
    folder = root / f"dist{n}"
    info = folder / f"nekofuzz_ex{n}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: nekofuzz-ex{n}\nVersion: 1.0\n")
    body = "".join(f"{name} = {value}\n" for name, value in lines)
    (info / "entry_points.txt").write_text("[neko.plugins]\n" + body, encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        yield f"nekofuzz-ex{n}"
    finally:
        sys.path.remove(str(folder))


MODULES = st.one_of(
    st.sampled_from(
        ["nekofuzz_target", "nekofuzz_pkg.sub", "nekofuzz_pkg", "nekofuzz_boom", "nekofuzz_nope"]
    ),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True).map(lambda s: "nekofuzz_" + s),
)
ATTRS = st.one_of(
    st.sampled_from(
        [
            "Plugin",
            "Healthy",
            "NotAPlugin",
            "BadHook",
            "Raises",
            "NUMBER",
            "function",
            "nested.Plugin",
            "nested.Missing",
            "missing",
            "Plugin.ping",
            "",
        ]
    ),
    st.from_regex(r"[A-Za-z_.][A-Za-z0-9_.]{0,6}", fullmatch=True),
)
JUNK = st.text(st.sampled_from(":.[] ,-/\\\t\x00é1aZ_()'\"@"), max_size=8)
EP_VALUES = st.one_of(
    st.builds(lambda m, a: f"{m}:{a}", MODULES, ATTRS),
    MODULES,
    st.builds(lambda m, j: m + j, MODULES, JUNK),
    st.builds(lambda j, m: j + m, JUNK, MODULES),
    st.builds(lambda m, a, j: f"{m}:{a}{j}", MODULES, ATTRS, JUNK),
    JUNK,
    st.sampled_from([":", "::", ":Plugin", "nekofuzz_target:", "nekofuzz_target:Plugin [x]"]),
)
EP_NAMES = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True),
    st.text(st.sampled_from("ab.-_ /\\:é1\x00\t*?"), min_size=1, max_size=6),
).filter(lambda n: n.strip() and not n.strip().startswith(("#", "[")))


def discover(dist: str) -> tuple[list[Any], Registry]:
    candidates = [c for c in scan() if c.distribution == dist]
    registry = Registry()
    load_plugins(registry, candidates, version=nekohooks.__version__)
    return candidates, registry


def check_accounted(candidates: list[Any], registry: Registry) -> None:
    """Every candidate is loaded or a LoadFailure that names it and its phase."""
    for cand in candidates:
        failures = [f for f in registry.failures if f.name == cand.name]
        assert cand.name in registry.plugins or failures, cand
        for failure in failures:
            assert failure.phase in ("version", "import", "register", "validate"), failure
            text = str(failure)
            assert repr(cand.name) in text and f"failed at {failure.phase}" in text, text


@fuzz_settings(EP_EXAMPLES["values"])
@given(lines=st.lists(st.tuples(EP_NAMES, EP_VALUES), min_size=1, max_size=3))
@example(lines=[("ok", "nekofuzz_target:Plugin"), ("boom", "nekofuzz_boom:Plugin")])
@example(lines=[("x", ":"), ("y", "nekofuzz_target:nested.Missing"), ("z", "1abc:def")])
@example(lines=[("dup", "nekofuzz_target:Plugin"), ("dup", "nekofuzz_pkg.sub:Plugin")])
@example(lines=[("a.b", "nekofuzz_target:Plugin"), ("num", "nekofuzz_target:NUMBER")])
def test_entry_point_values_through_discovery(ep_root: Path, lines: list[tuple[str, str]]) -> None:
    with installed(ep_root, lines) as dist:
        try:
            candidates, registry = discover(dist)
        except Exception as exc:
            raise AssertionError(f"discovery raised {type(exc).__name__}: {exc}") from exc
    assert len(candidates) == len(lines)
    check_accounted(candidates, registry)


LINE_BREAKERS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@fuzz_settings(EP_EXAMPLES["line_breaks"])
@given(
    value=EP_VALUES,
    breaker=st.sampled_from(LINE_BREAKERS),
    position=st.integers(0, 40),
)
@example(value="nekofuzz_target:Plugin", breaker="\x0b", position=11)
def test_entry_point_values_with_line_breaks_do_not_break_discovery(
    ep_root: Path, value: str, breaker: str, position: int
) -> None:
    """``str.splitlines`` splits on these: one odd value must not take discovery down."""
    position %= len(value) + 1
    broken = value[:position] + breaker + value[position:]
    with (
        installed(ep_root, [("fine", "nekofuzz_target:Plugin")]) as good,
        installed(ep_root, [("odd", broken)]) as odd,
    ):
        try:
            found = [c for c in scan() if c.distribution in (good, odd)]
        except Exception as exc:
            raise AssertionError(
                f"scan() raised {type(exc).__name__}: {exc} because one distribution's "
                f"entry point value is {broken!r}: no plugin at all can load"
            ) from exc
    assert "fine" in [c.name for c in found]  # the healthy distribution is still discovered


@fuzz_settings(EP_EXAMPLES["host"])
@given(
    lines=st.lists(
        st.tuples(EP_NAMES.filter(lambda n: not set(n) & set("/\\")), EP_VALUES),
        min_size=1,
        max_size=3,
    )
)
def test_entry_point_values_in_a_whole_host(ep_root: Path, lines: list[tuple[str, str]]) -> None:
    names = {name.strip() for name, _ in lines} | {"zz_healthy"}
    home = Path(tempfile.mkdtemp(dir=ep_root))
    outcome: dict[str, Any] = {}

    async def main() -> None:
        config = HostConfig(home=home, plugin_filter=PluginFilter(allow=frozenset(names)))
        async with open_host(config, watchdog=False, rng=random.Random(0)) as host:
            outcome["pong"] = await host.call("zz_healthy.ping")
            outcome["states"] = {s.name: s.state for s in host.statuses()}

    with installed(ep_root, [*lines, ("zz_healthy", "nekofuzz_target:Healthy")]):
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert outcome["pong"] == "pong"
    assert names <= set(outcome["states"]), outcome["states"]


# ---- path traversal: ctx.path and ctx.download -------------------------------------------------

PATH_EXAMPLES = {"path": 400, "download": 40}

#: Generated inputs per run in this module (hypothesis max_examples; explicit examples extra).
HYPOTHESIS_INPUTS = (
    sum(TOML_EXAMPLES.values()) + sum(EP_EXAMPLES.values()) + sum(PATH_EXAMPLES.values())
)  # 1220

TRAVERSAL = [
    "../x",
    "../../x",
    "..",
    ".",
    "./",
    "a/../../x",
    "a/./../../x",
    "/etc/passwd",
    "/",
    "//x",
    "\\x",
    "..\\x",
    "a\\..\\..\\x",
    "C:\\x",
    "C:x",
    "c:/x",
    "\\\\srv\\share\\x",
    "//srv/share/x",
    "a/\x00b",
    "\x00",
    "",
    "~/../x",
    "link_out/x",
    "link_out",
    "link_rel/x",
    "link_in/x",
    "dangling/x",
    "sub/../link_out/x",
]


@pytest.fixture
def ctx_and_outside(tmp_path: Path) -> Iterator[tuple[PluginContext, Path]]:
    """A real plugin context in ``tmp/home``, with symlinks out of its data folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not touch")

    async def deliver(*_: Any) -> None:
        return None

    ctx = PluginContext(
        "victim",
        home=tmp_path / "home" / "plugins" / "victim",
        defaults_package=None,
        deliver=deliver,
    )
    data = ctx.data_dir
    (data / "sub").mkdir()
    (data / "link_out").symlink_to(outside)
    (data / "link_rel").symlink_to(Path("..") / ".." / ".." / ".." / "outside")
    (data / "link_in").symlink_to(data / "sub")
    (data / "dangling").symlink_to(outside / "nope")
    downloads = data / "downloads"
    downloads.mkdir()
    (downloads / "sub").mkdir()
    (downloads / "link_out").symlink_to(outside)
    (downloads / "link_rel").symlink_to(Path("..") / ".." / ".." / ".." / ".." / "outside")
    (downloads / "link_in").symlink_to(downloads / "sub")
    (downloads / "dangling").symlink_to(outside / "nope")
    yield ctx, outside


@pytest.mark.parametrize("name", TRAVERSAL, ids=[repr(n) for n in TRAVERSAL])
def test_ctx_path_refuses_traversal(ctx_and_outside: tuple[PluginContext, Path], name: str) -> None:
    ctx, _ = ctx_and_outside
    with pytest.raises(UnsafePath) as refused:
        ctx.path(name)
    assert refused.value.plugin == "victim" and repr(name) in str(refused.value)


PATH_PARTS = st.sampled_from(
    [
        "a",
        "b",
        ".",
        "..",
        "...",
        "/",
        "\\",
        ":",
        "C",
        "c:",
        "\x00",
        "~",
        " ",
        "é",
        "link_out",
        "link_in",
        "sub",
        "dangling",
        "//",
        "\\\\",
    ]
)


def contained(path: Path, root: Path) -> bool:
    root = base = root.resolve()
    if not path.resolve().is_relative_to(base):
        return False
    probe = path
    while probe != root and probe != probe.parent:  # no symlink on the way
        if probe.is_symlink():
            return False
        probe = probe.parent
    return True


@fuzz_settings(PATH_EXAMPLES["path"])
@given(parts=st.lists(PATH_PARTS, min_size=1, max_size=6))
def test_ctx_path_fuzz(tmp_path_factory: pytest.TempPathFactory, parts: list[str]) -> None:
    root = tmp_path_factory.mktemp("pathfuzz")
    name = "".join(parts)
    with _fresh_ctx(root) as (ctx, outside):
        before = tree_snapshot(root, skip=ctx.home)
        try:
            path = ctx.path(name)
        except UnsafePath as exc:
            assert exc.plugin == "victim"
        else:
            assert contained(path, ctx.data_dir), (name, path)
            with contextlib.suppress(OSError):  # a name the file system refuses is not an escape
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"written by the plugin")
        assert tree_snapshot(root, skip=ctx.home) == before
        assert (outside / "secret.txt").read_text() == "do not touch"


@contextlib.contextmanager
def _fresh_ctx(root: Path) -> Iterator[tuple[PluginContext, Path]]:
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not touch")

    async def deliver(*_: Any) -> None:
        return None

    ctx = PluginContext(
        "victim", home=root / "home" / "plugins" / "victim", defaults_package=None, deliver=deliver
    )
    (ctx.data_dir / "sub").mkdir()
    (ctx.data_dir / "link_out").symlink_to(outside)
    (ctx.data_dir / "link_in").symlink_to(ctx.data_dir / "sub")
    (ctx.data_dir / "dangling").symlink_to(outside / "nope")
    yield ctx, outside


@pytest.mark.parametrize(
    "name",
    ["\ud800", "a/\udfff/b", "x" * 300, "a/" + "y" * 300],
    ids=["surrogate", "surrogate-part", "too-long", "too-long-part"],
)
def test_ctx_path_refuses_names_the_file_system_cannot_hold(
    ctx_and_outside: tuple[PluginContext, Path], name: str
) -> None:
    """Documented: ``ctx.path`` returns a safe path or raises ``UnsafePath``, nothing else."""
    ctx, _ = ctx_and_outside
    try:
        ctx.path(name)
    except UnsafePath:
        pass
    except Exception as exc:
        raise AssertionError(
            f"ctx.path({name[:12]!r}...) raised {type(exc).__name__}, not UnsafePath: {exc}"
        ) from exc


async def test_ctx_download_refuses_traversal_before_any_request(
    ctx_and_outside: tuple[PluginContext, Path], http_server: str, tmp_path: Path
) -> None:
    from httpserver import Handler as _Handler

    ctx, outside = ctx_and_outside
    before = tree_snapshot(tmp_path, skip=ctx.home)
    hits = dict(_Handler.hits)
    names = [*TRAVERSAL, "link_out/secret.txt", "../link_out/x"]
    try:
        for name in names:
            with pytest.raises(UnsafePath):
                await ctx.download(f"{http_server}/bytes/64", name)
        assert _Handler.hits == hits  # refused before any request
        assert tree_snapshot(tmp_path, skip=ctx.home) == before
        assert (outside / "secret.txt").read_text() == "do not touch"
        path = await ctx.download(f"{http_server}/bytes/64", "ok/file.bin")  # control
        assert contained(path, ctx.data_dir / "downloads") and path.read_bytes() == b"x" * 64
    finally:
        await ctx.aclose()


@settings(
    fuzz_settings(PATH_EXAMPLES["download"]),
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one server for all examples
)
@given(parts=st.lists(PATH_PARTS, min_size=1, max_size=5))
def test_ctx_download_fuzz(
    tmp_path_factory: pytest.TempPathFactory, http_server: str, parts: list[str]
) -> None:
    root = tmp_path_factory.mktemp("dlfuzz")
    name = "".join(parts)
    with _fresh_ctx(root) as (ctx, _outside):
        before = tree_snapshot(root, skip=ctx.home)

        async def main() -> None:
            try:
                path = await ctx.download(f"{http_server}/bytes/16", name)
            except UnsafePath:
                pass
            except (NekoError, OSError):
                pass  # e.g. the name is an existing folder: not an escape
            else:
                assert contained(path, ctx.data_dir / "downloads"), (name, path)
            finally:
                await ctx.aclose()

        trio.run(main)
        assert tree_snapshot(root, skip=ctx.home) == before
        assert not list((ctx.data_dir / "downloads").rglob(".download-*"))  # no temp left
