"""``neko doctor``: what this installation is made of, and every problem in it, without starting a plugin."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import attrs
import click

from .._config import HostConfig, home_problem, load_config
from .._discovery import scan
from .._errors import NekoError
from .._version import __version__
from ._oneshot import config_source, unknown_names
from ._options import json_option
from ._render import dumps

__all__ = ["doctor", "examine"]


def _config_values(config: HostConfig) -> dict[str, Any]:
    allow = config.plugin_filter.allow
    return {
        "plugins": {
            "allow": None if allow is None else sorted(allow),
            "deny": sorted(config.plugin_filter.deny),
        },
        "limits": attrs.asdict(config.limits),
        "restart": attrs.asdict(config.restart),
    }


def examine() -> dict[str, Any]:
    """The doctor's findings as one JSON-ready record; ``problems`` lists what is wrong."""
    problems: list[str] = []
    report: dict[str, Any] = {
        "nekohooks": __version__,
        "python": f"{sys.version.split()[0]} ({sys.executable})",
        "contract_kit": importlib.util.find_spec("hypothesis") is not None,
    }
    try:
        config: HostConfig | None = load_config()
    except NekoError as exc:
        config = None
        problems.append(str(exc))
    report["config"] = {
        "file": None if config is None else config_source(config),
        "values": None if config is None else _config_values(config),
        "warnings": [] if config is None else list(config.warnings),
    }
    if config is not None:
        problems.extend(config.warnings)
        unknown = unknown_names(config)
        if unknown is not None:
            problems.append(unknown)
    if config is not None:
        trouble = home_problem(config.home)
        report["home"] = {"path": str(config.home), "writable": trouble is None}
        if trouble is not None:
            problems.append(f"home {config.home} is not usable: {trouble}")
    else:
        report["home"] = None
    plugins = []
    for candidate in scan():
        incompatible = candidate.supports(__version__)
        plugins.append(
            {
                "name": candidate.name,
                "distribution": candidate.distribution,
                "version": candidate.version,
                "compatible": incompatible is None,
                "problem": incompatible,
            }
        )
        if incompatible is not None:
            problems.append(f"plugin {candidate.name!r}: {incompatible}")
    report["plugins"] = plugins
    report["problems"] = problems
    return report


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check this installation: versions, home, config, installed plugins. Exit 1 on a problem.

    Nothing is imported from the plugins: their compatibility is read from package metadata.
    """
    report = examine()
    if as_json:
        click.echo(dumps(report))
    else:
        kit = "installed" if report["contract_kit"] else 'absent (pip install "nekohooks[testing]")'
        home = report["home"]
        click.echo(f"nekohooks {report['nekohooks']}, Python {report['python']}")
        if home is not None:
            state = "writable" if home["writable"] else "NOT USABLE"
            click.echo(f"home: {home['path']} ({state})")
        click.echo(f"config: {report['config']['file'] or 'unreadable'}")
        values = report["config"]["values"]
        for section, settings in (values or {}).items():
            shown = ", ".join(f"{key}={value}" for key, value in settings.items())
            click.echo(f"  [{section}] {shown}")
        click.echo(f"contract kit: {kit}")
        click.echo(f"plugins ({len(report['plugins'])}):")
        width = max((len(p["name"]) for p in report["plugins"]), default=0)
        for plugin in report["plugins"]:
            dist = f"{plugin['distribution'] or '?'} {plugin['version'] or ''}".rstrip()
            note = "ok" if plugin["compatible"] else f"INCOMPATIBLE: {plugin['problem']}"
            click.echo(f"  {plugin['name']:<{width}}  {dist}  {note}")
        for problem in report["problems"]:
            click.echo(f"problem: {problem}", err=True)
    if report["problems"]:
        sys.exit(1)
    if not as_json:
        click.echo("no problems found")
