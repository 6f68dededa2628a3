"""Isolated plugins (issue 14): the cost of a process boundary, next to its floor, in one run.

* round trip of a no-op entry through an isolated plugin (p50, p99, calls/s; one call at a
  time and 16 in flight) next to an in-process ``host.call`` and a bare trio parent/child echo
  of the same msgspec frames over pipes (the anchor: the same parent-side frame reader and
  writer, a child that imports only trio and msgspec, reads and writes with trio's
  ``FdStream`` and answers each Call with a Result). Targets: p50 <= 1.3x the echo, calls/s
  >= 0.8x the echo's. A leaner echo (its child reads when the pipe is readable and writes at
  once, as the plugin's process does) is shown beside it: the floor without trio's streams.
  The contenders take turns in ``ROUNDS`` rounds, so a change in the machine's load during
  the run weighs on all of them alike.
* spawn to answering: an isolated plugin's first answer after the host starts it, next to a
  bare trio child answering its first frame; then a restart after a crash (SIGKILL), minus
  the backoff. Target: restart <= 0.25x a cold start.
* RSS of an idle isolated plugin's process next to ``python -c "import trio"``. Target <= 1.3x.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
import trio
from _common import cli_args, save_figures

from nekohooks import HostConfig, NekoPluginBase, RestartPolicy, open_host, plugin_entry
from nekohooks._config import PluginOptions
from nekohooks.isolation import _frames as f
from nekohooks.isolation._transport import FrameReader, FrameWriter, PipeReceiveStream

CALLS = 6_000
WIDE = 16
ROUNDS = 6

ECHO_CHILD = """
import sys
import msgspec
import trio

async def main():
    rd = trio.lowlevel.FdStream(int(sys.argv[1]))
    wr = trio.lowlevel.FdStream(int(sys.argv[2]))
    encode, decode = msgspec.msgpack.Encoder().encode, msgspec.msgpack.Decoder().decode
    buf = bytearray()
    while chunk := await rd.receive_some(65536):
        buf += chunk
        out = []
        while len(buf) >= 4 and len(buf) >= 4 + (n := int.from_bytes(buf[:4], "big")):
            frame = decode(buf[4 : 4 + n])
            del buf[: 4 + n]
            body = encode(["result", frame[1], None])
            out.append(len(body).to_bytes(4, "big") + body)
        if out:
            await wr.send_all(b"".join(out))

trio.run(main)
"""
"""The anchor: a bare trio child on trio's own pipe streams (``FdStream``)."""

LEAN_ECHO_CHILD = """
import os
import sys
import msgspec
import trio

async def main():
    rd, wr = int(sys.argv[1]), int(sys.argv[2])
    os.set_blocking(rd, False)
    encode, decode = msgspec.msgpack.Encoder().encode, msgspec.msgpack.Decoder().decode
    buf = bytearray()
    while True:
        await trio.lowlevel.wait_readable(rd)
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        buf += chunk
        out = []
        while len(buf) >= 4 and len(buf) >= 4 + (n := int.from_bytes(buf[:4], "big")):
            frame = decode(buf[4 : 4 + n])
            del buf[: 4 + n]
            body = encode(["result", frame[1], None])
            out.append(len(body).to_bytes(4, "big") + body)
        if out:
            os.write(wr, b"".join(out))

trio.run(main)
"""
"""A leaner floor: it reads when the pipe is readable and writes at once (the checkpoints
that trio's streams take before each read and write left out), as the plugin's process does."""


class Noop(NekoPluginBase):
    @plugin_entry(id="noop")
    async def noop(self) -> None:
        return None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(pid)


@attrs.define
class Figures:
    """One contender's samples and timings, gathered over the interleaved rounds."""

    samples: list[float] = attrs.field(factory=list)
    serial: list[float] = attrs.field(factory=lambda: [0, 0.0])  # calls, seconds
    wide: list[float] = attrs.field(factory=lambda: [0, 0.0])

    def summary(self) -> tuple[float, float, float, float]:
        """(p50 us, p99 us, calls/s one at a time, calls/s with WIDE in flight)."""
        q = statistics.quantiles(self.samples, n=100)
        return (
            q[49] * 1e6,
            q[98] * 1e6,
            self.serial[0] / self.serial[1],
            self.wide[0] / self.wide[1],
        )


async def measure_round(call: Callable[[], Awaitable[object]], into: Figures) -> None:
    """One round for one contender: CALLS // ROUNDS one at a time, then as many WIDE in flight."""
    calls = CALLS // ROUNDS
    start = time.perf_counter()
    for _ in range(calls):
        t = time.perf_counter()
        await call()
        into.samples.append(time.perf_counter() - t)
    into.serial[0] += calls
    into.serial[1] += time.perf_counter() - start

    async def worker(n: int) -> None:
        for _ in range(n):
            await call()

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(WIDE):
            nursery.start_soon(worker, calls // WIDE)
    into.wide[0] += calls // WIDE * WIDE
    into.wide[1] += time.perf_counter() - start


async def measure(
    contenders: dict[str, Callable[[], Awaitable[object]]],
) -> dict[str, tuple[float, float, float, float]]:
    """Each contender's figures, measured in ROUNDS rounds that take turns (so a change in the
    machine's load during the run weighs on all of them alike)."""
    figures = {name: Figures() for name in contenders}
    for call in contenders.values():
        for _ in range(200):  # warm up
            await call()
    for _ in range(ROUNDS):
        for name, call in contenders.items():
            await measure_round(call, figures[name])
    return {name: f.summary() for name, f in figures.items()}


class Echo:
    """A bare trio child that answers each Call frame with a Result frame."""

    def __init__(self, source: str = ECHO_CHILD) -> None:
        self.source = source

    async def __aenter__(self) -> Echo:
        child_in, self._to_child = os.pipe()
        self._from_child, child_out = os.pipe()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", self.source, str(child_in), str(child_out)],
            pass_fds=(child_in, child_out),
        )
        os.close(child_in)
        os.close(child_out)
        self.reader = FrameReader(PipeReceiveStream(self._from_child))
        self.writer = FrameWriter(self._to_child)
        self.waiting: dict[int, trio.Event] = {}
        self.ids = 0
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        nursery.start_soon(self.writer.pump)
        nursery.start_soon(self._read)
        self.nursery = nursery
        return self

    async def _read(self) -> None:
        while (frame := await self.reader.receive()) is not None:
            self.waiting.pop(frame.id).set()  # type: ignore[union-attr]

    async def call(self) -> None:
        self.ids += 1
        event = self.waiting[self.ids] = trio.Event()
        self.writer.send(f.encode(f.Call(self.ids, "noop", {})))
        await event.wait()

    async def __aexit__(self, *exc: object) -> None:
        self.nursery.cancel_scope.cancel()
        await self._nursery_manager.__aexit__(None, None, None)
        self.proc.kill()
        self.proc.wait()


