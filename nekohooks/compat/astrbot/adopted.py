"""Entry-point target of adopted AstrBot plugins: ``nekohooks.compat.astrbot.adopted:<name>``.

``neko adopt`` installs the plugin folder as ``neko_plugin_folders/<name>/`` and registers
``<plugin name> = nekohooks.compat.astrbot.adopted:<name>`` under ``neko.plugins``. Loading that
entry point finds the folder in the distribution that declares it and loads it with
:func:`~nekohooks.compat.astrbot.load_folder`, named after the entry point.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from nekohooks import NekoPluginBase

from ..adopt import FOLDERS
from ._adopt import read_metadata
from ._loader import load_folder

__all__: list[str] = []


def __getattr__(name: str) -> type[NekoPluginBase]:
    if name.startswith("__"):
        raise AttributeError(name)
    for ep in metadata.entry_points(group="neko.plugins"):
        if ep.value.replace(" ", "") != f"{__name__}:{name}" or ep.dist is None:
            continue
        folder = Path(str(ep.dist.locate_file(f"{FOLDERS}/{name}")))
        if folder.is_dir():
            try:
                description = str(read_metadata(folder).get("desc") or "")
            except ValueError:
                description = ""
            return load_folder(folder, name=ep.name, description=description)
    raise AttributeError(f"no installed AstrBot plugin folder {name!r} ({FOLDERS}/{name})")
