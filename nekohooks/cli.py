"""The ``neko`` command: list, inspect, call, run and scaffold plugins.

Nothing in nekohooks imports this module. Every command that lists something takes ``--json``
(``schema`` always prints JSON). Exit codes: 0 success; 1 a plugin or entry problem (unknown
plugin, bad argument value, failed call, ``list --strict`` with a failed plugin, ``check`` with a
violation, ``new`` into a non-empty folder); 2 a usage error (unknown option, malformed ``key=value``, bad ``--only``, an
invalid plugin name for ``new``).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import signal
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import click
import trio
from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from ._config import HostConfig, PluginFilter, load_config
from ._discovery import scan
from ._errors import NekoError
from ._host import Host, open_host
from ._model import EntryKind, PluginState, PluginStatus
from ._process import serve
from ._scaffold import ScaffoldError, create, distribution_name, name_problem
from ._schema import tool_definitions
from ._version import __version__

F = TypeVar("F", bound=Callable[..., Any])

# On a terminal rich fits its width; piped output gets wide lines instead of wrapped cells.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)
log = logging.getLogger("neko")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: States in which a plugin is not serving because something went wrong (``list --strict``).
BROKEN = frozenset({PluginState.FAILED, PluginState.FAILED_TO_LOAD, PluginState.RESTARTING})
_STATE_STYLE = {
    PluginState.RUNNING: "green",
    PluginState.STARTING: "cyan",
    PluginState.RESTARTING: "yellow",
    PluginState.FAILED: "bold red",
    PluginState.FAILED_TO_LOAD: "bold red",
    PluginState.DISABLED: "dim",
    PluginState.STOPPING: "cyan",
    PluginState.STOPPED: "dim",
}


# ---- shared helpers ----------------------------------------------------------------------------


def _setup_logging(
    verbosity: int, *, default: int = logging.WARNING, handler: logging.Handler | None = None
) -> None:
    """Log lines on stderr (or ``handler``); each ``-v`` lowers the threshold one level.

    The threshold is set on the handler too, so code that lowers a logger's level to capture
    records (the contract kit does) does not spill them onto the terminal.
    """
    level = max(logging.DEBUG, default - 10 * verbosity)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(level)
    logging.basicConfig(level=level, handlers=[handler], force=True)


def _verbosity() -> int:
    ctx = click.get_current_context()
    return int(ctx.find_root().params.get("verbose") or 0)


def _installed_names() -> list[str]:
    return [cand.name for cand in scan()]


def _split_only(values: Iterable[str]) -> list[str]:
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def _not_installed(names: Iterable[str]) -> str | None:
    """What is wrong if some of ``names`` are not installed plugins, else ``None``."""
    installed = _installed_names()
    unknown = [n for n in names if n not in installed]
    if not unknown:
        return None
    return (
        f"no installed plugin {', '.join(map(repr, unknown))} "
        f"(installed: {', '.join(installed) or 'none'})"
    )


def _check_only(names: list[str]) -> frozenset[str] | None:
    """Validate ``--only`` names against the installed plugins (usage error if unknown)."""
    if not names:
        return None
    problem = _not_installed(names)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--only'")
    return frozenset(names)


def _host_config(only: frozenset[str] | None = None) -> HostConfig:
    """The host config (``neko.toml`` + environment), restricted to ``only`` if given."""
    try:
        config = load_config()
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc
    if only is None:
        return config
    current = config.plugin_filter
    allow = only if current.allow is None else current.allow & only
    return attrs.evolve(config, plugin_filter=PluginFilter(frozenset(allow), current.deny))


def _require_plugin(name: str) -> None:
    problem = _not_installed([name])
    if problem is not None:
        raise click.ClickException(f"{problem}; see `neko list`")


def _run_host(config: HostConfig, body: Callable[[Host], Any]) -> Any:
    """Start the host, run ``body(host)`` (sync or async), shut down; NekoError → exit 1."""

    async def main() -> Any:
        async with open_host(config) as host:
            result = body(host)
            if inspect.isawaitable(result):
                result = await result
            return result

    try:
        return trio.run(main)
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc


def _listing(host: Host, keep: frozenset[str] | None = None) -> list[dict[str, Any]]:
    rows = []
    plugins = host.plugins  # each is a fresh dict or list: take them once, not per row
    failures = {f.name: f for f in host.failures}
    for status in host.statuses():
        if keep is not None and status.name not in keep:
            continue
        info = plugins.get(status.name)
        failure = failures.get(status.name)
        dist = info.distribution if info else failure.distribution if failure else None
        version = info.version if info else failure.version if failure else None
        rows.append(
            {
                "name": status.name,
                "distribution": dist,
                "version": version,
                "status": status.state.value,
                "entries": [e.id for e in info.entries] if info else [],
                "schedules": {j.id: j.describe() for j in info.jobs} if info else {},
                "error": status.last_error,
                "phase": status.phase,
            }
        )
    return rows


def _count(items: Collection[object], one: str, many: str | None = None) -> str:
    return f"{len(items)} {one if len(items) == 1 else many or one + 's'}"


def _dumps(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def _only_option(func: F) -> F:
    return click.option(
        "--only",
        "only",
        multiple=True,
        metavar="A,B",
        help="Load only these plugins (comma-separated; may repeat).",
    )(func)


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


# ---- the group and --version -------------------------------------------------------------------


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``neko --version``: nekohooks' version and the installed plugins, from metadata only."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"nekohooks {__version__} (Python {sys.version.split()[0]})")
    candidates = scan()
    if not candidates:
        click.echo("plugins: none installed (entry-point group neko.plugins)")
        ctx.exit()
    click.echo(f"plugins ({len(candidates)}):")
    width = max(len(c.name) for c in candidates)
    for cand in candidates:
        problem = cand.supports(__version__)
        dist = f"{cand.distribution or '?'} {cand.version or ''}".rstrip()
        note = f"  [incompatible: {problem}]" if problem else ""
        click.echo(f"  {cand.name:<{width}}  {dist}{note}")
    ctx.exit()


def _exit_despite_leaked_threads(code: int, *, wait: float = 1.0) -> None:
    """Exit with ``code`` now if threads a plugin left behind would keep the process alive.

    The host has stopped every plugin by the time a command returns, but the interpreter
    waits for every non-daemon thread at exit, forever if a plugin started one that never
    ends. Give such threads ``wait`` seconds, then name them and end the process with
    ``os._exit``. Returns (and the interpreter exits normally) when no such thread is left.
    """
    deadline = time.monotonic() + wait
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    leaked = [
        t.name
        for t in threading.enumerate()
        if t is not threading.current_thread() and not t.daemon and t.is_alive()
    ]
    if not leaked:
        return
    log.warning("exiting although plugin threads are still running: %s", ", ".join(leaked))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _NekoGroup(click.Group):
    """The ``neko`` group; a finished command exits even if a plugin leaked a thread."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if kwargs.get("standalone_mode", True):
                _exit_despite_leaked_threads(code)
            raise


