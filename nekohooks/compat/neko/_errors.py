"""What goes wrong when a N.E.K.O plugin folder is loaded; each message names the file.

::

    FolderError                a folder cannot become a nekohooks plugin
    ├── ManifestError          plugin.toml is missing, unreadable, malformed or incomplete
    ├── SdkVersionMismatch     [plugin.sdk] excludes the SDK version this layer provides
    └── EntryImportError       [plugin] entry names a module or class that cannot be loaded

Discovery records these as the plugin's load failure (one line, the plugin named by the
listing); the other plugins still load.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EntryImportError", "FolderError", "ManifestError", "SdkVersionMismatch"]


class FolderError(Exception):
    """A N.E.K.O plugin folder cannot be turned into a nekohooks plugin."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


class ManifestError(FolderError):
    """``plugin.toml`` is missing, unreadable, malformed, or lacks ``[plugin] id``/``entry``."""


class SdkVersionMismatch(FolderError):
    """The plugin's ``[plugin.sdk]`` ranges exclude the N.E.K.O SDK version provided here."""


class EntryImportError(FolderError):
    """``[plugin] entry`` names a module that fails to import or a class it does not define."""
