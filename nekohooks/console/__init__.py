"""The web console: operator pages served beside the control API, behind a login link.

``neko run --listen HOST:PORT`` serves it at ``/``; ``neko console`` prints a one-time login link.
The pages are static files in this package (no build step, nothing from the internet) that call
the control API's ``/v1`` routes with the session cookie and a CSRF header.
"""

from ._auth import COOKIE, CSRF_HEADER, ConsoleAuth, Session, Verdict
from ._pages import Console
from ._recent import RecentLines, capture_recent

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "Console",
    "ConsoleAuth",
    "RecentLines",
    "Session",
    "Verdict",
    "capture_recent",
]
