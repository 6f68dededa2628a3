"""The control API's routes over the real Unix socket: every answer, every error as JSON."""

from __future__ import annotations

import json
import os
import stat

import httpx
import trio

from nekohooks import __version__


async def test_healthz_plugins_info_and_schema(served, api) -> None:
    _, server = served
    assert stat.S_IMODE(os.stat(server.socket).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(server.socket.parent).st_mode) == 0o700
    health = (await api.get("/v1/healthz")).json()
    assert health["ok"] is True and health["version"] == __version__
    assert health["pid"] == os.getpid()
    rows = (await api.get("/v1/plugins")).json()
    assert [(r["name"], r["status"]) for r in rows] == [("probe", "running")]
    assert set(rows[0]["entries"]) >= {"echo", "add", "count"}
    info = (await api.get("/v1/plugins/probe")).json()
    add = next(e for e in info["entries"] if e["id"] == "add")
    assert add["kind"] == "sync" and add["parameters"]["required"] == ["a", "b"]
    tools = (await api.get("/v1/schema")).json()
    assert "probe__echo" in {t["function"]["name"] for t in tools}


async def test_call_returns_the_result_and_maps_errors(api) -> None:
    response = await api.post("/v1/call/probe.add", json={"a": 2, "b": 3})
    assert response.status_code == 200 and response.json() == {"result": 5}
    assert (await api.post("/v1/call/probe__echo", json={"text": "hé"})).json() == {"result": "hé"}
    assert (await api.post("/v1/call/probe.noop")).json() == {"result": None}
    cases = {
        "/v1/call/probe.nope": (404, "EntryNotFound"),
        "/v1/call/ghost.x": (404, "EntryNotFound"),
        "/v1/call/probe.boom": (502, "EntryFailed"),
    }
    for path, (status, kind) in cases.items():
        response = await api.post(path, json={})
        assert response.status_code == status, path
        error = response.json()["error"]
        assert error["type"] == kind and error["plugin"] in ("probe", "ghost")
    bad = await api.post("/v1/call/probe.add", json={"a": "x", "b": 1})
    assert bad.status_code == 422
    assert bad.json()["error"] == {
        "type": "InvalidArguments",
        "message": bad.json()["error"]["message"],
        "plugin": "probe",
        "entry": "add",
        "phase": "entry",
        "code": None,
    }
    assert "'a'" in bad.json()["error"]["message"]
    refused = (await api.post("/v1/call/probe.refuse")).json()["error"]
    assert (refused["type"], refused["code"]) == ("EntryFailed", "NOT_FOUND")


async def test_generator_entries_stream_as_json_lines_and_sse(api) -> None:
    lines = []
    async with api.stream(
        "POST", "/v1/call/probe.count", json={"n": 3}, headers={"Accept": "application/x-ndjson"}
    ) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        async for line in response.aiter_lines():
            if line:
                lines.append(json.loads(line))
    assert lines == [{"item": 0}, {"item": 1}, {"item": 2}, {"end": True}]
    response = await api.post(
        "/v1/call/probe.count", json={"n": 2}, headers={"Accept": "text/event-stream"}
    )
    assert response.text == (
        "event: item\ndata: 0\n\nevent: item\ndata: 1\n\nevent: end\ndata: {}\n\n"
    )
    # a plain call of a generator entry gets the list
    assert (await api.post("/v1/call/probe.count", json={"n": 2})).json() == {"result": [0, 1]}
    refused = await api.post(
        "/v1/call/probe.count", json={"n": "x"}, headers={"Accept": "application/x-ndjson"}
    )
    assert refused.status_code == 422


async def test_a_client_that_disconnects_mid_stream_cancels_the_call(served, api) -> None:
    host, _ = served
    probe = host.runners["probe"].instance
    async with api.stream(
        "POST", "/v1/call/probe.trickle", headers={"Accept": "application/x-ndjson"}
    ) as response:
        async for line in response.aiter_lines():
            assert json.loads(line) == {"item": "first"}
            break
    with trio.fail_after(5):
        await probe.trickle_closed.wait()
    assert probe.closed == ["trickle"]
    # and a plain call whose client goes away is cancelled too
    with trio.move_on_after(0.3):
        await api.post("/v1/call/probe.hang")
    with trio.fail_after(5):
        await probe.hang_cancelled.wait()
    assert probe.cancelled == ["hang"]
    assert (await api.get("/v1/healthz")).status_code == 200


async def test_unknown_routes_methods_and_plugins_are_json_errors(api) -> None:
    expected = [
        ("GET", "/v1/nope", 404, "NotFound"),
        ("GET", "/", 404, "NotFound"),
        ("DELETE", "/v1/plugins", 405, "MethodNotAllowed"),
        ("GET", "/v1/call/probe.echo", 405, "MethodNotAllowed"),
        ("GET", "/v1/plugins/ghost", 404, "EntryNotFound"),
        ("POST", "/v1/plugins/probe/explode", 404, "NotFound"),
        ("POST", "/v1/plugins/ghost/disable", 404, "EntryNotFound"),
    ]
    for method, path, status, kind in expected:
        response = await api.request(method, path)
        assert (response.status_code, response.json()["error"]["type"]) == (status, kind), path
        assert response.headers["content-type"] == "application/json"


async def test_malformed_bodies_are_400s(api) -> None:
    for body, fragment in [
        (b"{", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    ]:
        response = await api.post("/v1/call/probe.echo", content=body)
        assert response.status_code == 400, body[:10]
        error = response.json()["error"]
        assert error["type"] == "BadRequest" and fragment in error["message"]


async def test_metrics_count_calls_failures_and_the_hosts_counters(api) -> None:
    await api.post("/v1/call/probe.add", json={"a": 1, "b": 1})
    await api.post("/v1/call/probe.boom")
    await api.post("/v1/call/ghost.entry")
    response = await api.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'neko_calls_total{entry="add",plugin="probe"} 1.0' in text
    assert 'neko_call_failures_total{entry="boom",plugin="probe"} 1.0' in text
    assert 'neko_call_seconds_count{entry="add",plugin="probe"} 1.0' in text
    assert 'neko_plugin_up{plugin="probe"} 1.0' in text
    assert "ghost" not in text  # unknown names get no labels


async def test_the_socket_is_removed_when_the_server_stops(home) -> None:
    from nekohooks import HostConfig, open_host
    from nekohooks.control import open_control

    from .conftest import Probe

    fds = len(os.listdir("/proc/self/fd"))
    async with open_host(HostConfig(home=home), plugins={"probe": Probe}, watchdog=False) as host:
        async with open_control(host, home=home, listen=("127.0.0.1", 0)) as server:
            transport = httpx.AsyncHTTPTransport(uds=str(server.socket))
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                assert (await client.get("/v1/healthz")).status_code == 200
        assert not server.socket.exists()
    assert len(os.listdir("/proc/self/fd")) == fds
