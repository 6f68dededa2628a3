"""The AstrBot task seeds, ported (example_plugins/neko-reminders), on a MockClock."""

from __future__ import annotations

from datetime import datetime

import pytest
import trio
import trio.testing
from neko_reminders import Reminders

from nekohooks import HostConfig, open_host
from nekohooks.errors import InvalidArguments


def test_daily_reminder_background_work_and_countdown(tmp_path) -> None:
    epoch = datetime(2026, 11, 24, 8, 0).astimezone().timestamp()  # 08:00 local
    sent: list[tuple[str, str]] = []

    async def main() -> None:
        async with open_host(
            HostConfig(home=tmp_path),
            plugins={"reminders": Reminders},
            wall_clock=lambda: epoch + trio.current_time(),
            message_sink=lambda plugin, target, message: sent.append((target, message)),
            watchdog=False,
        ) as host:
            with pytest.raises(InvalidArguments, match="seconds") as bad:
                await host.call("reminders.countdown", seconds=0)
            assert bad.value.argument == "seconds"
            with pytest.raises(InvalidArguments):
                await host.call("reminders.countdown", seconds=3601)
            assert await host.call("reminders.countdown", seconds=90) == "90s countdown started!"
            await trio.sleep(91)
            assert sent == [("me", "⏰ 90s countdown finished!")]
            sent.clear()
            await trio.sleep(2 * 86400)  # two days: two 09:00 reminders to both users
            instance = host.runners["reminders"].instance
            assert instance.work_done == (2 * 86400 + 91) // 300

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    message = "Good morning! A new day has begun!"
    assert sent == [("alice", message), ("bob", message)] * 2


async def test_task_manager_add_replace_remove(config, autojump_clock) -> None:
    async with open_host(config, plugins={"reminders": Reminders}, watchdog=False) as host:
        assert await host.call("reminders.add_task", interval=60) == ["health_check"]
        await trio.sleep(121)
        instance = host.runners["reminders"].instance
        assert instance.health_checks == 2
        assert await host.call("reminders.add_task", interval=10) == ["health_check"]  # replaced
        await trio.sleep(30.5)
        assert instance.health_checks == 5
        assert await host.call("reminders.remove_task", name="health_check") is True
        await trio.sleep(100)
        assert instance.health_checks == 5
        assert await host.call("reminders.tasks") == []
