"""Work that a command does not need is not done: schemas derived from signatures are valid by
construction (no meta-schema check at load), argument validation is built on first use, and a
plugin's home folder is made when the plugin first asks for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import jsonschema
import pytest
import trio
import trio.testing

from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
from nekohooks._schema import schema_from_signature, schema_problem


def f_plain(a, b=1, *args, ctx=None, **kwargs):  # type: ignore[no-untyped-def]
    pass


def f_typed(
    text: str,
    count: int = 3,
    ratio: float = 0.5,
    flag: bool = False,
    tags: list[str] | None = None,
    pairs: tuple[int, ...] = (),
    table: dict[str, float] | None = None,
    mode: Literal["a", "b", 3] = "a",
    note: Annotated[str, "meta"] = "",
    anything: Any = None,
    nested: list[dict[str, list[int | None]]] | None = None,
) -> None:
    pass


def f_none() -> str:
    return ""


@pytest.mark.parametrize("func", [f_plain, f_typed, f_none])
def test_derived_schemas_pass_the_meta_schema(func: Any) -> None:
    schema = schema_from_signature(func, is_method=False)
    jsonschema.Draft202012Validator.check_schema(schema)  # what registration no longer runs
    assert schema_problem(schema) is None


def test_a_derived_schema_that_is_not_json_is_still_refused() -> None:
    def odd(x: Literal[b"bytes"]) -> None:
        pass

    problem = schema_problem(schema_from_signature(odd, is_method=False))
    assert problem is not None and problem.startswith("not JSON")


STARTS_WITHOUT_JSONSCHEMA = """
import json, sys, tempfile
import trio
from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
from nekohooks.errors import InvalidArguments

class Calc(NekoPluginBase):
    @plugin_entry(id="add")
    async def add(self, a: int, b: int = 1) -> int:
        return a + b

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"

async def main():
    out = {}
    async with open_host(HostConfig(home=tempfile.mkdtemp()), plugins={"calc": Calc}) as host:
        out["started"] = "jsonschema" in sys.modules
        out["ping"] = await host.call("calc.ping")
        out["after ping"] = "jsonschema" in sys.modules
        out["add"] = await host.call("calc.add", a=2)
        try:
            await host.call("calc.add", a="two")
        except InvalidArguments as exc:
            out["bad"] = str(exc)
        out["after add"] = "jsonschema" in sys.modules
    print(json.dumps(out))

trio.run(main)
"""


def test_a_host_starts_and_answers_argument_free_calls_without_jsonschema() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(STARTS_WITHOUT_JSONSCHEMA)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["started"] is False and out["after ping"] is False and out["ping"] == "pong"
    assert out["add"] == 3
    assert "argument 'a'" in out["bad"] and "is not of type 'integer'" in out["bad"]
    assert out["after add"] is True


async def test_a_plugin_home_is_made_when_first_used(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    class Quiet(NekoPluginBase):
        @plugin_entry(id="ping")
        async def ping(self) -> str:
            return "pong"

    class Writer(NekoPluginBase):
        async def startup(self) -> None:
            (self.ctx.data_dir / "note.txt").write_text("kept")

    plugins = {"quiet": Quiet, "writer": Writer}
    async with open_host(HostConfig(home=tmp_path), plugins=plugins, watchdog=False) as host:
        assert await host.call("quiet.ping") == "pong"
    assert not (tmp_path / "plugins" / "quiet").exists()  # never asked for: never made
    assert (tmp_path / "plugins" / "writer" / "data" / "note.txt").read_text() == "kept"


HEAVY = ("trio", "pluggy", "httpx", "jsonschema", "rich", "croniter", "tenacity")

IMPORTED_BY = """
import json, sys
{code}
print(json.dumps(sorted(m for m in sys.modules if m in {heavy!r})), file=sys.stderr)
"""


def heavy_imports(code: str) -> list[str]:
    script = IMPORTED_BY.format(code=code, heavy=HEAVY)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    return json.loads(proc.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_import_nekohooks_and_neko_version_load_only_what_they_use() -> None:
    assert heavy_imports("import nekohooks") == []
    version = "sys.argv = ['neko', '--version']\nfrom nekohooks.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    assert heavy_imports(version) == []
    # a public name imports its module on first use, and reports its public home
    used = "import nekohooks\nassert nekohooks.open_host.__module__ == 'nekohooks'"
    assert set(heavy_imports(used)) >= {"trio", "pluggy"}


VERSION_ALONE = """
import sys
sys.argv = ["neko", "--version"]
from nekohooks.cli import run
run()
loaded = {"click", "attrs", "importlib_metadata", "packaging", "nekohooks._discovery"}
print(sorted(m for m in sys.modules if m in loaded or m.split(".")[0] in loaded), file=sys.stderr)
"""


def test_neko_version_on_a_cache_hit_loads_no_click_attrs_or_metadata_reader(
    tmp_path: Path,
) -> None:
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()  # sys.path[0] of `python -c`: a folder that does not change under it
    os.utime(cwd, (time.time() - 3600, time.time() - 3600))
    env = {**os.environ, "NEKO_HOME": str(home)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", VERSION_ALONE],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=60,
            check=True,
        )
        for _ in range(2)
    ]
    assert "nekohooks._discovery" in runs[0].stderr  # a miss reads the metadata, fills the cache
    assert runs[1].stderr.strip() == "[]"  # a hit reads one file
    assert runs[0].stdout == runs[1].stdout
    assert runs[1].stdout.startswith("nekohooks 0.1.0 (Python ") and "  hello " in runs[1].stdout


def test_a_return_annotation_alone_is_not_evaluated() -> None:
    """Only parameters' hints make the schema: an unannotated entry whose return annotation
    names a type imported only for type checkers still gets its schema (and no evaluation)."""

    def reply(name, times=2) -> TypeOnlyForCheckers:  # type: ignore[no-untyped-def,name-defined]  # noqa: F821
        return name * times

    assert schema_from_signature(reply, is_method=False) == {
        "type": "object",
        "properties": {"name": {}, "times": {"default": 2}},
        "required": ["name"],
        "additionalProperties": False,
    }
