"""The contract kit's entry points: :func:`check_plugin`, :func:`plan_contract` and their reports.

:func:`check_plugin` runs one plugin through the contract's properties (:mod:`._properties`:
entries answer, bad arguments never reach the plugin, lifecycles leave nothing behind, periodic
jobs keep time, the loop is never held) and reports every violation with the plugin, the entry
or job, and hypothesis's minimal failing example. :func:`plan_contract` lists the same checks to
run one at a time (the pytest plugin makes each a test item).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import hypothesis
import hypothesis.strategies as st

from .._config import Limits
from .._discovery import scan
from .._net import warm_http
from ._budget import Budget
from ._properties import Checker, took
from ._watched import Stalled

__all__ = ["ContractPlan", "ContractReport", "ContractViolation", "check_plugin", "plan_contract"]

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
    budget: Budget | None = None,
    arguments: Mapping[str, st.SearchStrategy[Arguments]] | None = None,
    skip: Collection[str] = (),
    home: Path | None = None,
    progress: Callable[[str], None] | None = None,
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
      stall_timeout: real seconds starting or stopping the plugin may take before it counts
        as stuck.
      budget: how large generated arguments get and what one example may use (memory, real
        time); see :class:`Budget` for the defaults. An example over budget is a violation
        reported with its shrunk arguments.
      arguments: a strategy of valid argument dicts per entry id, replacing the one drawn from
        the schema (e.g. URLs of a local test server).
      skip: entry ids not to call (their invalid-argument check still runs) and periodic job
        ids whose timing not to check (e.g. jobs that wait on real network I/O).
      home: where plugin homes go (default: a fresh temporary folder).
      progress: called with one line as each check starts and ends (``neko check`` prints them).
      raise_on_violation: ``False`` returns the report instead of raising.
      isolation: ``"process"`` runs the plugin in its own process (each host the kit opens
        starts one), on a mock clock the kit drives; the probes run in that process and report
        back (the README's contract-kit section says what differs). ``"none"``: in this one.

    Raises:
      ContractViolation: the plugin broke the contract (unless ``raise_on_violation=False``).
      LookupError: ``plugin`` names no installed plugin.

    Blocks the calling thread (it runs trio itself); call it from a plain ``def`` test.
    """
    plan = plan_contract(
        plugin,
        name=name,
        max_examples=max_examples,
        days=days,
        block_threshold=block_threshold,
        stall_timeout=stall_timeout,
        budget=budget,
        arguments=arguments,
        skip=skip,
        home=home,
        isolation=isolation,
    )
    with plan:
        for index, check in enumerate(plan.checks, 1):
            began = time.monotonic()
            if progress is not None:
                progress(f"[{index}/{len(plan.checks)}] {check}")
            found = plan.run(check, progress=progress)
            if progress is not None:
                verdict = f"{len(found)} violation(s)" if found else "ok"
                progress(f"[{index}/{len(plan.checks)}] {check}: {verdict} ({took(began)})")
    report = plan.report()
    if report.violations and raise_on_violation:
        raise ContractViolation(report)
    return report


def plan_contract(
    plugin: str | object,
    *,
    name: str | None = None,
    max_examples: int = 25,
    days: float = 3.0,
    block_threshold: float = 0.25,
    stall_timeout: float = 30.0,
    budget: Budget | None = None,
    arguments: Mapping[str, st.SearchStrategy[Arguments]] | None = None,
    skip: Collection[str] = (),
    home: Path | None = None,
    isolation: str = "none",
) -> ContractPlan:
    """Load ``plugin`` once and list the contract's checks, to run one at a time.

    Takes :func:`check_plugin`'s arguments. The pytest plugin makes each check a test item.

    Raises:
      LookupError: ``plugin`` names no installed plugin.
    """
    if isinstance(plugin, str):
        installed = [candidate.name for candidate in scan()]
        if plugin not in installed:
            raise LookupError(
                f"no installed plugin {plugin!r} (installed: {', '.join(installed) or 'none'})"
            )
    # A plugin's first ctx.http would import the HTTP stack on the loop, and the block would
    # be blamed on the plugin; isolated children fork from a server that has it already.
    warm_http()
    checker = Checker(
        plugin,
        name=name,
        home=home or Path(tempfile.mkdtemp(prefix="neko-contract-")),
        limits=Limits(block_threshold=block_threshold),
        stall_timeout=stall_timeout,
        isolation=isolation,
        budget=budget or Budget(),
        settings=hypothesis.settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=False,
            print_blob=False,
            suppress_health_check=list(hypothesis.HealthCheck),
        ),
    )
    steps = checker.plan(days=days, arguments=arguments or {}, skip=frozenset(skip))
    return ContractPlan(checker, steps)


@attrs.define(eq=False)
class ContractPlan:
    """The checks of one plugin's contract (made by :func:`plan_contract`), run one at a time.

    Close it (or use it as a context manager) when done: the entry checks share one host.
    """

    _checker: Checker
    _steps: dict[str, Callable[[], None]]
    _found: dict[str, tuple[str, ...]] = attrs.field(factory=dict)

    @property
    def plugin(self) -> str:
        """The plugin's name."""
        return self._checker.label

    @property
    def checks(self) -> tuple[str, ...]:
        """The checks' names, in the order :func:`check_plugin` runs them."""
        return tuple(self._steps)

    def run(self, check: str, *, progress: Callable[[str], None] | None = None) -> tuple[str, ...]:
        """Run ``check`` (once: a second call returns the first result); return its violations."""
        if check not in self._found:
            checker = self._checker
            checker.progress = progress
            before = len(checker.violations)
            try:
                self._steps[check]()
            except Stalled as stalled:
                checker.stalled(check, stalled)
            finally:
                checker.progress = None
            self._found[check] = tuple(checker.violations[before:])
        return self._found[check]

    def close(self) -> None:
        """Stop what the checks left running (the host the entry checks share)."""
        self._checker.close()

    def __enter__(self) -> ContractPlan:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def report(self) -> ContractReport:
        """What the checks run so far found."""
        checker = self._checker
        return ContractReport(
            plugin=checker.label,
            entries=tuple(checker.specs or ()),
            jobs=tuple(job.id for job in checker.jobs),
            examples=checker.examples,
            violations=tuple(checker.violations),
        )
