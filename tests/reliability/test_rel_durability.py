"""Durability: hosts killed with SIGKILL at random points, many times, lose nothing committed.

Store: a real host process runs a plugin whose background task writes through ``ctx.store``
(``set`` and ``set_many`` batches) and prints an acknowledgement for each write only after the
call returned. The test SIGKILLs it after a random delay (sometimes while the host is still
starting, i.e. while the store is being created or opened), ``STORE_KILLS`` times in a row on
the same home. After every kill the store must hold every acknowledged write with its exact
value, every batch must be all-or-nothing, and ``PRAGMA integrity_check`` must pass; the next
host must start and write again.

Config: a plugin's bundled ``plugin.toml`` (16 MB, so the copy takes a measurable time) is
copied into its home on first start (temp file + ``os.replace``). A host process deletes the
copy, starts (so the copy is made again) and is SIGKILLed at a random point before, during or
well after the copy, ``CONFIG_KILLS`` times. The copy must never be observed partial: it is either absent or identical to
the bundled file. And once a host has started cleanly again, no temp file of an interrupted copy
may be left in the plugin's home.

Delays come from ``random.Random(SEED)``; those of the kills meant to land in the copy also adapt
to how long the copy takes on this machine at this moment (a loaded machine copies slower).
"""

from __future__ import annotations

import collections
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from processes import LineReader
from relkit import kill_quietly

from nekohooks import PluginStore
from nekohooks._store import integrity_ok

SEED = 20260511
STORE_KILLS = 24
CONFIG_KILLS = 14
BATCH = 5

WRITER = """
import sys, trio
from nekohooks import HostConfig, NekoPluginBase, open_host

HOME, START, BATCH = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def value(i):
    return {"i": i, "pad": "x" * (i * 37 % 3000), "text": f"write {i} ✓"}


class Writer(NekoPluginBase):
    async def startup(self):
        self.ctx.tasks.start("writer", self.write)

    async def write(self):
        i = START
        while True:
            if i % 4 == 0:
                batch = {f"b{i}-{j}": {"i": i, "j": j} for j in range(BATCH)}
                await self.ctx.store.set_many(batch)
                print(f"many {i}", flush=True)  # only once the call returned
            else:
                await self.ctx.store.set(f"k{i}", value(i))
                print(f"set {i}", flush=True)
            i += 1


async def main():
    async with open_host(HostConfig(home=HOME), plugins={"writer": Writer}, watchdog=False):
        print("up", flush=True)
        await trio.sleep_forever()


trio.run(main)
"""


def value(i: int) -> dict[str, Any]:
    return {"i": i, "pad": "x" * (i * 37 % 3000), "text": f"write {i} ✓"}


def _spawn(code: str, *args: str) -> tuple[subprocess.Popen[str], LineReader]:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return proc, LineReader(proc.stdout)


def _read_store(path: Path) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        store = PluginStore(path, plugin="writer")
        try:
            return dict(await store.items())
        finally:
            await store.aclose()

    return trio.run(read)


