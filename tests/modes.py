"""Run a test both ways: plugins in the host's process, then each in its own (issue 14)."""

import pytest

#: For a test that takes the ``config`` fixture: once in process, once isolated.
both_ways = pytest.mark.parametrize(
    "config", ["none", "process"], indirect=True, ids=["in-process", "isolated"]
)

#: For a test that takes ``isolation`` (``open_harness``, ``check_plugin``): once in process,
#: once in the plugin's own process on the kit's mock clock.
harness_both_ways = pytest.mark.parametrize(
    "isolation", ["none", "process"], ids=["in-process", "isolated"]
)
