"""Signals in a real process: the first SIGINT shuts down gracefully, a second exits at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SCRIPT = """
import sys, trio
from nekohooks import HostConfig, Limits, NekoPluginBase, open_host, serve

class Stubborn(NekoPluginBase):
    async def terminate(self):
        print("terminating", flush=True)
        if sys.argv[2] == "hang":
            await trio.sleep_forever()  # hangs well past the signal, but can be cancelled
        while True:
            try:
                await trio.sleep(1)
            except trio.Cancelled:
                continue  # swallows every cancellation: trio cannot stop this

async def main():
    grace, timeout = float(sys.argv[3]), float(sys.argv[4])
    config = HostConfig(home=sys.argv[1], limits=Limits(terminate_grace=grace, shutdown_timeout=timeout))
    async with open_host(config, plugins={"stubborn": Stubborn}) as host:
        await serve(host, on_ready=lambda: print("ready", flush=True))

trio.run(main)
"""


def start(home: Path, terminate: str, grace: float, timeout: float) -> subprocess.Popen[str]:
    """The script above in a real process, once it is ready for signals."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(SCRIPT),
            str(home),
            terminate,
            str(grace),
            str(timeout),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_second_sigint_exits_at_once(tmp_path: Path) -> None:
    proc = start(tmp_path, "hang", grace=60, timeout=60)
    assert proc.stdout is not None
    proc.send_signal(signal.SIGINT)
    assert proc.stdout.readline().strip() == "terminating"  # graceful shutdown began
    time.sleep(0.2)
    assert proc.poll() is None  # still waiting on the hung terminate (grace is 60 s)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    assert time.monotonic() - started < 5


def test_a_plugin_deaf_to_cancellation_cannot_hold_shutdown(tmp_path: Path) -> None:
    proc = start(tmp_path, "deaf", grace=1, timeout=2)
    assert proc.stderr is not None
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 1
    assert 7 <= time.monotonic() - started < 15  # shutdown_timeout 2 s + 5 s, then out
    assert "shutdown did not finish within 7s (still stopping: stubborn); exiting now" in (
        proc.stderr.read()
    )
