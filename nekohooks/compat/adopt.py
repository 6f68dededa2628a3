"""``neko adopt``: package a foreign plugin folder as an installable nekohooks distribution.

A folder kind (N.E.K.O today) is one entry of :data:`KINDS`: a ``describe(folder)`` function,
imported when needed, that returns an :class:`Adoption` for a folder of its kind, ``None`` for
another kind, and raises for a malformed one of its kind. :func:`adopt` asks each kind in
turn and writes a wheel holding the folder byte for byte (caches and VCS folders left out)
under ``neko_plugin_folders/<folder name>/``, with a ``neko.plugins`` entry point that names
the kind's adapter. The wheel is written directly (no build backend, so it works offline and
keeps every file of the folder, whatever its name); ``pip install`` it like any other.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
from packaging.version import InvalidVersion, Version

__all__ = ["FOLDERS", "KINDS", "AdoptError", "Adoption", "adopt", "detect"]

#: Folder kind → ``"module:function"`` of its ``describe(folder) -> Adoption | None``.
KINDS: dict[str, str] = {
    "N.E.K.O (a folder with plugin.toml)": "nekohooks.compat.neko._adopt:describe",
    "AstrBot (main.py + metadata.yaml)": "nekohooks.compat.astrbot._adopt:describe",
}
#: Where adopted folders are installed, one folder per plugin.
FOLDERS = "neko_plugin_folders"
_SKIP_DIRS = frozenset(
    {"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
_EPOCH = (1980, 1, 1, 0, 0, 0)


class AdoptError(Exception):
    """The folder cannot be adopted; the message names the folder or file and the problem."""


@attrs.frozen
class Adoption:
    """What a folder kind says about one folder: how to name, version and load it."""

    kind: str
    plugin: str
    """The plugin's name (the ``neko.plugins`` entry-point name)."""
    folder_name: str
    """A Python identifier: the folder is installed as ``neko_plugin_folders/<folder_name>``."""
    target: str
    """The entry point's object reference, e.g. ``nekohooks.compat.neko.adopted:weather``."""
    loader: str
    """``module:function`` that turns the folder itself into the plugin object."""
    version: str
    summary: str
    requires: tuple[str, ...] = ()
    """Requirements the plugin needs (``Requires-Dist``), e.g. from ``requirements.txt``."""


def detect(folder: Path) -> Adoption:
    """The :class:`Adoption` of the first kind that recognises ``folder``; else ``AdoptError``."""
    if not folder.is_dir():
        raise AdoptError(f"{folder}: not a folder")
    for _kind, ref in KINDS.items():
        module, _, name = ref.partition(":")
        describe: Callable[[Path], Adoption | None] = getattr(importlib.import_module(module), name)
        try:
            found = describe(folder)
        except Exception as exc:  # a malformed folder of this kind: say what is wrong
            raise AdoptError(f"{exc}") from exc
        if found is not None:
            return found
    raise AdoptError(f"{folder}: not a plugin folder of a known kind ({', '.join(KINDS)})")


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(p in _SKIP_DIRS for p in parts) or path.suffix in (".pyc", ".pyo"):
            continue
        if path.is_file():
            yield path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def adopt(folder: Path, out: Path) -> Path:
    """Write the wheel for ``folder`` into ``out``; return its path.

    Raises:
        AdoptError: the folder is not of a known kind, or is malformed for its kind, or its
            version is not a valid version number.
    """
    folder = folder.resolve()
    found = detect(folder)
    try:
        version = str(Version(found.version))
    except InvalidVersion:
        raise AdoptError(
            f"{folder}: version {found.version!r} is not a valid version number"
        ) from None
    dist = f"neko-plugin-{found.plugin}".lower().replace("_", "-")
    stem = re.sub(r"[-_.]+", "_", dist)
    info = f"{stem}-{version}.dist-info"
    summary = " ".join(found.summary.split())[:200]
    meta_files = {
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
            f"Summary: {summary}\nRequires-Dist: nekohooks>=0.1\n"
            + "".join(f"Requires-Dist: {r}\n" for r in found.requires)
            + f"\nThe {found.kind} plugin {found.plugin!r}, adopted by `neko adopt`.\n"
        ),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: nekohooks adopt\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[neko.plugins]\n{found.plugin} = {found.target}\n",
    }
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{stem}-{version}-py3-none-any.whl"
    record: list[str] = []

    def write(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
        entry = zipfile.ZipInfo(name, _EPOCH)
        entry.external_attr = 0o644 << 16
        entry.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(entry, data)
        record.append(_record_line(name, data))

    with zipfile.ZipFile(wheel, "w") as archive:
        for path in _files(folder):
            name = f"{FOLDERS}/{found.folder_name}/{path.relative_to(folder).as_posix()}"
            write(archive, name, path.read_bytes())
        for name, text in meta_files.items():
            write(archive, name, text.encode())
        record.append(f"{info}/RECORD,,")
        archive.writestr(zipfile.ZipInfo(f"{info}/RECORD", _EPOCH), "\n".join(record) + "\n")
    return wheel
