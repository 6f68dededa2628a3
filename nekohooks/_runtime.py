"""What a runner is to the host, and what the host gives a runner: the seam between them.

The host knows a plugin's runner only through :class:`Runner`; a runner knows the host only
through the :class:`RunnerEnv` record it is given. Today's backend is the in-process
:class:`~nekohooks._runner.PluginRunner`; a backend that runs the plugin in a child process
implements the same protocol, so the host's table, dispatch and shutdown do not change.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs
import trio

from ._config import Limits, RestartPolicy
from ._model import EntrySpec, PluginState, PluginStatus

__all__ = ["Deliver", "Emit", "Runner", "RunnerEnv"]

Deliver = Callable[[str, str, Any], Awaitable[None]]
"""``await deliver(plugin, target, message)``: send a plugin's message on its way."""

Emit = Callable[..., None]
"""``emit(kind, plugin, **data)``: put an event on the host's stream (trio thread only)."""


@attrs.frozen(eq=False)
class RunnerEnv:
    """Everything a runner needs from its host, passed in; the runner never sees the host."""

    limits: Limits
    restart: RestartPolicy
    home: Path
    """The nekohooks home; a plugin's own folder is ``home / "plugins" / name``."""
    rng: random.Random
    """Jitter and backoff (seeded in tests)."""
    wall_clock: Callable[[], float]
    """Epoch seconds, for cron schedules and status times."""
    deliver: Deliver
    emit: Emit


class Runner(Protocol):
    """One plugin's life, as the host drives it. Called on the trio thread, except
    :meth:`note_loop_block` (the watchdog's thread, while the loop is held)."""

    @property
    def name(self) -> str:
        """The plugin's name."""

    @property
    def state(self) -> PluginState:
        """Where the plugin is now."""

    @property
    def started_at(self) -> float:
        """Trio time at which the current (or last) run reached RUNNING; orders shutdown."""

    @property
    def first_attempt(self) -> trio.Event:
        """Set once the first start attempt has finished, whether it succeeded or not."""

    async def supervise(self) -> None:
        """Run the plugin, restarting after crashes, until :meth:`stop`; the host's task."""

    async def stop(self) -> None:
        """Stop the plugin (terminate within its grace) and wait until its run has ended."""

    def status(self) -> PluginStatus:
        """A snapshot of the plugin's state and counters."""

    def note_loop_block(self, seconds: float, where: str) -> None:
        """The watchdog blamed this plugin for holding the trio loop."""

    def call(self, spec: EntrySpec, arguments: Mapping[str, Any]) -> Awaitable[Any]:
        """Call one entry; raises the errors :meth:`Host.call` documents."""

    def stream(self, spec: EntrySpec, arguments: Mapping[str, Any]) -> AsyncIterator[Any]:
        """Yield a generator entry's items (any other entry yields its one result)."""
