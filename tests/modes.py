"""Run a test both ways: plugins in the host's process, then each in its own (issue 14)."""

import pytest

#: For a test that takes the ``config`` fixture: once in process, once isolated.
both_ways = pytest.mark.parametrize(
    "config", ["none", "process"], indirect=True, ids=["in-process", "isolated"]
)
