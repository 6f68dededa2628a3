"""Shared helpers for the benchmarks: real plugin distributions, child processes, statistics.

Not a benchmark itself (``nox -s bench`` runs ``bench_*.py`` only). A benchmark that uses it takes
``--json PATH`` and writes its figures there (:func:`save_figures`), so that a later run can be
compared with this one (``benchmarks/compare.py OLD NEW``).
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
NEKO = str(Path(sys.executable).with_name("neko"))

CLASS_PLUGIN = '''\
"""Generated benchmark plugin {name} (class style)."""

from nekohooks import neko_plugin, NekoPluginBase, plugin_entry


@neko_plugin
class Plugin(NekoPluginBase):
    @plugin_entry(id="ping", description="Answer pong")
    async def ping(self):
        return "pong"
'''

MODULE_PLUGIN = '''\
"""Generated benchmark plugin {name} (pluggy module style)."""

from nekohooks import hookimpl, plugin_entry


@plugin_entry(id="ping", description="Answer pong")
async def ping():
    return "pong"


@hookimpl
def neko_entries():
    return [ping]
'''


def write_dist(
    site: Path,
    dist: str,
    module_source: str,
    *,
    entry_points: Mapping[str, str],
    version: str = "1.0.0",
    requires: Sequence[str] = ("nekohooks>=0.1,<0.2",),
    group: str = "neko.plugins",
) -> None:
    """Write one installed distribution into ``site``: a module and its ``.dist-info``.

    The layout is what ``pip install`` leaves in site-packages (minus the wheel's RECORD hashes):
    ``<module>.py`` plus ``<dist>-<version>.dist-info/{METADATA,entry_points.txt,...}``.
    """
    module = dist.replace("-", "_")
    (site / f"{module}.py").write_text(module_source)
    info = site / f"{module}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    metadata = ["Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {req}" for req in requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")
    (info / "WHEEL").write_text("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    (info / "INSTALLER").write_text("pip\n")
    eps = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{group}]\n{eps}")
    (info / "top_level.txt").write_text(module + "\n")
    (info / "RECORD").write_text(
        f"{module}.py,,\n{info.name}/METADATA,,\n{info.name}/entry_points.txt,,\n{info.name}/RECORD,,\n"
    )


def write_plugin_dists(site: Path, count: int, *, prefix: str = "nbp") -> list[str]:
    """Write ``count`` plugin distributions into ``site`` and byte-compile them.

    Even-numbered plugins are class style (``module:Plugin``), odd ones pluggy hookimpl modules.
    Returns the plugin (entry-point) names.
    """
    site.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        name = f"{prefix}{i:05d}"
        module = f"{prefix}_{name}"
        if i % 2 == 0:
            source, value = CLASS_PLUGIN.format(name=name), f"{module}:Plugin"
        else:
            source, value = MODULE_PLUGIN.format(name=name), module
        write_dist(site, f"{prefix}-{name}", source, entry_points={name: value})
        names.append(name)
    compileall.compile_dir(site, quiet=1, maxlevels=0)  # as pip does: no cold .pyc writes later
    return names


def child_env(pythonpath: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment for a child interpreter: ours, plus ``pythonpath`` and ``extra``."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    env.update(extra)
    return env


def run_json(code: str, env: Mapping[str, str], *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object, which is returned."""
    proc = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def wall(cmd: Sequence[str], env: Mapping[str, str]) -> float:
    """Wall time of one run of ``cmd`` (seconds); output discarded; fails loudly on error."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd), env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stderr.decode()[-3000:]}")
    return elapsed


def median(values: Sequence[float]) -> float:
    """The median."""
    return statistics.median(values)


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(seconds: float) -> str:
    """Seconds as a right-aligned millisecond figure."""
    return f"{seconds * 1e3:9.2f} ms"


def ratio(value: float, anchor: float) -> str:
    """``value / anchor`` as ``1.23x``."""
    return f"{value / anchor:6.2f}x" if anchor else "   n/a"


def cli_args(description: str | None = None) -> argparse.Namespace:
    """The options every benchmark takes: ``--json PATH`` (write the figures there)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the figures as JSON")
    return parser.parse_args()


def save_figures(path: Path | None, benchmark: str, figures: Mapping[str, object]) -> None:
    """Write ``figures`` (seconds, bytes, counts and ratios) to ``path`` as JSON, with the
    machine, the Python and the commit they were measured on; nothing if ``path`` is None."""
    if path is None:
        return
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    record = {
        "benchmark": benchmark,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit or None,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "figures": figures,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nfigures written to {path}")
