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
    session.install("ruff")
    session.run("ruff", "check", "nekohooks", "tests")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install(*INSTALL)
    session.run("mypy", "--strict", "nekohooks")


@nox.session
def bench(session: nox.Session) -> None:
    session.install(*INSTALL)
    for script in sorted(__import__("pathlib").Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script))
