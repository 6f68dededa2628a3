"""The plugins table's live figures: uptime, restarts, isolation, calls and failures per plugin.

Uptime and restarts come from the host's runners; calls and failures from the control API's
Prometheus counters (``neko_calls``, ``neko_call_failures``, ``neko_call_timeouts``), read from
its registry so nothing is counted twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import trio
from prometheus_client import CollectorRegistry

from .._host import Host
from .._model import PluginState

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


def plugin_stats(host: Host, registry: CollectorRegistry | None) -> dict[str, dict[str, Any]]:
    """Per plugin name: ``uptime`` (seconds, ``None`` unless running), ``restarts``,
    ``isolation``, ``calls`` and ``failures`` (through the control API)."""
    now = trio.current_time()
    calls, failures = _per_plugin(registry)
    stats: dict[str, dict[str, Any]] = {}
    for status in host.statuses():
        runner = host.runners.get(status.name)
        started = getattr(runner, "started_at", None)
        running = status.state is PluginState.RUNNING and isinstance(started, float) and started
        stats[status.name] = {
            "uptime": round(now - started, 1) if running and started is not None else None,
            "restarts": status.restarts,
            "isolation": str(getattr(runner, "isolation", "in process")),
            "calls": calls[status.name],
            "failures": failures[status.name],
        }
    return stats
