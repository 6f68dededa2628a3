"""Foreign plugin folders loaded straight from disk (``[plugins] folders`` in ``neko.toml``).

For development: no packaging, the folder is used where it is. Discovery reaches this module
only through the ``neko.folder_kinds`` entry point nekohooks registers
(``compat = "nekohooks.compat.folders:FOLDERS"``), so the core never imports a compatibility
layer: for each configured folder it asks :meth:`FolderKinds.describe` for the plugin's name
and version (nothing imported), and imports it with :meth:`FolderKinds.load` in the same
guarded step as an installed plugin's entry point. The kinds are those of ``neko adopt``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import attrs

from .adopt import detect

__all__ = ["FOLDERS", "FolderKinds"]


@attrs.frozen
class FolderKinds:
    """What discovery asks of a plugin folder."""

    def describe(self, folder: Path) -> tuple[str, str]:
        """``(plugin name, version)``; ``AdoptError`` naming the file if it is not usable."""
        found = detect(folder)
        return found.plugin, found.version

    def load(self, folder: Path) -> object:
        """The plugin object for ``folder`` (imports its code)."""
        found = detect(folder)
        module, _, function = found.loader.partition(":")
        return getattr(importlib.import_module(module), function)(folder)


FOLDERS = FolderKinds()
