"""``neko run``: serve the plugins until a signal, with a live table or one log line per change."""

from __future__ import annotations

import logging
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import click
import trio
from rich.live import Live
from rich.logging import RichHandler
from rich.spinner import Spinner

from .._config import HostConfig
from .._errors import NekoError
from .._host import Host, open_host
from .._model import PluginStatus
from .._net import warm_http
from .._process import serve
from .._version import __version__
from ._activity import Activity
from ._logging import log_handler, setup_logging
from ._oneshot import config_source, host_config
from ._options import check_only, installed_names, only_option, split_only, verbosity
from ._render import console, job_totals, status_table
from ._signals import StartupSignals

__all__ = ["log_changes", "run"]

log = logging.getLogger("neko")


def _snapshot(status: PluginStatus) -> tuple[object, ...]:
    return (status.state, status.restarts, status.last_error)


async def log_changes(host: Host, keep: frozenset[str] | None, every: float = 1.0) -> None:
    """Without a terminal: log each plugin's state once, then every change of state."""
    seen: dict[str, tuple[object, ...]] = {}
    while True:
        for status in host.statuses():
            if keep is not None and status.name not in keep:
                continue
            now = _snapshot(status)
            if seen.get(status.name) != now:
                seen[status.name] = now
                runs, failed, skipped = job_totals(status)
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


async def _refresh(
    live: Live, host: Host, keep: frozenset[str] | None, every: float, activity: Activity
) -> None:
    while True:
        live.update(status_table(host, keep, activity=activity), refresh=True)
        await trio.sleep(every)


def startup_line(config: HostConfig, names: list[str]) -> str:
    """``neko run``'s first line: version, home, config file and the plugins found."""
    found = f"{len(names)} plugin(s) found" + (f": {', '.join(names)}" if names else "")
    return (
        f"nekohooks {__version__} starting; home {config.home}; config {config_source(config)}; "
        f"{found}"
    )


def _serving(
    host: Host, home: Path, address: tuple[str, int] | None, *, allow_install: bool
) -> AbstractAsyncContextManager[object]:
    """The control API on the home's socket; with an address, on TCP too with the web console."""
    if address is None:
        from ..control import open_control  # the server stack loads for `run` only

        return open_control(host, home=home)
    from ..console import open_console

    return open_console(host, home=home, listen=address, allow_install=allow_install)


def _listen_address(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    from ..control import parse_listen

    try:
        return parse_listen(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--listen'") from exc


@click.command()
@only_option
@click.option(
    "--no-live",
    is_flag=True,
    help="Log state changes as plain lines even on a terminal (no live table).",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Append the log to this file instead of the terminal.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line (time, level, logger, plugin, phase, message, exception).",
)
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Also serve the control API on TCP (bearer token: `neko token`) and the web console "
    "at / (login link: `neko console`).",
)
@click.option(
    "--allow-install",
    is_flag=True,
    help="Let the web console pip install and uninstall plugins (with --listen).",
)
def run(
    only: tuple[str, ...],
    no_live: bool,
    log_file: Path | None,
    log_format: str,
    listen: str | None,
    allow_install: bool,
) -> None:
    """Run the plugins until SIGINT or SIGTERM, then shut down cleanly.

    On a terminal a live table shows each plugin's state, restarts, entries, job runs and last
    error; otherwise state changes are logged. A second signal exits at once. The control API
    is served on $NEKO_HOME/run/neko.sock (and with --listen on TCP) while it runs.
    """
    address = _listen_address(listen)
    keep = check_only(split_only(only))
    config = host_config(keep)
    live_on = sys.stdout.isatty() and not no_live
    if live_on and log_file is None and log_format == "text":  # lines print above the table
        handler: logging.Handler = RichHandler(console=console, show_path=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        try:
            handler = log_handler(log_file, log_format)
        except OSError as exc:
            hint = "'--log-file'"
            raise click.BadParameter(f"{log_file}: {exc.strerror}", param_hint=hint) from None
    setup_logging(verbosity(), default=logging.INFO, handler=handler)
    found = [name for name in installed_names() if keep is None or name in keep]
    log.info("%s", startup_line(config, found))
    warm_http()  # before any plugin: its first ctx.http must not import httpx on the loop

    async def serve_plugins(live: Live | None) -> None:
        early = StartupSignals()
        activity = Activity()  # job runs, from the host's event stream

        async def hosted() -> None:
            with early.startup:
                async with (
                    open_host(config) as host,
                    _serving(host, config.home, address, allow_install=allow_install),
                ):
                    await early.hand_over()
                    if not host.runners:
                        names = ", ".join(installed_names()) or "none"
                        log.warning("no plugins to run (installed: %s)", names)
                    async with trio.open_nursery() as reporters:
                        await reporters.start(activity.follow, host)

                        def ready() -> None:  # serve() handles the signals from here on
                            if live is not None:
                                reporters.start_soon(_refresh, live, host, keep, 0.5, activity)
                            else:
                                reporters.start_soon(log_changes, host, keep)

                        signum = await serve(host, on_ready=ready)
                        log.info("signal %d: shutting down", signum)
                        reporters.cancel_scope.cancel()
                if live is not None:
                    table = status_table(host, keep, caption="stopped", activity=activity)
                    live.update(table, refresh=True)

        error: Exception | None = None
        async with trio.open_nursery() as nursery:
            await nursery.start(early.watch)
            try:
                await hosted()
            except Exception as exc:  # re-raised below, outside the nursery, unwrapped
                error = exc
            nursery.cancel_scope.cancel()  # start-up was cancelled (or failed): stop watching
        if error is not None:
            raise error
        log.info("stopped")

    try:
        from ..console import capture_recent

        with capture_recent():  # the console shows plugins' log lines from their start on
            if live_on:
                starting = Spinner("dots", text="starting plugins…")
                with Live(starting, console=console, auto_refresh=True, transient=False) as live:
                    trio.run(serve_plugins, live)
            else:
                trio.run(serve_plugins, None)
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc
