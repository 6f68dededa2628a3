"""The N.E.K.O folder kind of ``neko adopt``: a folder with a ``plugin.toml`` that has a ``[plugin]`` table."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..adopt import Adoption
from ._manifest import read_manifest

__all__ = ["describe"]


def describe(folder: Path) -> Adoption | None:
    """The adoption of a N.E.K.O plugin folder; ``None`` if ``folder`` is not one.

    A folder is N.E.K.O's if its ``plugin.toml`` has a ``[plugin]`` table (or does not parse:
    then :class:`~nekohooks.compat.neko.ManifestError` says why).
    """
    path = folder / "plugin.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        data = {"plugin": {}}  # read_manifest below reports it
    if not isinstance(data.get("plugin"), dict):
        return None
    manifest = read_manifest(folder)
    name = manifest.id.replace("-", "_")
    return Adoption(
        kind="N.E.K.O",
        plugin=manifest.id,
        folder_name=name,
        target=f"nekohooks.compat.neko.adopted:{name}",
        loader="nekohooks.compat.neko:adapt_folder",
        version=manifest.version,
        summary=manifest.description or manifest.name,
    )
