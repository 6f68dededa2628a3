"""Options the commands share: ``-v``, ``--json``, and ``--only`` checked against the installed plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from .._config import load_config
from .._discovery import folder_candidates
from .._errors import NekoError
from .._scan_cache import cached_scan

__all__ = [
    "check_only",
    "installed_names",
    "json_option",
    "not_installed",
    "only_option",
    "require_plugin",
    "split_only",
    "verbosity",
]

F = TypeVar("F", bound=Callable[..., Any])


def verbosity() -> int:
    """How many ``-v`` the ``neko`` group was given (``--debug`` counts as two)."""
    params = click.get_current_context().find_root().params
    return max(int(params.get("verbose") or 0), 2 if params.get("debug") else 0)


def installed_names() -> list[str]:
    """The installed plugins' names and those in ``[plugins] folders`` (nothing is imported)."""
    try:
        folders = load_config().plugin_folders
    except NekoError:
        folders = ()
    return [cand.name for cand in cached_scan() + folder_candidates(folders)[0]]


def split_only(values: Iterable[str]) -> list[str]:
    """``--only a,b --only c`` → ``["a", "b", "c"]``."""
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def not_installed(names: Iterable[str], installed: list[str] | None = None) -> str | None:
    """What is wrong if some of ``names`` are not installed plugins, else ``None``."""
    installed = installed_names() if installed is None else installed
    unknown = [n for n in names if n not in installed]
    if not unknown:
        return None
    return (
        f"no installed plugin {', '.join(map(repr, unknown))} "
        f"(installed: {', '.join(installed) or 'none'})"
    )


def check_only(names: list[str]) -> frozenset[str] | None:
    """Validate ``--only`` names against the installed plugins (usage error if unknown)."""
    if not names:
        return None
    problem = not_installed(names)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--only'")
    return frozenset(names)


def require_plugin(name: str, installed: list[str] | None = None) -> None:
    """Exit 1 naming the installed plugins if ``name`` is not one of them."""
    problem = not_installed([name], installed)
    if problem is not None:
        raise click.ClickException(f"{problem}; see `neko list`")


def only_option(func: F) -> F:
    """``--only A,B`` (repeatable)."""
    return click.option(
        "--only",
        "only",
        multiple=True,
        metavar="A,B",
        help="Load only these plugins (comma-separated; may repeat).",
    )(func)


def json_option(func: F) -> F:
    """``--json``."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)
