"""Leak probes: what a plugin run left behind (trio tasks, threads, descriptors, HTTP clients, stores) and which calls reached its code."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import attrs
import trio
import trio.lowlevel

from .._model import EntryKind, EntrySpec
from .._runner import PluginRunner
from .._store import PluginStore
from ._harness import PluginHarness

__all__ = ["Calls", "Resources", "all_tasks", "foreign_threads", "open_fds", "settled"]

T = TypeVar("T")


def all_tasks() -> set[trio.lowlevel.Task]:
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


@attrs.define
class Resources:
    """What one run of a plugin opened, to check that it was all closed."""

    clients: list[Any] = attrs.field(factory=list)
    stores: list[Any] = attrs.field(factory=list)

    def collect(self, harness: PluginHarness) -> None:
        ctx = cast(PluginRunner, harness.host.runners[harness.name]).ctx
        for resource in ctx.opened if ctx is not None else ():
            found = self.stores if isinstance(resource, PluginStore) else self.clients
            if resource not in found:
                found.append(resource)


@attrs.define
class Calls:
    """Counts calls that reached the plugin's own entry functions."""

    reached: dict[str, int] = attrs.field(factory=dict)
    wrapped: object = None

    def instrument(self, harness: PluginHarness, specs: Mapping[str, EntrySpec]) -> None:
        runner = cast(PluginRunner, harness.host.runners[harness.name])
        if runner.handlers is self.wrapped:
            return
        self.wrapped = runner.handlers = {  # message handlers (command:...) are not counted
            entry: self._counting(entry, handler, specs[entry].kind) if entry in specs else handler
            for entry, handler in runner.handlers.items()
        }

    def _counting(self, entry: str, handler: Callable[..., Any], kind: EntryKind) -> Any:
        def count() -> None:
            self.reached[entry] = self.reached.get(entry, 0) + 1

        if kind is EntryKind.ASYNC:

            async def counted_async(**arguments: Any) -> Any:
                count()
                return await handler(**arguments)

            return counted_async

        def counted(**arguments: Any) -> Any:
            count()
            return handler(**arguments)

        return counted


async def settled(probe: Callable[[], list[T]], patience: float = 0.1) -> list[T]:
    """``probe()`` once it is empty, or its value after ``patience`` real seconds."""
    deadline = time.monotonic() + patience
    while (found := probe()) and time.monotonic() < deadline:
        await trio.to_thread.run_sync(time.sleep, 0.02)
    return found
