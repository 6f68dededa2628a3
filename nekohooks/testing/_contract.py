"""The contract: what every plugin must do in a host, checked with hypothesis.

:func:`check_plugin` runs one plugin through these properties and reports every violation with
the plugin, the entry or job, and hypothesis's minimal failing example:

1. **Entries answer.** Called with arguments drawn from its JSON Schema, an entry returns a
   JSON-serialisable value, or fails with a nekohooks error it raised on purpose; never an
   arbitrary exception, never a hang past its timeout.
2. **Bad arguments never reach the plugin.** Arguments drawn to violate the schema are refused
   with :class:`~nekohooks.InvalidArguments` before the plugin's code runs.
3. **Lifecycles leave nothing behind.** Startup, entry calls, clock jumps, stops and restarts in
   any order: afterwards no trio task, thread, file descriptor, HTTP client or store is left
   open, stopping twice is harmless, and terminate neither raises nor ignores cancellation.
4. **Periodic jobs keep time.** Over days of mock time each job fires on its schedule, never
   overlaps itself (a run longer than its interval) and does not fail.
5. **The loop is never held.** No plugin code blocks the trio loop longer than a threshold (a
   synchronous call inside async code).

Every check runs the plugin in a real host on trio's ``MockClock``, in a worker thread watched
in real time: a plugin that ignores cancellation and would hang the run forever is reported
(with where it is stuck) and interrupted. This module holds the properties; the watched thread
is in :mod:`._watched`, the leak probes in :mod:`._probes`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import tempfile
import threading
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import hypothesis
import hypothesis.strategies as st
import trio
import trio.lowlevel
import trio.testing

from .._config import Limits
from .._errors import EntryFailed, EntryTimeout, InvalidArguments, NekoError, PluginUnavailable
from .._model import EntrySpec, JobSpec, PluginState
from .._schedule import Cron, Every, next_fire
from ..isolation import ChildProbes
from ._harness import PluginHarness, open_harness
from ._probes import Resources, all_tasks, foreign_threads, open_fds, settled
from ._strategies import invalid_arguments, valid_arguments
from ._watched import IO_GRACE_CALLS, IO_GRACE_JOBS, LiveHost, Stalled, run_watched

__all__ = ["ContractReport", "ContractViolation", "check_plugin"]

T = TypeVar("T")
Arguments = dict[str, Any]


class ContractViolation(AssertionError):
    """A plugin broke the contract; the message lists each violation with its example."""

    def __init__(self, report: ContractReport) -> None:
        lines = "\n".join(f"  - {v}" for v in report.violations)
        super().__init__(
            f"plugin {report.plugin!r} broke the nekohooks contract "
            f"({len(report.violations)} violation(s)):\n{lines}"
        )
        self.report = report


@attrs.frozen
class ContractReport:
    """What :func:`check_plugin` checked, and what it found."""

    plugin: str
    entries: tuple[str, ...]
    jobs: tuple[str, ...]
    examples: int
    violations: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the plugin kept the whole contract."""
        return not self.violations


