"""The README's "Messages in, replies out" example, run as written."""

from __future__ import annotations

import re
from pathlib import Path

import trio

from nekohooks import open_host
from nekohooks.messages import Message

README = Path(__file__).resolve().parents[1] / "README.md"


def example() -> type:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- messages-example -->\n```python\n(.*?)```", text, re.DOTALL)
    assert block is not None
    namespace: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    return namespace["Dice"]  # type: ignore[return-value]


async def test_the_readme_example(config, autojump_clock) -> None:
    sent: list[tuple[str, str, object]] = []
    sink = lambda plugin, target, message: sent.append((target, message))  # noqa: E731

    async def say(text: str, **fields: object) -> list[tuple[str, object]]:
        message = Message(text, origin="room-1", **fields)  # type: ignore[arg-type]
        return [(r.kind.value, r.content) async for r in host.dispatch(message)]

    async with open_host(config, plugins={"dice": example()}, message_sink=sink) as host:
        assert await say("/dice pick max 3 9") == [("reply", "9")]
        assert await say("/dice pick mid 3 9") == [
            (
                "usage",
                "/dice pick: argument mode: 'mid' must be one of min, max\n"
                "usage: /dice pick <mode:min|max> <a:int> <b:int>",
            )
        ]
        [(kind, rolled)] = await say("/r 20 3")
        assert kind == "reply" and all(1 <= int(n) <= 20 for n in rolled.split())
        assert await say("/roll 1") == [("reply", "2-1000 sides, 1-20 times")]
        assert await say("/later 10 tea is ready") == [("reply", "in 10s")]
        assert await say("who has the dice?") == [("reply", "did someone say dice?")]
        assert await say("", kind="member_join", sender="u7", sender_name="Ada") == [
            ("reply", "welcome, Ada!")
        ]
        await trio.sleep(11)
    assert ("room-1", "tea is ready") in sent
