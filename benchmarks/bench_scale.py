"""Scale: many plugins, many periodic jobs, many background tasks; each against its anchor.

(a) Start-up of 1,000 class plugins whose ``startup`` takes 100 ms (``await trio.sleep(0.1)``)
    in one ``open_host``: time until the host is ready, against the sequential sum of the
    plugins' own measured start-up times (what a one-at-a-time host would take).
(b) 100,000 periodic jobs (``Every(10 s)``, first runs spread over the first interval, a no-op
    job) on one nekohooks ``Scheduler`` (one deadline heap, as a plugin's jobs run in the host),
    each variant in a fresh process: memory per job (RSS growth) and CPU time per fired tick,
    plus the time to start and to cancel them all; against a bare trio task per job: a parked
    task (memory) and a minimal absolute-deadline loop that runs the job inline
    (``deadline += 10; await trio.sleep_until(deadline)``: CPU per tick).
(c) 10,000 background tasks (``ctx.tasks.start`` in a plugin's startup) cancelled at shutdown:
    a real ``neko run`` subprocess with a generated plugin distribution on ``PYTHONPATH``, time
    from SIGTERM to process exit; against a naive asyncio host (cancel every task, gather) and
    a bare trio nursery, each in its own subprocess, and ``neko run`` with no tasks.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import trio
import trio.testing
from _common import (
    NEKO,
    PYTHON,
    child_env,
    cli_args,
    median,
    ms,
    run_json,
    save_figures,
    write_dist,
)

from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
from nekohooks._schedule import Every, JobState
from nekohooks._scheduler import Scheduler

PLUGINS = 1_000
STARTUP = 0.1
JOBS = 100_000
PERIOD = 10.0
CPU_WINDOW = 6.0
TASKS = 10_000
SIGTERM_REPEATS = 5
STARTUP_REPEATS = 3


# ---- (a) start-up of 1,000 plugins ----------------------------------------------------------


def make_plugins(count: int, durations: list[float]) -> dict[str, type]:
    """``count`` distinct class plugins whose startup sleeps 100 ms and records its duration."""

    def make(i: int) -> type:
        class Slow(NekoPluginBase):
            async def startup(self) -> None:
                start = time.perf_counter()
                await trio.sleep(STARTUP)
                durations.append(time.perf_counter() - start)

            @plugin_entry(id="ping")
            async def ping(self) -> str:
                return "pong"

        Slow.__name__ = Slow.__qualname__ = f"Slow{i}"
        return Slow

    return {f"slow{i:04d}": make(i) for i in range(count)}


async def startup_once() -> dict[str, float]:
    """One host with PLUGINS slow plugins: ready time, sequential sum, shutdown time."""
    durations: list[float] = []
    plugins = make_plugins(PLUGINS, durations)
    with tempfile.TemporaryDirectory(prefix="neko-bench-scale-") as home:
        config = HostConfig(home=home)
        start = time.perf_counter()
        async with open_host(config, plugins=plugins, watchdog=False) as host:
            ready = time.perf_counter() - start
            running = sum(s.state.value == "running" for s in host.statuses())
            stop = time.perf_counter()
        shutdown = time.perf_counter() - stop
    assert running == PLUGINS == len(durations), (running, len(durations))
    return {"ready": ready, "sum": sum(durations), "shutdown": shutdown}


def bench_startup() -> dict[str, float]:
    runs = []
    for _ in range(STARTUP_REPEATS):
        # Each repetition starts from a collected heap, as a process starting its host does:
        # otherwise the cyclic garbage of the last repetition's 1,000 plugins (60,000 objects)
        # is still there, and the next one's full collections traverse and free it too.
        gc.collect()
        runs.append(trio.run(startup_once))
    ready = median([r["ready"] for r in runs])
    total = median([r["sum"] for r in runs])
    shutdown = median([r["shutdown"] for r in runs])
    print(f"(a) {PLUGINS:,} plugins, startup = await trio.sleep({STARTUP:g}) each")
    print(f"  host ready after                     {ms(ready)}")
    print(f"  sequential sum of their start-ups    {ms(total)}   ({total / ready:,.0f}x the host)")
    print(f"  ready time / one plugin's start-up   {ready / STARTUP:9.2f}x")
    print(f"  host overhead per plugin             {(ready - STARTUP) / PLUGINS * 1e6:9.1f} us")
    print(f"  shutdown of all {PLUGINS:,}              {ms(shutdown)}")
    return {"ready": ready, "sequential_sum": total, "shutdown": shutdown}


# ---- (b) 100,000 periodic jobs --------------------------------------------------------------


async def noop() -> None:
    """The job: nothing, so only scheduling is measured."""


async def bare_loop(first: float, runs: list[int]) -> None:
    """The anchor: an absolute-deadline loop that runs the job inline; first run at ``first``."""
    deadline = first
    while True:
        await trio.sleep_until(deadline)
        await noop()
        runs[0] += 1
        deadline += PERIOD


async def parked() -> None:
    """The memory anchor: a task that only waits."""
    await trio.sleep_forever()


class Spawner:
    """Starts one job of a variant: ``spawn(nursery, first)``; ``runs()`` counts their runs."""

    def __init__(self) -> None:
        self.counters: list[object] = []

    def spawn(self, nursery: trio.Nursery, first: float) -> None:
        raise NotImplementedError

    def runs(self) -> int:
        return 0


class OnScheduler(Spawner):
    """nekohooks: every job on one :class:`Scheduler` (one heap, one task)."""

    scheduler: Scheduler | None = None

    def spawn(self, nursery: trio.Nursery, first: float) -> None:
        if self.scheduler is None:
            self.scheduler = Scheduler()
            nursery.start_soon(self.scheduler.run)
        state = JobState()
        every = Every(PERIOD, first_in=max(0.0, first - trio.current_time()))
        self.scheduler.add(every, noop, state=state)
        self.counters.append(state)

    def runs(self) -> int:
        return sum(state.runs for state in self.counters)  # type: ignore[attr-defined]


class BareLoops(Spawner):
    """The CPU anchor: one bare deadline loop task per job."""

    def spawn(self, nursery: trio.Nursery, first: float) -> None:
        runs = [0]
        nursery.start_soon(bare_loop, first, runs)
        self.counters.append(runs)

    def runs(self) -> int:
        return sum(runs[0] for runs in self.counters)  # type: ignore[index]


class ParkedTasks(Spawner):
    """The memory anchor: one parked task per job."""

    def spawn(self, nursery: trio.Nursery, first: float) -> None:
        nursery.start_soon(parked)


SPAWNERS: dict[str, type[Spawner]] = {
    "nekohooks Scheduler": OnScheduler,
    "bare deadline loop": BareLoops,
    "parked trio task": ParkedTasks,
}


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def jobs_child(variant: str) -> dict[str, float]:
    """In a fresh process: start JOBS jobs, measure memory, CPU per tick, then cancel them all.

    First runs are spread uniformly over ``[start + PERIOD, start + 2 * PERIOD)`` (absolute trio
    times), so nothing fires while the jobs start and park, and from ``start + PERIOD`` on about
    JOBS / PERIOD ticks fire per second. Memory is the RSS growth once every job has parked (a
    fresh process, so nothing freed earlier is reused). The cyclic GC is off while the jobs
    start, and what they built is then frozen (``gc.freeze()``): the CPU window measures the
    steady state, not the one-off full collections that follow creating 100,000 tasks.
    """
    spawner = SPAWNERS[variant]()
    rng = random.Random(2)
    gc.collect()
    gc.disable()
    before = rss()
    start = time.perf_counter()
    base = trio.current_time() + PERIOD
    async with trio.open_nursery() as nursery:
        for _ in range(JOBS):
            spawner.spawn(nursery, base + rng.uniform(0, PERIOD))
        with trio.move_on_after(PERIOD * 0.9):
            await trio.testing.wait_all_tasks_blocked()
        parked = time.perf_counter() - start
        memory = (rss() - before) / JOBS
        gc.freeze()
        gc.enable()
        result = {"memory": memory, "spawn": parked}
        if variant != "parked trio task":
            await trio.sleep_until(base + 0.5)
            fired = spawner.runs()
            cpu, t0 = time.process_time(), time.perf_counter()
            await trio.sleep(CPU_WINDOW)
            cpu, elapsed = time.process_time() - cpu, time.perf_counter() - t0
            fired = spawner.runs() - fired
            result |= {"per_tick": cpu / max(fired, 1), "fired": fired, "load": cpu / elapsed}
        start = time.perf_counter()
        nursery.cancel_scope.cancel()
    result["cancel"] = time.perf_counter() - start
    return result


def bench_jobs() -> dict[str, dict[str, float]]:
    runs = {
        variant: run_json(CHILD_JOBS, child_env(Path(__file__).parent), variant)
        for variant in SPAWNERS
    }
    print(f"\n(b) {JOBS:,} periodic jobs, every {PERIOD:g} s, first runs spread over one period")
    parked, bare = runs["parked trio task"], runs["bare deadline loop"]
    print(
        f"  {'':<24}{'memory/job':>12}{'vs parked':>10}{'CPU/tick':>11}{'vs bare':>9}"
        f"{'ticks':>8}{'CPU':>6}{'start':>9}{'cancel':>9}"
    )
    for name, r in runs.items():
        tick = (
            f"{r['per_tick'] * 1e6:8.2f} us{r['per_tick'] / bare['per_tick']:8.2f}x"
            f"{r['fired']:8,.0f}{r['load'] * 100:5.0f}%"
            if "per_tick" in r
            else f"{'-':>11}{'-':>9}{'-':>8}{'-':>6}"
        )
        print(
            f"  {name:<24}{r['memory'] / 1024:8.2f} KiB{r['memory'] / parked['memory']:9.2f}x"
            f"{tick}{r['spawn']:8.2f}s{r['cancel']:8.2f}s"
        )
    print(
        f"  (CPU/tick and CPU load over {CPU_WINDOW:g} s of real time; start = until every job is"
        " parked; cancel = cancelling them all)"
    )
    return runs


CHILD_JOBS = """
import json, sys
import trio
import bench_scale
print(json.dumps(trio.run(bench_scale.jobs_child, sys.argv[1])))
"""


# ---- (c) 10,000 tasks cancelled at SIGTERM --------------------------------------------------

TASKS_PLUGIN = """\
\"\"\"Generated benchmark plugin: start NEKO_BENCH_TASKS background tasks at startup.\"\"\"

