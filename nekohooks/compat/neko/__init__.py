"""Run N.E.K.O plugins (SDK v2) unchanged on nekohooks.

A N.E.K.O plugin is a folder with ``plugin.toml`` and a package that imports from
``plugin.sdk.plugin``. :func:`adapt_folder` turns one into an ordinary nekohooks plugin class;
``neko adopt FOLDER`` packages it as a distribution whose ``neko.plugins`` entry point names
:mod:`nekohooks.compat.neko.adopted`. The SDK names provided are in :mod:`.sdk.plugin`.
"""

from ._adapter import adapt_folder
from ._errors import EntryImportError, FolderError, ManifestError, SdkVersionMismatch
from ._manifest import SDK_VERSION, Manifest, read_manifest
from .sdk._result import ErrReturned

__all__ = [
    "SDK_VERSION",
    "EntryImportError",
    "ErrReturned",
    "FolderError",
    "Manifest",
    "ManifestError",
    "SdkVersionMismatch",
    "adapt_folder",
    "read_manifest",
]
