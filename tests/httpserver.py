"""The loopback HTTP server's handler (the ``http_server`` fixture in conftest.py serves it).

A module of its own, so tests can read its hit counts with ``from httpserver import Handler``
(``conftest`` is not a unique module name: tests/compat_neko has one too).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar


@contextlib.contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 answering with ``handler``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path.startswith("/flaky/"):
            _, _, _key, n = self.path.split("/")
            if self.hits[self.path] <= int(n):
                return self._send(503, b"try again", "text/plain")
            return self._send(200, json.dumps({"attempt": self.hits[self.path]}).encode())
        if self.path.startswith("/slow/"):
            time.sleep(float(self.path.rsplit("/", 1)[1]))
            return self._send(200, b'{"slow": true}')
        if self.path.startswith("/bytes/"):
            return self._send(
                200, b"x" * int(self.path.rsplit("/", 1)[1]), "application/octet-stream"
            )
        if self.path.startswith("/chunked/"):
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, n, 1000):
                piece = b"y" * min(1000, n - start)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return None
        if self.path.startswith("/status/"):
            return self._send(int(self.path.rsplit("/", 1)[1]), b"status", "text/plain")
        self._send(200, json.dumps({"hello": "neko", "path": self.path}).encode())

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
