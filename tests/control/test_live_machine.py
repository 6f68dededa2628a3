"""A hypothesis state machine drives a live host through its control API: install, uninstall,
enable, disable, restart, reload and calls, in random order, checking after every step that

* the status listing matches the model (running, disabled, absent),
* a call to a disabled plugin raises ``PluginUnavailable``, a running one answers with the
  code version it was last (re)loaded with (reload runs upgraded code; restart does not),
* nothing of a stopped run is left: no trio task, no host thread, no open file under its
  home (the SQLite store), no open HTTP client.

Real distributions: two plugins, two versions each, are built as wheels once and installed
and uninstalled with real ``pip`` into a throwaway venv whose site folder is on ``sys.path``;
the host (in a thread, as ``neko run`` would be) finds them by ``rescan``. The budget is kept
small for CI: 5 sequences of at most 10 steps, each step followed by the 3 invariants (about
30-60 s on a shared 2-core machine, most of it pip); raise ``MAX_EXAMPLES`` locally to look
harder. No shrinking (a failure is reported as drawn, from a fixed seed).
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import trio
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from plugin_factory import TempVenv, build_wheel

from nekohooks import HostConfig
from nekohooks._config import PluginFilter
from nekohooks._errors import PluginUnavailable
from nekohooks.control import ControlClient

from .conftest import ThreadedHost

MAX_EXAMPLES = 5
STEPS = 10
NAMES = ("alpha", "beta")
PIP = ("--quiet", "--disable-pip-version-check")

PLUGIN = """
import threading
import trio
from nekohooks import NekoPluginBase, plugin_entry

VERSION = {version}
CONTEXTS = []


class Plugin(NekoPluginBase):
    async def startup(self):
        CONTEXTS.append(self.ctx)
        self.ctx.http  # an HTTP client that must be closed at stop
        await self.ctx.store.set("started", VERSION)  # an SQLite file that must be closed
        self.ctx.tasks.start("forever", trio.sleep_forever)

    @plugin_entry(id="ping")
    async def ping(self):
        return {{"version": VERSION, "ctx": id(self.ctx)}}

    @plugin_entry(id="where")
    def where(self):
        return threading.current_thread().name
