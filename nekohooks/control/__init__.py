"""The control API of a running host: served over a Unix socket (and TCP with a token), and
the client the ``neko`` command uses to reach it.

``open_control(host, home=...)`` serves it inside a host's trio run;
:class:`ControlClient` talks to it; ``connect(home)`` finds a running host. The server side
(Starlette, Hypercorn, prometheus-client) is imported on first use, so a command that only
talks to a running host does not pay for it; the client (httpx) too, so one that only looks for
a host does not either.
"""

from typing import TYPE_CHECKING, Any

from ._disabled import deny_disabled
from ._token import load_token
from ._wire import ControlError

if TYPE_CHECKING:
    from ._client import ControlClient, connect
    from ._server import ControlServer, open_control, parse_listen

__all__ = [
    "ControlClient",
    "ControlError",
    "ControlServer",
    "connect",
    "deny_disabled",
    "load_token",
    "open_control",
    "parse_listen",
]

_SERVER = frozenset({"ControlServer", "open_control", "parse_listen"})
_CLIENT = frozenset({"ControlClient", "connect"})


def __getattr__(name: str) -> Any:
    if name in _SERVER:
        from . import _server

        return getattr(_server, name)
    if name in _CLIENT:  # httpx: only to talk to a host
        from . import _client

        return getattr(_client, name)
    raise AttributeError(f"module 'nekohooks.control' has no attribute {name!r}")