import os

import trio

from nekohooks import neko_plugin, NekoPluginBase


@neko_plugin
class Plugin(NekoPluginBase):
    async def startup(self):
        count = int(os.environ.get("NEKO_BENCH_TASKS", "0"))
        for i in range(count):
            self.ctx.tasks.start(f"t{i}", trio.sleep_forever)
        self.ctx.logger.info("started %d tasks", len(self.ctx.tasks.names()))
"""

ASYNCIO_HOST = """
import asyncio, signal, sys

async def main(count):
    tasks = [asyncio.create_task(asyncio.Event().wait()) for _ in range(count)]
    await asyncio.sleep(0)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"ready {count}", file=sys.stderr, flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

asyncio.run(main(int(sys.argv[1])))
"""

TRIO_HOST = """
import signal, sys, trio

async def main(count):
    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(trio.sleep_forever)
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            print(f"ready {count}", file=sys.stderr, flush=True)
            async for _ in signals:
                break
        nursery.cancel_scope.cancel()

trio.run(main, int(sys.argv[1]))
"""


def sigterm_to_exit(cmd: Sequence[str], env: dict[str, str], ready: str, expect: str) -> float:
    """Start ``cmd``, wait for ``ready`` on its stderr, SIGTERM it; seconds until it exits.

    ``expect`` must have appeared on stderr by then (proof the tasks really started).
    """
    proc = subprocess.Popen(list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = []
    for raw in proc.stderr:
        line = raw.decode(errors="replace")
        seen.append(line)
        if ready in line:
            break
    else:
        raise RuntimeError(f"{cmd} exited before ready:\n{''.join(seen)[-3000:]}")
    if not any(expect in line for line in seen):
        proc.kill()
        raise RuntimeError(f"{cmd}: no {expect!r} before ready:\n{''.join(seen)[-3000:]}")
    time.sleep(0.2)  # settle: the loop is idle, every task parked
    start = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    elapsed = time.perf_counter() - start
    rest = proc.stderr.read().decode(errors="replace")
    if code != 0:
        raise RuntimeError(f"{cmd} exited {code}:\n{rest[-3000:]}")
    return elapsed


def bench_sigterm() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="neko-bench-sigterm-") as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        write_dist(
            site,
            "neko-bench-tasks",
            TASKS_PLUGIN,
            entry_points={"benchtasks": "neko_bench_tasks:Plugin"},
        )
        base = child_env(site, NEKO_HOME=str(Path(tmp) / "home"), NEKO_LOAD_PLUGINS="benchtasks")
        ready = "benchtasks: running"
        cases: dict[str, tuple[list[str], dict[str, str], str, str]] = {
            f"neko run, {TASKS:,} tasks": (
                [NEKO, "run"],
                {**base, "NEKO_BENCH_TASKS": str(TASKS)},
                ready,
                f"started {TASKS} tasks",
            ),
            "neko run, no tasks": (
                [NEKO, "run"],
                {**base, "NEKO_BENCH_TASKS": "0"},
                ready,
                "started 0 tasks",
            ),
            f"naive asyncio host, {TASKS:,}": (
                [PYTHON, "-c", textwrap.dedent(ASYNCIO_HOST), str(TASKS)],
                base,
                f"ready {TASKS}",
                f"ready {TASKS}",
            ),
            f"bare trio nursery, {TASKS:,}": (
                [PYTHON, "-c", textwrap.dedent(TRIO_HOST), str(TASKS)],
                base,
                f"ready {TASKS}",
                f"ready {TASKS}",
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(SIGTERM_REPEATS):
            for name, (cmd, env, ready_line, expect) in cases.items():
                times[name].append(sigterm_to_exit(cmd, env, ready_line, expect))
    med = {name: median(t) for name, t in times.items()}
    anchor = med[f"naive asyncio host, {TASKS:,}"]
    print(
        f"\n(c) {TASKS:,} background tasks, SIGTERM to process exit (median of {SIGTERM_REPEATS})"
    )
    for name, value in med.items():
        print(f"  {name:<30}{ms(value)}   {value / anchor:5.2f}x naive asyncio")
    return med


def main() -> None:
    args = cli_args(__doc__)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    figures = {"startup": bench_startup(), "jobs": bench_jobs(), "sigterm": bench_sigterm()}
    save_figures(args.json, "scale", figures)


if __name__ == "__main__":
    main()
