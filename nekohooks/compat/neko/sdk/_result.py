"""N.E.K.O's result values (``Ok`` / ``Err``) and its ``SdkError``, and what a returned ``Err`` becomes.

A N.E.K.O handler returns ``Ok(value)`` or ``Err(error)`` (or a plain value). The adapter turns
``Ok(value)`` into the call's result and ``Err(error)`` into :class:`ErrReturned`, a nekohooks
error that keeps the error's ``code`` and message, so the host reports it as a deliberate
failure of that entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, NoReturn, TypeAlias, TypeVar

import attrs

from nekohooks.errors import NekoError

__all__ = [
    "Err",
    "ErrReturned",
    "Ok",
    "Result",
    "SdkError",
    "TransportError",
    "ValidationError",
    "err_parts",
    "unwrap",
    "unwrap_or",
]

T = TypeVar("T")
E = TypeVar("E")
U = TypeVar("U")


class SdkError(NekoError, RuntimeError):
    """N.E.K.O's base SDK error: a message, an optional ``code`` and ``details``."""

    def __init__(
        self, message: str = "", *, code: str | None = None, details: object = None, **context: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.details = details
        self.context = {k: v for k, v in context.items() if v is not None}


class ValidationError(SdkError):
    """Bad input given to an SDK call (a config path, a store key, a push_message field)."""


class TransportError(SdkError):
    """An SDK call could not reach what it needed."""


class ErrReturned(NekoError):
    """A N.E.K.O entry returned ``Err(...)``; ``.code``, ``.message`` and ``.details`` keep it."""

    def __init__(self, code: str | None, message: str, details: object = None) -> None:
        super().__init__(f"[{code}] {message}" if code else message)
        self.code = code
        self.message = message
        self.details = details


def err_parts(error: object) -> tuple[str | None, str, object]:
    """The ``(code, message, details)`` of what an ``Err`` carries (an error, a dict, text)."""
    if isinstance(error, SdkError):
        return error.code, str(error) or type(error).__name__, error.details
    if isinstance(error, BaseException):
        code = getattr(error, "code", None)
        text = str(error) or type(error).__name__
        return (str(code) if code is not None else type(error).__name__), text, None
    if isinstance(error, Mapping):
        inner = error.get("error")
        source: Mapping[str, Any] = inner if isinstance(inner, Mapping) else error
        code = source.get("code")
        message = source.get("message") or (inner if isinstance(inner, str) else None)
        return (
            str(code) if code is not None else None,
            str(message or code or "error"),
            source.get("details"),
        )
    return None, str(error), None


@attrs.frozen
class Ok(Generic[T]):
    """A successful result carrying ``value``."""

    __match_args__ = ("value",)
    value: T

    def is_ok(self) -> Literal[True]:
        return True

    def is_err(self) -> Literal[False]:
        return False

    def err(self) -> None:
        return None

    def map(self, fn: Callable[[T], U]) -> Ok[U]:
        return Ok(fn(self.value))

    def unwrap(self) -> T:
        return self.value

    def unwrap_or(self, default: object) -> T:
        return self.value


@attrs.frozen
class Err(Generic[E]):
    """A failed result carrying ``error`` (an ``SdkError``, a dict with a code, or text)."""

    __match_args__ = ("error",)
    error: E

    def is_ok(self) -> Literal[False]:
        return False

    def is_err(self) -> Literal[True]:
        return True

    def err(self) -> E:
        return self.error

    def map(self, fn: Callable[[Any], Any]) -> Err[E]:
        return self

    def unwrap(self) -> NoReturn:
        if isinstance(self.error, Exception):
            raise self.error
        code, message, details = err_parts(self.error)
        raise SdkError(message, code=code, details=details)

    def unwrap_or(self, default: U) -> U:
        return default


Result: TypeAlias = Ok[T] | Err[E]


def unwrap(result: Ok[T] | Err[Any]) -> T:
    """The value of ``Ok``; raises the error of ``Err`` (as ``SdkError`` if it is not one)."""
    if isinstance(result, Ok):
        return result.value
    result.unwrap()


def unwrap_or(result: Ok[T] | Err[Any], default: U) -> T | U:
    """The value of ``Ok``, else ``default``."""
    return result.value if isinstance(result, Ok) else default
