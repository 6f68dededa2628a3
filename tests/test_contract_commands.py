"""The contract kit's command property: generated command lines that fit a handler's signature
are answered, those that do not get a usage reply; on good and broken plugins."""

from __future__ import annotations

from typing import Literal

import hypothesis
from hypothesis import given

from nekohooks import NekoPluginBase
from nekohooks._commands import CommandLineError, bind
from nekohooks._handlers import class_handlers
from nekohooks.messages import Rest, command
from nekohooks.testing import check_plugin
from nekohooks.testing._commands import bad_command_lines, command_lines


class Calculator(NekoPluginBase):
    @command("add", group="calc")
    async def add(self, message, a: int, b: float = 0.0, exact: bool = False):
        return str(a + b)

    @command("pick")
    async def pick(self, message, mode: Literal["min", "max"], label: str, note: Rest = ""):
        return f"{mode} {label!r} {note!r}"

    @command("admin", permission="admin")
    def admin(self, message, who: str):
        return f"ok {who}"


class Divider(NekoPluginBase):
    @command("divide")
    async def divide(self, message, a: int, b: int):
        return str(a // b)


SPECS = {spec.name: spec for spec in class_handlers(Calculator)}


@hypothesis.settings(max_examples=200, database=None)
@given(
    command_lines(SPECS["calc add"]) | command_lines(SPECS["pick"]) | command_lines(SPECS["admin"])
)
def test_generated_good_lines_fit(line: str) -> None:
    name, spec = next((n, s) for n, s in SPECS.items() if line.startswith(f"/{n}"))
    bind(f"/{name}", spec.params, line[len(name) + 1 :])


@hypothesis.settings(max_examples=200, database=None)
@given(bad_command_lines(SPECS["calc add"]) | bad_command_lines(SPECS["pick"]))
def test_generated_bad_lines_do_not(line: str | None) -> None:
    assert line is not None  # both commands refuse some lines
    name, spec = next((n, s) for n, s in SPECS.items() if line.startswith(f"/{n}"))
    try:
        bind(f"/{name}", spec.params, line[len(name) + 1 :])
    except CommandLineError:
        return
    raise AssertionError(f"{line!r} was accepted")


def test_a_plugin_with_sound_commands_keeps_the_contract() -> None:
    report = check_plugin(Calculator, name="calc", max_examples=15, days=0.01)
    assert report.ok
    assert report.examples >= 5 * 15  # both command properties ran for every command


def test_a_command_that_raises_is_reported_with_its_line() -> None:
    report = check_plugin(
        Divider, name="divider", max_examples=30, days=0.01, raise_on_violation=False
    )
    [violation] = report.violations
    assert violation.startswith("'/divide ")
    assert "plugin 'divider': /divide failed: ZeroDivisionError" in violation
