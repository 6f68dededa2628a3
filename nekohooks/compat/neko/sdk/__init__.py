"""``plugin.sdk``: N.E.K.O's SDK package, as nekohooks.compat.neko provides it to plugins.

It offers the same names as ``plugin.sdk.plugin`` (the SDK v2 surface); the modules
``plugin.sdk.plugin``, ``plugin.sdk.shared`` and ``plugin.sdk.shared.i18n`` can be imported
too. Any other ``plugin.sdk.*`` module is refused at import with an ``ImportError`` naming it.
"""

from __future__ import annotations

from .plugin import *  # noqa: F403  (the same surface, re-exported)
from .plugin import __all__  # noqa: F401
