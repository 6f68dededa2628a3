"""The pytest plugin (entry point ``pytest11``): ``pytest --neko-plugin NAME`` checks a plugin.

Each ``--neko-plugin NAME`` adds a collector ``neko-contract[NAME]`` whose test items are the
contract's checks (``starts and stops``, ``NAME.entry answers valid arguments``, ...), each
passing or failing on its own with the kit's report (plugin, entry, minimal example) instead of
a traceback. A name that is not installed is a collection error saying so.

It lives outside :mod:`nekohooks.testing` so that pytest starts in a project that has nekohooks
without the ``testing`` extra (hypothesis): only ``--neko-plugin`` needs the kit, and then the
collector fails with the kit's own "pip install nekohooks[testing]" message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import ContractPlan

__all__ = ["ContractCheck", "ContractCollector"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nekohooks", "nekohooks contract kit")
    group.addoption(
        "--neko-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="check installed nekohooks plugin NAME against the contract (repeatable)",
    )
    group.addoption(
        "--neko-examples",
        type=int,
        default=25,
        metavar="N",
        help="hypothesis examples per contract property (default: 25)",
    )
    group.addoption(
        "--neko-isolated",
        action="store_true",
        default=False,
        help='check each --neko-plugin in its own process too (isolation = "process")',
    )


class ContractCollector(pytest.Collector):
    """One installed plugin's contract: loads the plugin and yields one item per check."""

    def __init__(
        self, *, plugin: str, examples: int, isolation: str = "none", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin
        self.examples = examples
        self.isolation = isolation
        self.plan: ContractPlan | None = None

    def collect(self) -> Iterator[ContractCheck]:
        try:
            from .testing import plan_contract

            plan = plan_contract(self.plugin, max_examples=self.examples, isolation=self.isolation)
        except (ImportError, LookupError) as exc:  # the extra is missing; no such plugin
            raise self.CollectError(str(exc)) from None
        self.plan = plan
        for check in plan.checks:
            yield ContractCheck.from_parent(self, name=check, plan=plan)

    def teardown(self) -> None:
        if self.plan is not None:
            self.plan.close()

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"nekohooks contract of plugin {self.plugin!r}"


class ContractCheck(pytest.Item):
    """One check of a plugin's contract, as a test item."""

    def __init__(self, *, plan: ContractPlan, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan

    def runtest(self) -> None:
        violations = self.plan.run(self.name)
        if violations:
            lines = "\n".join(f"  - {v}" for v in violations)
            raise AssertionError(
                f"plugin {self.plan.plugin!r} broke the nekohooks contract ({self.name}):\n{lines}"
            )

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)  # the kit's report
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"neko-contract[{self.plan.plugin}]: {self.name}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    # Collected through session.genitems, so each check is reported (and counted in
    # "collected N items") like a test from a file, before -k and -m select among them.
    examples = config.getoption("neko_examples")
    modes = ["none", "process"] if config.getoption("neko_isolated") else ["none"]
    for name in config.getoption("neko_plugin"):
        for mode in modes:
            suffix = "-isolated" if mode == "process" else ""
            collector = ContractCollector.from_parent(
                session,
                name=f"neko-contract[{name}{suffix}]",
                plugin=name,
                examples=examples,
                isolation=mode,
            )
            items.extend(session.genitems(collector))
