"""Isolation: through its context, one plugin cannot reach another plugin's home, store, client.

Every check goes through the plugin's own code (its entries call ``ctx.path``,
``ctx.download``, ``ctx.store``, ``ctx.http``, ``ctx.tasks``) on a live host:

* names that lead to another plugin's folder (``../other``, absolute paths, backslashes, a
  symlink planted in the plugin's own data folder) are refused with ``UnsafePath``, downloads
  before any request; the other plugin's files stay byte-for-byte;
* stores are separate SQLite files, each inside its own plugin's home; the same key holds each
  plugin's own value, also after a restart of the host;
* each plugin's ``ctx.http`` is its own client, closed when that plugin stops (or crashes and
  restarts, which gives it a fresh one) while the others keep working;
* task names are per plugin: cancelling "someone else's" task name does nothing;
* plugin names cannot alias or escape homes: a plugin named ``victim/``, ``victim/data`` or an
  absolute path must not get another plugin's folder or one outside the nekohooks home.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from relkit import tree_snapshot

from nekohooks import HostConfig, NekoPluginBase, RestartPolicy, open_host, plugin_entry
from nekohooks.errors import UnsafePath
from nekohooks.records import PluginState


class Spy(NekoPluginBase):
    """A plugin that tries to reach outside its own folder, and reports what happened."""

    @plugin_entry(id="reach")
    async def reach(self, name: str) -> str:
        try:
            path = self.ctx.path(name)
        except UnsafePath:
            return "refused"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"written by {self.ctx.name}")
        return str(path)

    @plugin_entry(id="grab")
    async def grab(self, url: str, name: str) -> str:
        try:
            return str(await self.ctx.download(url, name))
        except UnsafePath:
            return "refused"

    @plugin_entry(id="put")
    async def put(self, key: str, value: str) -> None:
        await self.ctx.store.set(key, value)

    @plugin_entry(id="get")
    async def get(self, key: str) -> Any:
        return await self.ctx.store.get(key)

    @plugin_entry(id="store_path")
    async def store_path(self) -> str:
        return str(self.ctx.store.path)

    @plugin_entry(id="fetch")
    async def fetch(self, url: str) -> int:
        return (await self.ctx.http.get(url)).status_code

    @plugin_entry(id="crash")
    async def crash(self) -> None:
        async def boom() -> None:
            raise RuntimeError("crash requested by the test")

        self.ctx.tasks.start("boom", boom)

    @plugin_entry(id="keep_task")
    async def keep_task(self, name: str) -> None:
        self.ctx.tasks.start(name, trio.sleep_forever)

    @plugin_entry(id="cancel_task")
    async def cancel_task(self, name: str) -> bool:
        return self.ctx.tasks.cancel(name)

    @plugin_entry(id="tasks")
    async def tasks(self) -> list[str]:
        return self.ctx.tasks.names()


class Alice(Spy):
    pass


class Bob(Spy):
    pass


class Carol(Spy):
    pass


def _files(home: Path) -> dict[str, bytes]:
    """Every file of a plugin's home but its SQLite store (its owner checkpoints it on close)."""
    return {
        str(p.relative_to(home)): p.read_bytes()
        for p in home.rglob("*")
        if p.is_file() and not p.name.startswith("store.sqlite3")
    }


async def test_paths_to_another_plugins_files_are_refused(tmp_path: Path, http_server: str) -> None:
    from httpserver import Handler as _Handler

    config = HostConfig(home=tmp_path / "home")
    bob_home = config.home / "plugins" / "bob"
    async with open_host(config, plugins={"alice": Alice, "bob": Bob}, watchdog=False) as host:
        await host.call("bob.put", key="secret", value="bob's")
        await host.call("bob.reach", name="notes.txt")
        alice_data = host.runners["alice"].ctx.data_dir  # plant a link, as a user might
        (alice_data / "to_bob").symlink_to(bob_home)
        (alice_data / "downloads").mkdir(exist_ok=True)
        (alice_data / "downloads" / "to_bob").symlink_to(bob_home)
        bob_before = _files(bob_home)
        outside_before = tree_snapshot(tmp_path, skip=config.home)
        hits = dict(_Handler.hits)
        names = [
            "../bob/data/notes.txt",
            "../../bob/store.sqlite3",
            "../../plugins/bob/plugin.toml",
            "../../../home/plugins/bob/x",
            "..\\..\\bob\\store.sqlite3",
            str(bob_home / "store.sqlite3"),
            str(bob_home / "data" / "notes.txt"),
            "to_bob/store.sqlite3",
            "to_bob/data/notes.txt",
        ]
        for name in names:
            assert await host.call("alice.reach", name=name) == "refused", name
            url = f"{http_server}/bytes/32"
            assert await host.call("alice.grab", url=url, name=name) == "refused", name
        assert _Handler.hits == hits  # downloads refused before any request
        assert await host.call("bob.get", key="secret") == "bob's"
        assert await host.call("alice.get", key="secret") is None
    assert _files(bob_home) == bob_before
    async with open_host(config, plugins={"bob": Bob}, watchdog=False) as host:
        assert await host.call("bob.get", key="secret") == "bob's"  # bob's store is intact
    assert tree_snapshot(tmp_path, skip=config.home) == outside_before


