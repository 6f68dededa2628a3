"""The contract kit: property-based checks any plugin author runs on their own plugin.

* :func:`check_plugin` runs the whole contract (see :mod:`nekohooks.testing._contract`) on an
  installed plugin or a plugin object and raises :class:`ContractViolation` listing each
  violation with hypothesis's minimal example. ``pytest --neko-plugin NAME`` and
  ``neko check NAME`` run it from the command line.
  Generated sizes and each example's memory and real time are bounded by a :class:`Budget`;
  :func:`plan_contract` lists the checks to run them one at a time (the pytest plugin does).
* :func:`open_harness` runs one plugin in a real host under trio's ``MockClock``, for an
  author's own tests: three days of periodic jobs in milliseconds, every message and log record
  captured.
* :func:`valid_arguments` / :func:`invalid_arguments` / :func:`from_schema`: the hypothesis
  strategies the kit draws entry arguments from.

The kit is the ``testing`` extra: ``pip install "nekohooks[testing]"`` (it adds hypothesis).
Without it, importing this package raises one :class:`ImportError` saying so.
"""

try:
    import hypothesis as _hypothesis  # noqa: F401  (only to check that the extra is installed)
except ImportError as exc:
    raise ImportError(
        'nekohooks.testing (the contract kit) needs hypothesis: pip install "nekohooks[testing]"',
        name=exc.name,
    ) from None

from ._budget import Budget
from ._contract import ContractPlan, ContractReport, ContractViolation, check_plugin, plan_contract
from ._harness import Message, PluginHarness, open_harness
from ._strategies import from_schema, invalid_arguments, valid_arguments

__all__ = [
    "Budget",
    "ContractPlan",
    "ContractReport",
    "ContractViolation",
    "Message",
    "PluginHarness",
    "check_plugin",
    "from_schema",
    "invalid_arguments",
    "open_harness",
    "plan_contract",
    "valid_arguments",
]
