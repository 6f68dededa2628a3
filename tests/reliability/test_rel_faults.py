"""Fault matrix, in-process: every (phase x fault) cell against a live host and a neighbour.

Phases: ``startup``, ``entry``, ``command`` (a ``@command`` message handler, run by
``host.dispatch``), ``periodic``, ``task`` (``ctx.tasks.start``), ``terminate`` (the import
phase needs real discovery and lives in ``test_rel_import_faults.py``).

Faults: ``raise``, ``hang`` (``await trio.sleep_forever()``), ``hang_sync`` (a sync hook blocked
on ``threading.Event().wait()`` in its worker thread), ``block`` (``time.sleep`` inside async
code: holds the trio loop), ``sys_exit``, ``keyboard_interrupt`` (both also from sync code,
``*_sync``; ``keyboard_interrupt`` cells have expectations of their own, below), ``leak_task`` (tasks started and never cancelled), ``leak_thread`` (a non-daemon
thread that never ends). Sync variants do not apply to background tasks (they are coroutines).

Expected behaviour, decided here and asserted for every cell:

* The host keeps serving a healthy neighbour: it is pinged every second during the whole
  scenario (async and worker-thread entries alternately) and once more after; no ping fails.
* ``SystemExit`` from plugin code is a plugin fault like any other exception: contained and
  reported in the phase where it happened; the host never exits or stops because of it.
* ``KeyboardInterrupt`` is never a plugin fault: it is what a real Ctrl-C looks like, and a real
  Ctrl-C must stop the host. From plugin code in any phase it propagates out of the host, after
  a graceful shutdown in which every plugin's terminate ran (``test_keyboard_interrupt_cell``).
* The fault is reported with its plugin and phase: ``host.status("faulty")`` (``phase`` and
  ``last_error``), a log record that names the plugin and the phase, or for entry calls the
  typed error raised to the caller (``EntryFailed`` / ``EntryTimeout`` naming plugin and entry).
  A command handler's fault is an ``ERROR`` reply naming plugin and command (and a log record);
  the plugin keeps running and the neighbour's command still answers.
* A loop block is named by the watchdog (``loop_blocks``, the blocking function in
  ``last_error``); leaked tasks are listed in ``status.tasks`` while the plugin runs and are gone
  once the host has exited; leaked threads cannot be killed in-process, so the host must only
  stay healthy and bounded (the real ``neko run`` exit is checked in the import-fault module).
* Shutdown is bounded: the ``async with open_host(...)`` exit, measured on the MockClock, takes
  at most ``terminate_grace`` (plus slack) and never more than ``shutdown_timeout``; no trio task
  outlives it.

Cells with a thread hung in sync plugin code run on a MockClock with ``rate=THREAD_RATE``: the
host keeps trio busy while it waits on a worker thread (``_runner.in_thread``), so a pure
autojump clock would never reach the timeout. All other cells run on a pure autojump clock.
"""

from __future__ import annotations

import itertools
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio
import trio.testing
from relkit import BLOCK_SECONDS, LIMITS, RESTART, Healthy, Pinger, collect_logs, count_tasks

from nekohooks import HostConfig, NekoError, NekoPluginBase, open_host, periodic, plugin_entry
from nekohooks.errors import EntryFailed, EntryTimeout
from nekohooks.messages import Message, command
from nekohooks.records import PluginState

PHASES = ("startup", "entry", "command", "periodic", "task", "terminate")
FAULTS = (
    "raise",
    "raise_sync",
    "hang",
    "hang_sync",
    "block",
    "sys_exit",
    "sys_exit_sync",
    "keyboard_interrupt",
    "keyboard_interrupt_sync",
    "leak_task",
    "leak_thread",
)
SYNC_FAULTS = frozenset({"raise_sync", "hang_sync", "sys_exit_sync", "keyboard_interrupt_sync"})
INTERRUPTS = ("keyboard_interrupt", "keyboard_interrupt_sync")

#: The cells that apply: background tasks are coroutines, so they have no sync variants.
ALL_CELLS = [
    (phase, fault)
    for phase in PHASES
    for fault in FAULTS
    if not (phase == "task" and fault in SYNC_FAULTS)
]
CELLS = [(phase, fault) for phase, fault in ALL_CELLS if fault not in INTERRUPTS]
INTERRUPT_CELLS = [(phase, fault) for phase, fault in ALL_CELLS if fault in INTERRUPTS]
FAULT_CELLS = len(ALL_CELLS)  # 62; with the 6 import cells: 68 fault cells in all

#: MockClock rate for cells where plugin code hangs in a worker thread (see the docstring).
THREAD_RATE = 10.0
JOB_EVERY = 10
JOB_TIMEOUT = 3

