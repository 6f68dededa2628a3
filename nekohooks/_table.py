"""The host's plugin table: each plugin's runner, and every entry address pointing at it.

One plugin can be added, replaced (a fresh runner after a stop) or removed at run time without
touching any other row. Lookups are one dict access by the address exactly as the caller wrote
it, in either form (``plugin.entry`` or ``plugin__entry``); :mod:`._address` makes both keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._address import Address
from ._model import EntrySpec
from ._runtime import Runner
from ._schema import ArgumentValidator

__all__ = ["EntryRow", "PluginTable"]


class EntryRow:
    """One entry in the table: its spec, the runner that serves it and its argument check."""

    __slots__ = ("check", "check_empty", "runner", "spec")

    def __init__(self, spec: EntrySpec, runner: Runner) -> None:
        self.spec = spec
        self.runner = runner
        schema = spec.input_schema
        self.check: Callable[[Mapping[str, Any]], None] | None = None
        # An entry that takes no arguments needs no check of an empty call (the hot path).
        self.check_empty = not (
            schema.get("additionalProperties") is False and not schema.get("properties")
        )
        # (an entry taking nothing still has a check: a call with arguments is refused)
        if schema.get("required") or schema.get("properties") or not self.check_empty:
            self.check = ArgumentValidator(runner.name, spec.id, dict(schema)).validate


class PluginTable:
    """Runners by plugin name (in the order they were added) and entries by address."""

    def __init__(self) -> None:
        self.runners: dict[str, Runner] = {}
        self.rows: dict[str, EntryRow] = {}  # by address, both forms; changed in place only
        self._specs: dict[str, tuple[EntrySpec, ...]] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.runners

    def __iter__(self) -> Iterator[Runner]:
        return iter(list(self.runners.values()))

    def put(self, runner: Runner, entries: tuple[EntrySpec, ...]) -> None:
        """Add plugin ``runner.name``, or replace its runner; its entries point at ``runner``."""
        self.drop(runner.name)
        self.runners[runner.name] = runner
        self._specs[runner.name] = entries
        for spec in entries:
            row = EntryRow(spec, runner)
            address = Address(runner.name, spec.id)
            self.rows[str(address)] = row
            self.rows[address.tool_name] = row

    def drop(self, name: str) -> Runner | None:
        """Remove plugin ``name`` and its entries; return its runner (``None`` if absent)."""
        runner = self.runners.pop(name, None)
        for spec in self._specs.pop(name, ()):
            address = Address(name, spec.id)
            self.rows.pop(str(address), None)
            self.rows.pop(address.tool_name, None)
        return runner

    def row(self, address: str) -> EntryRow | None:
        """The entry at ``address`` (either form), or ``None``."""
        return self.rows.get(address)

    def entry_ids(self, name: str) -> tuple[str, ...]:
        """The ids of plugin ``name``'s entries."""
        return tuple(spec.id for spec in self._specs.get(name, ()))

    def entries(self) -> list[tuple[Address, EntrySpec]]:
        """Every entry, by plugin in table order."""
        return [
            (Address(name, spec.id), spec) for name, specs in self._specs.items() for spec in specs
        ]
