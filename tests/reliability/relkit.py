"""Shared pieces of the reliability suite: limits, a healthy neighbour, log capture, counters.

Everything here is plain code (no fixtures), imported by the ``test_rel_*`` modules, so each
module stays readable on its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import trio

from nekohooks import Limits, NekoPluginBase, RestartPolicy, plugin_entry
from nekohooks.messages import Message, command

# Tight, explicit limits so every deadline in the suite is known (MockClock seconds).
LIMITS = Limits(
    startup_timeout=4,
    entry_timeout=3,
    terminate_grace=2,
    shutdown_timeout=15,
    block_threshold=0.2,
)
RESTART = RestartPolicy(max_restarts=3, window=600, initial_backoff=1, max_backoff=4, jitter=0)

#: How long a "block" fault holds the trio loop (real seconds; the watchdog threshold is 0.2).
BLOCK_SECONDS = 0.5


class Healthy(NekoPluginBase):
    """The neighbour every fault cell keeps calling: an async and a sync (worker-thread) entry."""

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"

    @plugin_entry(id="sync_ping")
    def sync_ping(self) -> str:
        return "pong"

    @command("hello")
    async def hello(self, message: Message) -> str:
        return "hi"


class Pinger:
    """Calls the healthy neighbour every second (trio time) and records every outcome."""

    def __init__(self, host: object, target: str = "healthy") -> None:
        self.host = host
        self.target = target
        self.ok: list[float] = []
        self.failed: list[tuple[float, BaseException]] = []

    async def run(self) -> None:
        entries = (f"{self.target}.ping", f"{self.target}.sync_ping")
        i = 0
        while True:
            try:
                result = await self.host.call(entries[i % 2])  # type: ignore[attr-defined]
            except Exception as exc:
                self.failed.append((trio.current_time(), exc))
            else:
                if result == "pong":
                    self.ok.append(trio.current_time())
                else:
                    self.failed.append((trio.current_time(), AssertionError(repr(result))))
            i += 1
            await trio.sleep(1)


class LogCollector(logging.Handler):
    """Collects every record at WARNING or above from the root logger while installed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self._lock_records = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_records:
            self.records.append(record)

    def messages(self) -> list[str]:
        with self._lock_records:
            return [r.getMessage() for r in self.records]

    def matching(self, *needles: str) -> list[str]:
        """Messages that contain every one of ``needles``."""
        return [m for m in self.messages() if all(n in m for n in needles)]


@contextlib.contextmanager
def collect_logs() -> Iterator[LogCollector]:
    handler = LogCollector()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def count_tasks() -> int:
    """Every trio task alive under the root task (the caller included)."""

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

    return count(trio.lowlevel.current_root_task())


def kill_quietly(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a child we started (by its own pid) and reap it."""
    if proc.poll() is None:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def tree_snapshot(root: Path, *, skip: Path | None = None) -> dict[str, int]:
    """Relative path -> size of every file and link under ``root`` (``skip`` left out)."""
    found: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            dirnames[:] = []
            continue
        for name in filenames + [d for d in dirnames if (here / d).is_symlink()]:
            path = here / name
            found[str(path.relative_to(root))] = path.lstat().st_size
    return found
