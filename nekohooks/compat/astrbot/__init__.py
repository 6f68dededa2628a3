"""AstrBot plugins on nekohooks: a ``Star`` folder loaded as an ordinary nekohooks plugin.

``load_folder(path, name=...)`` imports an AstrBot plugin folder with the ``astrbot.api`` names
it uses resolved by this layer (:data:`SUPPORTED`; :data:`UNSUPPORTED` lists what is not) and
returns a nekohooks plugin class (:func:`adapt` maps lifecycle, handlers and tools). Nothing named
``astrbot`` is installed: the names resolve only inside plugins loaded this way. Uses only the
public nekohooks API.
"""

from ._adapter import adapt
from ._adopt import folder_plugin
from ._loader import PACKAGE, load_folder, main_file
from ._modules import SUPPORTED, UNSUPPORTED

__all__ = [
    "PACKAGE",
    "SUPPORTED",
    "UNSUPPORTED",
    "adapt",
    "folder_plugin",
    "load_folder",
    "main_file",
]
