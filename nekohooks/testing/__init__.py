"""The contract kit: property-based checks any plugin author can run on their own plugin.

``check_entries(name, plugin)`` loads the plugin into a real host on a ``MockClock`` and, with
hypothesis, checks every entry: arguments generated from its JSON Schema give a JSON result or
a typed :class:`~nekohooks.NekoError`; generated invalid arguments are refused before the
plugin's code runs. A violation raises :class:`ContractViolation` naming the plugin, the entry
and hypothesis's minimal failing example.
"""

from ._contract import (
    ContractViolation,
    check_entries,
    from_schema,
    invalid_arguments,
    valid_arguments,
)

__all__ = [
    "ContractViolation",
    "check_entries",
    "from_schema",
    "invalid_arguments",
    "valid_arguments",
]
