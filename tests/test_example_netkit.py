"""The AstrBot network seeds, ported (example_plugins/neko-netkit), against a loopback server."""

from __future__ import annotations

import trio
from modes import both_ways
from neko_netkit import NetKit

from nekohooks import open_host


@both_ways
async def test_network_entries_behave_like_the_seeds(config, http_server) -> None:
    async with open_host(config, plugins={"netkit": NetKit}, watchdog=False) as host:
        call = host.call
        assert (await call("netkit.fetch", url=f"{http_server}/json")).startswith("JSON data: {")
        assert await call("netkit.fetch", url=f"{http_server}/status/404") == (
            "request failed: HTTP 404"
        )
        assert (await call("netkit.fetch", url=f"{http_server}/slow/0")).startswith("JSON data")
        for not_json in ("{not json", "NaN", '{"x": Infinity}'):  # found by the contract kit
            assert await call("netkit.post", url=f"{http_server}/json", data=not_json) == (
                "invalid data: please provide valid JSON"
            )
        assert (await call("netkit.httpx_get", url=f"{http_server}/json")).startswith("response:")
        assert (await call("netkit.httpx_get", url="http://127.0.0.1:9/x")).startswith(
            "request error"
        )
        result = await call(
            "netkit.concurrent_fetch",
            urls=[f"{http_server}/users/a", f"{http_server}/users/b", f"{http_server}/status/500"],
        )
        assert result["summary"] == "done, succeeded: 2/3"
        assert list(result["failures"].values()) == ["HTTP error: 500"]
        assert (
            await call("netkit.download", url=f"{http_server}/bytes/10", filename="a.bin")
            == "file downloaded: a.bin"
        )
        refused = await call("netkit.download", url=f"{http_server}/bytes/10", filename="../../x")
        assert refused.startswith("download failed:") and "refused file name" in refused


async def test_retry_fetch_recovers_from_a_flaky_server(config, http_server, mock_clock) -> None:
    # Jump only after 0.1 s of real idleness: loopback I/O completes first, backoff sleeps skip.
    mock_clock.autojump_threshold = 0.1
    started = trio.current_time()
    async with open_host(config, plugins={"netkit": NetKit}, watchdog=False) as host:
        text = await host.call("netkit.retry_fetch", url=f"{http_server}/flaky/r/2")
    assert '"attempt": 3' in text
    assert trio.current_time() - started >= 2.0  # two backoff waits (1 s, 2 s, with jitter)