def row(name: str, figures: tuple[float, float, float, float]) -> None:
    p50, p99, serial, wide = figures
    print(
        f"{name:28} p50 {p50:7.1f} us  p99 {p99:7.1f} us  {serial:8,.0f}/s  {wide:8,.0f}/s x{WIDE}"
    )


async def main() -> dict[str, object]:
    from bench_isolation import Noop  # the plugin's process imports it by this name

    home = Path(tempfile.mkdtemp())
    quick = RestartPolicy(initial_backoff=0.001, max_backoff=0.001, jitter=0, max_restarts=100)
    inproc = HostConfig(home=home)
    isolated = HostConfig(
        home=home, restart=quick, plugin_options={"n": PluginOptions(isolation="process")}
    )
    async with (
        Echo() as echo,
        Echo(LEAN_ECHO_CHILD) as lean,
        open_host(inproc, plugins={"n": Noop}, watchdog=False) as local,
    ):
        await echo.call()
        echo_first = time.perf_counter() - echo.started
        started = time.perf_counter()
        async with open_host(isolated, plugins={"n": Noop}, watchdog=False) as host:
            await host.call("n.noop")
            cold = time.perf_counter() - started
            figures = await measure(
                {
                    "echo": echo.call,
                    "lean": lean.call,
                    "local": lambda: local.call("n.noop"),
                    "remote": lambda: host.call("n.noop"),
                }
            )
            floor, remote, leaner = figures["echo"], figures["remote"], figures["lean"]
            runner = host.runners["n"]
            await trio.sleep(1.0)
            idle_rss = rss_kib(runner.pid)  # type: ignore[attr-defined]
            restarts = []
            for _ in range(5):
                pid = runner.pid  # type: ignore[attr-defined]
                before = runner.restarts
                t = time.perf_counter()
                os.kill(pid, signal.SIGKILL)
                while runner.restarts == before or runner.state.value != "running":  # noqa: ASYNC110
                    await trio.sleep(0.001)
                await host.call("n.noop")
                restarts.append(time.perf_counter() - t - 0.001)
    bare = subprocess.Popen([sys.executable, "-c", "import trio, time; time.sleep(30)"])
    time.sleep(1.0)
    bare_rss = rss_kib(bare.pid)
    bare.kill()
    bare.wait()

    row("bare trio pipe echo", floor)
    row("lean trio pipe echo", leaner)
    row("host.call, in process", figures["local"])
    row("host.call, isolated", remote)
    print(f"  p50 ratio to the echo        {remote[0] / floor[0]:5.2f}x  (target <= 1.3x)")
    print(f"  calls/s ratio to the echo    {remote[2] / floor[2]:5.2f}x  (target >= 0.8x)")
    print(f"  calls/s x{WIDE} ratio to the echo {remote[3] / floor[3]:5.2f}x  (target >= 0.8x)")
    print(
        f"  to the lean echo: p50 {remote[0] / leaner[0]:.2f}x, calls/s {remote[2] / leaner[2]:.2f}x,"
        f" x{WIDE} {remote[3] / leaner[3]:.2f}x"
    )
    restart = statistics.median(restarts)
    print(f"bare trio child, first answer  {echo_first * 1e3:7.1f} ms after spawn")
    print(f"isolated plugin, first answer  {cold * 1e3:7.1f} ms after the host starts it")
    print(f"restart after SIGKILL          {restart * 1e3:7.1f} ms (median of 5, backoff excluded)")
    print(f"  ratio to the cold start      {restart / cold:5.2f}x  (target <= 0.25x)")
    print(f"RSS: python -c 'import trio'   {bare_rss / 1024:7.1f} MiB")
    print(f"RSS: idle isolated plugin      {idle_rss / 1024:7.1f} MiB")
    print(f"  ratio                        {idle_rss / bare_rss:5.2f}x  (target <= 1.3x)")
    keys = ("p50_us", "p99_us", "per_s", f"per_s_x{WIDE}")
    return {
        **{name: dict(zip(keys, figures[name], strict=False)) for name in figures},
        "p50_vs_echo": remote[0] / floor[0],
        "per_s_vs_echo": remote[2] / floor[2],
        f"per_s_x{WIDE}_vs_echo": remote[3] / floor[3],
        "cold_start_ms": cold * 1e3,
        "restart_ms": restart * 1e3,
        "restart_vs_cold": restart / cold,
        "idle_rss_kib": idle_rss,
        "trio_rss_kib": bare_rss,
    }


if __name__ == "__main__":
    args = cli_args(__doc__)
    save_figures(args.json, "isolation", trio.run(main))