#: What the plugin's code is called in each phase (the watchdog names it).
WHERE = {
    "startup": "startup",
    "entry": "entry",
    "command": "command_handler",
    "periodic": "periodic_job",
    "task": "background_task",
    "terminate": "terminate",
}
#: The phase the host reports for each phase (a ``Phase``, equal to its value).
LABEL = {
    "startup": "startup",
    "entry": "entry",
    "command": "command",
    "periodic": "periodic",
    "task": "task",
    "terminate": "terminate",
}
#: How the log names a periodic failure: the phase and the job.
JOB_LOG_LABEL = f"periodic '{WHERE['periodic']}'"
#: Text every report of a fault must contain.
TEXT = {
    "raise": "RuntimeError: injected fault",
    "raise_sync": "RuntimeError: injected fault",
    "sys_exit": "SystemExit: 3",
    "sys_exit_sync": "SystemExit: 3",
    "keyboard_interrupt": "KeyboardInterrupt: injected fault",
    "keyboard_interrupt_sync": "KeyboardInterrupt: injected fault",
}


@dataclass
class Cell:
    phase: str
    fault: str
    release: threading.Event = field(default_factory=threading.Event)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def sync(self) -> bool:
        return self.fault in SYNC_FAULTS


def fire_sync(cell: Cell, where: str) -> None:
    """The fault, from sync plugin code (a worker thread)."""
    if cell.fault == "raise_sync":
        raise RuntimeError(f"injected fault in {where}")
    if cell.fault == "hang_sync":
        cell.release.wait()  # threading.Event().wait(), released when the cell ends
    elif cell.fault == "sys_exit_sync":
        sys.exit(3)
    elif cell.fault == "keyboard_interrupt_sync":
        raise KeyboardInterrupt(f"injected fault in {where}")


async def fire_async(cell: Cell, ctx: Any, where: str) -> None:
    """The fault, from async plugin code (on the trio loop)."""
    fault = cell.fault
    if fault == "raise":
        raise RuntimeError(f"injected fault in {where}")
    if fault == "hang":
        await trio.sleep_forever()
    elif fault == "block":
        time.sleep(BLOCK_SECONDS)  # a sync call in async code: holds the whole loop
    elif fault == "sys_exit":
        sys.exit(3)
    elif fault == "keyboard_interrupt":
        raise KeyboardInterrupt(f"injected fault in {where}")
    elif fault == "leak_task":
        for _ in range(3):
            ctx.tasks.start(f"leak-{where}-{next(cell.counter)}", trio.sleep_forever)
    elif fault == "leak_thread":
        thread = threading.Thread(
            target=cell.release.wait, name=f"leak-{where}-{next(cell.counter)}", daemon=False
        )
        thread.start()


def build_faulty(cell: Cell) -> type:
    """A plugin class whose code in ``cell.phase`` commits ``cell.fault``."""
    phase = cell.phase
    body: dict[str, Any] = {}

    @plugin_entry(id="ping")
    async def ping(self: Any) -> str:
        return "faulty-pong"

    body["ping"] = ping

    if phase == "startup" and cell.sync:

        def startup(self: Any) -> None:
            fire_sync(cell, "startup")

        body["startup"] = startup
    elif phase == "startup":

        async def startup(self: Any) -> None:
            await fire_async(cell, self.ctx, "startup")

        body["startup"] = startup
    elif phase == "task":

        async def startup(self: Any) -> None:
            self.ctx.tasks.start("background", self.background_task)

        async def background_task(self: Any) -> None:
            await trio.sleep(1)
            await fire_async(cell, self.ctx, "background_task")

        body["startup"] = startup
        body["background_task"] = background_task

    if phase == "entry" and cell.sync:

        def entry(self: Any) -> str:
            fire_sync(cell, "entry")
            return "done"

        body["entry"] = plugin_entry(id="entry")(entry)
    elif phase == "entry":

        async def entry(self: Any) -> str:
            await fire_async(cell, self.ctx, "entry")
            return "done"

        body["entry"] = plugin_entry(id="entry")(entry)

    if phase == "command" and cell.sync:

        def command_handler(self: Any, message: Message) -> str:
            fire_sync(cell, "command_handler")
            return "done"

        body["command_handler"] = command("boom")(command_handler)
    elif phase == "command":

        async def command_handler(self: Any, message: Message) -> str:
            await fire_async(cell, self.ctx, "command_handler")
            return "done"

        body["command_handler"] = command("boom")(command_handler)

    if phase == "periodic" and cell.sync:

        def periodic_job(self: Any) -> None:
            fire_sync(cell, "periodic_job")

        body["periodic_job"] = periodic(every=JOB_EVERY, timeout=JOB_TIMEOUT)(periodic_job)
    elif phase == "periodic":

        async def periodic_job(self: Any) -> None:
            await fire_async(cell, self.ctx, "periodic_job")

        body["periodic_job"] = periodic(every=JOB_EVERY, timeout=JOB_TIMEOUT)(periodic_job)

    if phase == "terminate":

        async def crash_soon() -> None:
            raise RuntimeError("crash requested by the test")

        @plugin_entry(id="crash")
        async def crash(self: Any) -> str:
            self.ctx.tasks.start("crash", crash_soon)  # ends this run: terminate runs
            return "crashing"

        body["crash"] = crash
        if cell.sync:

            def terminate(self: Any) -> None:
                fire_sync(cell, "terminate")

        else:

            async def terminate(self: Any) -> None:
                await fire_async(cell, self.ctx, "terminate")

        body["terminate"] = terminate

    return type("Faulty", (NekoPluginBase,), body)


