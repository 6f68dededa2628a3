"""Leak probes: what a plugin run left behind (trio tasks, threads, descriptors, HTTP clients, stores) and which calls reached its code."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import attrs
import trio
import trio.lowlevel

from .._model import EntryKind, EntrySpec
from .._runner import PluginRunner
from .._store import PluginStore
from ..isolation._leaks import all_tasks, foreign_threads, open_fds
from ._harness import PluginHarness

__all__ = ["Calls", "Resources", "all_tasks", "foreign_threads", "open_fds", "settled"]

T = TypeVar("T")


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
