"""Many concurrent clients do not starve the plugins' own work: a periodic job keeps its
ticks while 32 clients call an entry over the socket as fast as they can. Real time, so the
anchor is the same job in an idle second just before, in the same run (the machine's own
load slows both); the bound is loose on purpose: half as many runs as when idle."""

from __future__ import annotations

import httpx
import trio

from nekohooks import HostConfig, NekoPluginBase, open_host, periodic, plugin_entry
from nekohooks.control import open_control


class Ticker(NekoPluginBase):
    @periodic(every=0.05)
    async def tick(self) -> None:
        pass

    @plugin_entry(id="noop")
    async def noop(self) -> None:
        return None


async def test_a_flood_of_clients_does_not_starve_a_periodic_job(home) -> None:
    calls = 0
    async with (
        open_host(HostConfig(home=home), plugins={"t": Ticker}, watchdog=False) as host,
        open_control(host, home=home) as server,
    ):
        transport = httpx.AsyncHTTPTransport(uds=str(server.socket))
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://x", limits=limits, timeout=30
        ) as client:
            before = host.status("t").job_runs["tick"]
            await trio.sleep(1.0)
            idle = host.status("t").job_runs["tick"] - before
            before += idle

            async def flood() -> None:
                nonlocal calls
                while True:
                    response = await client.post("/v1/call/t.noop")
                    assert response.status_code == 200
                    calls += 1

            with trio.move_on_after(1.0):
                async with trio.open_nursery() as nursery:
                    for _ in range(32):
                        nursery.start_soon(flood)
            runs = host.status("t").job_runs["tick"] - before
    assert calls > 50  # the flood was real
    assert runs >= idle / 2, f"the job ran {runs} times under {calls} calls, {idle} when idle"
