"""The fork server: a warm process that forks plugin processes, so a (re)start skips the imports.

Starting a plugin's process cold costs an interpreter plus the imports of trio, httpx, pluggy,
msgspec and nekohooks (hundreds of milliseconds); the plugin's own import and startup come on
top. The first isolated plugin of a trio run starts one fork server
(``python -m nekohooks.isolation forkserver``) that imports all of that once, then waits on a
``SOCK_SEQPACKET`` socket. Each request carries a plugin's spec and, as ``SCM_RIGHTS``, the
descriptors of its pipes; the server forks, and the fork becomes that plugin's process in a
session of its own (``os.setsid``), its stdout/stderr on the output pipe, and runs the same
:func:`~._child.main` as a cold child. The server reaps its forks and sends each exit status
back. It holds no plugin code, so every fork starts clean. It dies with the host (parent-death
signal, and a lifeline pipe), and its forks die with it.

Sandboxed plugins and plugins with their own interpreter are started cold (bubblewrap and a
venv need an ``exec``).
"""

from __future__ import annotations

import array
import contextlib
import gc
import json
import os
import signal
import socket
import struct
import subprocess
import sys
from typing import Any

import trio

__all__ = ["ForkServer", "fork_server"]

_FDS = 4  # read, write, lifeline, output
_EXIT = struct.Struct("!ii")  # pid, wait status


def _serve(sock: socket.socket) -> None:
    """The server's loop: fork a plugin process per request; report each exit."""
    from . import _child  # the warm imports: everything a plugin's process needs

    # What is imported now is shared with every fork: out of the garbage collector's sight, a
    # fork's collections neither walk it nor copy the pages they would touch.
    gc.freeze()

    def reap(*_: object) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            with contextlib.suppress(OSError):
                sock.send(b"x" + _EXIT.pack(pid, status))

    signal.signal(signal.SIGCHLD, reap)
    while True:
        try:
            data, ancdata, _, _ = sock.recvmsg(1 << 16, socket.CMSG_SPACE(_FDS * 4))
        except InterruptedError:
            continue
        if not data:
            return  # the host is gone
        fds = array.array("i")
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        spec = json.loads(data)
        read_fd, write_fd, lifeline, output = fds
        pid = os.fork()
        if pid == 0:  # the plugin's process
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                sock.close()
                os.setsid()
                os.dup2(output, 1)
                os.dup2(output, 2)
                os.close(output)
                os.chdir(spec.pop("cwd"))
                spec.update(read_fd=read_fd, write_fd=write_fd, lifeline=lifeline)
                spec["parent"] = os.getppid()
                _child.main([json.dumps(spec)])
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        sock.send(b"p" + _EXIT.pack(pid, 0))


class ForkServer:
    """The host's handle on its fork server (one per trio run and interpreter)."""

    def __init__(self, sock: socket.socket, process: subprocess.Popen[bytes], lifeline: int):
        self._sock = sock
        self._process = process
        self._lifeline = lifeline
        self._lock = trio.Lock()
        self._started: trio.MemorySendChannel[int] | None = None
        self._exits: dict[int, int] = {}
        self._exited: dict[int, trio.Event] = {}
        self.broken = False

    @classmethod
    def start(cls, env: dict[str, str]) -> ForkServer:
        """Start the server process (it imports in the background; requests wait for it)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        lifeline_child, lifeline = os.pipe()
        spec = {"parent": os.getpid(), "lifeline": lifeline_child, "socket": theirs.fileno()}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "nekohooks.isolation", "forkserver", json.dumps(spec)],
                pass_fds=(theirs.fileno(), lifeline_child),
                start_new_session=True,
                env=env,
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
            os.close(lifeline_child)
        ours.setblocking(False)
        return cls(ours, process, lifeline)

    async def run(self) -> None:
        """Read the server's replies until it exits (a system task of the trio run)."""
        try:
            while True:
                await trio.lowlevel.wait_readable(self._sock)
                try:
                    data = self._sock.recv(64)
                except BlockingIOError:
                    continue
                if not data:
                    break
                pid, status = _EXIT.unpack(data[1:])
                if data[:1] == b"p" and self._started is not None:
                    self._started.send_nowait(pid)
                elif data[:1] == b"x":
                    self._exits[pid] = os.waitstatus_to_exitcode(status)
                    self._exited.setdefault(pid, trio.Event()).set()
        finally:  # the host's trio run ends (or the server died): no server outlives it
            self.broken = True
            for event in self._exited.values():
                event.set()
            self._sock.close()
            os.close(self._lifeline)
            self._process.kill()
            self._process.wait()

    async def fork(self, spec: dict[str, Any], fds: tuple[int, int, int, int]) -> int:
        """A new plugin process for ``spec`` with ``fds`` (read, write, lifeline, output).

        Raises ``OSError`` if the server is gone. Cancellation: a fork already requested
        still happens (its process finds its pipes closed and exits).
        """
        async with self._lock:
            if self.broken:
                raise OSError("the fork server has exited")
            send, receive = trio.open_memory_channel[int](1)
            self._started = send
            message = [json.dumps(spec).encode()]
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            await trio.lowlevel.wait_writable(self._sock)
            self._sock.sendmsg(message, ancillary)
            pid = await receive.receive()
            self._exited.setdefault(pid, trio.Event())
            return pid

    async def exit_code(self, pid: int) -> int | None:
        """The exit code of fork ``pid`` once the server reaped it (``None``: server gone)."""
        await self._exited.setdefault(pid, trio.Event()).wait()
        self._exited.pop(pid, None)
        return self._exits.pop(pid, None)


_SERVERS: trio.lowlevel.RunVar[dict[str, ForkServer]] = trio.lowlevel.RunVar("neko_fork_servers")


def fork_server(env: dict[str, str]) -> ForkServer:
    """The fork server of this trio run for ``env``'s ``PYTHONPATH`` (started on first use)."""
    try:
        servers = _SERVERS.get()
    except LookupError:
        servers = {}
        _SERVERS.set(servers)
    key = env.get("PYTHONPATH", "")
    server = servers.get(key)
    if server is None or server.broken:
        server = servers[key] = ForkServer.start(env)
        trio.lowlevel.spawn_system_task(server.run, name="neko-fork-server")
    return server


def main(argument: str) -> None:
    """The server process (``argument``: its JSON spec): die with the host, preload, serve."""
    spec = json.loads(argument)
    from ._child import _die_with_parent

    _die_with_parent(int(spec["parent"]), int(spec["lifeline"]))
    sock = socket.socket(fileno=int(spec["socket"]))
    _serve(sock)
    os._exit(0)
