"""Entry-point target of adopted N.E.K.O plugins: ``nekohooks.compat.neko.adopted:<name>``.

``neko adopt`` writes a distribution that installs the plugin folder as
``neko_plugin_folders/<name>/`` and registers ``<plugin id> = nekohooks.compat.neko.adopted:<name>``
under ``neko.plugins``. Loading that entry point looks the folder up (in the distribution
that declares the entry point, else on ``sys.path``) and adapts it.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

from ._adapter import adapt_folder
from ._errors import ManifestError

__all__: list[str] = []

FOLDERS = "neko_plugin_folders"


def _folder(name: str) -> Path:
    for ep in metadata.entry_points(group="neko.plugins"):
        if ep.value.replace(" ", "") == f"{__name__}:{name}" and ep.dist is not None:
            candidate = Path(str(ep.dist.locate_file(f"{FOLDERS}/{name}")))
            if candidate.is_dir():
                return candidate
    for entry in sys.path:
        candidate = Path(entry or ".") / FOLDERS / name
        if candidate.is_dir():
            return candidate
    raise ManifestError(Path(FOLDERS) / name, "no installed N.E.K.O plugin folder by that name")


def __getattr__(name: str) -> type:
    if name.startswith("__"):
        raise AttributeError(name)
    return adapt_folder(_folder(name))
