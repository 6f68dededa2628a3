"""What the host's event stream told the CLI: each job's last run, and from it the next one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from .._model import JobSpec, PluginStatus
from .._schedule import Cron, Every, next_fire

if TYPE_CHECKING:  # `neko list` renders with `_render`, which needs neither trio nor a host
    import trio

    from .._host import Host

__all__ = ["Activity", "ago", "span"]


def span(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``, ``3d04h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def ago(when: float | None, now: float) -> str:
    """``12s ago``, or ``never``."""
    return "never" if when is None else f"{span(now - when)} ago"


@attrs.define
class Activity:
    """Each job's last run (epoch seconds), from the ``job`` events of :meth:`follow`."""

    last_run: dict[tuple[str, str], float] = attrs.field(factory=dict)

    async def follow(self, host: Host, *, task_status: trio.TaskStatus[None]) -> None:
        """Record job runs until cancelled (start it with ``nursery.start``)."""
        from .._events import EventKind  # trio's: loaded by the host that runs this

        with host.events.subscribe() as events:
            task_status.started()
            async for event in events:
                if event.kind is EventKind.JOB and event.data.get("outcome") != "skipped":
                    self.last_run[(event.plugin or "", event.data["job"])] = event.time

    def last(self, plugin: str, job: str) -> float | None:
        """When ``job`` of ``plugin`` last ran (started a run that has ended), if seen."""
        return self.last_run.get((plugin, job))

    def next(self, status: PluginStatus, job: JobSpec, now: float) -> float | None:
        """When ``job`` runs next (epoch seconds), while the plugin runs; ``None`` otherwise.

        Interval jobs run on trio's clock: the time is the interval after the last run seen
        (or after the start), so it is an estimate within the job's jitter.
        """
        if status.since is None:
            return None
        schedule = job.schedule
        if isinstance(schedule, Cron):
            return next_fire(schedule, after=now)
        assert isinstance(schedule, Every)
        last = self.last(status.name, job.id)
        if last is None or last < status.since:
            first = schedule.seconds if schedule.first_in is None else schedule.first_in
            upcoming = status.since + first
        else:
            upcoming = last + schedule.seconds
        while upcoming < now:  # runs this follower missed (or ticks skipped)
            upcoming += schedule.seconds
        return upcoming

    def soonest(
        self, status: PluginStatus, jobs: Mapping[str, JobSpec], now: float
    ) -> tuple[str, float] | None:
        """The job of a plugin that runs next, and when."""
        upcoming = [
            (when, job_id)
            for job_id, job in jobs.items()
            if (when := self.next(status, job, now)) is not None
        ]
        if not upcoming:
            return None
        when, job_id = min(upcoming)
        return job_id, when