"""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Path]:
    out = tmp_path_factory.mktemp("wheels")
    built = {}
    for name in NAMES:
        for version in (1, 2):
            built[name, version] = build_wheel(
                out / f"v{version}",
                f"neko-sm-{name}",
                {f"neko_sm_{name}/__init__.py": PLUGIN.format(version=version)},
                entry_points={name: f"neko_sm_{name}:Plugin"},
                version=f"{version}.0.0",
            )
    return built


def _task_names() -> list[str]:
    names = []
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        names.append(task.name)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return names


def _open_files() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return found


class LiveMachine(RuleBasedStateMachine):
    wheels: dict[tuple[str, int], Path]
    root: Path

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        base = Path(tempfile.mkdtemp(prefix="nkm-", dir=self.root))
        self.venv = TempVenv(base / "venv")
        sys.path.append(str(self.venv.site))
        config = HostConfig(home=base / "h", plugin_filter=PluginFilter(frozenset(NAMES)))
        self.host = ThreadedHost(config, watchdog=False)
        self.client = ControlClient(socket=self.host.server.socket)
        self.installed: dict[str, int] = {}  # name -> installed version
        self.loaded: dict[str, int] = {}  # name -> version of the code the host runs
        self.disabled: set[str] = set()
        self.contexts: dict[int, Any] = {}  # every plugin context ever made, by id

    def teardown(self) -> None:
        self.client.close()
        self.host.close()
        sys.path.remove(str(self.venv.site))
        for name in [m for m in sys.modules if m.startswith("neko_sm_")]:
            del sys.modules[name]

    # ---- rules --------------------------------------------------------------------------------

    @rule(name=st.sampled_from(NAMES), version=st.sampled_from((1, 2)))
    def install(self, name: str, version: int) -> None:
        self.venv.pip(
            *PIP,
            "install",
            "--no-deps",
            "--no-index",
            "--no-compile",
            "--force-reinstall",
            str(self.wheels[name, version]),
        )
        fresh = name not in self.installed
        self.installed[name] = version
        changes = self.client.rescan()
        assert changes["added"] == ([name] if fresh else [])
        assert changes["removed"] == []
        if fresh and name not in self.disabled:
            self.loaded[name] = version

    @precondition(lambda self: self.installed)
    @rule(data=st.data())
    def uninstall(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.installed)))
        self.venv.pip(*PIP, "uninstall", "--yes", f"neko-sm-{name}")
        del self.installed[name]
        self.loaded.pop(name, None)
        assert self.client.rescan() == {"added": [], "removed": [name]}

    @precondition(lambda self: self.installed)
    @rule(data=st.data())
    def disable(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.installed)))
        assert self.client.action(name, "disable")["status"] == "disabled"
        self.disabled.add(name)

    @precondition(lambda self: self.installed)
    @rule(data=st.data())
    def enable(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.installed)))
        assert self.client.action(name, "enable")["status"] == "running"
        if name in self.disabled and name not in self.loaded:
            self.loaded[name] = self.installed[name]  # imported now, from what is installed
        self.disabled.discard(name)

    @precondition(lambda self: set(self.installed) - self.disabled)
    @rule(data=st.data())
    def restart(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(set(self.installed) - self.disabled)))
        before = self.client.call(f"{name}.ping")["ctx"]
        assert self.client.action(name, "restart")["status"] == "running"
        assert self.client.call(f"{name}.ping")["ctx"] != before  # a fresh context

    @precondition(lambda self: set(self.installed) - self.disabled)
    @rule(data=st.data())
    def reload(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(set(self.installed) - self.disabled)))
        assert self.client.action(name, "reload")["status"] == "running"
        self.loaded[name] = self.installed[name]

    @precondition(lambda self: self.installed)
    @rule(data=st.data())
    def call_a_sync_entry(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.installed)))
        if name in self.disabled:
            with pytest.raises(PluginUnavailable):
                self.client.call(f"{name}.where")
        else:
            assert self.client.call(f"{name}.where")  # a worker thread ran it

    # ---- invariants ---------------------------------------------------------------------------

    @invariant()
    def listing_matches_the_model(self) -> None:
        rows = {r["name"]: r["status"] for r in self.client.plugins() if r["name"] in NAMES}
        expected = {
            name: "disabled" if name in self.disabled else "running" for name in self.installed
        }
        assert rows == expected

    @invariant()
    def calls_reach_the_code_that_was_loaded(self) -> None:
        for name in self.installed:
            if name in self.disabled:
                with pytest.raises(PluginUnavailable):
                    self.client.call(f"{name}.ping")
            else:
                assert self.client.call(f"{name}.ping")["version"] == self.loaded[name]

    @invariant()
    def nothing_of_a_stopped_run_is_left(self) -> None:
        for module in [m for n, m in sys.modules.items() if n.startswith("neko_sm_")]:
            for ctx in getattr(module, "CONTEXTS", ()):
                self.contexts[id(ctx)] = ctx
        running = {
            name: self.client.call(f"{name}.ping")["ctx"]
            for name in self.installed
            if name not in self.disabled
        }
        tasks = self.host.in_trio(_task_names)
        threads = [t.name for t in threading.enumerate()]
        files = _open_files()
        for ctx_id, ctx in self.contexts.items():
            if running.get(ctx.name) == ctx_id:
                continue
            assert ctx._http is None or ctx._http.is_closed, f"{ctx.name}: HTTP client open"
            store = ctx._store
            assert store is None or (store._closed and store._conn is None), f"{ctx.name}: store"
        for name in NAMES:
            if name in running:
                continue
            home = f"{self.host.config.home}/plugins/{name}/"
            assert not [f for f in files if f.startswith(home)], f"{name}: files left open"
            left = [t for t in tasks if t == f"neko:{name}" or t.startswith(f"{name}:")]
            assert not left, f"{name}: trio tasks left: {left}"
            assert not [t for t in threads if name in t], f"{name}: threads left"


def test_live_host_state_machine(wheels, tmp_path: Path) -> None:
    LiveMachine.wheels = wheels
    LiveMachine.root = tmp_path
    LiveMachine.TestCase.settings = settings(
        max_examples=MAX_EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every step runs pip
    )
    LiveMachine.TestCase().runTest()