@click.group(cls=_NekoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show nekohooks' version and the installed plugins, then exit.",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv: debug).")
def main(verbose: int) -> None:
    """nekohooks: run and inspect plugins installed as packages.

    Plugins are distributions registered in the `neko.plugins` entry-point group. NEKO_HOME,
    NEKO_CONFIG, NEKO_LOAD_PLUGINS and NEKO_DISABLE_PLUGINS apply to every command.
    """


# ---- list / info / call / schema ---------------------------------------------------------------


@main.command("list")
@_json_option
@click.option("--strict", is_flag=True, help="Exit 1 if any plugin failed to load or start.")
@_only_option
def list_plugins(as_json: bool, strict: bool, only: tuple[str, ...]) -> None:
    """Every discovered plugin: distribution, entries, schedules, status."""
    _setup_logging(_verbosity())
    keep = _check_only(_split_only(only))
    rows: list[dict[str, Any]] = _run_host(_host_config(keep), lambda h: _listing(h, keep))
    if as_json:
        click.echo(_dumps(rows))
    elif not rows:
        console.print("no plugins installed (entry-point group neko.plugins); try `neko new`")
    else:
        table = Table("plugin", "distribution", "status", "entries", "schedules", "error")
        for row in rows:
            state = PluginState(row["status"])
            table.add_row(
                row["name"],
                f"{row['distribution'] or '-'} {row['version'] or ''}".strip(),
                Text(row["status"], style=_STATE_STYLE[state]),
                ", ".join(row["entries"]),
                ", ".join(f"{k}: {v}" for k, v in row["schedules"].items()),
                row["error"] or "",
            )
        console.print(table)
    broken = [r["name"] for r in rows if PluginState(r["status"]) in BROKEN]
    if strict and broken:
        click.echo(f"error: {len(broken)} plugin(s) failed: {', '.join(broken)}", err=True)
        sys.exit(1)


@main.command()
@click.argument("plugin")
@_json_option
def info(plugin: str, as_json: bool) -> None:
    """One plugin in detail, with each entry's parameters."""
    _setup_logging(_verbosity())
    _require_plugin(plugin)
    keep = frozenset({plugin})

    def details(host: Host) -> dict[str, Any]:
        row = _listing(host, keep)[0]
        found = host.plugins.get(plugin)
        row["description"] = found.description if found else ""
        row["entries"] = [
            {
                "id": e.id,
                "description": e.description,
                "kind": e.kind.value,
                "runs_on": e.runs_on.value,
                "timeout": e.timeout,
                "parameters": dict(e.input_schema),
            }
            for e in (found.entries if found else ())
        ]
        return row

    row: dict[str, Any] = _run_host(_host_config(keep), details)
    if as_json:
        click.echo(_dumps(row))
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
        console.print(
            f"  {row['name']}.{entry['id']}({args}) [dim]{entry['description']}[/]",
            highlight=False,
            soft_wrap=True,
        )
    for job, schedule in row["schedules"].items():
        console.print(f"  job {job}: {schedule}")


def _parse_value(text: str, schema: Any) -> Any:
    """A ``key=value`` value: the text itself where the entry wants a string, else JSON if it
    parses (``n=3``, ``flag=true``, ``tags='["a"]'``), else the text."""
    if isinstance(schema, dict) and schema.get("type") == "string":
        return text
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or JSON past int/nesting limits
        return text


def _split_target(target: str) -> str:
    plugin, dot, entry = target.partition(".")
    if not dot:
        plugin, dot, entry = target.partition("__")
    if not plugin or not entry:
        raise click.BadParameter(
            f"{target!r} is not PLUGIN.ENTRY (e.g. hello.greet)", param_hint="TARGET"
        )
    return plugin


@main.command()
@click.argument("target")
@click.argument("pairs", nargs=-1)
@click.option("--args", "args_json", metavar="JSON", help="Arguments as one JSON object.")
@_json_option
def call(target: str, pairs: tuple[str, ...], args_json: str | None, as_json: bool) -> None:
    """Start one plugin, call PLUGIN.ENTRY once with key=value arguments, stop it.

    A value is taken as text where the entry's parameter is a string, else parsed as JSON where
    it parses (n=3, flag=true, tags='["a"]'), else taken as text. --args gives all arguments
    as one JSON object. Generator entries print each item as it arrives, one line each (a
    JSON list with --json).
    """
    _setup_logging(_verbosity())
    arguments: dict[str, Any] = {}
    if args_json:
        try:
            parsed = json.loads(args_json)
        except (ValueError, RecursionError) as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="'--args'") from exc
        if not isinstance(parsed, dict):
            raise click.BadParameter("must be a JSON object", param_hint="'--args'")
        arguments.update(parsed)
    texts: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="PAIRS")
        texts[key] = value
    plugin = _split_target(target)
    _require_plugin(plugin)

    def show(item: Any, indent: int | None = 2) -> None:
        click.echo(item if isinstance(item, str) else _dumps(item, indent=indent))

    async def invoke(host: Host) -> Any:
        status = host.status(plugin)
        if status.state is not PluginState.RUNNING:
            why = f" at {status.phase}: {status.last_error}" if status.last_error else ""
            raise click.ClickException(f"plugin {plugin!r} is {status.state.value}{why}")
        spec = dict(host.entries()).get(target if "." in target else target.replace("__", ".", 1))
        properties = spec.input_schema.get("properties", {}) if spec is not None else {}
        for key, text in texts.items():
            arguments[key] = _parse_value(text, properties.get(key))
        streamed = spec is not None and spec.kind in (EntryKind.SYNC_GEN, EntryKind.ASYNC_GEN)
        if streamed and not as_json:
            async for item in host.stream(target, **arguments):
                show(item, indent=None)  # one line per item
            return None
        result = await host.call(target, **arguments)
        if as_json:
            click.echo(_dumps(result, indent=None))
        else:
            show(result)
        return None

    _run_host(_host_config(frozenset({plugin})), invoke)


