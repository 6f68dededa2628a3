"""The AstrBot task examples, ported to nekohooks.

* ``background_task`` (every 5 minutes) and the daily 09:00 reminder are ``@periodic`` jobs:
  absolute deadlines instead of ``while True: sleep``, so they neither drift nor miss 09:00
  when a minute-poll lands at 09:00:59, and errors are logged without ending the loop.
* The countdown and the named health-check tasks live in ``ctx.tasks``: owned by the plugin,
  cancelled when it stops (the seed's ``running_tasks`` set and ``terminate`` are not needed).
* The countdown's 1-3600 check is part of the entry's schema, so it is refused before any code
  runs, with a message that names the argument.
* The seed's chat command ``/countdown 10`` is a ``@command``: the seconds are parsed from the
  message, and the reply comes back to where the command came from (``neko say "/countdown 10"``).
"""

from __future__ import annotations

from typing import Any

import trio

from nekohooks import NekoPluginBase, neko_plugin, periodic, plugin_entry
from nekohooks.messages import Message, command


@neko_plugin
class Reminders(NekoPluginBase):
    """Daily reminders, countdowns and named periodic checks."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.work_done = 0
        self.health_checks = 0

    def settings(self) -> dict[str, Any]:
        return dict(self.ctx.config.get("reminders", {}))

    @periodic(every=300)
    async def background_task(self) -> None:
        """Periodic work every five minutes."""
        self.ctx.logger.info("background task ran")
        self.work_done += 1

    @periodic(daily_at="09:00")
    async def send_daily_reminder(self) -> None:
        """Send each configured user the morning message; one failure does not stop the rest."""
        settings = self.settings()
        for user_id in settings.get("users", []):
            try:
                await self.ctx.send_message(user_id, settings.get("message", "Good morning!"))
            except Exception as exc:
                self.ctx.logger.error("reminder to %s failed: %s", user_id, exc)

    @plugin_entry(
        id="countdown",
        description="Start a countdown; a message arrives when it ends",
        input_schema={
            "type": "object",
            "properties": {
                "seconds": {"type": "integer", "minimum": 1, "maximum": 3600},
                "target": {"type": "string", "default": "me"},
            },
            "required": ["seconds"],
            "additionalProperties": False,
        },
    )
    async def countdown(self, seconds: int, target: str = "me") -> str:
        async def countdown_task() -> None:
            await trio.sleep(seconds)
            await self.ctx.send_message(target, f"⏰ {seconds}s countdown finished!")

        self.ctx.tasks.start(f"countdown:{target}", countdown_task)
        return f"{seconds}s countdown started!"

    @command("countdown")
    async def countdown_command(self, message: Message, seconds: int) -> str:
        """Start a countdown; the message arrives where the command came from."""
        if not 1 <= seconds <= 3600:
            return "countdown must be 1-3600 seconds"
        return await self.countdown(seconds, target=message.origin)

    async def health_check(self) -> None:
        self.health_checks += 1

    @plugin_entry(
        id="add_task",
        description="Run the health check every N seconds (replaces a task of that name)",
        input_schema={
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 64},
                "interval": {"type": "integer", "minimum": 1, "maximum": 86400},
            },
            "additionalProperties": False,
        },
    )
    async def add_task(self, name: str = "health_check", interval: int = 300) -> list[str]:
        self.ctx.tasks.every(name, interval, self.health_check)
        return self.ctx.tasks.names()

    @plugin_entry(id="remove_task", description="Stop a named task")
    async def remove_task(self, name: str) -> bool:
        return self.ctx.tasks.cancel(name)

    @plugin_entry(id="tasks", description="The named tasks running now")
    async def tasks(self) -> list[str]:
        return self.ctx.tasks.names()
