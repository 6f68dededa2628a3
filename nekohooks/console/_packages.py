"""Install and uninstall plugin distributions from the console: pip in the host's own
environment, one at a time, then a rescan of the running host."""

from __future__ import annotations

import sys

import trio
from packaging.requirements import InvalidRequirement, Requirement

__all__ = ["PipFailed", "install_args", "run_pip"]

_OUTPUT_LIMIT = 4000


class PipFailed(Exception):
    """pip exited non-zero; the message ends with the tail of its output."""


def install_args(text: str) -> list[str]:
    """pip's arguments to install one requirement typed in the console.

    Only a distribution name with optional extras and version specifiers is accepted: no
    options, URLs, paths or markers, so the page cannot make pip read a file or run a build
    from elsewhere than the host's configured index.

    Raises:
        ValueError: ``text`` is not such a requirement.
    """
    text = text.strip()
    if not text or text.startswith("-"):
        raise ValueError(f"not a requirement: {text!r}")
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise ValueError(f"not a requirement: {text!r} ({exc})") from None
    if requirement.url or requirement.marker:
        raise ValueError(f"only a name and version specifiers, not {text!r}")
    return ["install", "--", str(requirement)]


async def run_pip(args: list[str], *, python: str = sys.executable) -> str:
    """Run ``python -m pip ARGS`` (no prompts) and return its output.

    Args:
        args: pip's arguments (``install_args(...)`` or ``["uninstall", "--yes", "--", dist]``).
        python: the interpreter whose environment pip changes (default: the host's own).

    Raises:
        PipFailed: pip exited non-zero.

    Cancellation: pip is never killed half-way through changing the environment; the run is
    shielded, and a cancel takes effect once pip has exited.
    """
    command = [python, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    with trio.CancelScope(shield=True):
        done = await trio.run_process(
            command, capture_stdout=True, capture_stderr=True, check=False
        )
    output = (done.stdout + done.stderr).decode("utf-8", errors="replace")[-_OUTPUT_LIMIT:]
    if done.returncode != 0:
        raise PipFailed(f"pip {' '.join(args)} failed (exit {done.returncode}):\n{output}")
    return output