@main.command()
@_json_option
@_only_option
def schema(as_json: bool, only: tuple[str, ...]) -> None:
    """All entries as an OpenAI-style tool list (always JSON; --json is accepted)."""
    _setup_logging(_verbosity())
    keep = _check_only(_split_only(only))
    tools = _run_host(_host_config(keep), lambda host: tool_definitions(host.entries()))
    click.echo(_dumps(tools))


@main.command()
@click.argument("plugin")
@click.option(
    "--examples",
    default=25,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Hypothesis examples per entry property.",
)
@click.option(
    "--days",
    default=3.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Mock days the periodic-job check runs.",
)
@_json_option
def check(plugin: str, examples: int, days: float, as_json: bool) -> None:
    """Check an installed plugin against the nekohooks contract (the contract kit).

    Entries are called with arguments drawn from their schemas, lifecycles are run in every
    order, periodic jobs run over days of mock time. Exit 1 if the plugin broke the contract.
    """
    _setup_logging(_verbosity(), default=logging.CRITICAL)  # the report says what went wrong
    _require_plugin(plugin)
    from .testing import check_plugin  # hypothesis and the kit load only for this command

    report = check_plugin(plugin, max_examples=examples, days=days, raise_on_violation=False)
    if as_json:
        click.echo(_dumps(attrs.asdict(report) | {"ok": report.ok}))
    elif report.ok:
        click.echo(
            f"plugin {plugin!r} kept the contract: {_count(report.entries, 'entry', 'entries')}"
            f", {_count(report.jobs, 'periodic job')}, {report.examples} generated examples"
        )
    else:
        click.echo(f"plugin {plugin!r} broke the contract:", err=True)
        for violation in report.violations:
            click.echo(f"  - {violation}", err=True)
    if not report.ok:
        sys.exit(1)


# ---- run ---------------------------------------------------------------------------------------


def _job_totals(status: PluginStatus) -> tuple[int, int, int]:
    return (
        sum(status.job_runs.values()),
        sum(status.job_failures.values()),
        sum(status.job_skipped.values()),
    )


def status_table(
    host: Host,
    keep: frozenset[str] | None = None,
    *,
    caption: str = "Ctrl-C or SIGTERM stops every plugin cleanly",
) -> Table:
    """The live status table of ``neko run``: one row per plugin."""
    statuses = [s for s in host.statuses() if keep is None or s.name in keep]
    running = sum(s.state is PluginState.RUNNING for s in statuses)
    title = f"nekohooks {__version__}: {running} of {len(statuses)} plugins running"
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("plugin", style="bold")
    table.add_column("state")
    table.add_column("restarts", justify="right")
    table.add_column("entries", justify="right")
    table.add_column("jobs runs/failed/skipped", justify="right")
    table.add_column("last error", overflow="fold", max_width=60)
    plugins = host.plugins
    for status in statuses:
        info = plugins.get(status.name)
        runs, failed, skipped = _job_totals(status)
        jobs = f"{runs}/{failed}/{skipped}" if info and info.jobs else "-"
        table.add_row(
            status.name,
            Text(status.state.value, style=_STATE_STYLE[status.state]),
            str(status.restarts),
            str(len(info.entries)) if info else "-",
            Text(jobs, style="red" if failed else ""),
            Text(status.last_error or "", style="red"),
        )
    return table


def _snapshot(status: PluginStatus) -> tuple[object, ...]:
    return (status.state, status.restarts, status.last_error)


async def _log_changes(host: Host, keep: frozenset[str] | None, every: float = 1.0) -> None:
    """Without a terminal: log each plugin's state once, then every change of state."""
    seen: dict[str, tuple[object, ...]] = {}
    while True:
        for status in host.statuses():
            if keep is not None and status.name not in keep:
                continue
            now = _snapshot(status)
            if seen.get(status.name) != now:
                seen[status.name] = now
                runs, failed, skipped = _job_totals(status)
                error = f" (last error: {status.last_error})" if status.last_error else ""
                log.info(
                    "%s: %s (restarts %d; job runs %d, failed %d, skipped %d)%s",
                    status.name,
                    status.state.value,
                    status.restarts,
                    runs,
                    failed,
                    skipped,
                    error,
                )
        await trio.sleep(every)


async def _refresh(live: Live, host: Host, keep: frozenset[str] | None, every: float) -> None:
    while True:
        live.update(status_table(host, keep), refresh=True)
        await trio.sleep(every)


