"""``neko install --isolated``: a plugin and its own dependencies in an environment of its own."""

from __future__ import annotations

import click

from .._config import load_config
from .._errors import ConfigError

__all__ = ["install"]


@click.command()
@click.argument("requirements", nargs=-1, required=True)
@click.option(
    "--isolated",
    is_flag=True,
    required=True,
    help="Into a venv of its own under $NEKO_HOME/envs (the only mode for now).",
)
@click.option("--find-links", "-f", multiple=True, metavar="DIR", help="Passed to the installer.")
@click.option("--no-index", is_flag=True, help="Passed to the installer: no package index.")
def install(
    requirements: tuple[str, ...], isolated: bool, find_links: tuple[str, ...], no_index: bool
) -> None:
    """Install REQUIREMENTS (names, wheels or folders) into an environment of their own.

    The venv (made with uv when it is on PATH, else venv + pip) sees the host's nekohooks
    after its own packages, so the plugin's pinned versions win; the host then runs each of
    its plugins in a process on that venv's Python. Two plugins that need incompatible
    versions of one library can so run in one host.
    """
    from ..isolation import InstallError, install_isolated  # msgspec and friends: only here

    pip_args = [arg for link in find_links for arg in ("--find-links", link)]
    pip_args += ["--no-index"] if no_index else []
    try:
        home = load_config().home
        names = install_isolated(home, requirements, pip_args=pip_args, echo=click.echo)
    except (InstallError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"installed {', '.join(names)}: isolated, in {home / 'envs'}")
