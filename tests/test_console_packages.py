"""Install and uninstall from the console: what it lets pip do, and when it refuses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from nekohooks.console import Console
from nekohooks.console._packages import PipFailed, install_args, run_pip


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("neko-weather", ["install", "--", "neko-weather"]),
        (" neko-weather[extra]>=1.2,<2 ", ["install", "--", "neko-weather[extra]<2,>=1.2"]),
    ],
)
def test_a_name_with_specifiers_is_installed_as_given(text: str, args: list[str]) -> None:
    assert install_args(text) == args


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-e .",
        "--index-url=http://evil.example/simple",
        "-r /etc/passwd",
        "neko-weather @ https://evil.example/x.whl",
        "./neko_weather",
        "/tmp/x.whl",
        'neko-weather; python_version > "3"',
        "neko weather",
    ],
)
def test_options_urls_paths_and_markers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"requirement|only a name"):
        install_args(text)


async def test_a_failing_pip_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(PipFailed, match=r"exit \d+") as caught:
        await run_pip(["install", "--", "neko-surely-not-installable"])
    assert "neko-surely-not-installable" in str(caught.value)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """A logged-in client and its CSRF token, on a console that does not allow installs."""
    console = Console(home=tmp_path, base_url="http://127.0.0.1:8765")
    transport = httpx.ASGITransport(app=Starlette(routes=console.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as c:
        code = console.login_url().split("code=", 1)[1]
        assert (await c.get("/login", params={"code": code})).status_code == 200
        found = re.search(r'name="csrf-token" content="([^"]+)"', (await c.get("/")).text)
        assert found is not None
        yield found.group(1), c


async def test_install_is_off_unless_the_host_allows_it(
    client: tuple[str, httpx.AsyncClient],
) -> None:
    csrf, c = client
    assert (await c.get("/console/api/settings")).json() == {"install": False}
    headers = {"X-CSRF-Token": csrf}
    for path, body in [
        ("/console/api/install", {"requirement": "neko-x"}),
        ("/console/api/uninstall", {"plugin": "x"}),
    ]:
        assert (await c.post(path, json=body)).status_code == 401  # no CSRF header
        refused = await c.post(path, json=body, headers=headers)
        assert refused.status_code == 403
        assert "off in this host's config" in refused.json()["error"]["message"]
