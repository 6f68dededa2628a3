"""The live host from the command line: ``status``, ``enable``/``disable``/``restart``/
``reload``, ``install``, ``uninstall``, ``events``, ``token``; and :func:`running_host` plus the
``remote_*`` helpers with which ``list``, ``info``, ``call`` and ``schema`` use a running host.

Each talks to the host running in the home (``<home>/run/neko.sock``). ``enable`` and
``disable`` also work with no host running: they edit the home's list of disabled plugins,
which the next ``neko run`` obeys.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.table import Table

from .._config import load_config
from .._discovery import scan
from .._errors import NekoError
from ..control import load_token
from ..control._disabled import read_disabled, write_disabled
from ..control._paths import socket_path
from ._isolation import install_isolated
from ._render import console, dumps

if TYPE_CHECKING:
    from ..control import ControlClient

__all__ = [
    "disable",
    "enable",
    "events",
    "install",
    "local_option",
    "reload",
    "remote_call",
    "remote_info",
    "remote_rows",
    "remote_tools",
    "restart",
    "running_host",
    "status",
    "token",
    "uninstall",
]

log = logging.getLogger("neko")
F = TypeVar("F", bound=Callable[..., Any])


def _home() -> Path:
    try:
        return load_config().home
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc


def running_host(
    *, local: bool = False, home: Path | None = None, fallback: str = "starting a one-shot host"
) -> ControlClient | None:
    """The client of the host running in the home, or ``None`` (none answers, or ``local``).

    Logs at INFO (shown with ``neko -v``) which one the command uses: the host, or
    ``fallback`` (what the command does without one).
    """
    home = home or _home()
    # httpx logs every request at INFO: only with -vv
    logging.getLogger("httpx").setLevel(max(logging.DEBUG, log.getEffectiveLevel() + 10))
    if local:
        log.info("--local: %s", fallback)
        return None
    client = None
    if socket_path(home).exists():  # else no host: the client (httpx) is not even imported
        from ..control import connect

        client = connect(home)
    if client is None:
        log.info("no host answers on %s: %s", socket_path(home), fallback)
        return None
    pid = client.health.get("pid")
    log.info("using the running host on %s (pid %s)", client.where, pid)
    return client


def local_option(func: F) -> F:
    """``--local``: a one-shot host even if one is running in the home."""
    return click.option(
        "--local",
        is_flag=True,
        help="Start a one-shot host even if one is running in the home (see -v for which).",
    )(func)


def remote_rows(client: ControlClient, keep: frozenset[str] | None) -> list[dict[str, Any]]:
    """``neko list`` from the running host: its records (only ``keep`` if given).

    Closes ``client``. Raises ``click.ClickException`` for what the host refuses.
    """
    with client:
        try:
            rows = client.plugins()
        except NekoError as exc:
            raise _fail(exc) from exc
    return rows if keep is None else [row for row in rows if row["name"] in keep]


def remote_info(client: ControlClient, name: str) -> dict[str, Any]:
    """``neko info`` from the running host. Closes ``client``."""
    with client:
        try:
            return client.plugin(name)
        except NekoError as exc:
            raise _fail(exc) from exc


def remote_tools(client: ControlClient, keep: frozenset[str] | None) -> list[dict[str, Any]]:
    """``neko schema`` from the running host (only ``keep``'s entries). Closes ``client``."""
    with client:
        try:
            tools = client.schema()
        except NekoError as exc:
            raise _fail(exc) from exc
    if keep is None:
        return tools
    return [t for t in tools if t["function"]["name"].partition("__")[0] in keep]


def remote_call(
    client: ControlClient,
    plugin: str,
    target: str,
    arguments: dict[str, Any],
    texts: dict[str, str],
    *,
    as_json: bool,
    parse_value: Callable[[str, Any], Any],
) -> None:
    """``neko call`` on the running host: read ``key=value`` texts by the entry's schema,
    stream a generator entry's items one per line (unless ``as_json``), print the result.
    Closes ``client``; a nekohooks error the host raised exits 1 with its message."""
    with client:
        try:
            detail = client.plugin(plugin)
            entry = target.partition(".")[2] if "." in target else target.partition("__")[2]
            spec = next((e for e in detail["entries"] if e["id"] == entry), None)
            properties = spec["parameters"].get("properties", {}) if spec else {}
            for key, text in texts.items():
                arguments[key] = parse_value(text, properties.get(key))
            streamed = spec is not None and spec["kind"] in ("sync-generator", "async-generator")
            if streamed and not as_json:
                for item in client.stream(target, arguments):
                    click.echo(item if isinstance(item, str) else dumps(item, indent=None))
                return
            result = client.call(target, arguments)
        except NekoError as exc:
            raise _fail(exc) from exc
    if as_json:
        click.echo(dumps(result, indent=None))
    else:
        click.echo(result if isinstance(result, str) else dumps(result))


def _require_host() -> ControlClient:
    home = _home()
    client = running_host(home=home)
    if client is None:
        raise click.ClickException(
            f"no host is running in {home} (nothing answers on {socket_path(home)}); "
            "start one with `neko run`"
        )
    return client


def _fail(exc: NekoError) -> click.ClickException:
    return click.ClickException(str(exc))


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """The running host's plugins: state, restarts, job runs, last error."""
    with _require_host() as client:
        try:
            rows = [client.plugin(row["name"]) for row in client.plugins()]
        except NekoError as exc:
            raise _fail(exc) from exc
    if as_json:
        _echo_json(rows)
        return
    table = Table("plugin", "state", "restarts", "jobs runs/failed/skipped", "last error")
    for row in rows:
        runs, failed, skipped = (
            sum(row[key].values()) for key in ("job_runs", "job_failures", "job_skipped")
        )
        jobs = f"{runs}/{failed}/{skipped}" if row["schedules"] else "-"
        error = f"{row['phase']}: {row['error']}" if row["error"] else ""
        table.add_row(row["name"], row["status"], str(row["restarts"]), jobs, error)
    console.print(table)


def _action(verb: str, help_text: str) -> click.Command:
    @click.command(name=verb, help=help_text)
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print the plugin's record as JSON.")
    def command(name: str, as_json: bool) -> None:
        home = _home()
        client = running_host(home=home)
        if client is None:
            if verb not in ("enable", "disable"):
                raise click.ClickException(
                    f"no host is running in {home}; `neko {verb}` needs one (`neko run`)"
                )
            _offline_toggle(home, name, disable=verb == "disable")
            return
        with client:
            try:
                record = client.action(name, verb)
            except NekoError as exc:
                raise _fail(exc) from exc
        if as_json:
            _echo_json(record)
        else:
            error = f" ({record['phase']}: {record['error']})" if record["error"] else ""
            click.echo(f"{record['name']}: {record['status']}{error}")

    return command


def _offline_toggle(home: Path, name: str, *, disable: bool) -> None:
    installed = {cand.name for cand in scan()}
    disabled = read_disabled(home)
    if name not in installed and name not in disabled:
        known = ", ".join(sorted(installed)) or "none"
        raise click.ClickException(f"no installed plugin {name!r} (installed: {known})")
    write_disabled(home, disabled | {name} if disable else disabled - {name})
    state = "disabled" if disable else "enabled"
    click.echo(f"{name}: {state} (no host running; the next `neko run` obeys it)")


def _pip(python: str, args: Iterable[str]) -> None:
    command = [python, "-m", "pip", *args]
    log.info("running %s", " ".join(command))
    if subprocess.call(command) != 0:
        raise click.ClickException(f"pip failed: {' '.join(command)}")


def _rescan(client: ControlClient | None) -> None:
    if client is None:
        click.echo("no host running: the next `neko run` loads the change")
        return
    try:
        changes = client.rescan()
    except NekoError as exc:
        raise _fail(exc) from exc
    added = ", ".join(changes["added"]) or "none"
    removed = ", ".join(changes["removed"]) or "none"
    click.echo(f"rescanned the running host: added {added}; removed {removed}")


@click.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--isolated",
    is_flag=True,
    help="Into a venv of its own under $NEKO_HOME/envs; its plugins run in their own processes.",
)
@click.argument("packages", nargs=-1, required=True, type=click.UNPROCESSED)
def install(packages: tuple[str, ...], isolated: bool) -> None:
    """pip install PACKAGES into the host's environment, then rescan the running host.

    pip's own options pass through (e.g. --no-index --find-links DIR). With no host running,
    it installs into this command's environment and the next `neko run` loads the plugins.
    With --isolated the packages get an environment of their own (see the README's
    Isolation section).
    """
    client = running_host()
    try:
        if isolated:
            install_isolated(packages)
        else:
            python = str(client.health["python"]) if client is not None else sys.executable
            _pip(python, ["install", *packages])
        _rescan(client)
    finally:
        if client is not None:
            client.close()