async def test_stores_are_separate_files(tmp_path: Path) -> None:
    config = HostConfig(home=tmp_path / "home")
    plugins = {"alice": Alice, "bob": Bob}
    async with open_host(config, plugins=plugins, watchdog=False) as host:
        await host.call("alice.put", key="shared", value="alice's")
        await host.call("bob.put", key="shared", value="bob's")
        paths = {name: Path(await host.call(f"{name}.store_path")) for name in plugins}
    assert paths["alice"] != paths["bob"]
    for name, path in paths.items():
        assert path.parent == config.home / "plugins" / name and path.exists()
    async with open_host(config, plugins=plugins, watchdog=False) as host:  # after a restart
        assert await host.call("alice.get", key="shared") == "alice's"
        assert await host.call("bob.get", key="shared") == "bob's"


async def test_each_plugins_http_client_is_its_own(tmp_path: Path, http_server: str) -> None:
    config = HostConfig(
        home=tmp_path / "home",
        restart=RestartPolicy(initial_backoff=0.05, max_backoff=0.1, jitter=0),
    )
    plugins = {"alice": Alice, "bob": Bob, "carol": Carol}
    url = f"{http_server}/json"
    async with open_host(config, plugins=plugins, watchdog=False) as host:
        for name in plugins:
            assert await host.call(f"{name}.fetch", url=url) == 200
        clients = {name: host.runners[name].ctx.http for name in plugins}
        assert len({id(c) for c in clients.values()}) == 3  # three distinct clients
        assert clients["alice"].headers["user-agent"].endswith("(+plugin alice)")

        await host.runners["alice"].stop()  # alice stops: her client closes, nobody else's
        assert clients["alice"].is_closed
        assert not clients["bob"].is_closed and not clients["carol"].is_closed
        with pytest.raises(RuntimeError):
            await clients["alice"].get(url)
        assert await host.call("carol.fetch", url=url) == 200

        await host.call("bob.crash")  # bob crashes and restarts with a fresh client

        def restarted() -> bool:
            status = host.status("bob")
            return status.restarts >= 1 and status.state is PluginState.RUNNING

        with trio.fail_after(10):
            while not restarted():  # noqa: ASYNC110 - polling the host's status is the point
                await trio.sleep(0.02)
        assert clients["bob"].is_closed
        assert host.runners["bob"].ctx.http is not clients["bob"]
        assert await host.call("bob.fetch", url=url) == 200
        assert not clients["carol"].is_closed and await host.call("carol.fetch", url=url) == 200
    assert all(isinstance(c, httpx.AsyncClient) and c.is_closed for c in clients.values())


async def test_task_names_are_per_plugin(tmp_path: Path, autojump_clock: Any) -> None:
    config = HostConfig(home=tmp_path / "home")
    async with open_host(config, plugins={"alice": Alice, "bob": Bob}, watchdog=False) as host:
        await host.call("bob.keep_task", name="worker")
        assert await host.call("alice.cancel_task", name="worker") is False
        await trio.sleep(1)
        assert await host.call("bob.tasks") == ["worker"]
        assert await host.call("alice.tasks") == []


class Victim(NekoPluginBase):
    async def startup(self) -> None:
        await self.ctx.store.set("owner", "victim")
        self.ctx.path("diary.txt").write_text("victim's diary")


class Squatter(NekoPluginBase):
    async def startup(self) -> None:
        await self.ctx.store.set("owner", f"squatter {self.ctx.name}")
        self.ctx.path("diary.txt").write_text(f"overwritten by {self.ctx.name}")


async def test_plugin_names_cannot_alias_or_escape_homes(tmp_path: Path) -> None:
    config = HostConfig(home=tmp_path / "home")
    escape = tmp_path / "elsewhere"
    assert "." not in str(escape)  # dots are refused anyway; this name must be refused for "/"
    hostile = ["victim/", "victim/data", str(escape)]
    plugins = {"victim": Victim, **{name: Squatter for name in hostile}}
    outside_before = tree_snapshot(tmp_path, skip=config.home)
    async with open_host(config, plugins=plugins, watchdog=False) as host:
        homes = {
            name: runner.ctx.home
            for name, runner in host.runners.items()
            if runner.ctx is not None and runner.state is PluginState.RUNNING
        }
        states = {name: host.status(name) for name in hostile}
        victim_owner = await host.runners["victim"].ctx.store.get("owner")
    victim_home = config.home / "plugins" / "victim"
    problems = []
    for name, home in homes.items():
        if home.parent != config.home / "plugins" or home.name != name:
            problems.append(f"plugin {name!r} got the home {home}")
    if victim_owner != "victim":
        problems.append(f"victim's store was overwritten: owner={victim_owner!r}")
    if (victim_home / "data" / "diary.txt").read_text() != "victim's diary":
        problems.append("victim's data was overwritten")
    if tree_snapshot(tmp_path, skip=config.home) != outside_before:
        problems.append(f"files were created outside the nekohooks home, under {escape}")
    for name, status in states.items():
        if status.state is not PluginState.FAILED_TO_LOAD:
            problems.append(f"plugin name {name!r} was accepted ({status.state.value})")
    assert not problems, "\n".join(problems)
