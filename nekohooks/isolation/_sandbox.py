"""The sandbox: bubblewrap around a plugin's process, so the process boundary is also a wall.

Inside: the whole file system read-only (system, interpreter, site-packages), the nekohooks
home replaced by an empty read-only folder except the plugin's own home (writable), a private
``/tmp``, its own PID namespace, and no network unless ``network = true`` (then the host's).
What it does not stop: reading world-readable files outside the nekohooks home, using CPU
(see the memory limit and the entry timeouts for the rest), and kernel exploits.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import trio

__all__ = ["SandboxUnavailable", "bwrap_prefix", "check_bwrap"]


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create its namespaces on this machine."""


_checked: dict[str, str | None] = {}


async def check_bwrap() -> str:
    """The path of a working ``bwrap``.

    Raises:
        SandboxUnavailable: it is not installed, or it fails to start a trivial sandbox here
            (user namespaces disabled, a seccomp profile in a container).

    Cancellation: the probe (a few milliseconds) is killed.
    """
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(
            "sandbox = true needs bubblewrap (bwrap), which is not installed "
            "(Debian/Ubuntu: apt-get install bubblewrap)"
        )
    if path not in _checked:
        result = await trio.run_process(
            [path, "--ro-bind", "/", "/", "--unshare-pid", "--die-with-parent", "true"],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        problem = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
        _checked[path] = None if result.returncode == 0 else problem
    failure = _checked[path]
    if failure is not None:
        raise SandboxUnavailable(f"bubblewrap ({path}) cannot run here: {failure}")
    return path


def bwrap_prefix(
    bwrap: str,
    *,
    neko_home: Path,
    plugin_home: Path,
    network: bool,
    visible: Iterable[Path] = (),
) -> list[str]:
    """The ``bwrap ...`` arguments that go before the child's command.

    ``visible``: folders the child needs that may sit under ``/tmp`` (the interpreter's prefix,
    ``PYTHONPATH`` entries); they are bound read-only into the private ``/tmp``.
    """
    args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for folder in visible:
        if folder.is_relative_to("/tmp") and folder.exists():
            args += ["--ro-bind", str(folder), str(folder)]
    home, own = str(neko_home.resolve()), str(plugin_home.resolve())
    args += ["--tmpfs", home, "--bind", own, own, "--remount-ro", home]
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    if not network:
        args.append("--unshare-net")
    return [*args, "--"]