def test_acknowledged_store_writes_survive_repeated_sigkill(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    home = tmp_path / "home"
    path = home / "plugins" / "writer" / "store.sqlite3"
    acked_sets: set[int] = set()
    acked_batches: set[int] = set()
    next_i = 0
    killed_starting = killed_writing = 0
    for kill in range(STORE_KILLS):
        proc, out = _spawn(WRITER, str(home), str(next_i), str(BATCH))
        try:
            if kill % 4 == 3:  # kill somewhere in start-up: imports, store creation, first writes
                time.sleep(rng.uniform(0.05, 0.7))
            else:
                assert out.wait_for("up", timeout=30), f"kill {kill}: the host did not start"
                time.sleep(rng.uniform(0.0, 0.25))
        finally:
            kill_quietly(proc)  # SIGKILL
        lines = out.drain(timeout=5).splitlines()
        up = "up" in lines
        killed_writing += up
        killed_starting += not up
        for line in lines:
            kind, _, number = line.partition(" ")
            if kind == "set":
                acked_sets.add(int(number))
            elif kind == "many":
                acked_batches.add(int(number))
        acked = acked_sets | acked_batches
        next_i = max(acked) + 1 if acked else next_i
        if not path.exists():
            assert not acked, f"kill {kill}: writes were acknowledged but there is no store"
            continue

        stored = _read_store(path)
        missing = [i for i in sorted(acked_sets) if stored.get(f"k{i}") != value(i)]
        assert not missing, f"kill {kill}: acknowledged writes lost or wrong: {missing[:10]}"
        batches: dict[int, set[int]] = collections.defaultdict(set)
        for key, item in stored.items():
            if key.startswith("b"):
                batches[item["i"]].add(item["j"])
        torn = {i: js for i, js in batches.items() if js != set(range(BATCH))}
        assert not torn, f"kill {kill}: set_many batches only partly written: {torn}"
        lost = sorted(acked_batches - set(batches))
        assert not lost, f"kill {kill}: acknowledged batches lost: {lost[:10]}"
        assert integrity_ok(path), f"kill {kill}: PRAGMA integrity_check failed"

    assert killed_writing >= STORE_KILLS // 2 and killed_starting >= 1
    assert len(acked_sets) + len(acked_batches) >= STORE_KILLS  # real work between kills


BUNDLED_SIZE = 16_000_000

CONFIG_HOST = """
import sys, trio
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from nekodur_cfg import Plugin
from nekohooks import HostConfig, open_host

home = Path(sys.argv[2])
mode = sys.argv[3]


async def main():
    if mode == "fresh":  # first start: the bundled plugin.toml is copied into the home
        (home / "plugins" / "cfg" / "plugin.toml").unlink(missing_ok=True)
    # nekohooks imports some modules on first use: do that now, so that the copy starts a few
    # ms after "start" whatever is imported lazily
    async with open_host(HostConfig(home=home.parent / "warm"), plugins={}, watchdog=False):
        pass
    print("start", flush=True)
    async with open_host(HostConfig(home=home), plugins={"cfg": Plugin}, watchdog=False) as host:
        assert host.status("cfg").state.value == "running", host.status("cfg")
        print("running", flush=True)
        if mode == "fresh":
            await trio.sleep_forever()  # killed by the test


trio.run(main)
"""


def _temp_copies(folder: Path) -> set[str]:
    return {p.name for p in folder.glob(".plugin.toml.*")} if folder.exists() else set()


@pytest.fixture(scope="module")
def config_kills(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Kill hosts around the bundled plugin.toml copy; record what each kill left behind."""
    root = tmp_path_factory.mktemp("relconfig")
    package = root / "pkgs" / "nekodur_cfg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from nekohooks import NekoPluginBase\n\n\nclass Plugin(NekoPluginBase):\n    pass\n"
    )
    line = "# " + "x" * 97 + "\n"
    bundled = ('title = "durable"\n\n[limits]\nretries = 3\n' + line * 160_000).encode()
    assert len(bundled) >= BUNDLED_SIZE
    (package / "plugin.toml").write_bytes(bundled)
    home = root / "home"
    folder = home / "plugins" / "cfg"
    rng = random.Random(SEED)
    seen: list[dict[str, Any]] = []
    # The copy starts a few ms after "start" and takes some 10-50 ms on an idle machine, more
    # on a loaded one: so the delay of the kills meant to land around it adapts, longer after
    # a kill that came before the copy, shorter after one that came when it was done.
    delay = 0.01
    for kill in range(CONFIG_KILLS):
        before = _temp_copies(folder)
        proc, out = _spawn(CONFIG_HOST, str(root / "pkgs"), str(home), "fresh")
        try:
            assert out.wait_for("start", timeout=30), f"kill {kill}: the host did not start"
            if kill % 3 == 2:  # well after: the host runs
                assert out.wait_for("running", timeout=30), f"kill {kill}: no start"
                time.sleep(rng.uniform(0.0, 0.05))
            else:
                time.sleep(delay * rng.uniform(0.7, 1.3))
        finally:
            kill_quietly(proc)
        target = folder / "plugin.toml"
        record = {
            "kill": kill,
            "copy": target.read_bytes() if target.exists() else None,
            "new_temps": _temp_copies(folder) - before,
        }
        seen.append(record)
        if kill % 3 != 2 and not record["new_temps"]:
            delay = delay * 0.6 if record["copy"] is not None else delay * 1.6 + 0.002
    clean = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(CONFIG_HOST),
            str(root / "pkgs"),
            str(home),
            "again",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {
        "bundled": bundled,
        "seen": seen,
        "folder": folder,
        "clean": clean,
        "temps_after_clean_start": _temp_copies(folder),
    }


def test_bundled_config_copy_is_never_seen_partial(config_kills: dict[str, Any]) -> None:
    bundled = config_kills["bundled"]
    for record in config_kills["seen"]:
        copy = record["copy"]
        assert copy is None or copy == bundled, (
            f"kill {record['kill']}: plugin.toml is {len(copy)} bytes, bundled "
            f"{len(bundled)}: a partial copy was visible"
        )
    mid_copy = [r for r in config_kills["seen"] if r["new_temps"]]
    complete = [r for r in config_kills["seen"] if r["copy"] is not None]
    # the kills did land inside the copy window, and around it
    assert mid_copy and complete, [(r["kill"], r["new_temps"]) for r in config_kills["seen"]]
    clean = config_kills["clean"]
    assert clean.returncode == 0 and "running" in clean.stdout, clean.stderr[-2000:]
    assert (config_kills["folder"] / "plugin.toml").read_bytes() == bundled


def test_no_temp_file_of_an_interrupted_copy_survives_a_clean_start(
    config_kills: dict[str, Any],
) -> None:
    left_by_kills = set().union(*(r["new_temps"] for r in config_kills["seen"]))
    assert left_by_kills  # the kills did interrupt copies
    left = config_kills["temps_after_clean_start"]
    assert not left, (
        f"{len(left)} temp file(s) of interrupted plugin.toml copies are still in "
        f"{config_kills['folder']} after a clean start: {sorted(left)[:5]}"
    )
