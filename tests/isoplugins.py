"""Plugins for the isolation tests: each misbehaves in one phase, on request (imported by the
host's test and, by name, by the plugin's own process)."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio

from nekohooks import NekoPluginBase, periodic, plugin_entry
from nekohooks.messages import Message, command


def _segfault() -> None:
    ctypes.string_at(0)  # reads address 0: SIGSEGV


FAULTS = {
    "exit": lambda: os._exit(3),
    "segfault": _segfault,
    "raise": lambda: (_ for _ in ()).throw(RuntimeError("raised on request")),
}


def _mode(ctx: Any, phase: str) -> str | None:
    """The fault to commit in ``phase``, from the plugin's config (``[fault] startup = "exit"``)."""
    value = ctx.config.get("fault", {}).get(phase)
    return value if isinstance(value, str) else None


class Faulty(NekoPluginBase):
    """Entries that misbehave; startup, job and terminate that misbehave if configured."""

    @plugin_entry(id="loaded")
    def loaded(self, module: str) -> bool:
        """Whether ``module`` is imported in this plugin's process."""
        return module in sys.modules

    def startup(self) -> None:
        mode = _mode(self.ctx, "startup")
        if mode:
            FAULTS[mode]()

    async def terminate(self) -> None:
        mode = _mode(self.ctx, "terminate")
        if mode:
            FAULTS[mode]()

    @periodic(id="tick", every=0.2)
    async def tick(self) -> None:
        mode = _mode(self.ctx, "periodic")
        if mode:
            FAULTS[mode]()

    @plugin_entry(id="echo")
    async def echo(self, value: Any = None) -> Any:
        return value

    @plugin_entry(id="pid")
    async def pid(self) -> int:
        return os.getpid()

    @plugin_entry(id="fault")
    async def fault(self, mode: str) -> None:
        FAULTS[mode]()

    @plugin_entry(id="sync_fault")
    def sync_fault(self, mode: str) -> None:
        FAULTS[mode]()

    @command("fault")
    async def fault_command(self, message: Message, mode: str) -> str:
        FAULTS[mode]()
        return "survived"

    @plugin_entry(id="sleep")
    async def sleep(self, seconds: float) -> str:
        await trio.sleep(seconds)
        return "slept"

    @plugin_entry(id="wait")
    async def wait(self, key: str) -> str:
        """Waits an hour, noting when it starts and when it is cancelled (see ``waits``)."""
        waits = self.__dict__.setdefault("_waits", {"started": [], "cancelled": []})
        waits["started"].append(key)
        try:
            await trio.sleep(3600)
        except trio.Cancelled:
            waits["cancelled"].append(key)
            raise
        return "woke"

    @plugin_entry(id="waits")
    async def waits(self) -> dict[str, list[str]]:
        return self.__dict__.get("_waits", {"started": [], "cancelled": []})  # type: ignore[no-any-return]

    @plugin_entry(id="slow", timeout=0.3)
    async def slow(self) -> None:
        await trio.sleep(10)

    @plugin_entry(id="deaf", timeout=0.5)
    async def deaf(self) -> None:
        """Ignores cancellation: blocks the loop in C for an hour."""
        time.sleep(3600)

    @plugin_entry(id="spin", timeout=0.5)
    async def spin(self) -> None:
        """A CPU-bound loop that never yields to trio."""
        while True:
            pass

    @plugin_entry(id="hog")
    async def hog(self, mebibytes: int) -> int:
        block = bytearray(mebibytes << 20)
        return len(block)

    @plugin_entry(id="fork")
    async def fork(self) -> int:
        """Starts a grandchild that would live an hour; returns its pid."""
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        return child.pid

    @plugin_entry(id="count")
    async def count(self, n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield i

    @plugin_entry(id="sync_count")
    def sync_count(self, n: int):  # type: ignore[no-untyped-def]
        yield from range(n)

    @plugin_entry(id="tell")
    async def tell(self, target: str, text: str) -> None:
        await self.ctx.send_message(target, text)
        self.ctx.logger.warning("told %s: %s", target, text)

    @plugin_entry(id="flood")
    async def flood(self, lines: int) -> None:
        for i in range(lines):
            self.ctx.logger.warning("line %d", i)

    @plugin_entry(id="garbage")
    def garbage(self, forge: str = "") -> None:
        """Writes bytes that are not a frame, or a frame only the host may send or emit
        (``forge``: ``call``, ``state``), into every pipe it may write (the host's too)."""
        data = b"\xff\xff\xff\xff not a frame"
        if forge:
            from nekohooks.isolation import _frames as f

            frame = f.Call(1, "x", {}) if forge == "call" else f.Event("state", {"state": "x"})
            data = f.encode(frame)
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            with contextlib.suppress(OSError):
                writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
                if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode) and writable:
                    os.write(fd, data)

    @plugin_entry(id="write")
    def write(self, path: str) -> str:
        Path(path).write_text("written")
        return "ok"

    @plugin_entry(id="fetch")
    async def fetch(self, url: str) -> int:
        return (await self.ctx.http.get(url)).status_code

    @plugin_entry(id="home")
    async def home(self) -> str:
        return str(self.ctx.home)

    @plugin_entry(id="kill_self")
    async def kill_self(self) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


class Neighbour(NekoPluginBase):
    """An in-process plugin beside the faulty one: it must not notice anything."""

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"

    @plugin_entry(id="loaded")
    def loaded(self, module: str) -> bool:
        """Whether ``module`` is imported in this plugin's process."""
        return module in sys.modules
