"""The AstrBot task seeds, ported (example_plugins/neko-reminders), on a MockClock."""

from __future__ import annotations

from datetime import datetime

import pytest
import trio
from modes import harness_both_ways
from neko_reminders import Reminders

from nekohooks import open_host
from nekohooks.errors import InvalidArguments
from nekohooks.testing import Message, open_harness


@harness_both_ways
async def test_daily_reminder_background_work_and_countdown(
    isolation: str, tmp_path, autojump_clock
) -> None:
    epoch = datetime(2026, 11, 24, 8, 0).astimezone().timestamp()  # 08:00 local
    async with open_harness(
        "reminders", home=tmp_path, wall_start=epoch, watchdog=False, isolation=isolation
    ) as harness:
        sent = harness.messages
        with pytest.raises(InvalidArguments, match="seconds") as bad:
            await harness.call("countdown", seconds=0)
        assert bad.value.argument == "seconds"
        with pytest.raises(InvalidArguments):
            await harness.call("countdown", seconds=3601)
        assert await harness.call("countdown", seconds=90) == "90s countdown started!"
        await harness.advance(91)
        assert sent == [Message("reminders", "me", "⏰ 90s countdown finished!")]
        sent.clear()
        await harness.advance(2 * 86400)  # two days: two 09:00 reminders to both users
        work = (2 * 86400 + 91) // 300
        assert harness.jobs()["background_task"].runs == work
        if harness.isolated is None:  # the plugin's own object lives here
            assert harness.host.runners["reminders"].instance.work_done == work
        message = "Good morning! A new day has begun!"
        assert [(m.target, m.body) for m in sent] == [("alice", message), ("bob", message)] * 2


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
