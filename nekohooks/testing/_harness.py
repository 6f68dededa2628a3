"""A plugin in a real host on a mock clock: run it for "three days" in milliseconds.

:func:`open_harness` loads one plugin (an installed entry-point name, or a plugin object) into
a real :func:`~nekohooks.open_host`, with everything it produces captured: messages it sends,
log records, loop-blocking reports. Time is trio's ``MockClock``: ``await harness.advance(3 *
86400)`` fires every periodic job those three days would (cron jobs too: the harness's wall
clock moves with the mock clock).

With ``isolation="process"`` the plugin runs in its own process, on a mock clock of its own
that the harness drives (:func:`~nekohooks.isolation.kit_children`): it stands still between
calls, autojumps during one, and :meth:`PluginHarness.advance` runs its timers in order there
and here; job counters, loop blocks and the wall clock come from the plugin's process.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import attrs
import trio
import trio.testing

from .._config import HostConfig, Limits, PluginFilter, PluginOptions
from .._errors import NekoError
from .._host import Host, open_host
from .._model import LoopBlock, PluginState, PluginStatus
from .._runner import PluginRunner
from .._schedule import JobState
from ..isolation import KitMode, ProcessRunner, kit_children

__all__ = ["Message", "PluginHarness", "open_harness"]

#: The harness's wall clock starts here (2026-01-05 00:00 UTC, a Monday) unless told otherwise.
DEFAULT_WALL_START = 1767571200.0


@attrs.frozen
class Message:
    """A message a plugin sent through ``ctx.send_message``."""

    plugin: str
    target: str
    body: Any


class _Capture(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self._records = records

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)


@attrs.define(eq=False)
class PluginHarness:
    """One plugin running in a real host under a ``MockClock``; made by :func:`open_harness`."""

    host: Host
    name: str
    clock: trio.testing.MockClock
    messages: list[Message] = attrs.field(factory=list)
    records: list[logging.LogRecord] = attrs.field(factory=list)

    async def call(self, entry: str, /, **arguments: Any) -> Any:
        """Call this plugin's ``entry`` through the host (validation, timeout and all)."""
        return await self.host.call(f"{self.name}.{entry}", **arguments)

    @property
    def isolated(self) -> ProcessRunner | None:
        """The plugin's process runner when it runs isolated, else ``None``."""
        runner = self.host.runners[self.name]
        return runner if isinstance(runner, ProcessRunner) else None

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of mock time pass; every timer due meanwhile fires, in order.

        Isolated, the plugin's process (when it runs) runs its timers first (in real time, as
        fast as they go), then this process's clock follows.
        """
        isolated = self.isolated
        if isolated is not None and isolated.state is PluginState.RUNNING:
            await isolated.advance(seconds)
        await trio.sleep(seconds)

    def status(self) -> PluginStatus:
        """The plugin's status (state, restarts, last error and phase, job counters)."""
        return self.host.status(self.name)

    def jobs(self) -> dict[str, JobState]:
        """The counters of each periodic job of the current run, by job id (isolated: as of
        the last :meth:`advance`, or the last change its process reported)."""
        isolated = self.isolated
        if isolated is not None:
            return isolated.remote_jobs()
        return dict(cast(PluginRunner, self.host.runners[self.name]).job_states)

    def blocks(self) -> list[LoopBlock]:
        """Every time the loop watchdog saw this plugin hold the trio loop too long."""
        isolated = self.isolated
        if isolated is not None:
            return list(isolated.probes.blocks)
        return [block for block in self.host.loop_blocks if block.plugin == self.name]

    def wall_time(self) -> float:
        """The harness's wall clock (epoch seconds), which cron schedules follow (isolated:
        the plugin's process's, as of its start or the last :meth:`advance`)."""
        isolated = self.isolated
        if isolated is not None and isolated.kit is not None:
            return isolated.kit.wall_start + isolated.probes.clock
        return self._wall_offset + trio.current_time()

    _wall_offset: float = DEFAULT_WALL_START
    """Wall-clock epoch seconds at trio time 0."""


@asynccontextmanager
async def open_harness(
    plugin: str | object,
    *,
    name: str | None = None,
    home: Path | None = None,
    limits: Limits | None = None,
    wall_start: float = DEFAULT_WALL_START,
    watchdog: bool = True,
    isolation: str = "none",
) -> AsyncIterator[PluginHarness]:
    """Run one plugin in a real host until the block ends; yield its :class:`PluginHarness`.

    ``plugin`` is an installed plugin's entry-point name (found by real discovery) or a plugin
    object (class, module or hookimpl object), registered as ``name`` (default: its
    ``__name__`` lower-cased). It must run under ``trio.testing.MockClock`` (``autojump_threshold
    =0`` for :meth:`PluginHarness.advance`). ``home`` defaults to a fresh temporary folder.

    Raises :class:`NekoError` if the plugin is not installed or could not be loaded. On exit
    the host shuts down as in production (terminate within its grace, tasks cancelled).

    ``isolation="process"`` runs the plugin in its own process (it must be importable there:
    installed, or a top-level object of an importable module) on a mock clock this harness
    drives; ``"none"`` (the default) in this one.
    """
    clock = trio.lowlevel.current_clock()
    if not isinstance(clock, trio.testing.MockClock):
        raise TypeError(
            "open_harness needs trio's MockClock: trio.run(..., clock=MockClock("
            "autojump_threshold=0)), or pytest-trio's autojump_clock fixture"
        )
    if isinstance(plugin, str):
        name = plugin
        plugins = None
    else:
        name = name or getattr(plugin, "__name__", type(plugin).__name__).lower()
        plugins = {name: plugin}
    config = HostConfig(
        home=home or Path(tempfile.mkdtemp(prefix=f"neko-harness-{name}-")),
        plugin_filter=PluginFilter(allow=frozenset({name})),
        limits=limits or Limits(),
        plugin_options={name: PluginOptions(isolation=isolation)},
    )
    messages: list[Message] = []
    records: list[logging.LogRecord] = []
    capture = _Capture(records)
    loggers = [logging.getLogger("nekohooks"), logging.getLogger(f"neko.plugin.{name}")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
    wall_offset = wall_start - trio.current_time()  # the wall clock starts at wall_start now

    def sink(source: str, target: str, body: Any) -> None:
        messages.append(Message(source, target, body))

    isolated = isolation != "none"
    mode = kit_children(KitMode(wall_start=wall_start)) if isolated else contextlib.nullcontext()
    try:
        with mode:
            async with open_host(
                config,
                plugins=plugins,
                wall_clock=lambda: wall_offset + trio.current_time(),
                message_sink=sink,
                watchdog=watchdog,
            ) as host:
                harness = PluginHarness(
                    host, name, clock, messages, records, wall_offset=wall_offset
                )
                for failure in host.failures:
                    raise NekoError(f"plugin {name!r} could not be loaded: {failure}")
                if name not in host.runners:
                    raise NekoError(
                        f"no plugin named {name!r} is installed (entry point group neko.plugins)"
                    )
                yield harness
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)
