"""Make public objects report their public home, so tracebacks and reprs show public names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["publish"]


def publish(module: str, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Set ``__module__`` of each class and function in ``names`` to ``module`` (as httpx and
    trio do), e.g. ``nekohooks._errors.EntryTimeout`` → ``nekohooks.errors.EntryTimeout``."""
    for name in names:
        obj = namespace[name]
        if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__code__")):
            obj.__module__ = module
