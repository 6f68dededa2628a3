"""nekohooks.aio: the host as a trio guest inside an asyncio loop (these tests run asyncio)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import trio
import trio.lowlevel

from nekohooks import HostConfig, NekoPluginBase, periodic, plugin_entry
from nekohooks._errors import EntryFailed, EntryNotFound, InvalidArguments
from nekohooks._model import PluginState
from nekohooks.aio import open_host

EVENTS: list[str] = []


class Guest(NekoPluginBase):
    @plugin_entry(id="where")
    async def where(self) -> dict[str, object]:
        # trio code, on the asyncio thread
        await trio.lowlevel.checkpoint()
        return {"thread": threading.get_ident(), "trio": trio.lowlevel.current_task().name}

    @plugin_entry(id="add")
    def add(self, a: int, b: int) -> int:
        return a + b

    @plugin_entry(id="boom")
    async def boom(self) -> None:
        raise ValueError("kaboom")

    @plugin_entry(id="hang")
    async def hang(self) -> None:
        try:
            await trio.sleep_forever()
        finally:
            EVENTS.append("hang cancelled")

    @plugin_entry(id="count")
    async def count(self, n: int):
        try:
            for i in range(n):
                yield i
        finally:
            EVENTS.append("count closed")

    @periodic(every=0.02)
    async def tick(self) -> None:
        EVENTS.append("tick")

    async def terminate(self) -> None:
        EVENTS.append("terminate")


def test_calls_streams_and_errors_under_asyncio(tmp_path: Path) -> None:
    EVENTS.clear()

    async def main() -> None:
        async with open_host(HostConfig(home=tmp_path), plugins={"g": Guest}) as host:
            assert host.status("g").state is PluginState.RUNNING
            where = await host.call("g.where")
            assert where["thread"] == threading.get_ident()
            assert await host.call("g.add", a=2, b=3) == 5
            assert [i async for i in host.stream("g.count", n=3)] == [0, 1, 2]
            with pytest.raises(EntryNotFound):
                await host.call("g.nope")
            with pytest.raises(InvalidArguments):
                await host.call("g.add", a="x", b=1)
            with pytest.raises(EntryFailed) as failed:
                await host.call("g.boom")
            assert isinstance(failed.value.__cause__, ValueError)
            # asyncio keeps running its own work meanwhile, and the plugin's job ticks
            results = await asyncio.gather(
                asyncio.sleep(0.2, "asyncio"), host.call("g.add", a=1, b=1)
            )
            assert results == ["asyncio", 2]
            assert EVENTS.count("tick") >= 3
            # breaking out of a stream closes the entry's generator
            async for item in host.stream("g.count", n=100):
                assert item == 0
                break
            await asyncio.sleep(0.05)
            assert EVENTS.count("count closed") == 2
        assert EVENTS[-1] == "terminate"

    asyncio.run(main())


def test_cancelling_the_asyncio_task_cancels_the_plugin_code(tmp_path: Path) -> None:
    EVENTS.clear()

    async def main() -> None:
        async with open_host(HostConfig(home=tmp_path), plugins={"g": Guest}) as host:
            task = asyncio.create_task(host.call("g.hang"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert "hang cancelled" in EVENTS
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await host.call("g.hang")
            assert EVENTS.count("hang cancelled") == 2
            assert await host.call("g.add", a=1, b=2) == 3  # the host is unaffected

    asyncio.run(main())


def test_an_error_in_the_block_still_shuts_the_host_down(tmp_path: Path) -> None:
    EVENTS.clear()

    async def main() -> None:
        async with open_host(HostConfig(home=tmp_path), plugins={"g": Guest}):
            raise KeyError("from the app")

    with pytest.raises(KeyError, match="from the app"):
        asyncio.run(main())
    assert EVENTS[-1] == "terminate"
