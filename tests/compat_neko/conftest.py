"""Fixtures for the N.E.K.O compatibility tests: the plugin folders and a loopback quote feed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

PLUGINS = Path(__file__).parent / "plugins"


class _Feed(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path != "/quote":
            self.send_error(404)
            return
        body = json.dumps({"text": "Cats are connoisseurs of comfort."}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def feed_url() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 whose /quote answers ``{"text": ...}``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/quote"
    finally:
        server.shutdown()
        server.server_close()
