"""The TCP listener's boundary: bearer token, Host and Origin checks, no CORS, body limits."""

from __future__ import annotations

import os
import stat

import httpx

from nekohooks.control import load_token
from nekohooks.control._paths import token_path


def _tcp(server) -> str:
    host, port = server.tcp
    return f"http://{host}:{port}"


async def test_the_token_is_made_once_and_kept_0600(served, home) -> None:
    token = load_token(home, create=False)
    assert token and len(token) >= 40
    assert stat.S_IMODE(os.stat(token_path(home)).st_mode) == 0o600
    assert load_token(home) == token  # not regenerated


async def test_tcp_needs_the_bearer_token(served, home) -> None:
    _, server = served
    token = load_token(home, create=False)
    async with httpx.AsyncClient(base_url=_tcp(server)) as client:
        missing = await client.get("/v1/plugins")
        assert missing.status_code == 401
        assert missing.json()["error"]["type"] == "Unauthorized"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        for header in (f"Bearer {token}x", f"Basic {token}", "Bearer", token):
            wrong = await client.get("/v1/plugins", headers={"Authorization": header})
            assert wrong.status_code == 401, header
        # refused before the body is even read, and before any plugin code runs
        call = await client.post("/v1/call/probe.add", json={"a": 1, "b": 2})
        assert call.status_code == 401
        # its body is unread, so the connection ends with the answer, and the client knows it
        # (reusing it raced the server's close: "Server disconnected without a response")
        assert call.headers["connection"] == "close"
        ok = await client.get("/v1/plugins", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()[0]["name"] == "probe"


async def test_a_foreign_host_or_origin_is_refused_even_with_the_token(served, home) -> None:
    _, server = served
    auth = {"Authorization": f"Bearer {load_token(home, create=False)}"}
    port = server.tcp[1]
    async with httpx.AsyncClient(base_url=_tcp(server), headers=auth) as client:
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
            response = await client.get("/v1/healthz", headers={"Host": host})
            assert response.status_code == 200, host
        # DNS rebinding: the page's own name arrives as Host
        for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", ""):
            response = await client.get("/v1/healthz", headers={"Host": host})
            assert response.status_code == 403, host
            assert response.json()["error"]["type"] == "ForbiddenHost"
        for origin in ("http://evil.example", f"http://localhost:{port + 1}", "null"):
            response = await client.post(
                "/v1/call/probe.add", json={"a": 1, "b": 2}, headers={"Origin": origin}
            )
            assert response.status_code == 403, origin
            assert response.json()["error"]["type"] == "ForbiddenOrigin"
        same = await client.get("/v1/healthz", headers={"Origin": f"http://127.0.0.1:{port}"})
        assert same.status_code == 200


async def test_no_cors_headers_and_preflights_fail(served, home) -> None:
    _, server = served
    auth = {"Authorization": f"Bearer {load_token(home, create=False)}"}
    async with httpx.AsyncClient(base_url=_tcp(server), headers=auth) as client:
        preflight = await client.options(
            "/v1/call/probe.add",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 403
        plain = await client.options("/v1/call/probe.add")
        assert plain.status_code == 405
        for response in (preflight, plain, await client.get("/v1/healthz")):
            assert not any(h.startswith("access-control-") for h in response.headers)


async def test_bodies_over_the_limit_are_413_on_both_listeners(served, home, api) -> None:
    _, server = served
    big = b'{"text": "' + b"x" * (1 << 20) + b'"}'
    response = await api.post("/v1/call/probe.echo", content=big)
    assert response.status_code == 413 and response.json()["error"]["type"] == "BodyTooLarge"

    async def chunks():
        for _ in range(20):
            yield b"x" * 100_000

    chunked = await api.post("/v1/call/probe.echo", content=chunks())  # no Content-Length
    assert chunked.status_code == 413 and chunked.json()["error"]["type"] == "BodyTooLarge"
    auth = {"Authorization": f"Bearer {load_token(home, create=False)}"}
    async with httpx.AsyncClient(base_url=_tcp(server), headers=auth) as client:
        response = await client.post("/v1/call/probe.echo", content=big)
        assert response.status_code == 413
    # and the host is unaffected
    assert (await api.post("/v1/call/probe.echo", json={"text": "ok"})).json() == {"result": "ok"}