@dataclass
class Observed:
    entry_error: BaseException | None = None
    entry_result: object = None
    boom_replies: list[tuple[str, str, str]] = field(default_factory=list)  # "/boom"
    hello_replies: list[tuple[str, str, str]] = field(default_factory=list)  # then "/hello"
    mid: Any = None  # PluginStatus while running
    end: Any = None  # PluginStatus after the host exited
    exit_elapsed: float = 0.0
    tasks_before: int = 0
    tasks_after: int = 0
    leaked_threads_alive: int = 0
    faulty_answers_after_restart: bool = False
    pinger: Pinger | None = None
    after_ping: object = None
    healthy_blocks: int = 0
    logs: list[str] = field(default_factory=list)


async def drive(cell: Cell, host: Any, obs: Observed) -> None:
    """Make the fault happen in its phase and give the host time to react."""
    if cell.phase == "entry":
        try:
            obs.entry_result = await host.call("faulty.entry")
        except NekoError as exc:
            obs.entry_error = exc
        await trio.sleep(5)
    elif cell.phase == "command":
        obs.boom_replies = await replies(host, "/boom")
        obs.hello_replies = await replies(host, "/hello")
        await trio.sleep(5)
    elif cell.phase == "periodic":
        await trio.sleep(2 * JOB_EVERY + JOB_TIMEOUT + 2)  # two runs, each faulting
    elif cell.phase == "terminate":
        assert await host.call("faulty.crash") == "crashing"
        await trio.sleep(LIMITS.terminate_grace + RESTART.initial_backoff + 3)
        obs.faulty_answers_after_restart = await host.call("faulty.ping") == "faulty-pong"
    else:  # startup, task: the fault happens on its own; let the supervisor restart
        await trio.sleep(15)


async def replies(host: Any, text: str) -> list[tuple[str, str, str]]:
    """What ``host.dispatch`` answered to a chat message ``text``."""
    message = Message(text=text, sender="tester", origin="test:chat")
    return [(r.plugin, r.kind.value, str(r.content)) async for r in host.dispatch(message)]


def run_cell(cell: Cell, tmp_path: Any) -> Observed:
    config = HostConfig(home=tmp_path / "home", limits=LIMITS, restart=RESTART)
    plugins = {"faulty": build_faulty(cell), "healthy": Healthy}
    rate = THREAD_RATE if cell.fault == "hang_sync" else 0.0
    clock = trio.testing.MockClock(rate=rate, autojump_threshold=0)
    obs = Observed()

    async def scenario() -> None:
        obs.tasks_before = count_tasks()
        async with open_host(
            config, plugins=plugins, rng=random.Random(0), watchdog=cell.fault == "block"
        ) as host:
            async with trio.open_nursery() as nursery:
                obs.pinger = Pinger(host)
                nursery.start_soon(obs.pinger.run)
                await drive(cell, host, obs)
                obs.mid = host.status("faulty")
                nursery.cancel_scope.cancel()
            obs.after_ping = await host.call("healthy.ping")
            obs.healthy_blocks = host.status("healthy").loop_blocks
            started = trio.current_time()
        obs.exit_elapsed = trio.current_time() - started
        obs.end = host.status("faulty")
        obs.tasks_after = count_tasks()
        obs.leaked_threads_alive = sum(
            t.name.startswith("leak-") and t.is_alive() for t in threading.enumerate()
        )

    with collect_logs() as logs:
        try:
            trio.run(scenario, clock=clock)
        except (KeyboardInterrupt, SystemExit) as exc:  # a plugin stopped the host: the worst
            raise AssertionError(f"{type(exc).__name__} escaped from the host: {exc!r}") from exc
        finally:
            cell.release.set()  # free hung and leaked threads
            for thread in threading.enumerate():
                if thread.name.startswith("leak-"):
                    thread.join(timeout=5)
    obs.logs = logs.messages()
    return obs


