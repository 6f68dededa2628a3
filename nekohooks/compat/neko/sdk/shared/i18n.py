"""``plugin.sdk.shared.i18n``: ``tr`` references and a plugin's locale files.

``tr(key, default=..., **params)`` is a JSON-compatible reference (``{"$i18n": key, ...}``)
that a plugin puts in descriptions and schemas; it is resolved against the plugin's locale
files (``<folder>/<locales_dir>/<locale>.json``, flat key → text) when shown. Text may
interpolate ``{name}`` or ``{{ name }}`` from the params.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["I18N_REF_KEY", "PluginI18n", "is_i18n_ref", "load_locales", "tr"]

I18N_REF_KEY = "$i18n"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}|\{\s*([A-Za-z_][\w.-]*)\s*\}")
_MAX_FILE = 512 * 1024


def tr(key: str, *, default: str = "", **params: Any) -> dict[str, Any]:
    """A delayed translation of ``key`` (resolved where the text is shown)."""
    key = str(key or "").strip()
    if not key:
        raise ValueError("i18n key must be non-empty")
    ref: dict[str, Any] = {I18N_REF_KEY: key}
    if default:
        ref["default"] = str(default)
    if params:
        ref["params"] = dict(params)
    return ref


def is_i18n_ref(value: object) -> bool:
    """True for what :func:`tr` returns."""
    return isinstance(value, Mapping) and isinstance(value.get(I18N_REF_KEY), str)


def _fill(text: str, params: Mapping[str, object]) -> str:
    if not params:
        return text

    def value(match: re.Match[str]) -> str:
        found = params.get(match.group(1) or match.group(2))
        return match.group(0) if found is None else str(found)

    return _PLACEHOLDER.sub(value, text)


class PluginI18n:
    """A plugin's messages by locale, with fallback: locale, its language, default, en, zh-CN."""

    def __init__(
        self,
        messages: Mapping[str, Mapping[str, object]] | None = None,
        *,
        default_locale: str = "en",
    ) -> None:
        self.messages = {str(k): dict(v) for k, v in (messages or {}).items()}
        self.default_locale = default_locale or "en"

    def _candidates(self, locale: str | None) -> list[str]:
        found: list[str] = []
        for item in (locale, self.default_locale, "en", "zh-CN"):
            for candidate in (item, item.split("-", 1)[0] if item else None):
                if candidate and candidate not in found:
                    found.append(candidate)
        return found

    def t(self, key: str, *, locale: str | None = None, default: str = "", **params: object) -> str:
        """The text of ``key`` in ``locale`` (or a fallback), else ``default``, else the key."""
        for candidate in self._candidates(locale):
            text = self.messages.get(candidate, {}).get(key)
            if isinstance(text, str):
                return _fill(text, params)
        return _fill(default or key, params)

    def resolve(self, value: object, *, locale: str | None = None) -> Any:
        """``value`` with every :func:`tr` reference inside it replaced by its text."""
        if is_i18n_ref(value):
            assert isinstance(value, Mapping)
            params = value.get("params")
            return self.t(
                value[I18N_REF_KEY],
                locale=locale,
                default=str(value.get("default") or ""),
                **(dict(params) if isinstance(params, Mapping) else {}),
            )
        if isinstance(value, Mapping):
            return {k: self.resolve(v, locale=locale) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, locale=locale) for v in value]
        return value


def load_locales(folder: Path, *, default_locale: str = "en") -> PluginI18n:
    """The ``*.json`` locale files of ``folder`` (unreadable or oversized ones are skipped)."""
    messages: dict[str, dict[str, object]] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                if path.stat().st_size > _MAX_FILE:
                    continue
                bundle = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeError, ValueError):
                continue
            if isinstance(bundle, dict):
                messages[path.stem] = bundle
    return PluginI18n(messages, default_locale=default_locale)
