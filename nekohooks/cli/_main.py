"""The ``neko`` click group: its options, and its commands, each imported when it runs."""

from __future__ import annotations

import importlib
import threading
from typing import Any

import click

from ._about import version_lines

__all__ = ["main"]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``neko --version`` among other options (alone, :func:`~nekohooks.cli.run` answers it)."""
    if not value or ctx.resilient_parsing:
        return
    for line in version_lines():
        click.echo(line)
    ctx.exit()


COMMANDS = {
    "list": "._list:list_plugins",
    "info": "._plugins:info",
    "call": "._plugins:call",
    "schema": "._plugins:schema",
    "check": "._plugins:check",
    "run": "._run:run",
    "new": "._new:new",
    "doctor": "._doctor:doctor",
    "adopt": "._adopt:adopt",
    "say": "._say:say",
    "status": "._live:status",
    "enable": "._live:enable",
    "disable": "._live:disable",
    "restart": "._live:restart",
    "reload": "._live:reload",
    "install": "._live:install",
    "uninstall": "._live:uninstall",
    "events": "._live:events",
    "token": "._live:token",
    "console": "._console:console",
}
"""Each command's module and name, imported only when that command runs (or ``--help`` lists
them): ``neko --version`` does not import the host, trio or rich. Add a command here."""


class _NekoGroup(click.Group):
    """The ``neko`` group: commands load on first use; a finished command exits even if a
    plugin leaked a thread."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, name = COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module, __package__), name), cmd_name)
        return self.commands.get(cmd_name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if kwargs.get("standalone_mode", True) and threading.active_count() > 1:
                from ._signals import exit_despite_leaked_threads

                exit_despite_leaked_threads(code)
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
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log output on stderr; -vv: debug, with plugins' tracebacks.",
)
@click.option("--debug", is_flag=True, help="The same as -vv.")
def main(verbose: int, debug: bool) -> None:
    """nekohooks: run and inspect plugins installed as packages.

    Plugins are distributions registered in the `neko.plugins` entry-point group. NEKO_HOME,
    NEKO_CONFIG, NEKO_LOAD_PLUGINS and NEKO_DISABLE_PLUGINS apply to every command.
    """