def brief(status: Any) -> str:
    """A one-line status, for assertion messages."""
    return (
        f"state={status.state.value} restarts={status.restarts} phase={status.phase!r} "
        f"last_error={status.last_error!r} jobs(runs={dict(status.job_runs)}, "
        f"failures={dict(status.job_failures)}) tasks={list(status.tasks)} "
        f"loop_blocks={status.loop_blocks}"
    )


def expect_logged(obs: Observed, *needles: str) -> None:
    found = [m for m in obs.logs if all(n in m for n in needles)]
    assert found, f"no log record contains {needles}; records: {obs.logs}"


Check = Callable[[Cell, Observed], None]


def check_crash(label: str, text: str) -> Check:
    def check(cell: Cell, obs: Observed) -> None:
        assert obs.mid.restarts >= 1, brief(obs.mid)
        assert obs.mid.phase == label, brief(obs.mid)
        assert text in (obs.mid.last_error or ""), brief(obs.mid)
        expect_logged(obs, "'faulty'", f"{label} failed", text)

    return check


def check_entry_error(kind: type[Exception], text: str) -> Check:
    def check(cell: Cell, obs: Observed) -> None:
        error = obs.entry_error
        assert isinstance(error, kind), (error, obs.entry_result)
        assert error.plugin == "faulty" and error.entry == "entry" and error.phase == "entry"
        assert "'faulty'" in str(error) and "'entry'" in str(error) and text in str(error)
        assert obs.mid.state is PluginState.RUNNING and obs.mid.restarts == 0, brief(obs.mid)

    return check


def check_command_error(text: str) -> Check:
    def check(cell: Cell, obs: Observed) -> None:
        error = f"plugin 'faulty': /boom failed: {text}"
        assert len(obs.boom_replies) == 1, obs.boom_replies
        plugin, kind, content = obs.boom_replies[0]
        assert (plugin, kind) == ("faulty", "error") and content.startswith(error), content
        assert obs.hello_replies == [("healthy", "reply", "hi")]  # the neighbour still answers
        assert obs.mid.state is PluginState.RUNNING and obs.mid.restarts == 0, brief(obs.mid)
        expect_logged(obs, "'faulty'", "/boom failed", text)

    return check


def check_job_error(text: str) -> Check:
    def check(cell: Cell, obs: Observed) -> None:
        job = WHERE["periodic"]
        # a failing run is counted and the schedule goes on; the plugin itself keeps running
        assert obs.mid.state is PluginState.RUNNING and obs.mid.restarts == 0, (
            f"a {cell.fault} in a periodic job must be contained like any job error, "
            f"not crash the plugin: {brief(obs.mid)}"
        )
        assert obs.mid.phase == LABEL["periodic"], brief(obs.mid)
        assert text in (obs.mid.last_error or ""), brief(obs.mid)
        assert obs.mid.job_runs.get(job, 0) >= 2, obs.mid  # the schedule went on
        assert obs.mid.job_failures.get(job, 0) >= 2, brief(obs.mid)
        expect_logged(obs, "'faulty'", f"{JOB_LOG_LABEL} failed", text)

    return check


def check_terminate_error(text: str) -> Check:
    def check(cell: Cell, obs: Observed) -> None:
        assert obs.faulty_answers_after_restart, obs.mid  # restarted after a faulty terminate
        assert obs.end.state is PluginState.STOPPED, brief(obs.end)
        assert obs.end.phase == "terminate" and text in (obs.end.last_error or ""), brief(obs.end)
        # once mid-life (the crash) and once at the host's exit
        assert len([m for m in obs.logs if "'faulty'" in m and "terminate failed" in m]) >= 2
        expect_logged(obs, "'faulty'", "terminate failed", text)

    return check


def check_block(cell: Cell, obs: Observed) -> None:
    status = obs.end
    assert status.loop_blocks >= 1, brief(status)
    assert status.phase == "event-loop", brief(status)
    assert "blocked the trio loop" in (status.last_error or ""), brief(status)
    assert WHERE[cell.phase] in (status.last_error or ""), status  # names the plugin's function
    assert obs.healthy_blocks == 0
    expect_logged(obs, "'faulty'", "blocked the trio loop", WHERE[cell.phase])


