"""What the ``neko`` commands print: plugin rows, tables, JSON and the live status table."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Collection
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .._host import Host
from .._model import PluginState, PluginStatus
from .._version import __version__

__all__ = [
    "BROKEN",
    "console",
    "count",
    "dumps",
    "info_lines",
    "job_totals",
    "plugins_table",
    "status_table",
]

# On a terminal rich fits its width; piped output gets wide lines instead of wrapped cells.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)

#: States in which a plugin is not serving because something went wrong (``list --strict``).
BROKEN = frozenset({PluginState.FAILED, PluginState.FAILED_TO_LOAD, PluginState.RESTARTING})
_STATE_STYLE = {
    PluginState.RUNNING: "green",
    PluginState.STARTING: "cyan",
    PluginState.RESTARTING: "yellow",
    PluginState.FAILED: "bold red",
    PluginState.FAILED_TO_LOAD: "bold red",
    PluginState.DISABLED: "dim",
    PluginState.STOPPING: "cyan",
    PluginState.STOPPED: "dim",
}


def process_text(pid: int | None, rss: int | None) -> str:
    """``pid 4242, 29.1 MiB`` for an isolated plugin's process, ``-`` in the host's own."""
    if pid is None:
        return "-"
    return f"pid {pid}" + (f", {rss / (1 << 20):.1f} MiB" if rss is not None else "")


def count(items: Collection[object], one: str, many: str | None = None) -> str:
    """``3 entries``, ``1 entry``."""
    return f"{len(items)} {one if len(items) == 1 else many or one + 's'}"


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """JSON as the commands print it (non-ASCII kept, unknown objects as ``str``)."""
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def plugins_table(rows: list[dict[str, Any]]) -> Table:
    """``neko list``'s table of :func:`~nekohooks._records.plugin_records` rows."""
    table = Table("plugin", "distribution", "status", "entries", "schedules", "error")
    for row in rows:
        state = PluginState(row["status"])
        table.add_row(  # Text: plugin-supplied strings are shown as written, not as markup
            Text(row["name"]),
            Text(f"{row['distribution'] or '-'} {row['version'] or ''}".strip()),
            Text(row["status"], style=_STATE_STYLE[state]),
            Text(", ".join(row["entries"])),
            Text(", ".join(f"{k}: {v}" for k, v in row["schedules"].items())),
            Text(row["error"] or ""),
        )
    return table


def info_lines(row: dict[str, Any]) -> None:
    """Print ``neko info``'s text view of one plugin record."""
    name = escape(row["name"])
    console.print(f"[bold]{name}[/] {escape(row['distribution'] or '')} {row['version'] or ''}")
    error = f" ({row['error']})" if row["error"] else ""
    console.print(f"status: {row['status']}{error}", markup=False)
    if row["pid"] is not None:
        process = process_text(row["pid"], row["rss"])
        console.print(f"process: {process}, restarts {row['restarts']}", highlight=False)
    if row["description"]:
        console.print(row["description"], markup=False)
    for entry in row["entries"]:
        params = entry["parameters"].get("properties", {})
        required = set(entry["parameters"].get("required", []))
        args = ", ".join(
            f"{name}{'' if name in required else '?'}: {spec.get('type', 'any')}"
            for name, spec in params.items()
        )
        console.print(
            f"  {name}.{escape(entry['id'])}({escape(args)}) [dim]{escape(entry['description'])}[/]",
            highlight=False,
            soft_wrap=True,
        )
    for job, schedule in row["schedules"].items():
        console.print(f"  job {job}: {schedule}", markup=False)


def job_totals(status: PluginStatus) -> tuple[int, int, int]:
    """A plugin's job runs, failures and skipped ticks, summed over its jobs."""
    return (
        sum(status.job_runs.values()),
        sum(status.job_failures.values()),
        sum(status.job_skipped.values()),
    )


def status_table(
    host: Host,
    keep: frozenset[str] | None = None,
    *,
    caption: str = "Ctrl-C or SIGTERM stops every plugin cleanly",
) -> Table:
    """The live status table of ``neko run``: one row per plugin."""
    statuses = [s for s in host.statuses() if keep is None or s.name in keep]
    running = sum(s.state is PluginState.RUNNING for s in statuses)
    title = f"nekohooks {__version__}: {running} of {len(statuses)} plugins running"
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("plugin", style="bold")
    table.add_column("state")
    table.add_column("restarts", justify="right")
    table.add_column("entries", justify="right")
    table.add_column("jobs runs/failed/skipped", justify="right")
    isolated = any(s.pid is not None for s in statuses)
    if isolated:
        table.add_column("process", justify="right")
    table.add_column("last error", overflow="fold", max_width=60)
    plugins = host.plugins
    for status in statuses:
        info = plugins.get(status.name)
        runs, failed, skipped = job_totals(status)
        jobs = f"{runs}/{failed}/{skipped}" if info and info.jobs else "-"
        process = [process_text(status.pid, status.rss)] if isolated else []
        table.add_row(
            status.name,
            Text(status.state.value, style=_STATE_STYLE[status.state]),
            str(status.restarts),
            str(len(info.entries)) if info else "-",
            Text(jobs, style="red" if failed else ""),
            *process,
            Text(status.last_error or "", style="red"),
        )
    return table
