"""``neko new``: scaffold a plugin distribution."""

from __future__ import annotations

from pathlib import Path

import click

from .._scaffold import ScaffoldError, create, distribution_name, name_problem
from ._options import installed_names
from ._render import console

__all__ = ["new"]


@click.command()
@click.argument("name")
@click.option(
    "--directory",
    "-d",
    type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
    help="The project folder to create (default: ./neko-NAME). Must be absent or empty.",
)
def new(name: str, directory: Path | None) -> None:
    """Scaffold a plugin distribution NAME: pyproject, plugin class, plugin.toml, tests."""
    problem = name_problem(name)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="NAME")
    target = directory if directory is not None else Path(distribution_name(name))
    if name in installed_names():
        click.echo(
            f"warning: a plugin named {name!r} is already installed; two distributions "
            "with one plugin name cannot load together",
            err=True,
        )
    try:
        files = create(name, target)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    console.print(f"Created [bold]{target}[/] with plugin [bold]{name}[/]:", highlight=False)
    for path in files:
        console.print(f"  {path.relative_to(target).as_posix()}", highlight=False)
    console.print("\nNext:", highlight=False)
    steps = [
        f"cd {target}",
        'pip install -e ".[test]"',
        "neko list",
        f"neko call {name}.hello name=Ada",
        "pytest",
        f"neko run --only {name}",
    ]
    for step in steps:
        console.print(f"  {step}", highlight=False, markup=False)
