"""The pytest plugin (entry point ``pytest11``): ``pytest --neko-plugin NAME`` checks a plugin.

It lives outside :mod:`nekohooks.testing` so that pytest starts in a project that has nekohooks
without the ``testing`` extra (hypothesis): only ``--neko-plugin`` needs the kit, and then the
item fails with the kit's own "pip install nekohooks[testing]" message.

Each ``--neko-plugin`` adds one test item, ``neko-contract[NAME]`` (with ``--neko-isolated``
a second, ``neko-contract[NAME-isolated]``, the plugin in its own process), that runs
:func:`~nekohooks.testing.check_plugin` on the installed plugin ``NAME``; a violation fails it
with the kit's report (plugin, entry, minimal example) instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

__all__ = ["ContractItem"]


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


class ContractItem(pytest.Item):
    """One plugin's contract check, as a test item."""

    def __init__(
        self, *, plugin: str, examples: int, isolation: str = "none", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.plugin = plugin
        self.examples = examples
        self.isolation = isolation

    def runtest(self) -> None:
        from .testing import check_plugin

        check_plugin(self.plugin, max_examples=self.examples, isolation=self.isolation)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, AssertionError | ImportError):
            return str(excinfo.value)  # the kit's report, or what to install
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"nekohooks contract of plugin {self.plugin!r}"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    examples = config.getoption("neko_examples")
    modes = ["none", "process"] if config.getoption("neko_isolated") else ["none"]
    for name in config.getoption("neko_plugin"):
        for mode in modes:
            suffix = "-isolated" if mode == "process" else ""
            items.append(
                ContractItem.from_parent(
                    session,
                    name=f"neko-contract[{name}{suffix}]",
                    plugin=name,
                    examples=examples,
                    isolation=mode,
                )
            )
