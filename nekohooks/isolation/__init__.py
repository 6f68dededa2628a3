"""Isolation: plugins in their own processes (frames, transport, child, runner, sandbox).

A plugin configured with ``isolation = "process"`` (or ``sandbox = true``) in ``neko.toml``
gets a :class:`ProcessRunner` instead of the in-process runner; the host cannot tell them
apart. See the README's "Isolation" section for what this does and does not protect against.

The names below are imported on first use: a plugin's process (and the fork server) imports
only :mod:`._child`, not the host's side (the runner, environments), so it stays small.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers; at run time each is imported on first use
    from ._envs import InstallError, add_env_plugins, install_isolated
    from ._runner import ChildProbes, KitMode, ProcessRunner, RemoteError, kit_children

__all__ = [
    "ChildProbes",
    "InstallError",
    "KitMode",
    "ProcessRunner",
    "RemoteError",
    "add_env_plugins",
    "install_isolated",
    "kit_children",
]

_HOMES = {
    "ChildProbes": "_runner",
    "InstallError": "_envs",
    "KitMode": "_runner",
    "ProcessRunner": "_runner",
    "RemoteError": "_runner",
    "add_env_plugins": "_envs",
    "install_isolated": "_envs",
    "kit_children": "_runner",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nekohooks.isolation' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
