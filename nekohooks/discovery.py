"""Finding plugins: the ``neko.plugins`` entry-point scan, the allow/deny filter, and loading."""

from ._config import PluginFilter
from ._discovery import ENTRY_POINT_GROUP, Candidate, load_plugins, scan
from ._public import publish
from ._registry import LoadedPlugin, Registry

__all__ = [
    "ENTRY_POINT_GROUP",
    "Candidate",
    "LoadedPlugin",
    "PluginFilter",
    "Registry",
    "load_plugins",
    "scan",
]

publish(__name__, globals(), __all__)
