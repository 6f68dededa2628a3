"""Entry dispatch: host.call on a no-op entry vs a raw pluggy hook call and a direct call.

Prints per-call cost and the ratios, all measured in this one run on this machine.
Targets (issue 7): host.call within 3x the raw awaited pluggy call; >= 150,000 calls/s.
"""

from __future__ import annotations

import tempfile
import time

import pluggy
import trio

from nekohooks import HostConfig, NekoPluginBase, open_host, plugin_entry

N = 100_000
hookimpl = pluggy.HookimplMarker("bench")
hookspec = pluggy.HookspecMarker("bench")


class Spec:
    @hookspec(firstresult=True)
    def noop(self) -> None: ...


class Impl:
    @hookimpl
    async def noop(self) -> None:
        return None


class Noop(NekoPluginBase):
    @plugin_entry(id="noop")
    async def noop(self):
        return None

    @plugin_entry(id="sync_noop")
    def sync_noop(self):
        return None


def per_call(seconds: float, n: int) -> float:
    return seconds / n * 1e6


async def main() -> None:
    pm = pluggy.PluginManager("bench")
    pm.add_hookspecs(Spec)
    pm.register(Impl())
    hook = pm.hook.noop
    target = Noop(None)  # type: ignore[arg-type]

    start = time.perf_counter()
    for _ in range(N):
        await target.noop()
    direct = per_call(time.perf_counter() - start, N)

    start = time.perf_counter()
    for _ in range(N):
        await hook()
    raw = per_call(time.perf_counter() - start, N)

    config = HostConfig(home=tempfile.mkdtemp())
    async with open_host(config, plugins={"b": Noop}, watchdog=False) as host:
        call = host.call
        start = time.perf_counter()
        for _ in range(N):
            await call("b.noop")
        ours = per_call(time.perf_counter() - start, N)

        m = 2_000
        start = time.perf_counter()
        for _ in range(m):
            await trio.to_thread.run_sync(lambda: None)
        thread = per_call(time.perf_counter() - start, m)
        start = time.perf_counter()
        for _ in range(m):
            await call("b.sync_noop")
        sync_ours = per_call(time.perf_counter() - start, m)

    print(f"direct method call        {direct:7.2f} us/call")
    print(f"raw pluggy hook, awaited   {raw:7.2f} us/call")
    print(f"host.call async no-op      {ours:7.2f} us/call  ({1e6 / ours:,.0f} calls/s)")
    print(f"  ratio to raw pluggy      {ours / raw:7.2f}x   (target <= 3x)")
    print(f"  ratio to direct call     {ours / direct:7.2f}x")
    print(f"trio.to_thread no-op       {thread:7.2f} us/call")
    print(f"host.call sync no-op       {sync_ours:7.2f} us/call")
    print(f"  ratio to to_thread       {sync_ours / thread:7.2f}x")


if __name__ == "__main__":
    trio.run(main)
