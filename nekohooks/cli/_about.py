"""``neko --version``: nekohooks' version and every installed plugin, read from the scan cache.

Nothing here imports click, discovery code or a plugin: on a cache hit the command reads one
JSON file (:func:`~nekohooks._scan_cache.cached_rows`); on a miss it scans the package
metadata once, which also refills the cache.
"""

from __future__ import annotations

import sys

from .._scan_cache import cached_rows
from .._version import __version__

__all__ = ["version_lines"]


def version_lines() -> list[str]:
    """The lines ``neko --version`` prints: the version, then one line per installed plugin
    with its distribution and ``[incompatible: ...]`` if its requirement on nekohooks does not
    admit this version."""
    rows = cached_rows()
    if rows is None:  # a miss: read the metadata (and write the cache for the next time)
        from .._scan_cache import cached_scan

        plugins = [
            (c.name, c.distribution, c.version, c.supports(__version__)) for c in cached_scan()
        ]
    else:
        plugins = [(r.name, r.distribution, r.version, r.problem) for r in rows]
    lines = [f"nekohooks {__version__} (Python {sys.version.split()[0]})"]
    if not plugins:
        return [*lines, "plugins: none installed (entry-point group neko.plugins)"]
    lines.append(f"plugins ({len(plugins)}):")
    width = max(len(name) for name, *_ in plugins)
    for name, distribution, version, problem in plugins:
        dist = f"{distribution or '?'} {version or ''}".rstrip()
        note = f"  [incompatible: {problem}]" if problem else ""
        lines.append(f"  {name:<{width}}  {dist}{note}")
    return lines
