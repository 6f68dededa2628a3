"""Stand-ins for N.E.K.O SDK names nekohooks does not provide: importing them works, using fails.

Each raises ``NotImplementedError`` naming the SDK name and the feature the moment it is called,
instantiated or asked for an attribute, so a plugin that only imports a name still loads.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["Unsupported", "unsupported", "unsupported_class"]


def unsupported(name: str, feature: str) -> NoReturn:
    """Raise the error for using SDK name ``name`` (``feature`` says what it is for)."""
    raise NotImplementedError(
        f"N.E.K.O SDK name {name!r} ({feature}) is not supported by nekohooks.compat.neko"
    )


class Unsupported:
    """An SDK object (a namespace or a function) that fails on any use."""

    def __init__(self, name: str, feature: str) -> None:
        self._name, self._feature = name, feature

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        unsupported(self._name, self._feature)

    def __getattr__(self, attr: str) -> NoReturn:
        if attr.startswith("__"):
            raise AttributeError(attr)
        unsupported(f"{self._name}.{attr}", self._feature)

    def __repr__(self) -> str:
        return f"<unsupported N.E.K.O SDK name {self._name!r}>"


def unsupported_class(name: str, feature: str) -> type:
    """A class that may be subclassed (at import) but not instantiated."""

    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        unsupported(name, feature)

    return type(name, (), {"__init__": __init__, "__doc__": f"Unsupported: {feature}."})
