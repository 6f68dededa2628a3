"""Network helpers for plugins: an httpx client per plugin, retries, safe paths, downloads.

Per-request limits use httpx's own timeouts: cancelling in-flight httpx requests from outside
can wedge the connection pool (httpcore #1093), so nothing here does that on purpose.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import os
import tempfile
import types
from collections.abc import Callable, Iterable
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Any, TypeVar, cast

import trio

from ._errors import DownloadError, DownloadTooLarge, UnsafePath

if TYPE_CHECKING:  # httpx and tenacity are imported when first used: `neko --version` does not
    import ssl  # pay for them

    import httpx
    from tenacity import RetryCallState

__all__ = [
    "download",
    "is_transient",
    "make_http_client",
    "reads_http",
    "retry",
    "safe_path",
    "tls_context",
    "warm_http",
]

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("nekohooks.retry")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings every plugin's client shares (certifi's CAs, or ``SSL_CERT_FILE``).

    Made once per process: building one reads the CA bundle, about 0.1 s on the trio thread,
    which every plugin start used to pay again.
    """
    import httpx

    return httpx.create_ssl_context()


def warm_http() -> None:
    """Import the HTTP stack and build the shared TLS settings now, off the trio loop.

    A plugin's first ``ctx.http`` otherwise pays for them on the trio thread: about 0.2 s
    (httpx, httpcore, the CA bundle), which holds every plugin's calls and which the loop
    watchdog would blame on that plugin. ``neko run`` and the contract kit call this before
    their hosts start; a host that makes few HTTP requests need not.
    """
    importlib.import_module("httpcore._backends.trio")  # httpcore, and what a request needs
    tls_context()  # and httpx


def reads_http(code: Iterable[types.CodeType]) -> bool:
    """True if any of these code objects (or a function nested in one) reads an attribute
    ``http``: the plugin uses ``ctx.http``, so its process should :func:`warm_http` before it
    starts. ``code``: the plugin's functions (:func:`~._watchdog.plugin_code`)."""
    seen: set[types.CodeType] = set()

    def reads(one: types.CodeType) -> bool:
        if one in seen:
            return False
        seen.add(one)
        return "http" in one.co_names or any(
            reads(const) for const in one.co_consts if isinstance(const, types.CodeType)
        )

    return any(reads(one) for one in code)


def make_http_client(plugin: str) -> httpx.AsyncClient:
    """A plugin's own ``httpx.AsyncClient``: 10 s timeouts (5 s to connect), at most 20
    connections (10 kept alive), redirects followed, one connect retry, the shared TLS
    settings (:func:`tls_context`)."""
    import httpx

    from ._version import __version__

    limits = httpx.Limits(max_connections=20, max_keepalive_connections=10)
    tls = tls_context()
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=limits,
        follow_redirects=True,
        verify=tls,
        headers={"User-Agent": f"nekohooks/{__version__} (+plugin {plugin})"},
        transport=httpx.AsyncHTTPTransport(retries=1, limits=limits, verify=tls),
    )


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: network errors, timeouts, HTTP 429 and 5xx."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    if isinstance(exc, httpx.UnsupportedProtocol):  # a bad URL: no retry will fix it
        return False
    return isinstance(exc, httpx.TransportError | TimeoutError | ConnectionError)


def retry(
    *,
    attempts: int = 3,
    initial: float = 0.5,
    maximum: float = 30.0,
    jitter: float = 0.5,
    when: Callable[[BaseException], bool] = is_transient,
) -> Callable[[F], F]:
    """Retry a sync or async function on transient errors, with exponential backoff and jitter.

    Built on tenacity; async waits sleep on trio's clock (so ``MockClock`` drives them). After the
    last attempt the real exception is re-raised.
    """
    import tenacity  # here, not at import: most processes never retry

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "attempt %d/%d failed (%s); retrying in %.2fs",
            state.attempt_number,
            attempts,
            exc,
            wait,
        )

    options: dict[str, Any] = {
        "stop": tenacity.stop_after_attempt(attempts),
        "wait": tenacity.wait_exponential_jitter(multiplier=initial, max=maximum, jitter=jitter),
        "retry": tenacity.retry_if_exception(when),
        "reraise": True,
        "before_sleep": log_retry,
    }

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):
            return cast(F, tenacity.retry(sleep=trio.sleep, **options)(func))
        return cast(F, functools.wraps(func)(tenacity.retry(**options)(func)))

    return decorate


def safe_path(root: Path, name: str, *, plugin: str) -> Path:
    """``root / name`` if it stays inside ``root``; else raise :class:`UnsafePath`.

    Refuses empty names, absolute paths (POSIX or Windows), ``..`` parts, NUL bytes and any
    symlink on the way.
    """

    def refuse(why: str) -> UnsafePath:
        return UnsafePath(plugin, f"refused file name {name!r}: {why}")

    if not name or "\x00" in name:
        raise refuse("empty or contains NUL")
    try:
        os.fsencode(name)
    except UnicodeError:
        raise refuse("not representable on this file system") from None
    win = PureWindowsPath(name)
    if Path(name).is_absolute() or win.is_absolute() or win.drive or name.startswith(("/", "\\")):
        raise refuse("absolute path")
    parts = win.parts
    if any(part in ("..", ".") for part in parts) or not parts:
        raise refuse("'..' or '.' parts")
    base = root.resolve()
    target = base.joinpath(*parts)
    probe = base
    try:
        for part in parts:
            probe = probe / part
            if probe.is_symlink():
                raise refuse("goes through a symlink")
        inside = target.resolve().is_relative_to(base)
    except OSError as exc:  # e.g. a name too long for the file system
        raise refuse(exc.strerror or type(exc).__name__) from None
    if not inside:
        raise refuse("escapes the folder")
    return target


async def download(
    client: httpx.AsyncClient,
    url: str,
    root: Path,
    filename: str,
    *,
    plugin: str,
    max_bytes: int = 100 * 1024 * 1024,
    chunk_size: int = 65536,
) -> Path:
    """Stream ``url`` to ``root/filename`` atomically (temp file, fsync, rename); return it.

    The name is checked before any request. On error or cancel the temp file is removed and
    an existing file of that name is left untouched.
    """
    import httpx

    target = safe_path(root, filename, plugin=plugin)
    await trio.Path(target.parent).mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    os.close(fd)
    tmp = trio.Path(tmp_name)
    try:
        async with client.stream("GET", url) as response:
            if not response.is_success:
                raise DownloadError(plugin, f"GET {url}: HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise DownloadTooLarge(plugin, f"{url} is {declared} bytes, limit {max_bytes}")
            received = 0
            async with await trio.open_file(tmp_name, "wb") as out:
                async for chunk in response.aiter_bytes(chunk_size):
                    received += len(chunk)
                    if received > max_bytes:
                        raise DownloadTooLarge(
                            plugin, f"{url} exceeded the limit of {max_bytes} bytes"
                        )
                    await out.write(chunk)
                await out.flush()
                await trio.to_thread.run_sync(os.fsync, out.fileno())
        await tmp.replace(target)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError
        await _remove(tmp)
        raise DownloadError(plugin, f"GET {url}: {type(exc).__name__}: {exc}") from exc
    except BaseException:
        await _remove(tmp)
        raise
    return target


async def _remove(path: trio.Path) -> None:
    with trio.CancelScope(shield=True):
        await path.unlink(missing_ok=True)
