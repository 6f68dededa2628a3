"""Sessions: tests, lint, typecheck, bench. Each runs alone: ``nox -s tests``."""

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
INSTALL = ["-e", ".[dev]", *map(str, __import__("pathlib").Path("example_plugins").glob("*/"))]


@nox.session
def tests(session: nox.Session) -> None:
    session.install(*INSTALL)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the import layers of ``[tool.importlinter]`` in pyproject.toml."""
    session.install("ruff", "import-linter", "-e", ".")
    session.run("ruff", "check", "nekohooks", "tests")
    session.run("ruff", "format", "--check", "nekohooks", "tests")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install(*INSTALL)
    session.run("mypy", "--strict", "nekohooks")


BENCHMARKS = ["dispatch", "discovery", "timers", "scale", "startup", "isolation", "control"]


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark (``nox -s bench -- timers scale`` runs some); about 6 minutes in all."""
    examples = [str(path) for path in __import__("pathlib").Path("example_plugins").glob("*/")]
    session.install("-e", ".[dev,bench]", *examples)
    for name in session.posargs or BENCHMARKS:
        session.run("python", f"benchmarks/bench_{name}.py")