def check_plugin(
    plugin: str | object,
    *,
    name: str | None = None,
    max_examples: int = 25,
    days: float = 3.0,
    block_threshold: float = 0.25,
    stall_timeout: float = 30.0,
    arguments: Mapping[str, st.SearchStrategy[Arguments]] | None = None,
    skip: Collection[str] = (),
    home: Path | None = None,
    raise_on_violation: bool = True,
    isolation: str = "none",
) -> ContractReport:
    """Check ``plugin`` against the contract; raise :class:`ContractViolation` if it breaks it.

    Args:
      plugin: an installed plugin's entry-point name, or a plugin object (class, module or
        hookimpl object) registered as ``name``.
      max_examples: hypothesis examples per entry property (the lifecycle property runs a
        third as many sequences).
      days: how much mock time the periodic-job check runs.
      block_threshold: the longest the plugin may hold the trio loop (real seconds).
      stall_timeout: real seconds one run may take before it counts as stuck.
      arguments: a strategy of valid argument dicts per entry id, replacing the one drawn from
        the schema (e.g. URLs of a local test server).
      skip: entry ids not to call (their invalid-argument check still runs) and periodic job
        ids whose timing not to check (e.g. jobs that wait on real network I/O).
      home: where plugin homes go (default: a fresh temporary folder).
      raise_on_violation: ``False`` returns the report instead of raising.
      isolation: ``"process"`` runs the plugin in its own process (each host the kit opens
        starts one), on a mock clock the kit drives; the probes run in that process and report
        back (see the README's contract-kit section for what differs). ``"none"``: in this one.

    Blocks the calling thread (it runs trio itself); call it from a plain ``def`` test.
    """
    checker = _Checker(
        plugin,
        name=name,
        home=home or Path(tempfile.mkdtemp(prefix="neko-contract-")),
        limits=Limits(block_threshold=block_threshold),
        stall_timeout=stall_timeout,
        isolation=isolation,
        settings=hypothesis.settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=False,
            print_blob=False,
            suppress_health_check=list(hypothesis.HealthCheck),
        ),
    )
    report = checker.run(days=days, arguments=arguments or {}, skip=frozenset(skip))
    if report.violations and raise_on_violation:
        raise ContractViolation(report)
    return report


# ---- the checks -----------------------------------------------------------------------------


