"""``/metrics``: the host's counters in the Prometheus text format, through prometheus-client.

Two sources, one registry per control server:

* a custom collector reads ``host.statuses()`` at scrape time: plugin up, restarts, job runs,
  failures and skips, loop blocks (the counters the runners keep; nothing is duplicated);
* counters and a latency histogram fed by the API's call route: calls, failures, timeouts
  and latency per entry. Calls made in-process (``host.call`` from Python) are not counted.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .._errors import EntryTimeout, NekoError
from .._host import Host
from .._model import PluginState

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _HostCollector(Collector):
    """Reads the runners' own counters at scrape time."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        up = GaugeMetricFamily("neko_plugin_up", "1 if the plugin is running", labels=["plugin"])
        restarts = CounterMetricFamily(
            "neko_plugin_restarts", "Restarts after a crash", labels=["plugin"]
        )
        blocks = CounterMetricFamily(
            "neko_plugin_loop_blocks", "Times the plugin held the trio loop", labels=["plugin"]
        )
        labels = ["plugin", "job"]
        runs = CounterMetricFamily("neko_job_runs", "Periodic job runs", labels=labels)
        failures = CounterMetricFamily(
            "neko_job_failures", "Periodic job runs that raised or timed out", labels=labels
        )
        skipped = CounterMetricFamily(
            "neko_job_skipped", "Ticks skipped because the last run was going", labels=labels
        )
        for status in self.host.statuses():
            name = status.name
            up.add_metric([name], 1.0 if status.state is PluginState.RUNNING else 0.0)
            restarts.add_metric([name], status.restarts)
            blocks.add_metric([name], status.loop_blocks)
            for job, count in status.job_runs.items():
                runs.add_metric([name, job], count)
            for job, count in status.job_failures.items():
                failures.add_metric([name, job], count)
            for job, count in status.job_skipped.items():
                skipped.add_metric([name, job], count)
        yield from (up, restarts, blocks, runs, failures, skipped)


class Metrics:
    """The control server's registry: the host collector plus per-entry call metrics."""

    def __init__(self, host: Host) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_HostCollector(host))
        labels = ["plugin", "entry"]
        self.calls = Counter(
            "neko_calls", "Entry calls through the control API", labels, registry=self.registry
        )
        self.failures = Counter(
            "neko_call_failures",
            "Entry calls that failed (raised, refused arguments, plugin unavailable)",
            labels,
            registry=self.registry,
        )
        self.timeouts = Counter(
            "neko_call_timeouts", "Entry calls that timed out", labels, registry=self.registry
        )
        self.latency = Histogram(
            "neko_call_seconds", "Entry call latency", labels, registry=self.registry
        )

    def observe(self, plugin: str, entry: str, seconds: float, error: NekoError | None) -> None:
        """Count one call of an existing entry (unknown targets are not labelled: no
        unbounded label sets from hostile requests)."""
        self.calls.labels(plugin, entry).inc()
        self.latency.labels(plugin, entry).observe(seconds)
        if isinstance(error, EntryTimeout):
            self.timeouts.labels(plugin, entry).inc()
        elif error is not None:
            self.failures.labels(plugin, entry).inc()

    def render(self) -> bytes:
        """The whole registry in the Prometheus text format."""
        return generate_latest(self.registry)
