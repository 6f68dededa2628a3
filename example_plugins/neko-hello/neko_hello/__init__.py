"""A small nekohooks plugin: greets on request and says hello every minute."""

from nekohooks import NekoPluginBase, neko_plugin, periodic, plugin_entry


@neko_plugin
class HelloPlugin(NekoPluginBase):
    """Greets people."""

    @plugin_entry(id="greet", description="Greet someone by name")
    def greet(self, name: str = "world", **_: object) -> dict[str, str]:
        text = self.ctx.config.get("greeting", {}).get("text", "Hello")
        return {"message": f"{text}, {name}!"}

    @periodic(every=60)
    async def announce(self) -> None:
        greeting = self.ctx.config.get("greeting", {})
        await self.ctx.send_message(greeting.get("target", "everyone"), "still here")
