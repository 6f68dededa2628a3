"""The N.E.K.O layer's asyncio loop, driven from trio: no deadlock between the two threads."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio
    import trio
    from nekohooks.compat.neko._loop import PluginLoop

    async def main():
        plugin_loop = PluginLoop("test")
        token = trio.lowlevel.current_trio_token()
        pushed = []

        def push():  # what a plugin's timer pushing a message does: wait on trio
            trio.from_thread.run_sync(pushed.append, "message", trio_token=token)

        async def entry():
            # a callback the loop runs right after this coroutine ends, before the future
            # that trio waits on holds the result
            asyncio.get_running_loop().call_soon(push)
            return "done"

        for _ in range(50):
            assert await plugin_loop.run(entry) == "done"
        await trio.sleep(0.1)
        plugin_loop.close()
        print(len(pushed))

    trio.run(main)
    """
)


def test_a_loop_callback_waiting_on_trio_right_after_a_call_does_not_deadlock() -> None:
    # In a child process: a deadlock would hang the test run, not fail it.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "50"
