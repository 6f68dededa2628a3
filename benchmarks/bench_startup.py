"""Start-up cost: importing nekohooks, ``neko --version`` and ``neko list``, vs ``python -c pass``.

Every figure is the median wall time of REPEATS fresh processes, interleaved so that machine
noise hits every command alike; ``neko list`` sees the venv's installed example plugins with a
throwaway ``NEKO_HOME`` (warm: from the manifest cache, starting none), ``neko list --strict``
starts them in a one-shot host. Then ``python -X importtime``
(median of its own figure for ``nekohooks``) and the largest imports it pulls in.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import defaultdict

from _common import NEKO, PYTHON, child_env, cli_args, median, ms, save_figures, wall

REPEATS = 15
IMPORTTIME_REPEATS = 7
TOP = 10


def _subtree(stderr: str, root: str) -> list[tuple[float, int, str]]:
    """The ``-X importtime`` lines of ``root``'s import: (cumulative s, depth, name), in order."""
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    lines = []
    for line in stderr.splitlines():
        match = pattern.match(line)
        if match is not None:
            lines.append((int(match[2]) / 1e6, len(match[3]) // 2, match[4]))
    end = next(i for i, (_, depth, name) in enumerate(lines) if name == root and depth == 0)
    start = end
    while start > 0 and lines[start - 1][1] > 0:
        start -= 1
    return lines[start : end + 1]


def importtime() -> tuple[float, list[tuple[float, str]]]:
    """``-X importtime`` of ``import nekohooks``: its cumulative seconds and its largest imports.

    An import counts if nekohooks' own modules import it directly (its parent is a
    ``nekohooks`` module): that is what nekohooks could import lazily or not at all.
    """
    totals: list[float] = []
    direct: dict[str, list[float]] = defaultdict(list)
    for _ in range(IMPORTTIME_REPEATS):
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", "-c", "import nekohooks"],
            capture_output=True,
            text=True,
            check=True,
        )
        lines = _subtree(proc.stderr, "nekohooks")
        totals.append(lines[-1][0])
        for i, (seconds, depth, name) in enumerate(lines[:-1]):
            parent = next(n for _, d, n in lines[i + 1 :] if d < depth)
            if parent.startswith("nekohooks") and not name.startswith("nekohooks"):
                direct[f"{name}  (from {parent})"].append(seconds)
    top = sorted(((median(v), k) for k, v in direct.items()), reverse=True)
    return median(totals), top[:TOP]


def main() -> None:
    args = cli_args(__doc__)
    with tempfile.TemporaryDirectory(prefix="neko-bench-startup-") as home:
        env = child_env(NEKO_HOME=home)
        commands = {
            "python -c pass": [PYTHON, "-c", "pass"],
            "python -c 'import nekohooks'": [PYTHON, "-c", "import nekohooks"],
            "a plugin's import (author API)": [
                PYTHON,
                "-c",
                "from nekohooks import NekoPluginBase, neko_plugin, periodic, plugin_entry",
            ],
            "neko --version": [NEKO, "--version"],
            "neko list": [NEKO, "list"],
            "neko list --strict": [NEKO, "list", "--strict"],
        }
        wall(commands["neko list"], env)  # the first run fills the caches
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(REPEATS):
            for name, cmd in commands.items():
                times[name].append(wall(cmd, env))
    med = {name: median(t) for name, t in times.items()}
    base = med["python -c pass"]
    print(f"python {sys.version.split()[0]}; median of {REPEATS} fresh processes each")
    print(f"  {'command':<34}{'wall':>12}{'minus pass':>13}   ratio to pass")
    for name, value in med.items():
        print(f"  {name:<34}{ms(value)}{ms(value - base)}   {value / base:6.2f}x")
    total, top = importtime()
    print(
        f"\npython -X importtime: nekohooks {ms(total)} cumulative (median of {IMPORTTIME_REPEATS})"
    )
    print("  largest third-party imports made by nekohooks' own modules (cumulative):")
    for seconds, name in top:
        print(f"    {name:<52}{ms(seconds)}")
    figures = {name: value for name, value in med.items()}
    figures["importtime nekohooks"] = total
    save_figures(args.json, "startup", figures)


if __name__ == "__main__":
    main()
