"""The N.E.K.O seed examples (shared/seeds/000), as written, with only an import line added."""

from __future__ import annotations

import json
import sqlite3
import threading

import aiohttp
import requests
from tenacity import retry, stop_after_attempt, wait_exponential

from nekohooks import NekoPluginBase, neko_plugin, open_host, plugin_entry


@neko_plugin
class AsyncPlugin(NekoPluginBase):
    @plugin_entry(id="async_task")
    async def async_task(self, url: str, **_):
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return {"data": await response.json()}


@neko_plugin
class ThreadSafePlugin(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._lock = threading.Lock()
        self._shared_data = {}

    @plugin_entry(id="update")
    def update(self, key: str, value: str, **_):
        with self._lock:
            self._shared_data[key] = value
            return {"updated": True}


class RetryPlugin(NekoPluginBase):
    @plugin_entry(id="reliable_fetch")
    @retry(stop=stop_after_attempt(3), wait=wait_exponential(min=0.01, max=0.02))
    def reliable_fetch(self, url: str, **_):
        response = requests.get(url)
        response.raise_for_status()
        return {"data": response.json()}


class ConfigurablePlugin(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.config_file = ctx.config_path.parent / "config.json"
        self._load_config()

    def _load_config(self):
        if self.config_file.exists():
            self.config = json.loads(self.config_file.read_text())
        else:
            self.config = {"timeout": 30}

    def _save_config(self):
        self.config_file.write_text(json.dumps(self.config, indent=2))

    @plugin_entry(id="set_timeout")
    def set_timeout(self, timeout: int, **_):
        self.config["timeout"] = timeout
        self._save_config()
        return self.config


class PersistentPlugin(NekoPluginBase):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.db_path = ctx.config_path.parent / "data.db"
        self._init_db()

    def _init_db(self):
        conn = sqlite3.connect(self.db_path)
        conn.execute("""
            CREATE TABLE IF NOT EXISTS records (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                key TEXT UNIQUE,
                value TEXT,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
            )
        """)
        conn.commit()
        conn.close()

    @plugin_entry(id="save")
    def save(self, key: str, value: str, **_):
        conn = sqlite3.connect(self.db_path)
        conn.execute("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)", (key, value))
        conn.commit()
        conn.close()
        return {"saved": True}


SEEDS = {
    "asyncp": AsyncPlugin,
    "threadsafe": ThreadSafePlugin,
    "retrying": RetryPlugin,
    "configurable": ConfigurablePlugin,
    "persistent": PersistentPlugin,
}


async def test_aiohttp_entry_returns_the_servers_json(config, http_server) -> None:
    async with open_host(config, plugins=SEEDS) as host:
        result = await host.call("asyncp.async_task", url=f"{http_server}/json")
    assert result == {"data": {"hello": "neko", "path": "/json"}}


async def test_thread_safe_update(config) -> None:
    async with open_host(config, plugins=SEEDS) as host:
        assert await host.call("threadsafe.update", key="k", value="v") == {"updated": True}


async def test_tenacity_retry_under_plugin_entry(config, http_server) -> None:
    async with open_host(config, plugins=SEEDS) as host:
        spec = dict(host.entries())["retrying.reliable_fetch"]
        assert spec.input_schema["required"] == ["url"]
        result = await host.call("retrying.reliable_fetch", url=f"{http_server}/flaky/a/2")
    assert result == {"data": {"attempt": 3}}


async def test_config_json_beside_plugin_toml(config) -> None:
    async with open_host(config, plugins=SEEDS) as host:
        assert await host.call("configurable.set_timeout", timeout=5) == {"timeout": 5}
    saved = config.home / "plugins" / "configurable" / "config.json"
    assert json.loads(saved.read_text()) == {"timeout": 5}
    async with open_host(config, plugins=SEEDS) as host:  # loaded again on the next start
        assert await host.call("configurable.set_timeout", timeout=7) == {"timeout": 7}


async def test_sqlite_persistence_survives_restart(config) -> None:
    async with open_host(config, plugins=SEEDS) as host:
        assert await host.call("persistent.save", key="a", value="1") == {"saved": True}
    db = config.home / "plugins" / "persistent" / "data.db"
    rows = sqlite3.connect(db).execute("SELECT key, value FROM records").fetchall()
    assert rows == [("a", "1")]
