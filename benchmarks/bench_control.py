"""The control API: a no-op entry called over the Unix socket vs a bare endpoint of the same
stack, and ``neko call`` against a running host vs a one-shot host.

1. A child process serves a host with one no-op entry through ``open_control`` (Hypercorn's
   trio worker, Starlette, the guard), plus one extra route on the same app that returns a
   constant (``POST /bench/constant``: no host, no call). This process drives both with
   ``httpx.AsyncClient`` over the socket at concurrency 1 and 16 for ``SECONDS`` each,
   alternating, best of ``ROUNDS``; it prints calls/s, p50 and p99, and the ratio
   (target: the entry >= 0.8x the constant's throughput).
2. ``neko call`` on two example plugins, wall time of the whole command: with ``neko run``
   serving in the same home vs one-shot (``--local``), median of ``RUNS``, next to the floor
   every command pays (the interpreter and ``import nekohooks.cli``).
3. ``CYCLES`` disable/enable cycles of a plugin that uses its HTTP client, its store and a
   background task, through the control layer in process: RSS growth after a warm-up
   (target < 1 MB), next to the RSS of the host itself.
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
import trio
from _common import NEKO, PYTHON, cli_args, save_figures

from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
from nekohooks.control._live import Live

SECONDS = 2.0
ROUNDS = 3
RUNS = 7
CYCLES = 1000
WARMUP = 100

SERVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import trio
    from starlette.responses import Response
    from starlette.routing import Route

    from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry
    from nekohooks.control import open_control


    class Bench(NekoPluginBase):
        @plugin_entry(id="noop")
        async def noop(self):
            return None


    async def constant(request):
        return Response(b'{"result":null}', media_type="application/json")


    async def main():
        home = Path(sys.argv[1])
        config = HostConfig(home=home)
        async with open_host(config, plugins={"bench": Bench}, watchdog=False) as host:
            routes = [Route("/bench/constant", constant, methods=["POST"])]
            async with open_control(host, home=home, routes=routes):
                print("ready", flush=True)
                await trio.sleep_forever()


    trio.run(main)
    """
)


async def drive(socket: str, path: str, concurrency: int) -> tuple[float, list[float]]:
    """Requests/s and per-request latencies (s) of ``POST path`` for ``SECONDS``."""
    latencies: list[float] = []
    transport = httpx.AsyncHTTPTransport(uds=socket)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://localhost", limits=limits, timeout=10
    ) as client:
        for _ in range(concurrency):  # warm the pool
            assert (await client.post(path)).status_code == 200
        deadline = time.perf_counter() + SECONDS

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post(path)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(worker)
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def over_the_socket(home: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    server = subprocess.Popen([PYTHON, "-c", SERVER, str(home)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        socket = str(home / "run" / "neko.sock")
        print(f"{'':28} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        for concurrency in (1, 16):
            best: dict[str, tuple[float, list[float]]] = {}
            for _ in range(ROUNDS):
                for name, path in (
                    ("constant", "/bench/constant"),
                    ("entry", "/v1/call/bench.noop"),
                ):
                    rate, lat = trio.run(drive, socket, path, concurrency)
                    if name not in best or rate > best[name][0]:
                        best[name] = (rate, lat)
            for name in ("constant", "entry"):
                rate, lat = best[name]
                label = f"{name} (concurrency {concurrency})"
                print(f"{label:28} {rate:9.0f} {pct(lat, 0.5):8.2f} {pct(lat, 0.99):8.2f}")
            for name in ("constant", "entry"):
                rate, lat = best[name]
                figures[f"{name}_c{concurrency}_per_s"] = rate
                figures[f"{name}_c{concurrency}_p50_ms"] = pct(lat, 0.5)
                figures[f"{name}_c{concurrency}_p99_ms"] = pct(lat, 0.99)
            ratio = best["entry"][0] / best["constant"][0]
            figures[f"entry_vs_constant_c{concurrency}"] = ratio
            verdict = "met" if ratio >= 0.8 else "MISSED"
            print(f"  entry / constant throughput: {ratio:.2f}x (target >= 0.8x: {verdict})")
    finally:
        server.terminate()
        server.wait(10)
    return figures


def wall(args: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def neko_call(home: Path) -> dict[str, float]:
    env = {**os.environ, "NEKO_HOME": str(home)}
    floor = wall([PYTHON, "-c", "import nekohooks.cli"], env)
    calls = {
        "hello.greet": [NEKO, "call", "hello.greet", "name=Ada"],
        "companion.snapshot": [NEKO, "call", "companion.snapshot"],
    }
    one_shot = {name: wall([*call, "--local"], env) for name, call in calls.items()}
    server = subprocess.Popen(
        [NEKO, "run", "--no-live", "--only", "hello,companion"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = home / "run" / "neko.sock"
        deadline = time.monotonic() + 60
        while not socket.exists():
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("neko run did not start serving")
            time.sleep(0.05)
        running = {name: wall(call, env) for name, call in calls.items()}
    finally:
        server.terminate()
        server.wait(30)
    print(f"neko call, wall time of the whole command (median of {RUNS}):")
    print(f"  floor: python -c 'import nekohooks.cli'   {floor:7.0f} ms")
    for name in calls:
        print(
            f"  {name:<20} one-shot (--local) {one_shot[name]:6.0f} ms, running host "
            f"{running[name]:6.0f} ms ({one_shot[name] / running[name]:.1f}x faster; above the "
            f"floor: {one_shot[name] - floor:.0f} vs {running[name] - floor:.0f} ms)"
        )
    return {
        "import_cli_ms": floor,
        **{f"neko_call_{name}_one_shot_ms": ms for name, ms in one_shot.items()},
        **{f"neko_call_{name}_running_host_ms": ms for name, ms in running.items()},
    }


class Busy(NekoPluginBase):
    async def startup(self) -> None:
        self.ctx.http  # noqa: B018 - made, so it must be closed
        await self.ctx.store.get("started")  # opens the SQLite file (no fsync)
        self.ctx.tasks.start("forever", trio.sleep_forever)

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def cycles(home: Path) -> dict[str, float]:
    async with open_host(HostConfig(home=home), plugins={"busy": Busy}, watchdog=False) as host:
        live = Live(host, home)

        async def cycle() -> None:
            await live.disable("busy")
            await live.enable("busy")
            assert await host.call("busy.ping") == "pong"

        for _ in range(WARMUP):
            await cycle()
        gc.collect()
        before = rss_kib()
        started = time.perf_counter()
        for _ in range(CYCLES):
            await cycle()
        elapsed = time.perf_counter() - started
        gc.collect()
        after = rss_kib()
    growth = after - before
    verdict = "met" if growth < 1024 else "MISSED"
    print(
        f"{CYCLES} disable/enable cycles (after {WARMUP} warm-up): {elapsed:.1f} s, "
        f"{elapsed / CYCLES * 1e3:.1f} ms per cycle"
    )
    print(
        f"  RSS {before / 1024:.1f} MiB -> {after / 1024:.1f} MiB: growth {growth} KiB "
        f"(target < 1024 KiB: {verdict})"
    )
    return {"cycle_ms": elapsed / CYCLES * 1e3, "cycles_rss_growth_kib": growth}


def main() -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="nkb-"))
    try:
        print(f"control API over a Unix socket (best of {ROUNDS} rounds of {SECONDS:g} s)")
        figures = over_the_socket(home / "a")
        print()
        figures |= neko_call(home / "b")
        print()
        figures |= trio.run(cycles, home / "c")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return figures


if __name__ == "__main__":
    args = cli_args(__doc__)
    save_figures(args.json, "control", main())
