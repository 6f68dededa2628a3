"""The web console: operator pages served beside the control API, behind a login link.

``open_console(host, home=..., listen=...)`` (what ``neko run --listen HOST:PORT`` uses) serves it
at ``/`` of the control API; ``neko console`` prints a one-time login link.
The pages are static files in this package (no build step, nothing from the internet) that call
the control API's ``/v1`` routes with the session cookie and a CSRF header.
"""

from ._auth import COOKIE, CSRF_HEADER, ConsoleAuth, Session, Verdict
from ._pages import Console
from ._recent import RecentLines, capture_recent
from ._serve import open_console

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "Console",
    "ConsoleAuth",
    "RecentLines",
    "Session",
    "Verdict",
    "capture_recent",
    "open_console",
]
