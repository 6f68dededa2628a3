"""Greeter: a N.E.K.O SDK v2 plugin written for the nekohooks tests.

Sync entries with schemas inferred from their signatures, ``plugin.sdk`` imports, a module
logger from ``get_plugin_logger``, files under ``data_path``, and an SDK name nekohooks does
not provide (``PluginRouter``) that is imported but only used by one entry.
"""

from plugin.sdk import (
    NekoPluginBase,
    Ok,
    PluginRouter,
    get_plugin_logger,
    neko_plugin,
    plugin_entry,
)

log = get_plugin_logger("greeter")


@neko_plugin
class Greeter(NekoPluginBase):
    @plugin_entry(id="greet", description="Greet someone, optionally loudly")
    def greet(self, name: str, times: int = 1, shout: bool = False):
        text = " ".join([f"Hello, {name}!"] * max(1, min(times, 5)))
        with open(self.data_path("greeted.txt"), "a", encoding="utf-8") as file:
            file.write(name + "\n")
        log.info("greeted {} {} time(s)", name, times)
        return Ok(text.upper() if shout else text)

    @plugin_entry(id="about")
    async def about(self):
        return {
            "id": self.plugin_id,
            "version": self.metadata["version"],
            "bundled_toml": (self.plugin_dir / "plugin.toml").is_file(),
            "home_toml": (self.config_dir / "plugin.toml").is_file(),
        }

    @plugin_entry(id="route")
    async def route(self):
        PluginRouter()
