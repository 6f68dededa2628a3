"""The plugins table's live figures: uptime, restarts, isolation, calls, failures and jobs.

Uptime, restarts and job runs come from the host's runners; calls and failures from the control API's
Prometheus counters (``neko_calls``, ``neko_call_failures``, ``neko_call_timeouts``), read from
its registry so nothing is counted twice.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import trio
from prometheus_client import CollectorRegistry

from .._config import PluginOptions
from .._host import Host
from .._model import PluginInfo, PluginState, PluginStatus
from .._schedule import Every, next_fire

__all__ = ["plugin_stats"]

_FAILURES = ("neko_call_failures_total", "neko_call_timeouts_total")


def _per_plugin(registry: CollectorRegistry | None) -> tuple[Counter[str], Counter[str]]:
    calls: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    if registry is None:
        return calls, failures
    for family in registry.collect():
        for sample in family.samples:
            plugin = sample.labels.get("plugin")
            if plugin is None:
                continue
            if sample.name == "neko_calls_total":
                calls[plugin] += int(sample.value)
            elif sample.name in _FAILURES:
                failures[plugin] += int(sample.value)
    return calls, failures


def _isolation(host: Host, name: str, runner: object) -> str:
    """Where the plugin runs, as the table shows it: in process, process, or sandbox."""
    options = getattr(runner, "options", None)  # a process runner's own (an own venv forces it)
    if not isinstance(options, PluginOptions):
        options = host.config.options(name)
    if options.sandbox:
        return "sandbox" if options.network else "sandbox, no network"
    return "process" if options.isolated else "in process"


def _jobs(
    info: PluginInfo | None,
    status: PluginStatus,
    runner: object,
    started: float | None,
    now: float,
    wall: float,
) -> list[dict[str, Any]]:
    """Each job's schedule, counters, and last and next run as Unix times. Trio-clock times
    (interval jobs, last starts) are moved onto the wall clock by the current offset; a runner
    that keeps no per-job start times (a process runner) shows none."""
    states = getattr(runner, "job_states", None) or {}
    rows = []
    for job in info.jobs if info else ():
        state = states.get(job.id)
        last = getattr(state, "last_started", None)
        if started is None:
            upcoming = None
        elif isinstance(job.schedule, Every):
            upcoming = wall + ((last if last is not None else started) + job.schedule.seconds - now)
        else:
            upcoming = next_fire(job.schedule, after=wall)
        rows.append(
            {
                "id": job.id,
                "schedule": job.describe(),
                # whole seconds: the clocks' offset jitters, and the page rebuilds on change
                "last_run": None if last is None else round(wall - (now - last)),
                "next_run": None if upcoming is None else round(upcoming),
                "runs": status.job_runs.get(job.id, 0),
                "failed": status.job_failures.get(job.id, 0),
                "skipped": status.job_skipped.get(job.id, 0),
            }
        )
    return rows


def plugin_stats(host: Host, registry: CollectorRegistry | None) -> dict[str, dict[str, Any]]:
    """Per plugin name: ``uptime`` (seconds, ``None`` unless running), ``restarts``,
    ``isolation``, ``calls`` and ``failures`` (through the control API), and ``jobs`` (each
    with ``schedule``, ``last_run``, ``next_run``, ``runs``, ``failed``, ``skipped``)."""
    now, wall = trio.current_time(), time.time()
    calls, failures = _per_plugin(registry)
    plugins = host.plugins
    stats: dict[str, dict[str, Any]] = {}
    for status in host.statuses():
        runner = host.runners.get(status.name)
        started = getattr(runner, "started_at", None)
        if status.state is not PluginState.RUNNING or not isinstance(started, float):
            started = None
        stats[status.name] = {
            "uptime": None if started is None else round(now - started, 1),
            "restarts": status.restarts,
            "isolation": _isolation(host, status.name, runner),
            "calls": calls[status.name],
            "failures": failures[status.name],
            "jobs": _jobs(plugins.get(status.name), status, runner, started, now, wall),
        }
    return stats
