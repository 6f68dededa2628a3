"""Plugin records as JSON: the rows of ``neko list --json`` and the detail of ``neko info --json``.

One builder for every surface (the CLI, the control API, the console), so that a plugin reads
the same whichever host answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._host import Host
from ._model import LoadFailure, PluginInfo, PluginStatus

__all__ = ["plugin_detail", "plugin_record", "plugin_records"]


StateOf = Callable[[PluginStatus], str]


def _plain(status: PluginStatus) -> str:
    return status.state.value


def _row(
    status: PluginStatus,
    plugins: dict[str, PluginInfo],
    failures: dict[str, LoadFailure],
    state: StateOf,
) -> dict[str, Any]:
    info = plugins.get(status.name)
    source = info or failures.get(status.name)
    return {
        "name": status.name,
        "distribution": source.distribution if source else None,
        "version": source.version if source else None,
        "status": state(status),
        "entries": [e.id for e in info.entries] if info else [],
        "schedules": {j.id: j.describe() for j in info.jobs} if info else {},
        "error": status.last_error,
        "phase": status.phase,
        "restarts": status.restarts,
        "pid": status.pid,  # an isolated plugin's process, and its resident memory
        "rss": status.rss,
    }


def _sources(host: Host) -> tuple[dict[str, PluginInfo], dict[str, LoadFailure]]:
    return host.plugins, {f.name: f for f in host.failures}


def plugin_records(
    host: Host, state: StateOf = _plain, keep: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """Every plugin the host knows of (or those in ``keep``), sorted by name: ``name,
    distribution, version, status, entries, schedules, error, phase, restarts, pid, rss`` (the
    rows of ``neko list --json``). ``state`` says what to show as a status's state (the control
    API shows user-disabled plugins so)."""
    plugins, failures = _sources(host)  # each access builds a fresh dict: once, not per row
    return [
        _row(status, plugins, failures, state)
        for status in host.statuses()
        if keep is None or status.name in keep
    ]


def plugin_record(host: Host, name: str, state: StateOf = _plain) -> dict[str, Any]:
    """One plugin's row, as in :func:`plugin_records`.

    Raises:
        EntryNotFound: the host knows no plugin ``name``.
    """
    return _row(host.status(name), *_sources(host), state)


def plugin_detail(host: Host, name: str, state: StateOf = _plain) -> dict[str, Any]:
    """One plugin as ``neko info --json``: its row, its description, each entry's kind,
    where it runs, timeout and parameters (JSON Schema), and the live counters
    (``restarts``, ``tasks``, ``job_runs``, ``job_failures``, ``job_skipped``, ``loop_blocks``).

    Raises:
        EntryNotFound: the host knows no plugin ``name``.
    """
    status = host.status(name)
    plugins, failures = _sources(host)
    row = _row(status, plugins, failures, state)
    info = plugins.get(name)
    row["description"] = info.description if info else ""
    row["entries"] = [
        {
            "id": e.id,
            "description": e.description,
            "kind": e.kind.value,
            "runs_on": e.runs_on.value,
            "timeout": e.timeout,
            "parameters": dict(e.input_schema),
        }
        for e in (info.entries if info else ())
    ]
    row["commands"] = [h.record() for h in (info.handlers if info else ())]
    row.update(
        tasks=list(status.tasks),
        job_runs=dict(status.job_runs),
        job_failures=dict(status.job_failures),
        job_skipped=dict(status.job_skipped),
        loop_blocks=status.loop_blocks,
    )
    return row
