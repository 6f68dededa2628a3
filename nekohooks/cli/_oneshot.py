"""A one-shot command's host: read the config, start the plugins, run one body, stop them."""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import click

from .._config import HostConfig, PluginFilter, check_home, load_config
from .._errors import NekoError
from .._model import PluginState
from ..control import deny_disabled
from ._options import installed_names, verbosity

if TYPE_CHECKING:  # run_host loads them: `neko list` uses host_config alone, without trio
    from .._host import Host
    from ._signals import Deadline

__all__ = ["SLACK", "config_source", "host_config", "run_host", "unknown_names"]


def config_source(config: HostConfig) -> str:
    """The host config file in effect, as shown to the operator (or that there is none)."""
    if config.source is not None:
        return str(config.source)
    return f"{config.home / 'neko.toml'} (absent: defaults)"


def unknown_names(config: HostConfig) -> str | None:
    """What is wrong if the config's plugin filter names plugins that are not installed."""
    installed = installed_names()
    unknown = sorted(config.plugin_filter.named() - set(installed))
    if not unknown:
        return None
    return (
        f"no installed plugin {', '.join(map(repr, unknown))} (named in NEKO_LOAD_PLUGINS, "
        f"NEKO_DISABLE_PLUGINS or [plugins] of {config_source(config)}; installed: "
        f"{', '.join(installed) or 'none'})"
    )


def host_config(only: frozenset[str] | None = None) -> HostConfig:
    """The host config (``neko.toml`` + environment), restricted to ``only`` if given.

    A plugin name in the filters that is not installed is a usage error (exit 2), as an
    unknown ``--only`` name is: a typo must not silently load nothing.
    """
    try:
        config = load_config()
        check_home(config.home)  # before anything reads or writes there
        config = deny_disabled(config)  # `neko disable`d plugins stay disabled
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc
    problem = unknown_names(config)
    if problem is not None:
        raise click.UsageError(problem)
    if only is None:
        return config
    current = config.plugin_filter
    allow = only if current.allow is None else current.allow & only
    return attrs.evolve(config, plugin_filter=PluginFilter(frozenset(allow), current.deny))


#: Real seconds a phase may overrun its own limit before the process ends regardless.
SLACK = 2.0


def run_host(
    config: HostConfig, body: Callable[[Host], Any], *, deadline: Deadline | None = None
) -> Any:
    """Start the host, run ``body(host)`` (sync or async), shut down; NekoError → exit 1.

    Every phase has a hard real-time limit (:class:`Deadline`): start-up its
    ``startup_timeout``, shutdown its ``shutdown_timeout``, each plus :data:`SLACK`; ``body``
    may arm ``deadline`` for its own work (``neko call`` does, per call). A first SIGINT or
    SIGTERM cancels the command and shuts down (then exit 130); a second exits at once (130).
    """
    import trio

    from .._host import open_host
    from ._signals import Deadline, StartupSignals

    limits = config.limits
    deadline = deadline or Deadline()
    signals = StartupSignals(during="the command")

    def stopping(host: Host) -> Callable[[], str]:
        def why() -> str:
            stuck = [s.name for s in host.statuses() if s.state is PluginState.STOPPING]
            return (
                f"shutdown did not finish within {limits.shutdown_timeout + SLACK:g}s (still "
                f"stopping: {', '.join(stuck) or 'no plugin'}); exiting"
            )

        return why

    async def hosted() -> Any:
        result = None
        with signals.startup:
            deadline.arm(
                limits.startup_timeout + SLACK,
                lambda: (
                    f"start-up did not finish within {limits.startup_timeout + SLACK:g}s "
                    "(a plugin's startup ignores cancellation?); exiting"
                ),
            )
            async with open_host(config) as host:
                deadline.disarm()
                try:
                    result = body(host)
                    if inspect.isawaitable(result):
                        result = await result
                finally:
                    deadline.arm(limits.shutdown_timeout + SLACK, stopping(host))
            deadline.disarm()
        return result

    async def main() -> Any:
        error: Exception | None = None
        async with trio.open_nursery() as nursery:
            await nursery.start(signals.watch)
            try:
                result = await hosted()
            except Exception as exc:  # re-raised below, outside the nursery, unwrapped
                error = exc
            nursery.cancel_scope.cancel()
        if error is not None:
            raise error
        return result

    try:
        result = trio.run(main)
    except NekoError as exc:
        if verbosity() >= 2:  # -vv / --debug: the plugin's own traceback (chained as cause)
            traceback.print_exception(exc, file=sys.stderr)
        raise click.ClickException(str(exc)) from exc
    finally:
        deadline.disarm()
    if signals.signal is not None:
        click.echo(f"interrupted by signal {signals.signal}", err=True)
        sys.exit(130)
    return result