class _StartupSignals:
    """SIGINT/SIGTERM while the plugins start, before :func:`serve` handles signals.

    A first signal cancels ``startup`` (the host then stops the plugins that did start,
    terminate included); a second one ends the process with ``os._exit(130)``. Once the host
    has started, :meth:`hand_over` closes this receiver and ``serve`` takes over.
    """

    def __init__(self) -> None:
        self.startup = trio.CancelScope()
        self._watching = trio.CancelScope()
        self._closed = trio.Event()

    async def watch(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        try:
            with (
                self._watching,
                trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals,
            ):
                task_status.started()
                async for signum in signals:
                    if self.startup.cancel_called:
                        log.error("second signal: exiting now")
                        logging.shutdown()
                        os._exit(130)
                    log.info("signal %d during start-up: shutting down", signum)
                    self.startup.cancel()
        finally:
            self._closed.set()

    async def hand_over(self) -> None:
        """Stop watching and wait until the receiver is closed (its handlers restored)."""
        self._watching.cancel()
        await self._closed.wait()


@main.command()
@_only_option
@click.option(
    "--no-live",
    is_flag=True,
    help="Log state changes as plain lines even on a terminal (no live table).",
)
def run(only: tuple[str, ...], no_live: bool) -> None:
    """Run the plugins until SIGINT or SIGTERM, then shut down cleanly.

    On a terminal a live table shows each plugin's state, restarts, entries, job runs and last
    error; otherwise state changes are logged. A second signal exits at once.
    """
    keep = _check_only(_split_only(only))
    config = _host_config(keep)
    live_on = sys.stdout.isatty() and not no_live
    verbosity = _verbosity()
    if live_on:  # log lines print above the live table
        handler = RichHandler(console=console, show_path=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        _setup_logging(verbosity, default=logging.INFO, handler=handler)
    else:
        _setup_logging(verbosity, default=logging.INFO)

    async def serve_plugins(live: Live | None) -> None:
        early = _StartupSignals()
        async with trio.open_nursery() as nursery:
            await nursery.start(early.watch)
            with early.startup:
                async with open_host(config) as host:
                    await early.hand_over()
                    if not host.runners:
                        names = ", ".join(_installed_names()) or "none"
                        log.warning("no plugins to run (installed: %s)", names)
                    async with trio.open_nursery() as reporters:

                        def ready() -> None:  # serve() handles the signals from here on
                            if live is not None:
                                reporters.start_soon(_refresh, live, host, keep, 0.5)
                            else:
                                reporters.start_soon(_log_changes, host, keep)

                        signum = await serve(host, on_ready=ready)
                        log.info("signal %d: shutting down", signum)
                        reporters.cancel_scope.cancel()
                if live is not None:
                    live.update(status_table(host, keep, caption="stopped"), refresh=True)
            nursery.cancel_scope.cancel()  # start-up was cancelled: stop watching
        log.info("stopped")

    try:
        if live_on:
            starting = Spinner("dots", text="starting plugins…")
            with Live(starting, console=console, auto_refresh=True, transient=False) as live:
                trio.run(serve_plugins, live)
        else:
            trio.run(serve_plugins, None)
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc


# ---- new ---------------------------------------------------------------------------------------


@main.command()
@click.argument("name")
@click.option(
    "--directory",
    "-d",
    type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
    help="The project folder to create (default: ./neko-NAME). Must be absent or empty.",
)
def new(name: str, directory: Path | None) -> None:
    """Scaffold a plugin distribution NAME: pyproject, plugin class, plugin.toml, tests."""
    problem = name_problem(name)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="NAME")
    target = directory if directory is not None else Path(distribution_name(name))
    if name in _installed_names():
        click.echo(
            f"warning: a plugin named {name!r} is already installed; two distributions "
            "with one plugin name cannot load together",
            err=True,
        )
    try:
        files = create(name, target)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"Created [bold]{target}[/] with plugin [bold]{name}[/]:", highlight=False)
    for path in files:
        console.print(f"  {path.relative_to(target).as_posix()}", highlight=False)
    console.print("\nNext:", highlight=False)
    steps = [
        f"cd {target}",
        "pip install -e .",
        "neko list",
        f"neko call {name}.hello name=Ada",
        "pytest",
        f"neko run --only {name}",
    ]
    for step in steps:
        console.print(f"  {step}", highlight=False, markup=False)


# ---- console -----------------------------------------------------------------------------------


@main.command("console")
@click.option("--open", "open_it", is_flag=True, help="Also open the link in a web browser.")
def console_link(open_it: bool) -> None:
    """Print a one-time login link to the running host's web console.

    The host must run with `neko run --listen 127.0.0.1:PORT`. The link works once, within
    5 minutes, and logs in the browser that opens it (an HttpOnly session cookie).
    """
    from .control import ControlError, connect

    client = connect(_host_config().home)
    if client is None:
        raise click.ClickException(
            "no host is running in this home; start one with `neko run --listen 127.0.0.1:8765`"
        )
    with client:
        try:
            url = client.console_link()
        except ControlError as exc:
            if exc.status == 404:
                raise click.ClickException(
                    "the running host serves no console: start it with "
                    "`neko run --listen 127.0.0.1:PORT`"
                ) from exc
            raise click.ClickException(str(exc)) from exc
    click.echo(url)
    if open_it:
        webbrowser.open(url)


if __name__ == "__main__":
    main()
