"""``neko list``, ``info``, ``schema`` and ``call`` on every example distribution, with the
real command. A new folder in example_plugins/ fails here until it gets a call case below."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_cli import neko

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.parent for p in (REPO / "example_plugins").glob("*/pyproject.toml"))

#: plugin → (the call's arguments, with {server} for the loopback server; a check of its result)
CALLS: dict[str, tuple[list[str], Callable[[Any], bool]]] = {
    "hello": (["hello.greet", "name=Ada"], lambda out: out == {"message": "Hello, Ada!"}),
    "netkit": (
        ["netkit.fetch", "url={server}/json"],
        lambda out: out.startswith("JSON data: {") and '"hello": "neko"' in out,
    ),
    "reminders": (
        ["reminders.countdown", "seconds=60"],
        lambda out: out == "60s countdown started!",
    ),
    "companion": (
        ["companion.save", "key=cat", "value=Neko"],
        lambda out: out == {"saved": True},
    ),
}


def plugin_and_dist(folder: Path) -> tuple[str, str]:
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    (plugin,) = project["entry-points"]["neko.plugins"]
    return plugin, project["name"]


def test_there_are_examples_and_setup_installs_them_all() -> None:
    assert len(EXAMPLES) >= 4
    script = (REPO / "scripts" / "setup-and-run.sh").read_text()
    assert "./example_plugins/*/" in script


@pytest.mark.parametrize("isolation", ["none", "process"])
@pytest.mark.parametrize("folder", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_list_info_schema_and_call_work_on_the_example(
    folder: Path, tmp_path: Path, http_server: str, isolation: str
) -> None:
    (tmp_path / "neko.toml").write_text(f'[plugins]\nisolation = "{isolation}"\n')
    plugin, dist = plugin_and_dist(folder)
    assert plugin in CALLS, f"add a `neko call` case for the {plugin!r} example to CALLS"

    listed = neko(tmp_path, "list", "--json", "--strict", "--only", plugin)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["name"], row["distribution"], row["status"]) == (plugin, dist, "running")
    assert row["entries"] and row["error"] is None

    if isolation == "none":  # info and schema come from the host's registry either way
        info = neko(tmp_path, "info", plugin, "--json")
        assert info.returncode == 0, info.stderr
        details = json.loads(info.stdout)
        assert [e["id"] for e in details["entries"]] == row["entries"]
        assert all(e["parameters"]["type"] == "object" for e in details["entries"])
        assert details["description"]
        text = neko(tmp_path, "info", plugin).stdout
        assert all(f"{plugin}.{entry}(" in text for entry in row["entries"])

        schema = neko(tmp_path, "schema", "--only", plugin)
        assert schema.returncode == 0, schema.stderr
        tools = json.loads(schema.stdout)
        assert [t["function"]["name"] for t in tools] == [f"{plugin}__{e}" for e in row["entries"]]
        assert all(t["type"] == "function" and t["function"]["description"] for t in tools)

    args, check = CALLS[plugin]
    called = neko(tmp_path, "call", *(a.format(server=http_server) for a in args), "--json")
    assert called.returncode == 0, called.stderr
    result = json.loads(called.stdout)
    assert check(result), result
