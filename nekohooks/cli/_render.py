"""What the ``neko`` commands print: plugin rows, tables, JSON and the live status table."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .._model import PluginState, PluginStatus
from .._records import INSTALLED, plugin_detail
from .._version import __version__
from ._activity import Activity, span

if TYPE_CHECKING:  # only passed in: `neko list` loads no host or trio
    from .._host import Host

__all__ = [
    "BROKEN",
    "console",
    "count",
    "dumps",
    "info_lines",
    "job_totals",
    "plugin_details",
    "plugins_table",
    "status_table",
]

# On a terminal rich fits its width; piped output gets wide lines instead of wrapped cells.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200)

#: Statuses of a plugin not serving because something went wrong (``list --strict``).
BROKEN = frozenset(
    s.value for s in (PluginState.FAILED, PluginState.FAILED_TO_LOAD, PluginState.RESTARTING)
)
_STATE_STYLE = {
    PluginState.RUNNING.value: "green",
    PluginState.STARTING.value: "cyan",
    PluginState.RESTARTING.value: "yellow",
    PluginState.FAILED.value: "bold red",
    PluginState.FAILED_TO_LOAD.value: "bold red",
    PluginState.DISABLED.value: "dim",
    PluginState.STOPPING.value: "cyan",
    PluginState.STOPPED.value: "dim",
    INSTALLED: "blue",
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
        table.add_row(  # Text: plugin-supplied strings are shown as written, not as markup
            Text(row["name"]),
            Text(f"{row['distribution'] or '-'} {row['version'] or ''}".strip()),
            Text(row["status"], style=_STATE_STYLE.get(row["status"], "")),
            Text(", ".join(row["entries"])),
            Text(", ".join(f"{k}: {v}" for k, v in row["schedules"].items())),
            Text(row["error"] or ""),
        )
    return table


def info_lines(row: dict[str, Any]) -> None:
    """Print ``neko info``'s text view of one plugin record (see :func:`plugin_details`).

    Plugin-supplied strings are escaped or printed without markup: shown as written.
    """
    name = escape(row["name"])
    console.print(f"[bold]{name}[/] {escape(row['distribution'] or '')} {row['version'] or ''}")
    error = f" ({row['error']})" if row["error"] else ""
    console.print(f"status: {row['status']}{error}", markup=False)
    calls = row.get("calls")
    if calls is not None:  # a running host's control API does not send these
        up = "-" if row["uptime"] is None else span(row["uptime"])
        console.print(
            f"up {up}; calls served {calls['served']} ({calls['failed']} failed, "
            f"{calls['timed_out']} timed out)",
            highlight=False,
        )
    if row["pid"] is not None:
        process = process_text(row["pid"], row["rss"])
        console.print(f"process: {process}, restarts {row['restarts']}", highlight=False)
    if row["description"]:
        console.print(row["description"], markup=False, highlight=False)
    for entry in row["entries"]:
        params = entry["parameters"].get("properties", {})
        required = set(entry["parameters"].get("required", []))
        args = ", ".join(
            f"{name}{'' if name in required else '?'}: {spec.get('type', 'any')}"
            for name, spec in params.items()
        )
        console.print(
            f"  {name}.{escape(entry['id'])}({escape(args)}) "
            f"\\[{entry['kind']}, {entry['runs_on']}] [dim]{escape(entry['description'])}[/]",
            highlight=False,
            soft_wrap=True,
        )
    if "jobs" not in row:
        for job_id, schedule in row["schedules"].items():
            console.print(f"  job {job_id}: {schedule}", markup=False)
    for job in row.get("jobs", ()):
        last = "never" if job["last_run"] is None else f"{span(job['last_run'])} ago"
        after = "-" if job["next_run"] is None else f"in {span(job['next_run'])}"
        console.print(
            f"  job {job['id']}: {job['schedule']}; runs {job['runs']} ({job['failures']} "
            f"failed, {job['skipped']} skipped); last {last}; next {after}",
            highlight=False,
            markup=False,
        )


def plugin_details(
    host: Host, name: str, activity: Activity | None = None, now: float | None = None
) -> dict[str, Any]:
    """``neko info``'s record of one plugin: :func:`~nekohooks._records.plugin_detail` plus
    its uptime (seconds), calls served, and each job's counters with its last and next run
    (seconds ago / from now; ``activity`` is what the event stream said about job runs)."""
    now = time.time() if now is None else now
    activity = activity or Activity()
    row = plugin_detail(host, name)
    found = host.plugins.get(name)
    status = host.status(name)
    row["uptime"] = None if status.since is None else now - status.since
    row["calls"] = {
        "served": status.calls,
        "failed": status.call_failures,
        "timed_out": status.call_timeouts,
    }
    jobs = []
    for job in found.jobs if found else ():
        last = activity.last(name, job.id)
        upcoming = activity.next(status, job, now)
        jobs.append(
            {
                "id": job.id,
                "schedule": job.describe(),
                "runs": status.job_runs.get(job.id, 0),
                "failures": status.job_failures.get(job.id, 0),
                "skipped": status.job_skipped.get(job.id, 0),
                "last_run": None if last is None else now - last,
                "next_run": None if upcoming is None else upcoming - now,
            }
        )
    row["jobs"] = jobs
    return row


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
    activity: Activity | None = None,
    now: float | None = None,
) -> Table:
    """The live status table of ``neko run``: one row per plugin.

    ``activity`` (the event stream's record of job runs) gives the next job's time; ``now``
    is the wall clock (default: ``time.time()``).
    """
    now = time.time() if now is None else now
    activity = activity or Activity()
    statuses = [s for s in host.statuses() if keep is None or s.name in keep]
    running = sum(s.state is PluginState.RUNNING for s in statuses)
    title = f"nekohooks {__version__}: {running} of {len(statuses)} plugins running"
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column("plugin", style="bold")
    table.add_column("state")
    table.add_column("up", justify="right")
    table.add_column("restarts", justify="right")
    table.add_column("entries", justify="right")
    table.add_column("calls", justify="right")
    table.add_column("jobs runs/failed/skipped", justify="right")
    table.add_column("next job")
    isolated = any(s.pid is not None for s in statuses)
    if isolated:
        table.add_column("process", justify="right")
    table.add_column("last error", overflow="fold", max_width=50)
    plugins = host.plugins
    for status in statuses:
        info = plugins.get(status.name)
        runs, failed, skipped = job_totals(status)
        jobs = f"{runs}/{failed}/{skipped}" if info and info.jobs else "-"
        failures = status.call_failures + status.call_timeouts
        calls = f"{status.calls}" + (f" ({failures} failed)" if failures else "")
        soonest = activity.soonest(status, {j.id: j for j in info.jobs}, now) if info else None
        process = [process_text(status.pid, status.rss)] if isolated else []
        table.add_row(
            status.name,
            Text(status.state.value, style=_STATE_STYLE[status.state.value]),
            span(now - status.since) if status.since is not None else "-",
            str(status.restarts),
            str(len(info.entries)) if info else "-",
            Text(calls, style="red" if failures else ""),
            Text(jobs, style="red" if failed else ""),
            f"{soonest[0]} in {span(soonest[1] - now)}" if soonest else "-",
            *process,
            Text(status.last_error or "", style="red"),
        )
    return table
