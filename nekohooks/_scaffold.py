"""``neko new``: the files of a new plugin distribution, rendered from string templates.

:func:`render` returns every file of the project as text (path → content); :func:`create` writes
them into a fresh folder, atomically: they are written into a temporary sibling folder that is
renamed into place at the end, so an interrupted ``neko new`` leaves nothing half-made. The
generated project installs with ``pip install -e .``, is listed by ``neko list`` and passes its
own tests (the contract kit's ``check_plugin`` and real calls through ``open_host``).
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from pathlib import Path
from string import Template

from ._version import __version__

__all__ = ["ScaffoldError", "create", "distribution_name", "name_problem", "render"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME = 40


class ScaffoldError(Exception):
    """The project cannot be created where asked (the folder exists and is not empty...)."""


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a plugin name, or ``None`` if it can.

    A plugin name is the entry-point name, the prefix of its entries (``name.entry``) and part
    of the package name ``neko_<name>``: lowercase letters, digits and ``_``, starting with a
    letter, at most 40 characters.
    """
    if _NAME.fullmatch(name) and len(name) <= MAX_NAME and not name.endswith("_"):
        return None
    suggestion = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    suggestion = suggestion if _NAME.fullmatch(suggestion) else ""
    hint = f" (e.g. {suggestion[:MAX_NAME]!r})" if suggestion else ""
    return (
        f"invalid plugin name {name!r}: use lowercase letters, digits and '_', starting with "
        f"a letter and not ending with '_', at most {MAX_NAME} characters{hint}"
    )


def class_name(name: str) -> str:
    """``weather_bot`` → ``WeatherBotPlugin``."""
    base = "".join(part.capitalize() for part in name.split("_") if part) + "Plugin"
    return base if not keyword.iskeyword(base) else base + "_"


def distribution_name(name: str) -> str:
    """``weather_bot`` → ``neko-weather-bot`` (also the default project folder)."""
    return "neko-" + name.replace("_", "-")


def render(name: str) -> dict[str, str]:
    """Every file of the project for plugin ``name``, as ``{relative path: text}``."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    major, minor = __version__.split(".")[:2]
    values = {
        "name": name,
        "dist": distribution_name(name),
        "package": f"neko_{name}",
        "cls": class_name(name),
        "floor": f"{major}.{minor}",
    }
    values["commands"] = _aligned(_README_COMMANDS, values)
    package = values["package"]
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        ".gitignore": _GITIGNORE,
        f"{package}/__init__.py": _PLUGIN,
        f"{package}/plugin.toml": _PLUGIN_TOML,
        f"tests/test_{name}.py": _TESTS,
    }
    return {path: Template(text).substitute(values) for path, text in files.items()}


def create(name: str, target: Path) -> list[Path]:
    """Write the project for ``name`` into folder ``target``; return the files written.

    ``target`` must not exist or be an empty folder. An empty folder is kept as it is (it may
    be a mount point): the files are staged in a hidden folder inside it and moved up. Raises
    :class:`ScaffoldError` for a folder that is not empty and for anything the file system
    refuses (one line naming the path and the reason), and ``ValueError`` for an invalid name.
    """
    files = render(name)
    try:
        return _create(files, target)
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else target
        for part in (where, *where.parents):  # name the folder, not our hidden staging one
            if ".neko-new-" in part.name:
                where = part.parent
        raise ScaffoldError(f"cannot create {target}: {where}: {exc.strerror or exc}") from exc


def _create(files: dict[str, str], target: Path) -> list[Path]:
    if target.exists():
        if not target.is_dir():
            raise ScaffoldError(f"{target} exists and is not a folder")
        if any(target.iterdir()):
            raise ScaffoldError(
                f"{target} already exists and is not empty; choose another --directory"
            )
        staging = Path(tempfile.mkdtemp(dir=target, prefix=".neko-new-"))
    else:
        parent = target.absolute().parent
        existing = next(p for p in (parent, *parent.parents) if p.exists())
        if not existing.is_dir():
            raise ScaffoldError(f"cannot create {target}: {existing} is not a folder")
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.neko-new-"))
    try:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if staging.parent == target:  # an existing empty folder: move the files up into it
            tops = sorted({Path(relative).parts[0] for relative in files})
            moved: list[Path] = []
            try:
                for top in tops:
                    os.replace(staging / top, target / top)
                    moved.append(target / top)
            except BaseException:
                for path in moved:
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
                raise
            staging.rmdir()
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / relative for relative in files]


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "The $name plugin for nekohooks"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["nekohooks>=$floor"]

[project.optional-dependencies]
test = ["nekohooks[testing]>=$floor", "pytest>=8"]  # the contract kit and pytest

# This line is what makes it a plugin: the host finds "$name" in this entry-point group.
[project.entry-points."neko.plugins"]
$name = "$package:$cls"

[tool.setuptools]
packages = ["$package"]

[tool.setuptools.package-data]
$package = ["plugin.toml"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

_PLUGIN = '''\
"""The $name plugin for nekohooks.

``$cls`` is what the ``neko.plugins`` entry point in pyproject.toml names. The host
creates one instance per run with the plugin's context (``self.ctx``), calls ``startup``,
serves the entries and runs the periodic jobs, and calls ``terminate`` when it stops.

