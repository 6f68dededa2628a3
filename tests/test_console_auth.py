"""The console's login link, session cookie, CSRF check and refusals, over its real routes."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from nekohooks.console import COOKIE, Console, ConsoleAuth, capture_recent


class FakeClock:
    """A settable monotonic clock for expiry checks (the auth takes any callable)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def console(tmp_path: Path, clock: FakeClock) -> Console:
    return Console(home=tmp_path, auth=ConsoleAuth(clock=clock), base_url="http://127.0.0.1:8765")


@pytest.fixture
async def client(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=console.routes())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as c:
        yield c


async def login(console: Console, client: httpx.AsyncClient) -> str:
    """Log in through a fresh link; return the page's CSRF token."""
    code = console.login_url().split("code=", 1)[1]
    response = await client.get("/login", params={"code": code})
    assert response.status_code == 200
    page = await client.get("/")
    assert page.status_code == 200
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found is not None
    return found.group(1)


async def test_nothing_is_served_without_a_session(client: httpx.AsyncClient) -> None:
    for path in ("/", "/plugins/hello", "/console/static/console.js", "/console/static/x"):
        response = await client.get(path)
        assert response.status_code == 401, path
        assert "neko console" in response.text
        assert "console.js" not in response.text
    for path in ("/console/api/settings", "/console/api/plugins/hello/recent"):
        response = await client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "Unauthorized"


async def test_a_login_link_works_once_and_sets_a_strict_httponly_cookie(
    console: Console, client: httpx.AsyncClient
) -> None:
    url = console.login_url()
    assert url.startswith("http://127.0.0.1:8765/login?code=")
    code = url.split("code=", 1)[1]
    response = await client.get("/login", params={"code": code})
    assert response.status_code == 200
    assert "url=/" in response.text  # moves on to the console by itself
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert (await client.get("/")).status_code == 200
    client.cookies.clear()
    again = await client.get("/login", params={"code": code})
    assert again.status_code == 403
    assert "set-cookie" not in again.headers
    assert (await client.get("/")).status_code == 401


async def test_unknown_and_expired_codes_and_sessions_are_refused(
    console: Console, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert (await client.get("/login", params={"code": "guess"})).status_code == 403
    assert (await client.get("/login")).status_code == 403
    stale = console.login_url().split("code=", 1)[1]
    clock.now += console.auth.code_ttl + 1
    assert (await client.get("/login", params={"code": stale})).status_code == 403

    await login(console, client)
    clock.now += console.auth.session_ttl + 1
    assert (await client.get("/")).status_code == 401


async def test_writes_need_the_csrf_token_of_the_session(
    console: Console, client: httpx.AsyncClient
) -> None:
    csrf = await login(console, client)
    assert (await client.post("/logout")).status_code == 403
    assert (await client.post("/logout", headers={"X-CSRF-Token": "x" + csrf})).status_code == 403
    assert (await client.get("/")).status_code == 200  # the refused logouts changed nothing
    response = await client.post("/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert (await client.get("/")).status_code == 401


def test_check_is_what_the_api_asks() -> None:
    """The control API's hook: a read needs the cookie, a write the cookie and the header."""
    auth = ConsoleAuth()
    session = auth.redeem(auth.mint_code())
    assert session is not None
    cookie = {"cookie": f"other=1; {COOKIE}={session.id}"}
    assert auth.check("GET", cookie).ok
    assert not auth.check("POST", cookie).ok
    assert auth.check("POST", {**cookie, "x-csrf-token": session.csrf}).ok
    assert not auth.check("GET", {"cookie": f"{COOKIE}=forged"}).ok
    assert not auth.check("GET", {}).ok
    assert auth.check("GET", {}).reason == "no valid console session"
    auth.end(session)
    assert not auth.check("GET", cookie).ok


async def test_pages_carry_a_strict_content_security_policy(
    console: Console, client: httpx.AsyncClient
) -> None:
    await login(console, client)
    for path in ("/", "/console/static/console.js"):
        headers = (await client.get(path)).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
    refusal = (await client.get("/login", params={"code": "nope"})).headers
    assert "script-src" not in refusal["content-security-policy"]  # no script at all


async def test_the_page_script_never_parses_html() -> None:
    """Plugin strings reach the DOM only as text: the script has no HTML-parsing sink."""
    script = (resources.files("nekohooks.console") / "static" / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


async def test_recent_lines_plugin_toml_and_bad_names(
    console: Console, client: httpx.AsyncClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # as `neko run` logs
    (tmp_path / "plugins" / "hello").mkdir(parents=True)
    (tmp_path / "plugins" / "hello" / "plugin.toml").write_text('[greeting]\ntext = "<b>hi</b>"\n')
    await login(console, client)
    with capture_recent() as recent:
        console.recent = recent
        logging.getLogger("neko.plugin.hello").warning("<script>alert(1)</script>")
        logging.getLogger("nekohooks.messages").info("[%s → %s] %s", "hello", "room", "hi <img>")
        body = (await client.get("/console/api/plugins/hello/recent")).json()
    assert body["plugin_toml"] == '[greeting]\ntext = "<b>hi</b>"\n'
    assert [(line["level"], line["text"]) for line in body["logs"]] == [
        ("WARNING", "<script>alert(1)</script>")
    ]
    assert [(m["target"], m["text"]) for m in body["messages"]] == [("room", "hi <img>")]
    assert (await client.get("/console/api/plugins/nope/recent")).json()["plugin_toml"] is None
    assert (await client.get("/console/api/plugins/..%2Fx/recent")).status_code in (400, 404)
    assert (await client.get("/console/api/plugins/../recent")).status_code in (400, 404)
    logging.getLogger("neko.plugin.hello").warning("after the capture")
    assert len(recent.logs("hello")) == 1  # detached when the block ended


def test_login_url_needs_a_tcp_address(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="--listen"):
        Console(home=tmp_path).login_url()
