"""The ``neko`` command: list, inspect, call, run and scaffold plugins.

Nothing in nekohooks imports this package. The click group is :func:`main` (``_main``); the
console script is :func:`run`, which answers ``neko --version`` (``_about``) before click or
anything else is imported. Each group of commands is a module here (``_list``,
``_plugins``: info/call/schema/check, ``_run``, ``_new``, ``_doctor``, ``_adopt``, ``_isolation``, ...)
registered on :func:`main`; what they print is in ``_render``, their shared options in
``_options``, their log in ``_logging``, ``key=value`` parsing in ``_args``, and how the
process ends (signals, deadlines, leaked threads) in ``_signals``.

Every command that lists something takes ``--json`` (``schema`` always prints JSON). Exit codes:
0 success; 1 a plugin or entry problem (unknown plugin, bad argument value, failed call,
``list --strict`` with a failed plugin, ``check`` with a violation, ``new`` into a non-empty
folder); 2 a usage error (unknown option, malformed ``key=value``, bad ``--only``, an invalid
plugin name for ``new``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time on first use: `neko --version` must not pay for click
    from ._main import main

__all__ = ["main", "run"]


def run() -> None:
    """The ``neko`` console script: ``neko --version`` alone is answered at once, anything
    else is :func:`main`'s (which answers ``--version`` the same way)."""
    if sys.argv[1:] == ["--version"]:
        from ._about import version_lines

        sys.stdout.write("".join(f"{line}\n" for line in version_lines()))
        return
    from ._main import main

    main()


def __getattr__(name: str) -> Any:
    if name == "main":
        from ._main import main

        return main
    raise AttributeError(f"module 'nekohooks.cli' has no attribute {name!r}")
