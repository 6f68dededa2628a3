"""Build real plugin distributions on the fly and pip-install them into a throwaway venv.

A wheel is a zip of the plugin's modules plus a ``.dist-info`` folder (METADATA, WHEEL,
entry_points.txt, RECORD); :func:`build_wheel` writes one without a build backend, so a test
costs milliseconds, and pip installs it for real (``pip --python <venv> install``). The venv sees
nekohooks and its dependencies through a ``.pth`` file, so nothing is downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(
    out: Path,
    dist: str,
    files: dict[str, str],
    *,
    entry_points: dict[str, str],
    version: str = "1.0.0",
    requires: tuple[str, ...] = (),
    group: str = "neko.plugins",
) -> Path:
    """Write ``<dist>-<version>-py3-none-any.whl`` with ``files`` and the given entry points."""
    norm = dist.replace("-", "_")
    info = f"{norm}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {r}" for r in requires]
    contents: dict[str, bytes] = {
        path: textwrap.dedent(source).encode() for path, source in files.items()
    }
    contents[f"{info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    contents[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: nekohooks-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    eps = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    contents[f"{info}/entry_points.txt"] = f"[{group}]\n{eps}".encode()
    record = [_record_line(name, data) for name, data in contents.items()]
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    wheel = out / f"{norm}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return wheel


class TempVenv:
    """A throwaway venv that sees nekohooks (and its deps) and into which wheels are installed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
        self.python = root / "bin" / "python"
        site = Path(
            subprocess.check_output(
                [str(self.python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                text=True,
            ).strip()
        )
        outer = sysconfig.get_path("purelib")
        # addsitedir, not a plain path line: the outer .pth files (editable installs) count too.
        (site / "_neko_outer.pth").write_text(f"import site; site.addsitedir({outer!r})\n{REPO}\n")
        self.site = site

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the outer pip against this venv (``pip --python``)."""
        cmd = [sys.executable, "-m", "pip", "--python", str(self.python), *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, check=True, env={"PIP_NO_INPUT": "1", "PATH": ""}
        )

    def install(self, *wheels: Path) -> None:
        """``pip install --no-deps --no-index`` the wheels (real installs, RECORD and all)."""
        self.pip("install", "--no-deps", "--no-index", "--quiet", *map(str, wheels))

    def uninstall(self, *dists: str) -> None:
        """``pip uninstall -y`` the distributions."""
        self.pip("uninstall", "-y", "--quiet", *dists)

    def run(self, code: str, *, env: dict[str, str] | None = None) -> object:
        """Run ``code`` in the venv; it must print one JSON document, which is returned."""
        proc = subprocess.run(
            [str(self.python), "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            env={**(env or {}), "PYTHONDONTWRITEBYTECODE": "1"},
            timeout=120,
        )
        if proc.returncode != 0:
            raise AssertionError(f"venv script failed:\n{proc.stderr}")
        return json.loads(proc.stdout)
