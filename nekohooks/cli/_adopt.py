"""``neko adopt``: package a foreign plugin folder (N.E.K.O today) as an installable wheel."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from ._render import console

__all__ = ["adopt"]


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder to write the wheel into.",
)
def adopt(folder: Path, out: Path) -> None:
    """Package a foreign plugin FOLDER (N.E.K.O: plugin.toml + package) as a wheel."""
    # The compatibility layers sit above the CLI: loaded by name, as plugins are.
    layer = importlib.import_module("nekohooks.compat.adopt")
    try:
        wheel = layer.adopt(folder, out)
    except layer.AdoptError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"Wrote {wheel}", highlight=False, markup=False)
    console.print(f"Install it with:  pip install {wheel}", highlight=False, markup=False)
