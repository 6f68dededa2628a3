"""Leak probes of one process: its trio tasks, threads and file descriptors, compared with a snapshot.

The contract kit uses them in its own process (a plugin in process) and a plugin's process uses
them on itself when the kit runs the plugin isolated, then reports what is left in a
:class:`~._frames.Leaks` frame.
"""

from __future__ import annotations

import contextlib
import os
import threading

import trio
import trio.lowlevel

__all__ = ["all_tasks", "foreign_threads", "open_fds"]


def all_tasks() -> set[trio.lowlevel.Task]:
    """Every task of the running trio loop."""
    found: set[trio.lowlevel.Task] = set()
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is None or task in found:
            continue
        found.add(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return found


def open_fds() -> set[str]:
    """Descriptors of this process as ``fd -> target`` strings (Linux); empty elsewhere."""
    fds: set[str] = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                fds.add(f"{fd} -> {os.readlink(f'/proc/self/fd/{fd}')}")
    return fds


def foreign_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` that are not idle trio workers or the kit's own."""
    return [
        t
        for t in threading.enumerate()
        if t not in before
        and t.is_alive()
        and not t.name.startswith("Trio thread")
        and t.name != "neko-contract-run"
    ]
