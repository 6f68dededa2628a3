"""The control API of a running host: served over a Unix socket (and TCP with a token), and
the client the ``neko`` command uses to reach it.

``open_control(host, home=...)`` serves it inside a host's trio run;
:class:`ControlClient` talks to it; ``connect(home)`` finds a running host.
"""

from ._client import ControlClient, connect
from ._disabled import deny_disabled
from ._server import ControlServer, open_control, parse_listen
from ._token import load_token
from ._wire import ControlError

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
