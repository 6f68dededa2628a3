"""The AstrBot folder kind of ``neko adopt``: ``main.py`` (or ``<folder>.py``) beside
``metadata.yaml``; ``requirements.txt`` becomes the distribution's dependencies.

``metadata.yaml`` gives the plugin's name (made a valid nekohooks name: other characters become
``_``), version (a leading ``v`` dropped) and description; ``_conf_schema.json`` travels with the
folder and is read when the plugin starts. Reading YAML needs PyYAML (``nekohooks[astrbot]``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from nekohooks import NekoPluginBase

from ..adopt import Adoption
from ._loader import load_folder, main_file

__all__ = ["describe", "folder_plugin", "read_metadata", "requirements"]


def read_metadata(folder: Path) -> dict[str, Any]:
    """``metadata.yaml`` as a dict; raises ``ValueError`` naming the file when it is not one."""
    try:
        import yaml
    except ImportError:
        raise ValueError(
            'reading an AstrBot metadata.yaml needs PyYAML: pip install "nekohooks[astrbot]"'
        ) from None
    path = folder / "metadata.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of name, version, desc, author")
    return data


def requirements(folder: Path) -> tuple[str, ...]:
    """``requirements.txt``'s requirements (comments and blank lines skipped)."""
    path = folder / "requirements.txt"
    if not path.is_file():
        return ()
    found: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            found.append(str(Requirement(text)))
        except InvalidRequirement as exc:
            raise ValueError(f"{path}:{number}: not a requirement ({exc})") from None
    return tuple(found)


def describe(folder: Path) -> Adoption | None:
    """The adoption of an AstrBot plugin folder; ``None`` if ``folder`` is not one."""
    if not (folder / "metadata.yaml").is_file():
        return None
    try:
        main_file(folder)
    except FileNotFoundError:
        return None
    metadata = read_metadata(folder)
    raw_name = str(metadata.get("name") or folder.name)
    name = re.sub(r"[^A-Za-z0-9_-]", "_", raw_name).strip("-")[:64] or "astrbot_plugin"
    version = str(metadata.get("version") or "0.0.0").strip().removeprefix("v")
    summary = str(metadata.get("desc") or metadata.get("description") or raw_name)
    folder_name = re.sub(r"\W", "_", name)
    return Adoption(
        kind="AstrBot",
        plugin=name,
        folder_name=folder_name,
        target=f"nekohooks.compat.astrbot.adopted:{folder_name}",
        loader="nekohooks.compat.astrbot:folder_plugin",
        version=version,
        summary=summary,
        requires=requirements(folder),
    )


def folder_plugin(folder: Path) -> type[NekoPluginBase]:
    """The plugin class of the AstrBot folder ``folder``, named as ``neko adopt`` would name it
    (for ``[plugins] folders`` in ``neko.toml``: a folder used where it is)."""
    found = describe(folder)
    if found is None:
        raise ValueError(f"{folder}: not an AstrBot plugin folder (main.py + metadata.yaml)")
    return load_folder(folder, name=found.plugin, description=found.summary)
