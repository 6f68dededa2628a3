"""Broken N.E.K.O plugin folders, written into a temp folder by the tests (one per problem)."""

from __future__ import annotations

from pathlib import Path

GOOD_CLASS = """
from plugin.sdk.plugin import NekoPluginBase, Ok, plugin_entry


class Plugin(NekoPluginBase):
    @plugin_entry(id="ping")
    async def ping(self, **_):
        return Ok("pong")
"""


def toml(package: str, *, entry: str | None = None, sdk: str = ">=0.1.0,<0.3.0") -> str:
    return (
        f'[plugin]\nid = "{package}"\nversion = "0.1.0"\n'
        f'entry = "{entry or f"plugin.plugins.{package}:Plugin"}"\n'
        f'[plugin.sdk]\nsupported = "{sdk}"\n'
    )


#: name → (files, the text the error must contain)
CASES: dict[str, tuple[dict[str, str], str]] = {
    "bad_no_toml": ({"__init__.py": GOOD_CLASS}, "no plugin.toml: not a N.E.K.O plugin folder"),
    "bad_toml": ({"plugin.toml": "[plugin\nid = 1", "__init__.py": GOOD_CLASS}, "malformed TOML"),
    "bad_module": (
        {
            "plugin.toml": toml("bad_module", entry="plugin.plugins.bad_module.missing:Plugin"),
            "__init__.py": "",
        },
        "importing plugin.plugins.bad_module.missing failed: ModuleNotFoundError",
    ),
    "bad_class": (
        {
            "plugin.toml": toml("bad_class", entry="plugin.plugins.bad_class:Nope"),
            "__init__.py": GOOD_CLASS,
        },
        "[plugin] entry names class 'Nope', which plugin.plugins.bad_class does not define",
    ),
    "bad_sdk": (
        {"plugin.toml": toml("bad_sdk", sdk=">=0.3,<0.4"), "__init__.py": GOOD_CLASS},
        "[plugin.sdk] requires N.E.K.O SDK >=0.3,<0.4, this is N.E.K.O SDK 0.1.0",
    ),
    "bad_hook": (
        {
            "plugin.toml": toml("bad_hook"),
            "__init__.py": "from plugin.sdk.plugin import NekoPluginBase, before_entry\n\n\n"
            "class Plugin(NekoPluginBase):\n    @before_entry(target='*')\n    async def check(self, **_):\n"
            "        pass\n",
        },
        "NotImplementedError: N.E.K.O SDK name 'before_entry' (entry hooks) is not supported",
    ),
    "bad_bus": (
        {
            "plugin.toml": toml("bad_bus"),
            "__init__.py": "from plugin.sdk.bus import events\n" + GOOD_CLASS,
        },
        "N.E.K.O SDK module 'plugin.sdk.bus' is not provided by nekohooks.compat.neko",
    ),
}

#: the file (relative to the folder) and line each error must name
WHERE = {
    "bad_no_toml": "plugin.toml",
    "bad_toml": "plugin.toml",
    "bad_module": "__init__.py",
    "bad_class": "__init__.py",
    "bad_sdk": "plugin.toml",
    "bad_hook": "__init__.py:5",
    "bad_bus": "__init__.py:1",
}


def write(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for file, text in CASES[name][0].items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder
