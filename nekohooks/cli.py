"""The ``neko`` command: list, inspect, call and run plugins. Nothing in nekohooks imports it."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click
import trio
from rich.console import Console
from rich.table import Table

from . import __version__
from ._config import load_config
from ._errors import NekoError
from ._host import Host, open_host, serve
from ._schema import tool_definitions

console = Console()


def _load_config() -> Any:
    try:
        return load_config()
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _listing(host: Host) -> list[dict[str, Any]]:
    rows = []
    for status in host.statuses():
        info = host.plugins.get(status.name)
        rows.append(
            {
                "name": status.name,
                "distribution": info.distribution if info else None,
                "version": info.version if info else None,
                "status": status.state.value,
                "entries": [e.id for e in info.entries] if info else [],
                "schedules": {j.id: j.describe() for j in info.jobs} if info else {},
                "error": status.last_error,
                "phase": status.phase,
            }
        )
    return rows


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nekohooks")
def main() -> None:
    """nekohooks: run and inspect plugins installed as packages."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 if any plugin failed.")
def list_plugins(as_json: bool, strict: bool) -> None:
    """Every discovered plugin with its entries, schedules and status."""
    config = _load_config()

    async def run() -> list[dict[str, Any]]:
        async with open_host(config) as host:
            return _listing(host)

    rows = trio.run(run)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        table = Table("plugin", "distribution", "status", "entries", "schedules", "error")
        for row in rows:
            dist = f"{row['distribution'] or '-'} {row['version'] or ''}".strip()
            table.add_row(
                row["name"],
                dist,
                row["status"],
                ", ".join(row["entries"]),
                ", ".join(f"{k}: {v}" for k, v in row["schedules"].items()),
                row["error"] or "",
            )
        console.print(table)
    if strict and any(r["status"] in ("failed", "failed-to-load") for r in rows):
        sys.exit(1)


@main.command()
@click.argument("target")
@click.argument("pairs", nargs=-1)
@click.option("--args", "args_json", help="Arguments as one JSON object.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def call(target: str, pairs: tuple[str, ...], args_json: str | None, as_json: bool) -> None:
    """Start the plugin, call PLUGIN.ENTRY once with key=value arguments, stop it."""
    arguments: dict[str, Any] = {}
    if args_json:
        try:
            parsed = json.loads(args_json)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--args") from exc
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--args")
        arguments.update(parsed)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="PAIRS")
        arguments[key] = _parse_value(value)
    config = _load_config()

    async def run() -> Any:
        async with open_host(config) as host:
            return await host.call(target, **arguments)

    try:
        result = trio.run(run)
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result, default=str) if as_json else result)


@main.command()
@click.argument("plugin")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(plugin: str, as_json: bool) -> None:
    """One plugin in detail, with each entry's parameters."""
    config = _load_config()

    async def run() -> dict[str, Any]:
        async with open_host(config) as host:
            row = next((r for r in _listing(host) if r["name"] == plugin), None)
            if row is None:
                raise click.ClickException(f"no plugin {plugin!r}; see `neko list`")
            details = host.plugins.get(plugin)
            row["description"] = details.description if details else ""
            row["entries"] = [
                {
                    "id": e.id,
                    "description": e.description,
                    "kind": e.kind.value,
                    "runs_on": e.runs_on.value,
                    "timeout": e.timeout,
                    "parameters": dict(e.input_schema),
                }
                for e in (details.entries if details else ())
            ]
            return row

    row = trio.run(run)
    if as_json:
        click.echo(json.dumps(row, indent=2))
        return
    console.print(f"[bold]{row['name']}[/] {row['distribution'] or ''} {row['version'] or ''}")
    console.print(f"status: {row['status']}" + (f" ({row['error']})" if row["error"] else ""))
    if row["description"]:
        console.print(row["description"])
    for entry in row["entries"]:
        params = entry["parameters"].get("properties", {})
        required = set(entry["parameters"].get("required", []))
        args = ", ".join(
            f"{name}{'' if name in required else '?'}: {spec.get('type', 'any')}"
            for name, spec in params.items()
        )
        console.print(f"  {row['name']}.{entry['id']}({args}) [dim]{entry['description']}[/]")
    for job, schedule in row["schedules"].items():
        console.print(f"  job {job}: {schedule}")


@main.command()
def schema() -> None:
    """All entries as an OpenAI-style tool list (JSON)."""
    config = _load_config()

    async def run() -> list[dict[str, Any]]:
        async with open_host(config) as host:
            return tool_definitions(host.entries())

    click.echo(json.dumps(trio.run(run), indent=2))


@main.command()
def run() -> None:
    """Run every plugin until SIGINT or SIGTERM, then shut down cleanly."""
    config = _load_config()

    async def main_loop() -> None:
        async with open_host(config) as host:

            def report() -> None:
                for row in _listing(host):
                    logging.getLogger("neko").info("%s: %s", row["name"], row["status"])

            signum = await serve(host, on_ready=report)
            logging.getLogger("neko").info("signal %d: shutting down", signum)

    trio.run(main_loop)


if __name__ == "__main__":
    main()
