"""The contract's properties, each checked with hypothesis; one :class:`Checker` per plugin.

1. **Entries answer.** Called with arguments drawn from its JSON Schema, an entry returns a
   JSON-serialisable value, or fails with a nekohooks error it raised on purpose; never an
   arbitrary exception, never a hang past its timeout.
2. **Bad arguments never reach the plugin.** Arguments drawn to violate the schema are refused
   with :class:`~nekohooks.errors.InvalidArguments` before the plugin's code runs.
3. **Lifecycles leave nothing behind.** Startup, entry calls, clock jumps, stops and restarts in
   any order: afterwards no trio task, thread, file descriptor, HTTP client or store is left
   open, stopping twice is harmless, and terminate neither raises nor ignores cancellation.
4. **Periodic jobs keep time.** Over days of mock time each job fires on its schedule, never
   overlaps itself (a run longer than its interval) and does not fail.
5. **The loop is never held.** No plugin code blocks the trio loop longer than a threshold (a
   synchronous call inside async code).

Each property runs the plugin in a real host on trio's ``MockClock``, in a worker thread
watched in real time (:mod:`._watched`); entry calls and lifecycles run each example in a child
process under a memory and time budget (:mod:`._budget`); what a run left open is found by the
leak probes (:mod:`._probes`).

Over 500 lines: the properties share one checker (its harness, settings and violations);
the isolated leak report is read here with the other leak checks.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
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
from .._handlers import HandlerKind
from .._model import EntrySpec, JobSpec, PluginState
from .._schedule import Cron, Every, next_fire
from ..isolation import ChildProbes
from ._budget import Budget, Runaway, Worker, nothing_to_open
from ._commands import check_commands
from ._describe import describe_error, duration, json_ok, show, show_ops
from ._harness import PluginHarness, open_harness
from ._probes import Resources, all_tasks, foreign_threads, open_fds, settled
from ._strategies import invalid_arguments, valid_arguments
from ._watched import IO_GRACE_CALLS, IO_GRACE_JOBS, LiveHost, Stalled, run_watched

__all__ = ["Arguments", "Checker", "took"]

T = TypeVar("T")
Arguments = dict[str, Any]


#: Examples over budget that one property re-runs while hypothesis shrinks them (and at most
#: three time budgets' worth); past that, the smallest runaway found so far is reported.
MAX_RUNAWAYS = 24


def took(began: float) -> str:
    return f"{time.monotonic() - began:.1f}s"


@attrs.define
class Checker:
    plugin: str | object
    name: str | None
    home: Path
    limits: Limits
    stall_timeout: float
    isolation: str
    budget: Budget
    settings: hypothesis.settings
    violations: list[str] = attrs.field(factory=list)
    examples: int = 0
    specs: dict[str, EntrySpec] | None = None
    jobs: tuple[JobSpec, ...] = ()
    commands: bool = False
    """Whether the plugin has command handlers (then the command property runs)."""
    progress: Callable[[str], None] | None = None
    entry_worker: Worker | None = None

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

    def plan(
        self,
        *,
        days: float,
        arguments: Mapping[str, st.SearchStrategy[Arguments]],
        skip: frozenset[str],
    ) -> dict[str, Callable[[], None]]:
        """Load the plugin once (its start is the first check); the checks to run, by name."""
        self.specs, self.jobs = self._load()
        loaded = tuple(self.violations)
        self.violations.clear()  # the first check reports them

        def starts_and_stops() -> None:
            for violation in loaded:
                self.fail(violation)

        steps: dict[str, Callable[[], None]] = {"starts and stops": starts_and_stops}
        specs = self.specs
        if specs is not None:
            # the valid arguments of each entry that is called: the caller's, else the schema's
            called = {
                entry: arguments[entry]
                if entry in arguments
                else valid_arguments(spec.input_schema, self.budget)
                for entry, spec in specs.items()
                if entry not in skip
            }
            for entry, spec in specs.items():
                target = f"{self.label}.{entry}"
                if entry in called:
                    steps[f"{target} answers valid arguments"] = functools.partial(
                        self._check_entry, specs, "valid", entry, called[entry]
                    )
                schema = spec.input_schema
                if (
                    schema.get("properties")
                    or schema.get("required")
                    or schema.get("additionalProperties") is False
                ):
                    steps[f"{target} refuses invalid arguments"] = functools.partial(
                        self._check_entry,
                        specs,
                        "invalid",
                        entry,
                        invalid_arguments(schema, self.budget),
                    )
            if self.commands:  # command handlers (_commands.py)
                steps["commands answer, bad command lines get a usage reply"] = functools.partial(
                    check_commands, self, specs
                )
            checked = tuple(job for job in self.jobs if job.id not in skip)
            if checked:
                steps["periodic jobs keep time"] = lambda: self._check_jobs(checked, days)
            steps["lifecycles leave nothing behind"] = lambda: self._check_lifecycle(called)
        return steps

    @property
    def label(self) -> str:
        if isinstance(self.plugin, str):
            return self.plugin
        return self.name or getattr(self.plugin, "__name__", type(self.plugin).__name__).lower()

    def stalled(self, what: str, stalled: Stalled) -> None:
        self.fail(
            f"{what}: did not finish within {self.stall_timeout:g}s of real time; stuck at "
            f"{stalled.where} (does it ignore cancellation, e.g. catch trio.Cancelled or "
            "shield itself in terminate?)"
        )

    def _trio(self, fn: Callable[[], Awaitable[T]], io_grace: float = IO_GRACE_JOBS) -> T:
        clock = trio.testing.MockClock(autojump_threshold=io_grace)
        return run_watched(fn, stall_timeout=self.stall_timeout, clock=clock)

    def _block_problems(self, harness: PluginHarness) -> list[str]:
        return [
            f"blocked the trio loop for at least {block.seconds:.2f}s at {block.where} (a "
            "synchronous call in async code: make the entry sync, or use "
            "trio.to_thread.run_sync)"
            for block in harness.blocks()
        ]

    def _blocks(self, harness: PluginHarness) -> None:
        for problem in self._block_problems(harness):
            self.fail(problem)

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
                self.commands = any(h.kind is HandlerKind.COMMAND for h in info.handlers)
                return {spec.id: spec for spec in info.entries}, info.jobs

        try:
            return self._trio(load)
        except NekoError as exc:
            self.fail(str(exc))
        except Stalled as stalled:
            self.stalled("startup and shutdown", stalled)
        return None, ()

    # -- 1, 2, 5. entries answer; bad arguments never reach the plugin; the loop is not held

    def _check_entry(
        self,
        specs: Mapping[str, EntrySpec],
        kind: str,
        entry: str,
        strategy: st.SearchStrategy[Arguments],
    ) -> None:
        """One entry property, its examples called in the entry :class:`Worker` under budget."""
        target = f"{self.label}.{entry}"
        # the child reports a stuck call at budget.seconds, unless C code holds its GIL
        call_limit = self.budget.seconds + 2.0
        worker = self._entry_worker(specs)
        self._property(
            lambda args: worker.ask((kind, entry, args), seconds=call_limit),
            strategy,
            subject=lambda args: f"{target}{show(args)}",
        )
        for problem in worker.ask(("blocks", entry, None), seconds=call_limit):
            self.fail(problem)

    def _entry_worker(self, specs: Mapping[str, EntrySpec]) -> Worker:
        """The child every entry property calls through: one host serves them all (as a
        host would), until an example over budget costs it and the next call starts anew."""
        if self.entry_worker is not None:
            return self.entry_worker

        @contextlib.contextmanager
        def live_host() -> Iterator[Callable[[Any], Any]]:
            live = LiveHost(
                self.harness,
                specs,
                stall_timeout=self.stall_timeout,
                call_timeout=self.budget.seconds,
            )
            reported = 0
            with live:

                def handle(request: tuple[str, str, Arguments | None]) -> Any:
                    nonlocal reported
                    what, entry, args = request
                    if what in ("blocks", "finish"):
                        if what == "finish":
                            live.close()
                        assert live.harness is not None
                        problems = self._block_problems(live.harness)
                        new, reported = problems[reported:], len(problems)
                        return new
                    assert args is not None
                    try:
                        if what == "valid":
                            return self._judge_valid(live, entry, args)
                        return self._judge_invalid(live, entry, args)
                    except Stalled as stalled:
                        raise Runaway(
                            f"did not return within {self.budget.seconds:g}s of real time "
                            f"(stuck at {stalled.where}; unbounded work, or does it ignore "
                            "cancellation?)"
                        ) from None

                yield handle

        self.entry_worker = Worker(live_host, self.budget, start_timeout=self.stall_timeout)
        return self.entry_worker

    def close(self) -> None:
        """Stop the entry worker's host (a stuck shutdown is a violation) and the worker."""
        worker, self.entry_worker = self.entry_worker, None
        if worker is None:
            return
        if not worker.started:  # its host was lost to a runaway or an interrupt: nothing to stop
            worker.close()
            return
        try:
            for problem in worker.ask(("finish", "", None), seconds=self.stall_timeout + 5.0):
                self.fail(problem)
        except Stalled as stalled:
            self.stalled("entry calls", stalled)
        except Runaway as runaway:
            self.fail(f"entry calls: stopping the plugin {runaway}")
        finally:
            worker.close()

    def _property(
        self,
        judge: Callable[[T], str | None],
        strategy: st.SearchStrategy[T],
        settings: hypothesis.settings | None = None,
        *,
        subject: Callable[[T], str],
    ) -> None:
        """Check ``judge(example) is None`` for hypothesis's examples; record the minimal
        failing one's problem as a violation. ``judge`` raising :class:`Runaway` (an example
        over budget) is a problem too, worded ``subject(example) + " " + how``."""
        runaways: dict[str, str] = {}
        spent = 0.0  # real seconds spent on runaways
        last_shown = time.monotonic()

        def judged(example: T) -> str | None:
            nonlocal spent
            key = repr(example)
            if key in runaways:  # shrinking replays it: same answer, without running it again
                return runaways[key]
            if len(runaways) >= MAX_RUNAWAYS or spent > 3 * self.budget.seconds:
                return None  # enough runaways re-run: report the smallest found so far
            began = time.monotonic()
            try:
                return judge(example)
            except Runaway as runaway:
                spent += time.monotonic() - began
                runaways[key] = (
                    f"{subject(example)} {runaway} (each example's budget; bound the arguments "
                    "in the entry's schema, or give check_plugin a larger Budget)"
                )
                return runaways[key]

        @settings or self.settings
        @hypothesis.given(strategy)
        def prop(args: T) -> None:
            nonlocal last_shown
            self.examples += 1
            if self.progress is not None and time.monotonic() - last_shown > 5.0:
                last_shown = time.monotonic()
                self.progress(f"  ... {self.examples} examples so far")
            problem = judged(args)
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
            self.fail(f"could not be checked: {describe_error(exc)}{detail}")

    def _judge_valid(self, live: LiveHost, entry: str, args: Arguments) -> str | None:
        ok, value = live.call(entry, args)
        target = f"{self.label}.{entry}"
        if ok:
            if json_ok(value):
                return None
            return f"{target}{show(args)} returned a value that is not JSON-serialisable: {value!r}"
        if isinstance(value, EntryFailed) and not isinstance(value.__cause__, NekoError):
            cause = value.__cause__ or value
            return (
                f"{target}{show(args)} raised {describe_error(cause)} (expected a result, or a "
                "nekohooks error raised on purpose)"
            )
        if isinstance(value, EntryTimeout):
            return f"{target}{show(args)} did not answer within its timeout: {value}"
        if isinstance(value, PluginUnavailable):
            return f"{target}{show(args)} stopped the plugin: {value}"
        if isinstance(value, InvalidArguments):
            return f"{target}{show(args)} refused arguments its own schema allows: {value}"
        if not isinstance(value, NekoError):
            return f"{target}{show(args)} raised {describe_error(value)} through the host"
        return None

    def _judge_invalid(self, live: LiveHost, entry: str, args: Arguments) -> str | None:
        reached = live.reached(entry)
        ok, value = live.call(entry, args)
        target = f"{self.label}.{entry}"
        ran = live.reached(entry) > reached
        if not ok and not ran and isinstance(value, InvalidArguments | PluginUnavailable):
            return None  # refused; a plugin that is down is reported by the valid-call check
        got = f"returned {value!r}" if ok else f"raised {describe_error(value)}"
        where = "the plugin's code ran" if ran else "it was not refused"
        return f"{target}{show(args)} accepted arguments its schema forbids: {where}, {got}"

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
                    label = f"periodic job {self.label}.{job.id}"
                    expected = _expected_fires(job, wall_start, span)
                    seen = state.runs + state.skipped + state.coalesced
                    slack = 1 if job.schedule.jitter else 0  # the last tick may jitter past
                    if not expected - slack <= seen <= expected:
                        self.fail(
                            f"{label} fired {seen} times in {duration(span)}, expected {expected}"
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
                            f"runs; last: {describe_error(state.last_error or Exception())}"
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

        def run(ops: list[tuple[str, Any]]) -> str | None:
            return self._trio(lambda: self._lifecycle(ops), IO_GRACE_CALLS)

        with Worker(lambda: nothing_to_open(run), self.budget) as worker:
            self._property(
                lambda ops: worker.ask(ops, seconds=self.stall_timeout + 5.0),
                st.lists(op, max_size=6),
                settings,
                subject=lambda ops: f"lifecycle ({show_ops(ops)})",
            )

    async def _lifecycle(self, ops: list[tuple[str, Any]]) -> str | None:
        tasks_before = all_tasks()
        threads_before = set(threading.enumerate())
        fds_before = open_fds()
        resources = Resources()
        shown = show_ops(ops)
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
