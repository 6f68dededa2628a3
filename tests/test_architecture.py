"""The layout is the architecture: imports point one way, and compatibility layers stay public.

The layer order lives in ``pyproject.toml`` (``[tool.importlinter]``); this runs the same
``lint-imports`` as ``nox -s lint``, so a backwards import fails the test suite too.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import nekohooks

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(nekohooks.__file__).parent


def test_imports_follow_the_layers() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def _imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` (a module of ``package``) imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _private(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "nekohooks" and any(part.startswith("_") for part in parts[1:2])


def test_compatibility_layers_import_only_public_modules() -> None:
    compat = PACKAGE / "compat"
    offenders = []
    for path in sorted(compat.rglob("*.py")) if compat.exists() else []:
        package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
        offenders += [(path.name, m) for m in _imported_modules(path, package) if _private(m)]
    assert offenders == []


def test_the_private_check_sees_a_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from ..._host import Host\nfrom nekohooks.errors import NekoError\n")
    found = _imported_modules(sample, "nekohooks.compat.neko")
    assert {m for m in found if _private(m)} == {"nekohooks._host", "nekohooks._host.Host"}


def test_every_private_module_is_in_a_layer() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    modules = [m.name for m in pkgutil.iter_modules([str(PACKAGE)])]
    missing = [m for m in modules if f"nekohooks.{m}" not in text]
    assert missing == []


def test_no_module_is_long_without_saying_why() -> None:
    """A module over ~500 lines says at its top why it is one module ("Over 500 lines: ...")."""
    long = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if len(path.read_text(encoding="utf-8").splitlines()) > 520
        and "Over 500 lines:" not in path.read_text(encoding="utf-8")[:3000]
    ]
    assert long == []
