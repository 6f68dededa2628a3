"""``neko install --isolated``: a plugin and its own dependencies in an environment of its own."""

from __future__ import annotations

import click

from .._config import load_config
from .._errors import ConfigError

__all__ = ["install_isolated"]


#: pip options that take a value: the token after them is not a requirement.
_VALUED = frozenset({"-f", "--find-links", "-i", "--index-url", "--extra-index-url", "-c"})


def install_isolated(packages: tuple[str, ...]) -> None:
    """``neko install --isolated PKG...``: install PACKAGES (names, wheels or folders) into an
    environment of their own; pip options among them pass through to the installer.

    The venv (made with uv when it is on PATH, else venv + pip) sees the host's nekohooks
    after its own packages, so the plugin's pinned versions win; the host then runs each of
    its plugins in a process on that venv's Python. Two plugins that need incompatible
    versions of one library can so run in one host.
    """
    from ..isolation import InstallError
    from ..isolation import install_isolated as install  # msgspec and friends: only here

    requirements: list[str] = []
    pip_args: list[str] = []
    tokens = iter(packages)
    for token in tokens:
        if token.startswith("-"):
            pip_args.append(token)
            if token in _VALUED:
                pip_args.append(next(tokens, ""))
        else:
            requirements.append(token)
    if not requirements:
        raise click.UsageError("name at least one package to install")
    try:
        home = load_config().home
        names = install(home, requirements, pip_args=pip_args, echo=click.echo)
    except (InstallError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"installed {', '.join(names)}: isolated, in {home / 'envs'}")