def _describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _json_ok(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


@attrs.define
class _Checker:
    plugin: str | object
    name: str | None
    home: Path
    limits: Limits
    stall_timeout: float
    isolation: str
    settings: hypothesis.settings
    violations: list[str] = attrs.field(factory=list)
    examples: int = 0

    def harness(self) -> contextlib.AbstractAsyncContextManager[PluginHarness]:
        return open_harness(
            self.plugin,
            name=self.name,
            home=self.home,
            limits=self.limits,
            isolation=self.isolation,
        )

    def fail(self, text: str) -> None:
        if text not in self.violations:
            self.violations.append(text)

    def run(
        self,
        *,
        days: float,
        arguments: Mapping[str, st.SearchStrategy[Arguments]],
        skip: frozenset[str],
    ) -> ContractReport:
        specs, jobs = self._load()
        if specs is not None:
            # the valid arguments of each entry that is called: the caller's, else the schema's
            called = {
                entry: arguments.get(entry) or valid_arguments(spec.input_schema)
                for entry, spec in specs.items()
                if entry not in skip
            }
            self._guard("entry calls", lambda: self._check_entries(specs, called))
            checked = tuple(job for job in jobs if job.id not in skip)
            self._guard("periodic jobs", lambda: self._check_jobs(checked, days))
            self._guard("lifecycle", lambda: self._check_lifecycle(called))
        return ContractReport(
            plugin=self._label,
            entries=tuple(specs or ()),
            jobs=tuple(job.id for job in jobs),
            examples=self.examples,
            violations=tuple(self.violations),
        )

    @property
    def _label(self) -> str:
        if isinstance(self.plugin, str):
            return self.plugin
        return self.name or getattr(self.plugin, "__name__", type(self.plugin).__name__).lower()

    def _guard(self, what: str, check: Callable[[], None]) -> None:
        try:
            check()
        except Stalled as stalled:
            self._stalled(what, stalled)

    def _stalled(self, what: str, stalled: Stalled) -> None:
        self.fail(
            f"{what}: did not finish within {self.stall_timeout:g}s of real time; stuck at "
            f"{stalled.where} (does it ignore cancellation, e.g. catch trio.Cancelled or "
            "shield itself in terminate?)"
        )

    def _trio(self, fn: Callable[[], Awaitable[T]], io_grace: float = IO_GRACE_JOBS) -> T:
        clock = trio.testing.MockClock(autojump_threshold=io_grace)
        return run_watched(fn, stall_timeout=self.stall_timeout, clock=clock)

    def _blocks(self, harness: PluginHarness) -> None:
        for block in harness.blocks():
            self.fail(
                f"blocked the trio loop for at least {block.seconds:.2f}s at {block.where} (a "
                "synchronous call in async code: make the entry sync, or use "
                "trio.to_thread.run_sync)"
            )

    # -- 0. it loads and starts

    def _load(self) -> tuple[dict[str, EntrySpec] | None, tuple[JobSpec, ...]]:
        async def load() -> tuple[dict[str, EntrySpec] | None, tuple[JobSpec, ...]]:
            async with self.harness() as harness:
                info = harness.host.plugins[harness.name]
                status = harness.status()
                if status.state is not PluginState.RUNNING:
                    self.fail(f"did not start: {status.phase} failed: {status.last_error}")
                    return None, info.jobs
                self._blocks(harness)
                return {spec.id: spec for spec in info.entries}, info.jobs

        try:
            return self._trio(load)
        except NekoError as exc:
            self.fail(str(exc))
        except Stalled as stalled:
            self._stalled("startup and shutdown", stalled)
        return None, ()

    # -- 1, 2, 5. entries answer; bad arguments never reach the plugin; the loop is not held

    def _check_entries(
        self,
        specs: Mapping[str, EntrySpec],
        called: Mapping[str, st.SearchStrategy[Arguments]],
    ) -> None:
        with LiveHost(self.harness, specs, stall_timeout=self.stall_timeout) as live:
            for entry, spec in specs.items():
                if entry in called:
                    judge = functools.partial(self._judge_valid, live, entry)
                    self._property(judge, called[entry])
                schema = spec.input_schema
                if (
                    schema.get("properties")
                    or schema.get("required")
                    or schema.get("additionalProperties") is False
                ):
                    self._property(
                        functools.partial(self._judge_invalid, live, entry),
                        invalid_arguments(schema),
                    )
            assert live.harness is not None
            self._blocks(live.harness)

    def _property(
        self,
        judge: Callable[[T], str | None],
        strategy: st.SearchStrategy[T],
        settings: hypothesis.settings | None = None,
    ) -> None:
        """Check ``judge(example) is None`` for hypothesis's examples; record the minimal
        failing one's problem as a violation."""

        @settings or self.settings
        @hypothesis.given(strategy)
        def prop(args: T) -> None:
            self.examples += 1
            problem = judge(args)
            if problem is not None:
                raise _Broken(problem)

        try:
            prop()
        except _Broken as broken:
            self.fail(str(broken))
        except Stalled:
            raise
        except Exception as exc:  # hypothesis's own errors (flaky, unsatisfiable, ...)
            inner = getattr(exc, "exceptions", ())
            detail = f"; {', '.join(str(e) for e in inner)}" if inner else ""
            self.fail(f"could not be checked: {_describe_error(exc)}{detail}")

    def _judge_valid(self, live: LiveHost, entry: str, args: Arguments) -> str | None:
        ok, value = live.call(entry, args)
        target = f"{self._label}.{entry}"
        if ok:
            if _json_ok(value):
                return None
            return (
                f"{target}{_show(args)} returned a value that is not JSON-serialisable: {value!r}"
            )
        if isinstance(value, EntryFailed) and not isinstance(value.__cause__, NekoError):
            cause = value.__cause__ or value
            return (
                f"{target}{_show(args)} raised {_describe_error(cause)} (expected a result, or a "
                "nekohooks error raised on purpose)"
            )
        if isinstance(value, EntryTimeout):
            return f"{target}{_show(args)} did not answer within its timeout: {value}"
        if isinstance(value, PluginUnavailable):
            return f"{target}{_show(args)} stopped the plugin: {value}"
        if isinstance(value, InvalidArguments):
            return f"{target}{_show(args)} refused arguments its own schema allows: {value}"
        if not isinstance(value, NekoError):
            return f"{target}{_show(args)} raised {_describe_error(value)} through the host"
        return None

    def _judge_invalid(self, live: LiveHost, entry: str, args: Arguments) -> str | None:
        reached = live.reached(entry)
        ok, value = live.call(entry, args)
        target = f"{self._label}.{entry}"
        ran = live.reached(entry) > reached
        if not ok and not ran and isinstance(value, InvalidArguments | PluginUnavailable):
            return None  # refused; a plugin that is down is reported by the valid-call check
        got = f"returned {value!r}" if ok else f"raised {_describe_error(value)}"
        where = "the plugin's code ran" if ran else "it was not refused"
        return f"{target}{_show(args)} accepted arguments its schema forbids: {where}, {got}"

    # -- 4. periodic jobs keep time

    def _check_jobs(self, jobs: tuple[JobSpec, ...], days: float) -> None:
        if not jobs:
            return
        every = [job.schedule.seconds for job in jobs if isinstance(job.schedule, Every)]
        span = days * 86400.0
        if every and not any(isinstance(job.schedule, Cron) for job in jobs):
            span = min(span, 2000 * min(every))

        async def run() -> None:
            async with self.harness() as harness:
                wall_start = harness.wall_time()
                await harness.advance(span + 1e-3)  # a tick due at exactly ``span`` fires too
                states = harness.jobs()
                for job in jobs:
                    state = states.get(job.id)
                    if state is None:
                        continue
                    label = f"periodic job {self._label}.{job.id}"
                    expected = _expected_fires(job, wall_start, span)
                    seen = state.runs + state.skipped + state.coalesced
                    slack = 1 if job.schedule.jitter else 0  # the last tick may jitter past
                    if not expected - slack <= seen <= expected:
                        self.fail(
                            f"{label} fired {seen} times in {_span(span)}, expected {expected}"
                        )
                    if state.skipped:
                        self.fail(
                            f"{label} overlaps itself: a run outlasted the next tick, so "
                            f"{state.skipped} of {seen} ticks were skipped (keep a run shorter "
                            "than the interval, or lengthen the interval)"
                        )
                    if state.failures or state.timeouts:
                        self.fail(
                            f"{label} failed {state.failures + state.timeouts} of {state.runs} "
                            f"runs; last: {_describe_error(state.last_error or Exception())}"
                        )
                self._blocks(harness)

        self._trio(run)

    # -- 3. lifecycles leave nothing behind

    def _check_lifecycle(self, called: Mapping[str, st.SearchStrategy[Arguments]]) -> None:
        op = st.one_of(
            st.tuples(st.just("advance"), st.sampled_from([0.5, 61.0, 3600.0, 86400.0])),
            st.tuples(st.just("stop"), st.none()),
            st.tuples(st.just("restart"), st.none()),
            *(
                st.tuples(st.just("call"), st.tuples(st.just(entry), strategy))
                for entry, strategy in called.items()
            ),
        )
        settings = hypothesis.settings(
            self.settings, max_examples=max(3, self.settings.max_examples // 3)
        )

        self._property(
            lambda ops: self._trio(lambda: self._lifecycle(ops), IO_GRACE_CALLS),
            st.lists(op, max_size=6),
            settings,
        )

    async def _lifecycle(self, ops: list[tuple[str, Any]]) -> str | None:
        tasks_before = all_tasks()
        threads_before = set(threading.enumerate())
        fds_before = open_fds()
        resources = Resources()
        shown = _show_ops(ops)
        processes = None
        for segment in _segments(ops):
            async with self.harness() as harness:
                processes = harness.isolated.probes if harness.isolated else processes
                runner = harness.host.runners[harness.name]
                for kind, value in segment:
                    resources.collect(harness)
                    if kind == "advance":
                        harness.clock.autojump_threshold = IO_GRACE_JOBS
                        await harness.advance(value)
                        harness.clock.autojump_threshold = IO_GRACE_CALLS
                    elif kind == "stop":
                        await runner.stop()
                        await runner.stop()  # stopping twice is harmless
                    else:
                        entry, args = value
                        with contextlib.suppress(NekoError):
                            await harness.call(entry, **args)
                resources.collect(harness)
            status = harness.status()
            if status.phase == "terminate":
                return f"terminate failed after {shown}: {status.last_error}"
            if processes is not None and (problem := _process_leaks(processes, shown)):
                return problem
        leaked = [t.name for t in all_tasks() - tasks_before]
        if leaked:
            return (
                f"left trio tasks running after it stopped ({shown}): {', '.join(sorted(leaked))}"
            )
        for client in resources.clients:
            if not client.is_closed:
                return f"left its HTTP client open after it stopped ({shown})"
        for store in resources.stores:
            if not store.closed:
                return f"left its store open after it stopped ({shown})"
        threads = await settled(lambda: foreign_threads(threads_before))
        if threads:
            names = ", ".join(sorted(t.name for t in threads))
            return f"left threads running after it stopped ({shown}): {names}"
        fds = await settled(lambda: sorted(open_fds() - fds_before))
        if fds:
            return f"left file descriptors open after it stopped ({shown}): {', '.join(fds)}"
        return None


def _process_leaks(probes: ChildProbes, shown: str) -> str | None:
    """What an isolated plugin left in its processes (each reports on itself when stopped),
    or a process of it still alive: the first problem found."""
    for pid in probes.pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, 0)
            return f"left its process (or one it started) running after it stopped ({shown})"
    if len(probes.leaks) < len(probes.pids):
        return (
            f"its process did not report what it left open after it stopped ({shown}): "
            f"{len(probes.leaks)} reports from {len(probes.pids)} processes"
        )
    for leaks in probes.leaks:
        if leaks.tasks:
            names = ", ".join(leaks.tasks)
            return f"left trio tasks running after it stopped, in its process ({shown}): {names}"
        if leaks.clients:
            return f"left its HTTP client open after it stopped, in its process ({shown})"
        if leaks.stores:
            return f"left its store open after it stopped, in its process ({shown})"
        if leaks.threads:
            names = ", ".join(leaks.threads)
            return f"left threads running after it stopped, in its process ({shown}): {names}"
        if leaks.fds:
            fds = ", ".join(leaks.fds)
            return f"left file descriptors open after it stopped, in its process ({shown}): {fds}"
    return None


class _Broken(Exception):
    """A property failed; hypothesis shrinks to the smallest example before it reaches us."""


def _segments(ops: list[tuple[str, Any]]) -> Iterator[list[tuple[str, Any]]]:
    """The ops between restarts: each segment is one host, started and stopped."""
    segment: list[tuple[str, Any]] = []
    for op in ops:
        if op[0] == "restart":
            yield segment
            segment = []
        else:
            segment.append(op)
    yield segment


def _expected_fires(job: JobSpec, wall_start: float, span: float) -> int:
    schedule = job.schedule
    if isinstance(schedule, Every):
        first = schedule.seconds if schedule.first_in is None else schedule.first_in
        return 0 if span < first else math.floor((span - first) / schedule.seconds) + 1
    count, after = 0, wall_start
    while (fire := next_fire(schedule, after=after)) is not None and fire <= wall_start + span:
        count, after = count + 1, fire
    return count


def _show(args: Arguments) -> str:
    text = repr(args)
    return f"(**{text if len(text) <= 200 else text[:200] + '...'})"


def _show_ops(ops: list[tuple[str, Any]]) -> str:
    parts = []
    for kind, value in ops:
        if kind == "call":
            parts.append(f"call {value[0]}{_show(value[1])}")
        elif kind == "advance":
            parts.append(f"advance {value:g}s")
        else:
            parts.append(kind)
    return "start, " + ", ".join([*parts, "stop"])


def _span(seconds: float) -> str:
    return f"{seconds / 86400:g} days" if seconds >= 86400 else f"{seconds:g}s"
