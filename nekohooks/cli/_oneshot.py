"""A one-shot command's host: read the config, start the plugins, run one body, stop them."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import attrs
import click
import trio

from .._config import HostConfig, PluginFilter, load_config
from .._errors import NekoError
from .._host import Host, open_host
from ..control import deny_disabled

__all__ = ["host_config", "run_host"]


def host_config(only: frozenset[str] | None = None) -> HostConfig:
    """The host config (``neko.toml`` + environment), restricted to ``only`` if given."""
    try:
        config = deny_disabled(load_config())  # `neko disable`d plugins stay disabled
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc
    if only is None:
        return config
    current = config.plugin_filter
    allow = only if current.allow is None else current.allow & only
    return attrs.evolve(config, plugin_filter=PluginFilter(frozenset(allow), current.deny))


def run_host(config: HostConfig, body: Callable[[Host], Any]) -> Any:
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
