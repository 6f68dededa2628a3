"""A N.E.K.O ``plugin.toml``: the record the adapter reads, and the SDK version-range check.

``[plugin]`` gives ``id``, ``name``, ``entry`` (``plugin.plugins.<package>[.module]:Class``),
``version``, ``description`` and ``passive``; ``[plugin.sdk]`` the ``supported`` /
``untested`` / ``recommended`` / ``conflicts`` ranges of SDK versions; ``[plugin_runtime]``
``enabled``, ``auto_start``, ``timeout`` and ``startup_failure``; ``[plugin.store]`` whether
the store is on; ``[plugin.i18n]`` where the locale files are. Every other table is the
plugin's own configuration (``self.config``).
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from ._errors import ManifestError, SdkVersionMismatch

__all__ = ["SDK_VERSION", "Manifest", "read_manifest"]

log = logging.getLogger("nekohooks.compat.neko")

#: The N.E.K.O plugin SDK version this layer provides (SDK v2's ``SDK_VERSION``).
SDK_VERSION = "0.1.0"

_STARTUP_FAILURE = ("warn", "fail", "ignore")
_ENTRY = re.compile(r"(?:plugin\.)?plugins\.([A-Za-z_][\w]*)((?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)")


@attrs.frozen
class Manifest:
    """What the adapter needs from one ``plugin.toml`` (see the module docstring)."""

    path: Path
    id: str
    name: str
    package: str
    """The folder's package name under ``plugin.plugins`` (from ``entry``)."""
    module: str
    """The module to import, ``plugin.plugins.<package>[.submodule]``."""
    class_name: str
    version: str
    description: str
    passive: bool
    sdk: Mapping[str, Any]
    enabled: bool
    auto_start: bool
    timeout: float | None
    startup_failure: str
    store_enabled: bool
    default_locale: str
    locales_dir: str
    metadata: Mapping[str, Any]
    """The ``[plugin]`` table as written."""

    def check_sdk(self, version: str = SDK_VERSION) -> None:
        """Raise :class:`SdkVersionMismatch` if ``[plugin.sdk]`` excludes ``version``.

        ``conflicts`` ranges refuse; ``supported`` (or ``compatible``) must contain the version
        unless ``untested`` does (then a warning); outside ``recommended`` only warns.
        """
        running = Version(version)
        where = "[plugin.sdk]"
        conflicts = self.sdk.get("conflicts") or []
        if isinstance(conflicts, str):
            conflicts = [conflicts]
        for spec in conflicts:
            if running in self._spec("conflicts", spec):
                raise SdkVersionMismatch(
                    self.path,
                    f"{where} conflicts {spec!r}: conflicts with N.E.K.O SDK {version} "
                    "(provided by nekohooks.compat.neko)",
                )
        supported = self.sdk.get("supported") or self.sdk.get("compatible")
        untested = self.sdk.get("untested")
        in_untested = untested is not None and running in self._spec("untested", untested)
        if supported is not None and running not in self._spec("supported", supported):
            if not in_untested:
                raise SdkVersionMismatch(
                    self.path,
                    f"{where} requires N.E.K.O SDK {supported}, this is N.E.K.O SDK {version} "
                    "(provided by nekohooks.compat.neko)",
                )
            log.warning(
                "N.E.K.O plugin %r: SDK %s is only in its untested range %s",
                self.id,
                version,
                untested,
            )
        recommended = self.sdk.get("recommended")
        if recommended is not None and running not in self._spec("recommended", recommended):
            log.warning(
                "N.E.K.O plugin %r: SDK %s is outside its recommended range %s",
                self.id,
                version,
                recommended,
            )

    def _spec(self, field: str, value: object) -> SpecifierSet:
        try:
            return SpecifierSet(str(value))
        except InvalidSpecifier:
            raise ManifestError(
                self.path, f"[plugin.sdk] {field} {value!r} is not a version range"
            ) from None


def _table(data: Mapping[str, Any], key: str, path: Path, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ManifestError(path, f"[{where}] must be a table")
    return value


def _typed(
    table: Mapping[str, Any], key: str, kind: type, default: Any, path: Path, where: str
) -> Any:
    value = table.get(key, default)
    if value is default:
        return value
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ManifestError(path, f"[{where}] {key} must be a {kind.__name__}, got {value!r}")
    return value


def read_manifest(folder: Path) -> Manifest:
    """Read and check ``folder/plugin.toml``; raise :class:`ManifestError` naming the problem."""
    path = folder / "plugin.toml"
    if not folder.is_dir():
        raise ManifestError(folder, "not a folder")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(path, "no plugin.toml: not a N.E.K.O plugin folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(path, f"unreadable: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, f"malformed TOML: {exc}") from None
    plugin = _table(data, "plugin", path, "plugin")
    plugin_id = plugin.get("id")
    if not isinstance(plugin_id, str) or not re.fullmatch(
        r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}", plugin_id
    ):
        raise ManifestError(
            path, f"[plugin] id must be a plugin name (letters, digits, _ or -), got {plugin_id!r}"
        )
    entry = plugin.get("entry")
    match = _ENTRY.fullmatch(entry) if isinstance(entry, str) else None
    if match is None:
        raise ManifestError(
            path, f"[plugin] entry must look like 'plugin.plugins.<package>:Class', got {entry!r}"
        )
    package, submodule, class_name = match.groups()
    sdk = _table(plugin, "sdk", path, "plugin.sdk")
    runtime = _table(data, "plugin_runtime", path, "plugin_runtime")
    store = _table(plugin, "store", path, "plugin.store")
    i18n = _table(plugin, "i18n", path, "plugin.i18n")
    timeout = runtime.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300
    ):
        raise ManifestError(
            path, f"[plugin_runtime] timeout must be in (0, 300] seconds, got {timeout!r}"
        )
    startup_failure = _typed(runtime, "startup_failure", str, "fail", path, "plugin_runtime")
    if startup_failure not in _STARTUP_FAILURE:
        raise ManifestError(
            path,
            f"[plugin_runtime] startup_failure must be one of {', '.join(_STARTUP_FAILURE)}, "
            f"got {startup_failure!r}",
        )
    version = _typed(plugin, "version", str, "0.0.0", path, "plugin")
    return Manifest(
        path=path,
        id=plugin_id,
        name=_typed(plugin, "name", str, plugin_id, path, "plugin"),
        package=package,
        module=f"plugin.plugins.{package}{submodule}",
        class_name=class_name,
        version=version,
        description=_typed(plugin, "description", str, "", path, "plugin"),
        passive=_typed(plugin, "passive", bool, False, path, "plugin"),
        sdk=sdk,
        enabled=_typed(runtime, "enabled", bool, True, path, "plugin_runtime"),
        auto_start=_typed(runtime, "auto_start", bool, True, path, "plugin_runtime"),
        timeout=float(timeout) if timeout is not None else None,
        startup_failure=startup_failure,
        store_enabled=_typed(store, "enabled", bool, False, path, "plugin.store"),
        default_locale=_typed(i18n, "default_locale", str, "en", path, "plugin.i18n"),
        locales_dir=_typed(i18n, "locales_dir", str, "i18n", path, "plugin.i18n"),
        metadata=plugin,
    )
