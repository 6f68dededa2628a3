"""Shared fixtures: a host config rooted in a temp folder, and a real loopback HTTP server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpserver import Handler, serve

from nekohooks import HostConfig
from nekohooks._config import PluginOptions


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say where the console's browser tests left their screenshots (test artifacts)."""
    saved = getattr(sys.modules.get("browser"), "SAVED", None)  # imported by those tests only
    if saved:
        terminalreporter.write_line(f"console screenshots ({len(saved)}): {saved[0].parent}")


@pytest.fixture
def config(request: pytest.FixtureRequest, tmp_path: Path) -> HostConfig:
    """A host config rooted in a temp folder; ``@both_ways`` (``tests/modes.py``) runs a test
    with plugins in the host's process, then each in its own process."""
    isolation = getattr(request, "param", "none")
    return HostConfig(
        home=tmp_path / "home", plugin_options={"": PluginOptions(isolation=isolation)}
    )


@pytest.fixture
def http_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1; yields its base URL."""
    Handler.hits = {}
    with serve(Handler) as url:
        yield url
