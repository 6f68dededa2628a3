"""Broken N.E.K.O plugin folders: one clear line naming the file and the problem, per folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from badfolders import CASES, WHERE, write

from nekohooks.compat.neko import FolderError, adapt_folder


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_broken_folder_is_refused_with_one_line_naming_the_file(
    tmp_path: Path, name: str
) -> None:
    folder = write(tmp_path, name)
    with pytest.raises(FolderError) as caught:
        adapt_folder(folder)
    text = str(caught.value)
    assert "\n" not in text
    assert CASES[name][1] in text
    assert str(folder / WHERE[name]) in text


def test_unsupported_sdk_names_import_and_fail_only_when_used() -> None:
    import importlib

    sdk = importlib.import_module("nekohooks.compat.neko.sdk.plugin")
    for name in ("PluginRouter", "Plugins", "MemoryClient", "SystemInfo", "PluginSettings"):
        with pytest.raises(NotImplementedError, match=f"'{name}'"):
            getattr(sdk, name)()
    for name in ("ui", "hook", "on_event", "message", "quick_action"):
        with pytest.raises(NotImplementedError, match=f"'{name}"):
            getattr(sdk, name)()
    with pytest.raises(NotImplementedError, match=r"'ui\.panel' \(UI panels\)"):
        _ = sdk.ui.panel
