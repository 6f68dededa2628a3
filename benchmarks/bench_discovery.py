"""Plugin discovery: nekohooks vs a bare entry-point scan, pluggy and stevedore, side by side.

Writes real installed distributions (``.dist-info`` with METADATA incl. ``Requires-Dist:
nekohooks``, ``entry_points.txt`` in ``neko.plugins``, a byte-compiled module: half class
plugins, half pluggy hookimpl modules) into a temporary site folder on ``PYTHONPATH``, for 10,
100 and 1,000 plugins; the venv's own distributions (and its installed example plugins) are
scanned too, as in real life, but only the generated plugins are loaded (each tool's own way
of skipping a plugin before import), so other plugins installed in the venv do not skew the
figures. Every measurement runs in a fresh interpreter (so no import or
metadata cache of an earlier measurement helps), with all libraries imported before the clock
starts; the modes are interleaved and the median of the repeats is printed.

* ``bare``: ``importlib.metadata.entry_points(group="neko.plugins")`` then ``ep.load()`` each;
* ``nekohooks``: ``nekohooks._scan_cache.cached_scan()`` (a hit: an earlier process filled the
  cache) + ``load_plugins`` into a ``Registry`` (what ``open_host`` does), version check and
  pluggy registration included; ``nekohooks-cold``: the same with an empty cache folder;
* ``pluggy``: ``PluginManager.load_setuptools_entrypoints("neko.plugins")``;
* ``stevedore``: ``NamedExtensionManager("neko.plugins", names)``, cold (empty cache folder)
  and cache hit.

Then the ``neko list`` command, warm (wall time of a subprocess; ``NEKO_LOAD_PLUGINS`` names
the 1,000; a first run filled the scan and manifest caches, so it imports and starts no plugin)
against stevedore's cache hit in a subprocess of its own (same names), which imports them. Targets (issue 17): nekohooks within 1.5x
the bare scan; ``neko list`` faster than stevedore's cache hit at 1,000 plugins.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    NEKO,
    PYTHON,
    child_env,
    cli_args,
    median,
    ms,
    ratio,
    run_json,
    save_figures,
    wall,
    write_plugin_dists,
)

SIZES = (10, 100, 1000)
REPEATS = {10: 7, 100: 7, 1000: 5}
CLI_REPEATS = 5

CHILD = """
import json, sys, time
import importlib.metadata, importlib_metadata, pluggy, stevedore, stevedore._cache
import nekohooks
from nekohooks import hookspecs
from nekohooks._config import PluginFilter
from nekohooks._discovery import load_plugins, scan
from nekohooks._registry import Registry
from nekohooks._scan_cache import cached_scan
from pathlib import Path

G = "neko.plugins"
mode, count = sys.argv[1], int(sys.argv[2])
names = frozenset(f"nbp{i:05d}" for i in range(count))  # the generated plugins: load only these
t0 = time.perf_counter()
if mode == "bare":
    eps = importlib.metadata.entry_points(group=G)
    t1 = time.perf_counter()
    loaded = [ep.load() for ep in eps if ep.name in names]
    n = len(loaded)
elif mode == "bare-backport":
    eps = importlib_metadata.entry_points(group=G)
    t1 = time.perf_counter()
    loaded = [ep.load() for ep in eps if ep.name in names]
    n = len(loaded)
elif mode.startswith("nekohooks"):
    # as open_host: the scan cache (warm: filled by an earlier process; cold: an empty folder)
    candidates = eps = cached_scan(directory=Path(sys.argv[3]))
    t1 = time.perf_counter()
    registry = Registry()
    load_plugins(  # as open_host calls it
        registry,
        candidates,
        plugin_filter=PluginFilter(names),
        version=nekohooks.__version__,
        import_timeout=nekohooks.HostConfig().limits.startup_timeout,
    )
    assert not registry.failures, registry.failures
    n = len(registry.plugins)
elif mode == "pluggy":
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.is_blocked = lambda name: name not in names  # how pluggy skips a plugin before import
    t1 = t0  # one call: scan and load are not separable
    n = pm.load_setuptools_entrypoints(G)
    eps = ()
elif mode.startswith("stevedore"):
    eps = stevedore._cache.get_group_all(G)
    t1 = time.perf_counter()
    mgr = stevedore.NamedExtensionManager(G, names=sorted(names))  # scan hits its memory cache
    n = len(mgr.extensions)
else:
    raise SystemExit(f"unknown mode {mode}")
t2 = time.perf_counter()
assert n == count, (mode, n, count)
print(json.dumps({"scan": t1 - t0, "load": t2 - t1, "total": t2 - t0, "found": len(eps)}))
"""

MODES = (
    "bare",
    "bare-backport",
    "nekohooks",
    "nekohooks-cold",
    "pluggy",
    "stevedore-cold",
    "stevedore-hit",
)

PHASES = """
import json, sys, time
import importlib_metadata
import nekohooks
from pathlib import Path
from nekohooks._discovery import _import_all, scan
from nekohooks._registry import Registry
from nekohooks._scan_cache import cached_scan

out = {}
t = time.perf_counter()
eps = list(importlib_metadata.entry_points(group="neko.plugins"))
out["entry_points()"] = time.perf_counter() - t
t = time.perf_counter()
candidates = [c for c in scan() if c.name.startswith("nbp")]
out["scan() (entry points + one METADATA parse each)"] = time.perf_counter() - t
cached_scan(directory=Path(sys.argv[1]))  # fill
t = time.perf_counter()
cached_scan(directory=Path(sys.argv[1]))
out["cached_scan(), a hit"] = time.perf_counter() - t
t = time.perf_counter()
for cand in candidates:
    cand.supports(nekohooks.__version__)
