"""Discovery against real distributions pip-installed into a throwaway venv."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_factory import TempVenv, build_wheel

MODULE_STYLE = """
from nekohooks import hookimpl, plugin_entry

@plugin_entry(id="add", description="Add two numbers")
def add(a: int, b: int = 1) -> int:
    return a + b

@hookimpl
def neko_entries():
    return [add]
"""

CLASS_STYLE = """
from nekohooks import neko_plugin, NekoPluginBase, plugin_entry

@neko_plugin
class Calc(NekoPluginBase):
    @plugin_entry(id="add", description="Add two numbers")
    def add(self, a: int, b: int = 1, **_):
        return a + b
"""

PLUGINS: list[tuple[str, dict[str, str], dict[str, str], tuple[str, ...]]] = [
    ("neko-calc-module", {"calc_module.py": MODULE_STYLE}, {"calcm": "calc_module"}, ()),
    ("neko-calc-class", {"calc_class.py": CLASS_STYLE}, {"calcc": "calc_class:Calc"}, ()),
    (
        "neko-broken-import",
        {"broken_import.py": "import does_not_exist_anywhere\n"},
        {"broken": "broken_import"},
        (),
    ),
    (
        "neko-bad-hookimpl",
        {
            "bad_hookimpl.py": """
            from nekohooks import hookimpl
            @hookimpl
            def neko_startup(context):  # the spec says ctx
                pass
            """
        },
        {"badimpl": "bad_hookimpl"},
        (),
    ),
    (
        "neko-unknown-hook",
        {
            "unknown_hook.py": """
            from nekohooks import hookimpl
            @hookimpl
            def neko_startupp(ctx):
                pass
            """
        },
        {"typo": "unknown_hook"},
        (),
    ),
    (
        "neko-bad-signature",
        {
            "bad_signature.py": """
            from nekohooks import NekoPluginBase, plugin_entry
            class P(NekoPluginBase):
                @plugin_entry(id="f")
                def f(self, when: complex):  # no JSON Schema for complex
                    return 1
            """
        },
        {"badsig": "bad_signature:P"},
        (),
    ),
    # Two distributions claim the name "calcm": the first in sorted order wins.
    ("neko-zz-dup", {"dup_plugin.py": MODULE_STYLE}, {"calcm": "dup_plugin"}, ()),
    (
        "neko-future",
        {"future_plugin.py": MODULE_STYLE},
        {"future": "future_plugin"},
        ("nekohooks>=99",),
    ),
    (
        "neko-exits",
        {"exits_plugin.py": "import sys\nsys.exit(3)\n"},
        {"exits": "exits_plugin"},
        (),
    ),
    (
        "neko-side-effect",
        {
            "side_effect.py": """
            import os, pathlib
            pathlib.Path(os.environ["NEKO_MARKER"]).write_text("imported")
            """
        },
        {"sidefx": "side_effect"},
        (),
    ),
]

DISCOVER = """
import json
import sysconfig
import nekohooks
from nekohooks import load_config
from nekohooks.discovery import Registry, load_plugins, scan

