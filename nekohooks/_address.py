"""Entry addresses: ``plugin.entry``, and ``plugin__entry`` (the form LLM tool names allow).

The one place that reads and writes them. A plugin name has no ``.`` (discovery refuses one), so
the dotted form splits at its first dot. The LLM form is ambiguous when a plugin's name contains
``__``; :func:`parse_address` then takes the split whose plugin is known.
"""

from __future__ import annotations

from collections.abc import Container

import attrs

__all__ = ["Address", "parse_address"]


@attrs.frozen
class Address:
    """One entry of one plugin."""

    plugin: str
    entry: str

    def __str__(self) -> str:
        return f"{self.plugin}.{self.entry}"

    @property
    def tool_name(self) -> str:
        """The LLM tool name form, ``plugin__entry`` (tool names may not contain dots)."""
        return f"{self.plugin}__{self.entry}"


def parse_address(text: str, *, plugins: Container[str] = ()) -> Address | None:
    """Read ``plugin.entry`` or ``plugin__entry``; ``None`` if ``text`` is neither.

    Args:
        text: the address as a user or a model wrote it.
        plugins: known plugin names, to resolve a ``__`` form whose plugin name has ``__``
            itself (without them the first ``__`` splits).
    """
    plugin, dot, entry = text.partition(".")
    if dot:
        return Address(plugin, entry) if plugin and entry else None
    splits = [i for i in range(1, len(text) - 2) if text.startswith("__", i)]
    for i in splits:
        if text[:i] in plugins:
            return Address(text[:i], text[i + 2 :])
    if splits:
        return Address(text[: splits[0]], text[splits[0] + 2 :])
    return None