Try it: ``neko call $name.hello name=Ada``, ``neko info $name``, ``neko run --only $name``.
"""

from __future__ import annotations

from nekohooks import NekoPluginBase, PluginContext, neko_plugin, periodic, plugin_entry


@neko_plugin
class $cls(NekoPluginBase):
    """Greets people and counts its heartbeats."""

    def __init__(self, ctx: PluginContext) -> None:
        super().__init__(ctx)
        # ctx.config is plugin.toml, copied from this package to
        # $$NEKO_HOME/plugins/$name/plugin.toml on first start (edit that copy).
        settings = ctx.config.get("$name", {})
        self.greeting = settings.get("greeting", "Hello")
        self.heartbeats = 0

    async def startup(self) -> None:
        """Runs once per start, before any entry is served (bounded by startup_timeout)."""
        if not isinstance(self.greeting, str):
            raise TypeError(f"{self.ctx.config_path}: greeting must be a string")
        self.ctx.logger.info("ready; greeting %r", self.greeting)

    async def terminate(self) -> None:
        """Runs when the plugin stops, also after a crash (bounded by terminate_grace)."""
        self.ctx.logger.info("stopping after %d heartbeats", self.heartbeats)

    @plugin_entry(id="hello", description="Greet someone by name")
    def hello(self, name: str = "world") -> dict[str, object]:
        # A sync entry runs in a worker thread; its parameters become a JSON Schema, so
        # `neko call $name.hello nmae=x` is refused before this code runs.
        return {"message": f"{self.greeting}, {name}!", "heartbeats": self.heartbeats}

    @periodic(every=60)
    async def heartbeat(self) -> None:
        """Every 60 s while the host runs; errors are logged and the schedule goes on."""
        self.heartbeats += 1
        self.ctx.logger.debug("heartbeat %d", self.heartbeats)
'''

_PLUGIN_TOML = """\
# Defaults for the $name plugin, bundled with the package. On first start the host copies
# this file to $$NEKO_HOME/plugins/$name/plugin.toml; edit that copy and restart.
[$name]
greeting = "Hello"
"""

_TESTS = '''\
"""Tests for the $name plugin: the nekohooks contract kit, and real calls through a host."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing
from nekohooks import HostConfig, open_host
from nekohooks.testing import check_plugin

from $package import $cls

PLUGINS = {"$name": $cls}


def test_contract() -> None:
    # Loads the installed plugin by its entry-point name and checks every entry with
    # generated arguments: valid ones give a JSON result, invalid ones are refused.
    check_plugin("$name")


def test_hello_greets_with_the_bundled_config(tmp_path: Path) -> None:
    async def main() -> object:
        async with open_host(HostConfig(home=tmp_path), plugins=PLUGINS) as host:
            return await host.call("$name.hello", name="Ada")

    assert trio.run(main) == {"message": "Hello, Ada!", "heartbeats": 0}
    assert (tmp_path / "plugins" / "$name" / "plugin.toml").is_file()


def test_heartbeat_every_minute_on_a_mock_clock(tmp_path: Path) -> None:
    async def main() -> object:
        config = HostConfig(home=tmp_path)
        async with open_host(config, plugins=PLUGINS, watchdog=False) as host:
            await trio.sleep(3630)  # an hour of MockClock time takes milliseconds
            return await host.call("$name.hello")

    result = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert result == {"message": "Hello, world!", "heartbeats": 60}
'''

_README = """\
# $dist

The `$name` plugin for nekohooks: plugins are pip distributions that the `neko` host finds
through the `neko.plugins` entry-point group.

```bash
$commands
```

| file | what |
|---|---|
| `$package/__init__.py` | the plugin class `$cls`: an entry, a periodic job, startup/terminate |
| `$package/plugin.toml` | default settings, copied to `$$NEKO_HOME/plugins/$name/plugin.toml` on first start |
| `tests/test_$name.py` | `check_plugin("$name")` from `nekohooks.testing`, and calls through `open_host` |
"""

#: The README's commands and their comments (aligned once the name is filled in).
_README_COMMANDS = (
    ('pip install -e ".[test]"', 'registers the plugin (entry point "$name" in neko.plugins)'),
    ("neko list --strict", "$name should be listed as running"),
    ("neko info $name", "its entries and periodic jobs"),
    ("neko call $name.hello name=Ada", "one call; prints the result"),
    ("pytest", "the contract kit and the plugin's own tests"),
    ("neko run --only $name", "serve until Ctrl-C / SIGTERM"),
)


def _aligned(pairs: tuple[tuple[str, str], ...], values: dict[str, str]) -> str:
    """``command   # comment`` lines, the comments in one column."""
    filled = [(Template(a).substitute(values), Template(b).substitute(values)) for a, b in pairs]
    width = max(len(command) for command, _ in filled) + 2
    return "\n".join(f"{command:<{width}}# {comment}" for command, comment in filled)


_GITIGNORE = """\
__pycache__/
*.egg-info/
build/
dist/
.venv/
.hypothesis/
.pytest_cache/
"""
