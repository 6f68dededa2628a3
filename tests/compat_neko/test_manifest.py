"""plugin.toml semantics: SDK ranges, [plugin_runtime] (enabled, startup_failure), bad values."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from badfolders import GOOD_CLASS

from nekohooks import HostConfig, open_host
from nekohooks.compat.neko import ManifestError, SdkVersionMismatch, adapt_folder, read_manifest
from nekohooks.errors import EntryFailed, PluginUnavailable
from nekohooks.records import PluginState

FAILING_STARTUP = """
from plugin.sdk.plugin import Err, NekoPluginBase, Ok, SdkError, lifecycle, plugin_entry


class Plugin(NekoPluginBase):
    @lifecycle(id="startup")
    async def startup(self, **_):
        return Err(SdkError("no token configured", code="NO_TOKEN"))

    @plugin_entry(id="ping")
    async def ping(self, **_):
        return Ok("pong")
"""


def folder(
    root: Path, package: str, extra: str = "", code: str = GOOD_CLASS, sdk: str = ""
) -> Path:
    path = root / package
    path.mkdir()
    (path / "plugin.toml").write_text(
        f'[plugin]\nid = "{package}"\nentry = "plugin.plugins.{package}:Plugin"\n{sdk}\n{extra}',
        encoding="utf-8",
    )
    (path / "__init__.py").write_text(code, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("sdk", "problem"),
    [
        (
            '[plugin.sdk]\nsupported = ">=0.2"',
            "requires N.E.K.O SDK >=0.2, this is N.E.K.O SDK 0.1.0",
        ),
        (
            '[plugin.sdk]\nconflicts = ["<0.2"]',
            "conflicts '<0.2': conflicts with N.E.K.O SDK 0.1.0",
        ),
        ('[plugin.sdk]\nsupported = "one"', "[plugin.sdk] supported 'one' is not a version range"),
    ],
)
def test_sdk_ranges_that_exclude_us(tmp_path: Path, sdk: str, problem: str) -> None:
    manifest = read_manifest(folder(tmp_path, "ranges", sdk=sdk))
    with pytest.raises((SdkVersionMismatch, ManifestError), match=r"plugin\.toml: ") as caught:
        manifest.check_sdk()
    assert problem in str(caught.value)


def test_untested_and_recommended_ranges_only_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sdk = '[plugin.sdk]\nsupported = ">=0.2"\nuntested = ">=0.1,<0.2"\nrecommended = ">=0.2"'
    with caplog.at_level(logging.WARNING, logger="nekohooks.compat.neko"):
        read_manifest(folder(tmp_path, "untested", sdk=sdk)).check_sdk()
    assert [r.getMessage() for r in caplog.records] == [
        "N.E.K.O plugin 'untested': SDK 0.1.0 is only in its untested range >=0.1,<0.2",
        "N.E.K.O plugin 'untested': SDK 0.1.0 is outside its recommended range >=0.2",
    ]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            "[plugin_runtime]\ntimeout = 900",
            "[plugin_runtime] timeout must be in (0, 300] seconds, got 900",
        ),
        (
            '[plugin_runtime]\nstartup_failure = "retry"',
            "startup_failure must be one of warn, fail, ignore",
        ),
        ('[plugin_runtime]\nenabled = "yes"', "[plugin_runtime] enabled must be a bool, got 'yes'"),
        ("[plugin.store]\nenabled = 1", "[plugin.store] enabled must be a bool, got 1"),
    ],
)
def test_bad_runtime_values_name_the_key(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(ManifestError) as caught:
        read_manifest(folder(tmp_path, "values", extra))
    assert problem in str(caught.value) and str(tmp_path / "values" / "plugin.toml") in str(
        caught.value
    )


def test_bad_ids_and_entries(tmp_path: Path) -> None:
    path = folder(tmp_path, "ids")
    (path / "plugin.toml").write_text('[plugin]\nid = "a b"\nentry = "x:Y"\n', encoding="utf-8")
    with pytest.raises(ManifestError, match="id must be a plugin name"):
        read_manifest(path)
    (path / "plugin.toml").write_text('[plugin]\nid = "ids"\nentry = "x:Y"\n', encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert "entry must look like 'plugin.plugins.<package>:Class', got 'x:Y'" in str(caught.value)


async def test_a_disabled_plugin_is_listed_but_refuses_calls(tmp_path: Path) -> None:
    path = folder(tmp_path, "disabled", "[plugin_runtime]\nenabled = false")
    async with open_host(
        HostConfig(home=tmp_path / "home"), plugins={"disabled": adapt_folder(path)}
    ) as host:
        assert host.status("disabled").state is PluginState.RUNNING
        with pytest.raises(EntryFailed, match=r"disabled by \[plugin_runtime\] enabled") as refused:
            await host.call("disabled.ping")
        assert isinstance(refused.value.__cause__, PluginUnavailable)


@pytest.mark.parametrize("policy", ["warn", "ignore"])
async def test_startup_failure_warn_and_ignore_keep_the_plugin(tmp_path: Path, policy: str) -> None:
    extra = f'[plugin_runtime]\nstartup_failure = "{policy}"'
    path = folder(tmp_path, f"lenient_{policy}", extra, FAILING_STARTUP)
    plugins = {"lenient": adapt_folder(path)}
    async with open_host(HostConfig(home=tmp_path / "home"), plugins=plugins) as host:
        assert await host.call("lenient.ping") == "pong"


async def test_startup_failure_fail_fails_the_start(tmp_path: Path) -> None:
    path = folder(tmp_path, "strict", "", FAILING_STARTUP)  # "fail" is the default
    async with open_host(
        HostConfig(home=tmp_path / "home"), plugins={"strict": adapt_folder(path)}
    ) as host:
        status = host.status("strict")
        assert status.state is not PluginState.RUNNING
        assert status.last_error == "ErrReturned: [NO_TOKEN] no token configured"
