"""The contract kit passes good plugins and catches broken ones, with a clear message."""

from __future__ import annotations

import pytest
from neko_hello import HelloPlugin
from neko_reminders import Reminders

from nekohooks import NekoPluginBase, plugin_entry
from nekohooks.testing import ContractViolation, check_entries


@pytest.mark.parametrize("name, plugin", [("hello", HelloPlugin), ("reminders", Reminders)])
def test_example_plugins_keep_the_contract(name, plugin, tmp_path) -> None:
    check_entries(name, plugin, max_examples=15, home=tmp_path)


class RaisesBare(NekoPluginBase):
    @plugin_entry(id="divide")
    def divide(self, a: int, b: int):
        return a / b  # ZeroDivisionError for b=0 becomes EntryFailed: allowed


class ReturnsNonJson(NekoPluginBase):
    @plugin_entry(id="obj")
    async def obj(self, n: int):
        return object() if n > 3 else n


def test_typed_errors_are_within_the_contract(tmp_path) -> None:
    check_entries("div", RaisesBare, max_examples=15, home=tmp_path)


def test_non_json_result_is_caught_with_a_minimal_example(tmp_path) -> None:
    with pytest.raises(ContractViolation, match=r"nj\.obj returned a value that is not JSON") as v:
        check_entries("nj", ReturnsNonJson, max_examples=50, home=tmp_path)
    assert "{'n': 4}" in str(v.value)  # hypothesis shrank it to the smallest failing n
