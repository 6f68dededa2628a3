"""Plugin records as JSON: the rows of ``neko list --json`` and the detail of ``neko info --json``.

One builder for every surface (the CLI, the control API, the console), so that a plugin reads
the same whichever host answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._model import LoadFailure, PluginInfo, PluginState, PluginStatus

if TYPE_CHECKING:  # only passed in: listing from the manifest cache loads no host or trio
    from ._host import Host
    from ._manifests import Listing

__all__ = ["INSTALLED", "listing_records", "plugin_detail", "plugin_record", "plugin_records"]


StateOf = Callable[[PluginStatus], str]

INSTALLED = "installed"
"""The status of a plugin that loads but is not running anywhere: what ``neko list`` shows
with no host running (see :func:`listing_records`)."""


def _plain(status: PluginStatus) -> str:
    return status.state.value


def _record(
    name: str,
    distribution: str | None,
    version: str | None,
    status: str,
    *,
    entries: Iterable[str] = (),
    schedules: Mapping[str, str] | None = None,
    error: str | None = None,
    phase: str | None = None,
    restarts: int = 0,
    pid: int | None = None,
    rss: int | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "distribution": distribution,
        "version": version,
        "status": status,
        "entries": list(entries),
        "schedules": dict(schedules or {}),
        "error": error,
        "phase": phase,
        "restarts": restarts,
        "pid": pid,  # an isolated plugin's process, and its resident memory
        "rss": rss,
    }


def _row(
    status: PluginStatus,
    plugins: dict[str, PluginInfo],
    failures: dict[str, LoadFailure],
    state: StateOf,
) -> dict[str, Any]:
    info = plugins.get(status.name)
    source = info or failures.get(status.name)
    return _record(
        status.name,
        source.distribution if source else None,
        source.version if source else None,
        state(status),
        entries=[e.id for e in info.entries] if info else [],
        schedules={j.id: j.describe() for j in info.jobs} if info else {},
        error=status.last_error,
        phase=status.phase,
        restarts=status.restarts,
        pid=status.pid,
        rss=status.rss,
    )


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


def listing_records(listing: Listing, keep: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`plugin_records` for plugins that no host runs (``neko list`` with
    none running): status :data:`INSTALLED` for each plugin that loads, ``disabled``, or
    ``failed-to-load`` with the phase and error; sorted by name, only those in ``keep`` if
    given. A name in several lists reads as a host reads it: loaded, else disabled, else its
    failure."""
    rows: dict[str, dict[str, Any]] = {}
    for failure in listing.failures:
        rows[failure.name] = _record(
            failure.name,
            failure.distribution,
            failure.version,
            PluginState.FAILED_TO_LOAD.value,
            error=failure.error,
            phase=failure.phase,
        )
    for name in listing.disabled:
        rows[name] = _record(name, None, None, PluginState.DISABLED.value)
    for manifest in listing.plugins:
        rows[manifest.name] = _record(
            manifest.name,
            manifest.distribution,
            manifest.version,
            INSTALLED,
            entries=manifest.entries,
            schedules=dict(manifest.schedules),
        )
    return [rows[name] for name in sorted(rows) if keep is None or name in keep]
