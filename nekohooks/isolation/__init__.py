"""Isolation: plugins in their own processes (frames, transport, child, runner, sandbox).

A plugin configured with ``isolation = "process"`` (or ``sandbox = true``) in ``neko.toml``
gets a :class:`ProcessRunner` instead of the in-process runner; the host cannot tell them
apart. See the README's "Isolation" section for what this does and does not protect against.
"""

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