def check_leak_task(cell: Cell, obs: Observed) -> None:
    if cell.phase != "terminate":
        leaked = [t for t in obs.mid.tasks if t.startswith("leak-")]
        assert len(leaked) >= 3, obs.mid  # visible while the plugin runs
        assert obs.mid.state is PluginState.RUNNING, brief(obs.mid)
    assert obs.end.tasks == () or all(not t.startswith("leak-") for t in obs.end.tasks)
    # tasks_after == tasks_before is checked for every cell


def check_leak_thread(cell: Cell, obs: Observed) -> None:
    assert obs.leaked_threads_alive >= 1  # the fault happened; the host cannot kill threads
    if cell.phase != "terminate":
        assert obs.mid.state is PluginState.RUNNING and obs.mid.restarts == 0, brief(obs.mid)


def check_benign(cell: Cell, obs: Observed) -> None:
    """A background task that never ends is normal: it runs until the plugin stops."""
    assert obs.mid.state is PluginState.RUNNING and obs.mid.last_error is None, brief(obs.mid)
    assert "background" in obs.mid.tasks


def expectation(phase: str, fault: str) -> Check:
    base = fault.removesuffix("_sync")
    if fault == "block":
        return check_block
    if fault == "leak_task":
        return check_leak_task
    if fault == "leak_thread":
        return check_leak_thread
    hang = base == "hang"
    if phase == "startup":
        text = f"timed out after {LIMITS.startup_timeout:g}s" if hang else TEXT[fault]
        return check_crash("startup", text)
    if phase == "task":
        return check_benign if hang else check_crash("task", TEXT[fault])
    if phase == "entry":
        if hang:
            return check_entry_error(EntryTimeout, f"timed out after {LIMITS.entry_timeout:g}s")
        return check_entry_error(EntryFailed, TEXT[fault])
    if phase == "command":
        return check_command_error(
            f"timed out after {LIMITS.entry_timeout:g}s" if hang else TEXT[fault]
        )
    if phase == "periodic":
        return check_job_error("TimeoutError" if hang else TEXT[fault])
    assert phase == "terminate"
    text = f"did not finish within {LIMITS.terminate_grace:g}s" if hang else TEXT[fault]
    return check_terminate_error(text)


@pytest.mark.parametrize(("phase", "fault"), CELLS, ids=[f"{p}-{f}" for p, f in CELLS])
def test_fault_cell(phase: str, fault: str, tmp_path: Any) -> None:
    cell = Cell(phase, fault)
    obs = run_cell(cell, tmp_path)

    # 1. the neighbour answered during the whole scenario, and after
    assert obs.pinger is not None
    assert not obs.pinger.failed, obs.pinger.failed
    assert len(obs.pinger.ok) >= 3, obs.pinger.ok
    assert obs.after_ping == "pong"

    # 2. the fault was reported, naming the plugin and the phase
    expectation(phase, fault)(cell, obs)

    # 3. shutdown was bounded; no task outlived the host
    rate = THREAD_RATE if fault == "hang_sync" else 0.0
    slack = 0.5 + rate * 0.3  # mock seconds of real work while trio waits on a thread
    assert obs.exit_elapsed <= LIMITS.terminate_grace + slack, obs.exit_elapsed
    assert obs.exit_elapsed <= LIMITS.shutdown_timeout
    if phase == "terminate" and fault.startswith("hang"):
        assert obs.exit_elapsed >= LIMITS.terminate_grace - 0.01  # waited the grace, then cut
    assert obs.tasks_after == obs.tasks_before


@pytest.mark.parametrize(
    ("phase", "fault"), INTERRUPT_CELLS, ids=[f"{p}-{f}" for p, f in INTERRUPT_CELLS]
)
def test_keyboard_interrupt_cell(phase: str, fault: str, tmp_path: Any) -> None:
    """``KeyboardInterrupt`` from plugin code is a Ctrl-C: the host shuts down gracefully (the
    neighbour's terminate runs) and the interrupt reaches the caller of ``trio.run``."""
    cell = Cell(phase, fault)
    config = HostConfig(home=tmp_path / "home", limits=LIMITS, restart=RESTART)
    terminated: list[str] = []

    class Neighbour(Healthy):
        async def terminate(self) -> None:
            terminated.append("healthy")

    plugins = {"faulty": build_faulty(cell), "healthy": Neighbour}

    async def scenario() -> None:
        async with open_host(config, plugins=plugins, rng=random.Random(0)) as host:
            await drive(cell, host, Observed())

    try:
        with pytest.raises(KeyboardInterrupt, match="injected fault"):
            trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
    finally:
        cell.release.set()
    assert terminated == ["healthy"]
