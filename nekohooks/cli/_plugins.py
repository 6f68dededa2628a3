"""The one-shot commands on installed plugins: ``info``, ``call``, ``schema``, ``check``."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import attrs
import click

from .._address import parse_address
from .._errors import EntryTimeout
from .._model import EntryKind
from .._schema import tool_definitions
from ._args import not_json, parse_args_json, parse_pairs, parse_value, split_target
from ._live import local_option, remote_call, remote_info, remote_tools, running_host
from ._logging import setup_logging
from ._oneshot import SLACK, host_config, run_host
from ._options import (
    check_only,
    installed_names,
    json_option,
    only_option,
    require_plugin,
    split_only,
    verbosity,
)
from ._render import count, dumps, info_lines, plugin_details
from ._say import command_lines

if TYPE_CHECKING:  # the one-shot host, trio and the signal policy load when a host is started
    from .._host import Host

__all__ = ["call", "check", "info", "schema"]


@click.command()
@click.argument("plugin")
@json_option
@local_option
def info(plugin: str, as_json: bool, local: bool) -> None:
    """One plugin in detail, with each entry's parameters."""
    setup_logging(verbosity())
    require_plugin(plugin)
    keep = frozenset({plugin})
    client = running_host(local=local)

    row: dict[str, Any] = (
        remote_info(client, plugin)
        if client is not None
        else run_host(host_config(keep), lambda host: plugin_details(host, plugin))
    )
    if as_json:
        click.echo(dumps(row))
    else:
        info_lines(row)
        command_lines(row)


@click.command()
@click.argument("target")
@click.argument("pairs", nargs=-1)
@click.option("--args", "args_json", metavar="JSON", help="Arguments as one JSON object.")
@json_option
@local_option
def call(
    target: str, pairs: tuple[str, ...], args_json: str | None, as_json: bool, local: bool
) -> None:
    """Start one plugin, call PLUGIN.ENTRY once with key=value arguments, stop it.

    A value is taken as text where the entry's parameter is a string, else parsed as JSON where
    it parses (n=3, flag=true, tags='["a"]'), else taken as text. --args gives all arguments
    as one JSON object. Generator entries print each item as it arrives, one line each (a
    JSON list with --json).
    """
    setup_logging(verbosity())
    texts = parse_pairs(pairs, args_json=args_json)
    arguments = parse_args_json(args_json)
    installed = installed_names()  # one scan: it resolves the target and checks the plugin
    plugin = split_target(target, installed)
    require_plugin(plugin, installed)
    client = running_host(local=local)
    if client is not None:
        remote_call(
            client, plugin, target, arguments, texts, as_json=as_json, parse_value=parse_value
        )
        return

    def show(item: Any, indent: int | None = 2) -> None:
        if not_json(item):  # what the contract kit calls a violation is an error here too
            address = parse_address(target, plugins=installed)
            entry = address.entry if address is not None else target
            raise click.ClickException(
                f"plugin {plugin!r}: entry {entry!r} returned a value that is not JSON: "
                f"{item!r:.200}"
            )
        click.echo(item if isinstance(item, str) and not as_json else dumps(item, indent=indent))

    async def invoke(host: Host) -> Any:
        _, spec = host.entry(target)  # the host says why, if it cannot be called
        properties = spec.input_schema.get("properties", {})
        for key, text in texts.items():
            arguments[key] = parse_value(text, properties.get(key))
        streamed = spec.kind in (EntryKind.SYNC_GEN, EntryKind.ASYNC_GEN)
        # A call (each item of a stream) may take its timeout, then the grace to unwind; an
        # entry that ignores cancellation is abandoned there and the command exits 1.
        limits = host.config.limits
        timeout = spec.timeout or limits.entry_timeout
        entry = spec.id
        limit = timeout + limits.terminate_grace + SLACK

        def abandoned() -> str:
            return (
                f"{EntryTimeout(plugin, entry, timeout)}, and it did not stop within "
                f"{limits.terminate_grace + SLACK:g}s more (it ignores cancellation); "
                "abandoned it, exiting"
            )

        if streamed and not as_json:
            deadline.arm(limit, abandoned)
            async for item in host.stream(target, **arguments):
                deadline.disarm()
                show(item, indent=None)  # one line per item
                deadline.arm(limit, abandoned)
            deadline.disarm()
            return None
        deadline.arm(limit, abandoned)
        result = await host.call(target, **arguments)
        deadline.disarm()
        show(result, indent=None if as_json else 2)
        return None

    from ._signals import Deadline

    deadline = Deadline()
    run_host(host_config(frozenset({plugin})), invoke, deadline=deadline)


@click.command()
@json_option
@only_option
@local_option
def schema(as_json: bool, only: tuple[str, ...], local: bool) -> None:
    """All entries as an OpenAI-style tool list (always JSON; --json is accepted)."""
    setup_logging(verbosity())
    keep = check_only(split_only(only))
    client = running_host(local=local)
    tools = (
        remote_tools(client, keep)
        if client is not None
        else run_host(host_config(keep), lambda host: tool_definitions(host.entries()))
    )
    click.echo(dumps(tools))


@click.command()
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
@click.option(
    "--max-integer",
    default=10_000,
    show_default=True,
    type=click.IntRange(1),
    help="Bound for numbers an entry's schema leaves unbounded.",
)
@click.option(
    "--memory",
    "memory_mb",
    default=512,
    show_default=True,
    type=click.IntRange(1),
    metavar="MB",
    help="Memory one generated example may use.",
)
@click.option(
    "--example-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    metavar="SECONDS",
    help="Real time one generated example may take.",
)
@click.option(
    "--isolated",
    is_flag=True,
    help='Run the plugin in its own process (as with isolation = "process").',
)
@json_option
def check(
    plugin: str,
    examples: int,
    days: float,
    max_integer: int,
    memory_mb: int,
    example_timeout: float,
    isolated: bool,
    as_json: bool,
) -> None:
    """Check an installed plugin against the nekohooks contract (the contract kit).

    Entries are called with arguments drawn from their schemas, lifecycles are run in every
    order, periodic jobs run over days of mock time; each example runs under a memory and time
    budget. Progress goes to stderr. Exit 1 if the plugin broke the contract.
    """
    setup_logging(verbosity(), default=logging.CRITICAL)  # the report says what went wrong
    require_plugin(plugin)
    try:  # hypothesis and the kit load only for this command, and only with the extra
        from ..testing import Budget, check_plugin
    except ImportError as exc:  # one line saying what to install
        raise click.ClickException(str(exc)) from None

    budget = Budget(max_integer=max_integer, memory_mb=memory_mb, seconds=example_timeout)
    try:
        report = check_plugin(
            plugin,
            max_examples=examples,
            days=days,
            budget=budget,
            progress=lambda line: click.echo(line, err=True),
            raise_on_violation=False,
            isolation="process" if isolated else "none",
        )
    except KeyboardInterrupt:  # Ctrl-C: the kit's children and threads are daemons
        from .._process import EXIT_INTERRUPTED

        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if as_json:
        click.echo(dumps(attrs.asdict(report) | {"ok": report.ok}))
    elif report.ok:
        click.echo(
            f"plugin {plugin!r} kept the contract{' isolated' if isolated else ''}: "
            f"{count(report.entries, 'entry', 'entries')}"
            f", {count(report.jobs, 'periodic job')}, {report.examples} generated examples"
        )
    else:
        click.echo(f"plugin {plugin!r} broke the contract:", err=True)
        for violation in report.violations:
            click.echo(f"  - {violation}", err=True)
    if not report.ok:
        sys.exit(1)