@click.command()
@click.argument("name")
def uninstall(name: str) -> None:
    """pip uninstall the distribution that provides plugin NAME, then rescan the running host."""
    client = running_host()
    try:
        python = str(client.health["python"]) if client is not None else sys.executable
        dist = _distribution_of(client, name)
        _pip(python, ["uninstall", "--yes", dist])
        _rescan(client)
    finally:
        if client is not None:
            client.close()


def _distribution_of(client: ControlClient | None, name: str) -> str:
    if client is not None:
        try:
            dist = client.plugin(name).get("distribution")
        except NekoError as exc:
            raise _fail(exc) from exc
    else:
        dist = next((c.distribution for c in scan() if c.name == name), None)
    if not dist:
        raise click.ClickException(f"plugin {name!r} does not come from an installed distribution")
    return str(dist)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events(as_json: bool) -> None:
    """Follow the running host's events (state changes, jobs, restarts, messages) until Ctrl-C."""
    with _require_host() as client:
        try:
            for event in client.events():
                if as_json:
                    click.echo(json.dumps(event, ensure_ascii=False, default=str))
                else:
                    who = event.get("plugin") or "-"
                    data = json.dumps(event.get("data"), ensure_ascii=False, default=str)
                    click.echo(f"{event.get('time')} {event['kind']:<10} {who:<16} {data}")
        except KeyboardInterrupt:
            return
        except NekoError as exc:
            raise _fail(exc) from exc


@click.command()
def token() -> None:
    """Print the bearer token of the TCP control API (`neko run --listen`); made on first use."""
    try:
        click.echo(load_token(_home(), create=True))
    except NekoError as exc:
        raise _fail(exc) from exc


enable = _action("enable", "Enable plugin NAME (kept in the home: it stays enabled).")
disable = _action(
    "disable", "Disable plugin NAME: stop it now, and keep it stopped across restarts."
)
restart = _action("restart", "Restart plugin NAME in the running host (a fresh context).")
reload = _action("reload", "Reload plugin NAME's code in the running host (after an upgrade).")
