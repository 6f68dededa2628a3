"""Timer accuracy: a 10 ms periodic job that runs 2 ms, 200 ticks, on the real clock.

The job is ``await sleep(0.002)`` (trio's or asyncio's, whichever loop runs it: it yields, so
the scheduler itself stays free) and records ``time.perf_counter()`` when it starts. Tick k
(1..200) should start at ``start + k * 10 ms``. Printed per scheduler:

* total drift: tick 200's actual start minus ``start + 200 * 10 ms``;
* lateness of ticks 1..200 against that ideal grid: mean, p50, p99, max.

``start`` is where each scheduler's grid begins: the call of ``run_schedule`` (first tick one
interval later), the plugin's startup for the host (its jobs start right after), the job's own
first run for the naive loop (it runs at once), and APScheduler's first fire time minus one
interval (converted from its wall-clock datetime).

Schedulers, measured in this one run, each repeated (median of the repeats printed):

* nekohooks ``run_schedule(Every(0.01), job)`` directly;
* nekohooks host: a plugin with ``@periodic(every=0.01)`` in ``open_host``;
* the seed's naive loop ``while True: await job(); await asyncio.sleep(0.01)``;
* APScheduler 3 ``AsyncIOScheduler`` interval job (``seconds=0.01``, its defaults otherwise).

Target (issue 7): nekohooks total drift under 2 ms (the naive loop drifts ~450 ms).
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import tempfile
import time
from collections.abc import Callable

import trio
from _common import cli_args, median, percentile, save_figures

from nekohooks import HostConfig, NekoPluginBase, neko_plugin, open_host, periodic
from nekohooks._schedule import Every, JobState
from nekohooks._scheduler import run_schedule

INTERVAL = 0.010
WORK = 0.002
TICKS = 200
REPEATS = 3


Ticks = tuple[float, list[float]]
"""A run's start reference and the actual start of ticks 1..TICKS (``time.perf_counter()``)."""


def stats(run: Ticks) -> dict[str, float]:
    """Drift and lateness (seconds) of ticks 1..TICKS against ``start + k * INTERVAL``."""
    start, ticks = run
    late = [ticks[k - 1] - (start + k * INTERVAL) for k in range(1, TICKS + 1)]
    return {
        "drift": late[-1],
        "mean": statistics.fmean(late),
        "p50": percentile(late, 50),
        "p99": percentile(late, 99),
        "max": max(late),
    }


async def nekohooks_schedule() -> Ticks:
    """``run_schedule(Every(0.01))``: the first tick is due one interval after it starts."""
    starts: list[float] = []
    with trio.CancelScope() as scope:

        async def job() -> None:
            starts.append(time.perf_counter())
            await trio.sleep(WORK)
            if len(starts) >= TICKS:
                scope.cancel()

        start = time.perf_counter()
        await run_schedule(Every(INTERVAL), job, state=JobState())
    return start, starts[:TICKS]


async def nekohooks_host() -> Ticks:
    """A real host with one ``@periodic(every=0.01)`` plugin; the grid starts at its startup."""
    starts: list[float] = []
    started: list[float] = []
    done = trio.Event()

    @neko_plugin
    class Ticker(NekoPluginBase):
        async def startup(self) -> None:
            started.append(time.perf_counter())  # jobs start right after this returns

        @periodic(every=INTERVAL)
        async def tick(self) -> None:
            starts.append(time.perf_counter())
            await trio.sleep(WORK)
            if len(starts) >= TICKS:
                done.set()

    with tempfile.TemporaryDirectory(prefix="neko-bench-timers-") as home:
        config = HostConfig(home=home)
        async with open_host(config, plugins={"ticker": Ticker}, watchdog=False):
            await done.wait()
    return started[0], starts[:TICKS]


async def naive_asyncio() -> Ticks:
    """The seed's loop: run the job, then sleep the interval; its first run is the start."""
    starts: list[float] = []

    async def job() -> None:
        starts.append(time.perf_counter())
        await asyncio.sleep(WORK)

    while len(starts) <= TICKS:
        await job()
        await asyncio.sleep(INTERVAL)
    return starts[0], starts[1 : TICKS + 1]


async def apscheduler_asyncio() -> Ticks:
    """APScheduler 3 ``AsyncIOScheduler``, interval trigger of 10 ms (defaults otherwise)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)
    starts: list[float] = []
    done = asyncio.Event()

    async def job() -> None:
        starts.append(time.perf_counter())
        await asyncio.sleep(WORK)
        if len(starts) >= TICKS:
            done.set()

    scheduler = AsyncIOScheduler()
    scheduler.start()
    added = scheduler.add_job(job, "interval", seconds=INTERVAL)
    # Its first fire time is a wall-clock datetime: map it onto perf_counter.
    first = time.perf_counter() + (added.next_run_time.timestamp() - time.time())
    await done.wait()
    scheduler.shutdown(wait=False)
    return first - INTERVAL, starts[:TICKS]


RUNNERS: dict[str, Callable[[], Ticks]] = {
    "nekohooks run_schedule": lambda: trio.run(nekohooks_schedule),
    "nekohooks host @periodic": lambda: trio.run(nekohooks_host),
    "naive asyncio loop": lambda: asyncio.run(naive_asyncio()),
    "APScheduler 3 AsyncIO": lambda: asyncio.run(apscheduler_asyncio()),
}


def main() -> None:
    args = cli_args(__doc__)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in RUNNERS}
    for _ in range(REPEATS):
        for name, run in RUNNERS.items():
            runs[name].append(stats(run()))
    med = {name: {k: median([r[k] for r in rs]) for k in rs[0]} for name, rs in runs.items()}
    naive = med["naive asyncio loop"]["drift"]
    print(
        f"{TICKS} ticks of {INTERVAL * 1e3:g} ms, job = await sleep({WORK * 1e3:g} ms); "
        f"median of {REPEATS} runs; ms"
    )
    print(
        f"  {'scheduler':<26}{'drift':>9}{'mean':>8}{'p50':>8}{'p99':>8}{'max':>8}  drift vs naive"
    )
    for name, m in med.items():
        cells = "".join(f"{m[k] * 1e3:8.2f}" for k in ("mean", "p50", "p99", "max"))
        share = m["drift"] / naive if naive else math.nan
        print(f"  {name:<26}{m['drift'] * 1e3:9.2f}{cells}  {share:8.4f}x")
    for name in ("nekohooks run_schedule", "nekohooks host @periodic"):
        drift = med[name]["drift"]
        worst = max(abs(r["drift"]) for r in runs[name])
        verdict = "met" if abs(drift) < 0.002 else "MISSED"
        print(
            f"Target: {name} total drift {drift * 1e3:.2f} ms (worst run {worst * 1e3:.2f} ms)"
            f" < 2 ms: {verdict}"
        )
    save_figures(args.json, "timers", med)


if __name__ == "__main__":
    main()
