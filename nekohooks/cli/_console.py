"""``neko console``: a one-time login link to the running host's web console."""

from __future__ import annotations

import webbrowser

import click

from ..control import ControlError, connect
from ._oneshot import host_config

__all__ = ["console"]

_START = "`neko run --listen 127.0.0.1:PORT`"


@click.command()
@click.option("--open", "open_it", is_flag=True, help="Also open the link in a web browser.")
def console(open_it: bool) -> None:
    """Print a one-time login link to the running host's web console.

    The host must run with `neko run --listen 127.0.0.1:PORT`. The link works once, within
    5 minutes, and logs in the browser that opens it (an HttpOnly session cookie).
    """
    client = connect(host_config().home)
    if client is None:
        raise click.ClickException(f"no host is running in this home; start one with {_START}")
    with client:
        try:
            url = client.console_link()
        except ControlError as exc:
            if exc.status == 404:
                raise click.ClickException(
                    f"the running host serves no console: start it with {_START}"
                ) from exc
            raise click.ClickException(str(exc)) from exc
    click.echo(url)
    if open_it:
        webbrowser.open(url)
