"""Host configuration: ``neko.toml`` and the ``NEKO_*`` environment, read in one place.

Every error names the file and the key; unknown tables and keys are warnings with a suggestion;
a config file named explicitly must exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nekohooks import Limits, RestartPolicy, load_config
from nekohooks.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "neko.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(environ={"NEKO_HOME": str(tmp_path)})
    assert config.home == tmp_path
    assert config.limits == Limits() and config.restart == RestartPolicy()
    assert config.source is None and config.warnings == ()


def test_values_and_filters_from_file_and_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[plugins]\nallow = ["a", "b", "c"]\ndeny = ["c"]\n'
        "[limits]\nentry_timeout = 5\nworker_threads = 2\n[restart]\nmax_restarts = 0\n",
    )
    config = load_config(
        environ={
            "NEKO_HOME": str(tmp_path),
            "NEKO_LOAD_PLUGINS": "a, b",
            "NEKO_DISABLE_PLUGINS": "b",
        }
    )
    assert config.source == path
    assert config.limits.entry_timeout == 5 and config.limits.worker_threads == 2
    assert config.restart.max_restarts == 0
    assert [config.plugin_filter.permits(n) for n in "abc"] == [True, False, False]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[limits]\nentry_timeout = "abc"\n', "[limits] entry_timeout must be a number, got 'abc'"),
        ("[limits]\nentry_timeout = -1\n", "[limits] entry_timeout must be positive, got -1"),
        ("[limits]\nworker_threads = 2.5\n", "[limits] worker_threads must be a whole number"),
        ("[limits]\nstartup_timeout = true\n", "[limits] startup_timeout must be a number"),
        ("[restart]\nmax_restarts = -2\n", "[restart] max_restarts must not be negative"),
        ('[plugins]\nallow = "a"\n', "[plugins] allow must be a list of names"),
        ("limits = 3\n", "[limits] must be a table"),
        ("[limits\n", "cannot read host config"),
    ],
)
def test_every_error_names_the_file_and_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"NEKO_HOME": str(tmp_path)})
    assert needle in str(caught.value) and str(path) in str(caught.value)


def test_unknown_tables_and_keys_are_warnings_with_a_suggestion(tmp_path: Path, caplog) -> None:
    write(tmp_path, "[limitz]\nentry_timeout = 1\n[limits]\nentry_timout = 2\n")
    config = load_config(environ={"NEKO_HOME": str(tmp_path)})
    assert config.limits == Limits()
    assert len(config.warnings) == 2
    assert "unknown table [limitz] (did you mean 'limits'?)" in config.warnings[0]
    assert "unknown key [limits] entry_timout (did you mean 'entry_timeout'?)" in config.warnings[1]
    assert all(str(tmp_path / "neko.toml") in w for w in config.warnings)
    assert "unknown table [limitz]" in caplog.text


def test_an_explicit_config_file_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_config(environ={"NEKO_HOME": str(tmp_path), "NEKO_CONFIG": str(missing)})
    assert str(missing) in str(caught.value)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(missing, environ={"NEKO_HOME": str(tmp_path)})
