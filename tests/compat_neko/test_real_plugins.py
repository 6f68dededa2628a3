"""Published N.E.K.O plugins, unchanged, adopted into a venv and run through ``neko``.

Their code is not in this repository: set ``NEKO_REAL_PLUGINS`` to a folder holding
``quote_extract/``, ``memo_reminder/`` and ``qq_auto_reply/`` as published (README.md beside
this file says where from); qq_auto_reply's own dependency ``websockets`` is pip-installed
into the venv. quote_extract reaches its built-in WebDAV library over plain HTTP; the test
points ``http_proxy`` at a loopback server that plays that library, so nothing leaves the
machine.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from plugin_factory import TempVenv
from test_cli import neko

from nekohooks.compat.adopt import adopt

SOURCE = os.environ.get("NEKO_REAL_PLUGINS")
pytestmark = pytest.mark.skipif(
    not SOURCE, reason="NEKO_REAL_PLUGINS is not set (see tests/compat_neko/README.md)"
)
IMAGES = {
    "/dav/memes/a.png": b"\x89PNG-a",
    "/dav/memes/b.jpg": b"\xff\xd8-b",
    "/dav/memes_hidden/h.gif": b"GIF89a-h",
}


class _Library(BaseHTTPRequestHandler):
    """A WebDAV library reached through ``http_proxy`` (so request paths are absolute URLs)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PROPFIND(self) -> None:
        folder = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).rstrip("/")
        hrefs = [folder + "/"] + [p for p in IMAGES if p.rsplit("/", 1)[0] == folder]
        items = "".join(f"<d:response><d:href>{h}</d:href></d:response>" for h in hrefs)
        self._reply(207, f'<d:multistatus xmlns:d="DAV:">{items}</d:multistatus>'.encode())

    def do_GET(self) -> None:
        body = IMAGES.get(urllib.parse.unquote(urllib.parse.urlparse(self.path).path))
        self._reply(200 if body else 404, body or b"")


@pytest.fixture(scope="module")
def proxy() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Library)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {"http_proxy": f"http://127.0.0.1:{server.server_address[1]}", "no_proxy": ""}
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> TempVenv:
    assert SOURCE is not None
    root = tmp_path_factory.mktemp("real")
    names = ("quote_extract", "memo_reminder", "qq_auto_reply")
    wheels = [adopt(Path(SOURCE) / name, root / "dist") for name in names]
    environment = TempVenv(root / "venv")
    environment.install(*wheels)
    environment.pip("install", "--quiet", "websockets>=12")
    return environment


def test_quote_extract(venv: TempVenv, tmp_path: Path, proxy: dict[str, str]) -> None:
    def call(*args: str) -> object:
        proc = neko(tmp_path, "call", *args, "--json", python=venv.python, env=proxy)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    assert call("quote_extract.stats") == {"normal": 2, "hidden": 1, "hidden_rate": 0.05}
    drawn = call("quote_extract.draw")
    assert (
        isinstance(drawn, dict)
        and drawn["submitted"] is True
        and drawn["file"] in {"a.png", "b.jpg", "h.gif"}
    )
    assert call("quote_extract.send_meme")["sent"] is True  # type: ignore[index]
    check = neko(
        tmp_path,
        "check",
        "quote_extract",
        "--examples",
        "4",
        "--days",
        "1",
        python=venv.python,
        env=proxy,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_memo_reminder(venv: TempVenv, tmp_path: Path) -> None:
    added = neko(
        tmp_path,
        "call",
        "memo_reminder.add_reminder",
        "time=1h",
        "message=stretch",
        python=venv.python,
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["status"] == "scheduled"
    listed = neko(tmp_path, "call", "memo_reminder.list_reminders", "--json", python=venv.python)
    (reminder,) = json.loads(listed.stdout)["reminders"]  # the store kept it across processes
    assert reminder["message"] == "stretch"
    missing = neko(
        tmp_path, "call", "memo_reminder.delete_reminder", "reminder_id=nope", python=venv.python
    )
    assert missing.returncode == 1 and "ErrReturned: 未找到提醒: nope" in missing.stderr
    check = neko(
        tmp_path, "check", "memo_reminder", "--examples", "4", "--days", "1", python=venv.python
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_qq_auto_reply(venv: TempVenv, tmp_path: Path) -> None:
    # Its OneBot server is configured on a closed loopback port; NapCat is absent (Windows only).
    home = tmp_path / "plugins" / "qq_auto_reply"
    home.mkdir(parents=True)
    bundled = (venv.site / "neko_plugin_folders" / "qq_auto_reply" / "plugin.toml").read_text(
        "utf-8"
    )
    lines = [
        'onebot_url = "ws://127.0.0.1:9"' if line.startswith("onebot_url") else line
        for line in bundled.splitlines()
    ]
    (home / "plugin.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    added = neko(
        tmp_path,
        "call",
        "qq_auto_reply.add_trusted_user",
        "qq_number=10001",
        "level=admin",
        python=venv.python,
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {"qq_number": "10001", "level": "admin", "persisted": True}
    removed = neko(
        tmp_path, "call", "qq_auto_reply.remove_trusted_user", "qq_number=10001", python=venv.python
    )
    assert removed.returncode == 0, (
        removed.stderr
    )  # found again: the store kept it across processes
    check = neko(
        tmp_path, "check", "qq_auto_reply", "--examples", "4", "--days", "0.5", python=venv.python
    )
    assert check.returncode == 0, check.stdout + check.stderr