out["Candidate.supports (Requires-Dist)"] = time.perf_counter() - t
t = time.perf_counter()
objs = [cand.entry_point.load() for cand in candidates]
out["entry_point.load()"] = time.perf_counter() - t
for cand in candidates:  # import them afresh, this time through the worker thread
    sys.modules.pop(cand.entry_point.module)
t = time.perf_counter()
objs = [obj for obj, _ in _import_all(candidates, 30.0)]  # as open_host: startup_timeout
out["same, on the import thread"] = time.perf_counter() - t
registry = Registry()
t = time.perf_counter()
for cand, obj in zip(candidates, objs):
    registry.add(cand.name, obj, value=cand.value, distribution=cand.distribution)
out["Registry.add"] = time.perf_counter() - t
print(json.dumps(out))
"""

STEVEDORE_CLI = """
import os, stevedore
names = os.environ["NEKO_LOAD_PLUGINS"].split(",")
assert len(stevedore.NamedExtensionManager("neko.plugins", names=names).extensions) == len(names)
"""


def measure(
    site: Path, count: int, cache_root: Path, repeats: int
) -> dict[str, list[dict[str, float]]]:
    """Run every mode ``repeats`` times, interleaved, each in a fresh interpreter."""
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    hit_cache = cache_root / "hit"
    fill = child_env(site, XDG_CACHE_HOME=str(hit_cache))
    neko_cache = cache_root / "neko"
    run_json(CHILD, fill, "stevedore-hit", str(count))  # fill stevedore's cache
    run_json(CHILD, fill, "nekohooks", str(count), str(neko_cache))  # and nekohooks'
    for rep in range(repeats):
        for mode in MODES:
            cold = mode.endswith("-cold")
            cache = cache_root / f"cold-{rep}" if cold else hit_cache
            env = child_env(site, XDG_CACHE_HOME=str(cache))
            where = str(cache_root / f"neko-cold-{rep}" if cold else neko_cache)
            results[mode].append(run_json(CHILD, env, mode, str(count), where))
    return results


def report(count: int, results: dict[str, list[dict[str, float]]]) -> dict[str, float]:
    """Print medians and ratios to the bare scan; return the median totals."""
    found = int(results["bare"][0]["found"])
    totals = {mode: median([r["total"] for r in runs]) for mode, runs in results.items()}
    bare = totals["bare"]
    print(f"\n{count} generated plugins loaded ({found} entry points scanned: the venv's own too)")
    print(f"  {'mode':<15}{'scan':>12}{'load':>12}{'total':>12}   ratio to bare")
    for mode, runs in results.items():
        if mode == "pluggy":  # one call: scan and load are not separable
            cells = f"{'-':>12}{'-':>12}"
        else:
            cells = ms(median([r["scan"] for r in runs])) + ms(median([r["load"] for r in runs]))
        print(f"  {mode:<15}{cells}{ms(totals[mode])}   {ratio(totals[mode], bare)}")
    return totals


def main() -> None:
    args = cli_args(__doc__)
    with tempfile.TemporaryDirectory(prefix="neko-bench-disc-") as tmp:
        root = Path(tmp)
        sites, names = {}, {}
        for count in SIZES:
            sites[count] = root / f"site{count}"
            names[count] = write_plugin_dists(sites[count], count)
            # as if installed a while ago: the scan cache does not trust folders changed < 2 s ago
            os.utime(sites[count], (time.time() - 3600, time.time() - 3600))
        print(f"python {sys.version.split()[0]}; medians of fresh-interpreter runs")
        summary = {}
        for count in SIZES:
            results = measure(sites[count], count, root / f"cache{count}", REPEATS[count])
            summary[count] = report(count, results)

        site = sites[1000]
        phases = [run_json(PHASES, child_env(site), str(root / "phases")) for _ in range(3)]
        print("\nWhere nekohooks' discovery spends its time, 1,000 plugins (median of 3)")
        for step in phases[0]:
            print(f"  {step:<36}{ms(median([p[step] for p in phases]))}")

        home = root / "home"
        env = child_env(
            site,
            XDG_CACHE_HOME=str(root / "cache1000" / "hit"),
            NEKO_HOME=str(home),
            NEKO_LOAD_PLUGINS=",".join(names[1000]),
        )
        wall([NEKO, "list", "--json"], env)  # the first run fills the caches
        times: dict[str, list[float]] = {"pass": [], "stevedore": [], "neko list": []}
        for _ in range(CLI_REPEATS):
            times["pass"].append(wall([PYTHON, "-c", "pass"], env))
            times["stevedore"].append(wall([PYTHON, "-c", STEVEDORE_CLI], env))
            times["neko list"].append(wall([NEKO, "list", "--json"], env))
        med = {k: median(v) for k, v in times.items()}
        print("\nCLI wall time, 1,000 plugins (subprocess, median)")
        print(f"  python -c pass                        {ms(med['pass'])}")
        print(f"  stevedore NamedExtensionManager, hit  {ms(med['stevedore'])}")
        print(
            f"  neko list --json                      {ms(med['neko list'])}"
            f"   ratio to stevedore {ratio(med['neko list'], med['stevedore'])}"
        )

        print("\nTargets")
        for count in SIZES:
            neko, bare = summary[count]["nekohooks"], summary[count]["bare"]
            verdict = "met" if neko <= 1.5 * bare else "MISSED"
            print(
                f"  {count:>5} plugins: nekohooks {ratio(neko, bare)} the bare scan (<= 1.5x):"
                f" {verdict}"
            )
        verdict = "met" if med["neko list"] < med["stevedore"] else "MISSED"
        print(
            f"  neko list {ratio(med['neko list'], med['stevedore'])} stevedore's cache hit: {verdict}"
        )
    save_figures(args.json, "discovery", {"load": summary, "cli": med})


if __name__ == "__main__":
    main()
