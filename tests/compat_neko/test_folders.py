"""``[plugins] folders`` in neko.toml: N.E.K.O plugin folders used in place, through the same
discovery as installed plugins; a folder that cannot be used fails alone, naming itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from badfolders import write
from test_cli import neko

from nekohooks import load_config, open_host
from nekohooks.errors import ConfigError

PLUGINS = Path(__file__).parent / "plugins"  # the N.E.K.O plugin folders of these tests


def config_file(
    tmp_path: Path, *folders: Path, allow: str = '["memo_box", "greeter", "bad_sdk"]'
) -> Path:
    names = ", ".join(json.dumps(str(f)) for f in folders)
    path = tmp_path / "neko.toml"
    path.write_text(f"[plugins]\nallow = {allow}\nfolders = [{names}]\n", encoding="utf-8")
    return path


def test_relative_folders_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "neko.toml"
    path.parent.mkdir()
    path.write_text('[plugins]\nfolders = ["../plugins/x", "/abs/y"]\n', encoding="utf-8")
    config = load_config(path, environ={"NEKO_HOME": str(tmp_path)})
    assert config.plugin_folders == (tmp_path / "conf" / "../plugins/x", Path("/abs/y"))


async def test_folders_load_next_to_installed_plugins_and_broken_ones_fail_alone(
    tmp_path: Path,
) -> None:
    broken = write(tmp_path / "src", "bad_no_toml")
    wrong_sdk = write(tmp_path / "src", "bad_sdk")
    path = config_file(tmp_path, PLUGINS / "memo_box", PLUGINS / "greeter", broken, wrong_sdk)
    config = load_config(path, environ={"NEKO_HOME": str(tmp_path / "home")})
    async with open_host(config) as host:
        assert sorted(host.plugins) == ["greeter", "memo_box"]
        assert await host.call("memo_box.add", text="hi") == {"id": "note:0001", "count": 1}
        assert await host.call("greeter.greet", name="Ada") == "Hello, Ada!"
        failures = {f.name: f for f in host.failures}
    info = failures["bad_no_toml"]
    assert (
        info.error
        == f"{broken}: not a plugin folder of a known kind (N.E.K.O (a folder with plugin.toml), "
        "AstrBot (main.py + metadata.yaml))"
    )
    sdk = failures["bad_sdk"]
    assert (sdk.phase, sdk.distribution) == ("import", f"folder {wrong_sdk}")
    assert (
        "requires N.E.K.O SDK >=0.3,<0.4" in sdk.error
        and str(wrong_sdk / "plugin.toml") in sdk.error
    )


def test_the_neko_command_sees_folder_plugins(tmp_path: Path) -> None:
    # the neko command refuses an allow list naming a plugin it cannot find (issue 13)
    path = config_file(tmp_path, PLUGINS / "greeter", allow='["greeter"]')
    env = {"NEKO_CONFIG": str(path)}
    called = neko(tmp_path / "home", "call", "greeter.greet", "name=Bo", env=env)
    assert called.returncode == 0, called.stderr
    assert called.stdout.strip() == "Hello, Bo!"
    listed = neko(tmp_path / "home", "list", "--json", "--only", "greeter", env=env)
    (row,) = json.loads(listed.stdout)
    assert (row["status"], row["distribution"], row["version"]) == (
        "installed",
        f"folder {PLUGINS / 'greeter'}",
        "0.0.3",
    )


def test_folders_must_be_a_list_of_paths(tmp_path: Path) -> None:
    path = tmp_path / "neko.toml"
    path.write_text('[plugins]\nfolders = "plugins/x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[plugins\] folders must be a list of paths"):
        load_config(path, environ={"NEKO_HOME": str(tmp_path)})