registry = Registry()
# Only what this venv itself installed: its .pth also exposes the outer env's packages.
site = sysconfig.get_path("purelib")
candidates = [c for c in scan() if str(c.entry_point.dist.locate_file("")).startswith(site)]
load_plugins(registry, candidates, plugin_filter=load_config().plugin_filter, version=nekohooks.__version__)
print(json.dumps({
    "scanned": [c.name for c in candidates],
    "loaded": list(registry.plugins),
    "disabled": registry.disabled,
    "failures": [
        {"name": f.name, "dist": f.distribution, "version": f.version, "phase": f.phase,
         "error": f.error}
        for f in registry.failures
    ],
    "schemas": {
        name: {e.id: e.input_schema for e in p.info.entries}
        for name, p in registry.plugins.items()
    },
}))
"""


@pytest.fixture(scope="module")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> TempVenv:
    root = tmp_path_factory.mktemp("discovery")
    env = TempVenv(root / "venv")
    wheels = [
        build_wheel(root / "wheels", dist, files, entry_points=eps, requires=requires)
        for dist, files, eps, requires in PLUGINS
    ]
    env.install(*wheels)
    return env


def discover(env: TempVenv, tmp_path: Path, **extra_env: str) -> dict:  # type: ignore[type-arg]
    marker = tmp_path / "marker"
    result = env.run(DISCOVER, env={"NEKO_MARKER": str(marker), **extra_env})
    assert isinstance(result, dict)
    result["marker"] = marker.exists()
    return result


def failure(result: dict, name: str) -> dict:  # type: ignore[type-arg]
    found = [f for f in result["failures"] if f["name"] == name]
    assert len(found) == 1, result["failures"]
    return found[0]  # type: ignore[no-any-return]


def test_good_plugins_load_and_broken_ones_are_reported(
    plugin_venv: TempVenv, tmp_path: Path
) -> None:
    result = discover(plugin_venv, tmp_path)
    assert result["loaded"] == ["calcc", "calcm", "sidefx"]
    assert failure(result, "broken")["phase"] == "import"
    assert "does_not_exist_anywhere" in failure(result, "broken")["error"]
    assert failure(result, "badimpl")["phase"] == "register"
    assert "context" in failure(result, "badimpl")["error"]
    assert failure(result, "typo")["phase"] == "validate"
    assert "neko_startupp" in failure(result, "typo")["error"]
    assert failure(result, "badsig")["phase"] == "validate"
    assert "complex" in failure(result, "badsig")["error"]
    dup = failure(result, "calcm")
    assert dup["phase"] == "register" and dup["dist"] == "neko-zz-dup"
    assert "neko-calc-module" in dup["error"]
    future = failure(result, "future")
    assert future["phase"] == "version" and "nekohooks>=99" in future["error"]
    exits = failure(result, "exits")
    assert exits["phase"] == "import" and "SystemExit" in exits["error"]
    assert exits["dist"] == "neko-exits" and exits["version"] == "1.0.0"
    assert result["marker"] is True  # sidefx was imported


def test_scan_order_is_sorted_and_repeatable(plugin_venv: TempVenv, tmp_path: Path) -> None:
    first = discover(plugin_venv, tmp_path)["scanned"]
    second = discover(plugin_venv, tmp_path)["scanned"]
    assert first == second == sorted(first)


def test_deny_list_applies_before_import(plugin_venv: TempVenv, tmp_path: Path) -> None:
    result = discover(plugin_venv, tmp_path, NEKO_DISABLE_PLUGINS="sidefx, broken")
    assert result["marker"] is False
    assert "sidefx" in result["disabled"] and "broken" in result["disabled"]
    assert all(f["name"] != "broken" for f in result["failures"])


def test_allow_list_imports_only_the_named(plugin_venv: TempVenv, tmp_path: Path) -> None:
    result = discover(plugin_venv, tmp_path, NEKO_LOAD_PLUGINS="calcc")
    assert result["loaded"] == ["calcc"]
    assert result["marker"] is False
    assert result["failures"] == []


def test_both_styles_produce_the_same_entries(plugin_venv: TempVenv, tmp_path: Path) -> None:
    schemas = discover(plugin_venv, tmp_path)["schemas"]
    expected = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 1}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert schemas["calcm"] == {"add": expected}
    assert schemas["calcc"] == {"add": expected}


def test_uninstall_removes_the_plugin(tmp_path: Path) -> None:
    env = TempVenv(tmp_path / "venv")
    wheel = build_wheel(
        tmp_path / "w",
        "neko-calc-class",
        {"calc_class.py": CLASS_STYLE},
        entry_points={"calcc": "calc_class:Calc"},
    )
    env.install(wheel)
    assert discover(env, tmp_path)["loaded"] == ["calcc"]
    env.uninstall("neko-calc-class")
    assert discover(env, tmp_path)["loaded"] == []


REQUIRES_DIST_LINES = [
    "nekohooks>=0.1,<0.2",
    "nekohooks >= 0.1, < 0.2",
    "NekoHooks==0.1.*",
    "neko_hooks~=0.1",
    "nekohooks",
    "nekohooks>=99",
    "nekohooks (>=0.1)",
    "nekohooks[console]>=0.1",
    'nekohooks>=99; extra == "dev"',
    'nekohooks>=99; python_version >= "3"',
    "nekohooks @ https://example.invalid/nekohooks.whl",
    "nekohooks>=1.0 junk",
    "nekohooks-x>=99",
    "nekohooks_>=99",
    "nekohooks.>=99",
    "neko>=99",
    "trio>=0.25",
    "  nekohooks<0.1",
    "@ nonsense",
    "",
]


@pytest.mark.parametrize("line", REQUIRES_DIST_LINES)
def test_requires_dist_is_read_as_packaging_reads_it(line: str) -> None:
    """The fast reading of a ``Requires-Dist`` line (name first, then only a SpecifierSet)
    agrees with packaging's full PEP 508 parser on every line, odd ones included."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from nekohooks._discovery import _nekohooks_specifier

    try:
        req: Requirement | None = Requirement(line)
    except InvalidRequirement:
        req = None
    applies = (
        req is not None
        and canonicalize_name(req.name) == "nekohooks"
        and (req.marker is None or req.marker.evaluate({"extra": ""}))
    )
    expected = str(req.specifier) if applies and req is not None else None
    found = _nekohooks_specifier(line)
    assert (None if found is None else str(found)) == expected
