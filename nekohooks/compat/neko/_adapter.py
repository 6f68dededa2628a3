"""Turn a N.E.K.O plugin folder into an ordinary nekohooks plugin class.

:func:`adapt_folder` reads ``plugin.toml``, checks the SDK range, imports the ``[plugin]
entry`` class as ``plugin.plugins.<package>`` and returns a ``nekohooks.NekoPluginBase``
subclass whose entries (``@plugin_entry``, ``@llm_tool``) and periodic jobs
(``@timer_interval``) call the N.E.K.O plugin. Each run of it (``startup`` → ``terminate``)
constructs the N.E.K.O class on a fresh asyncio loop (:class:`PluginLoop`), runs its
``@lifecycle("startup")`` hooks, serves calls, then its ``@lifecycle("shutdown")`` hooks.

Results: ``Ok(value)`` is the call's result; ``Err(...)`` raises :class:`ErrReturned` (code and
message kept), which the host reports as that entry's failure. ``[plugin_runtime]``:
``enabled = false`` keeps the plugin listed but not started (calls are refused),
``auto_start = false`` starts it on its first call, ``timeout`` is the default entry timeout,
``startup_failure`` decides what a failing startup hook does (``fail``, the default, fails
the start; ``warn`` logs a warning; ``ignore`` logs at debug level).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import logging
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import trio

import nekohooks
from nekohooks.errors import PluginUnavailable

from ._errors import EntryImportError, FolderError
from ._imports import register_folder
from ._loop import PluginLoop, real_time
from ._manifest import Manifest, read_manifest
from ._runtime import Runtime
from ._schema import entry_schema
from .sdk._base import NekoPluginBase as SdkPluginBase
from .sdk._context import SdkContext
from .sdk._decorators import HandlerMeta, handler_meta
from .sdk._logger import SdkLogger
from .sdk._result import Err, ErrReturned, Ok, err_parts
from .sdk.shared.i18n import load_locales

__all__ = ["adapt_folder"]

log = logging.getLogger("nekohooks.compat.neko")

_adapted: dict[Path, type] = {}


@attrs.frozen
class _Spec:
    """What every run of one adapted plugin needs."""

    folder: Path
    manifest: Manifest
    plugin_class: type
    startup: tuple[str, ...]
    shutdown: tuple[str, ...]


def adapt_folder(folder: str | Path) -> type[nekohooks.NekoPluginBase]:
    """The nekohooks plugin class for the N.E.K.O plugin in ``folder`` (cached per folder).

    Raises:
        ManifestError: ``plugin.toml`` is missing, malformed or incomplete.
        SdkVersionMismatch: its ``[plugin.sdk]`` ranges exclude this SDK version.
        EntryImportError: the ``[plugin] entry`` module fails to import (an unsupported SDK
            name included) or lacks the class; the message names the file and line.
    """
    path = Path(folder).resolve()
    if path in _adapted:
        return _adapted[path]
    manifest = read_manifest(path)
    manifest.check_sdk()
    plugin_class = _import_class(path, manifest)
    adapted = _build(path, manifest, plugin_class)
    _adapted[path] = adapted
    return adapted


def _blame(exc: BaseException, folder: Path, default: Path) -> str:
    """``file:line`` of the deepest traceback frame inside ``folder`` (else ``default``)."""
    where = str(default)
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve().is_relative_to(folder):
            where = f"{frame.filename}:{frame.lineno}"
    return where


def _import_class(folder: Path, manifest: Manifest) -> type:
    init = folder / "__init__.py"
    if not init.is_file():
        raise EntryImportError(init, f"missing: [plugin] entry names package {manifest.module!r}")
    try:
        register_folder(manifest.package, folder)
        module = importlib.import_module(manifest.module)
    except FolderError:
        raise
    except Exception as exc:  # the plugin's import may raise anything; report where
        where = _blame(exc, folder, init)
        raise EntryImportError(
            Path(where), f"importing {manifest.module} failed: {type(exc).__name__}: {exc}"
        ) from exc
    plugin_class = getattr(module, manifest.class_name, None)
    source = Path(getattr(module, "__file__", None) or init)
    if not isinstance(plugin_class, type):
        raise EntryImportError(
            source,
            f"[plugin] entry names class {manifest.class_name!r}, which {manifest.module} does not define",
        )
    if not issubclass(plugin_class, SdkPluginBase):
        raise EntryImportError(
            source, f"{manifest.class_name} does not subclass plugin.sdk.plugin.NekoPluginBase"
        )
    return plugin_class


def _members(plugin_class: type) -> list[tuple[str, Callable[..., Any], HandlerMeta]]:
    """Decorated methods in definition order (base classes first, overrides in place)."""
    seen: dict[str, Any] = {}
    for klass in reversed(plugin_class.__mro__):
        seen.update(vars(klass))
    found = []
    for attr, value in seen.items():
        func = value.__func__ if isinstance(value, staticmethod | classmethod) else value
        meta = handler_meta(func)
        if meta is not None and callable(func):
            found.append((attr, func, meta))
    return found


async def _call(handler: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
    """Call a N.E.K.O handler on its loop: coroutines awaited, plain functions in a thread."""
    if inspect.iscoroutinefunction(handler):
        return await handler(**arguments)
    result = await asyncio.to_thread(functools.partial(handler, **arguments))
    return await result if inspect.isawaitable(result) else result


def _unwrap(result: object) -> object:
    if isinstance(result, Ok):
        return result.value
    if isinstance(result, Err):
        code, message, details = err_parts(result.error)
        raise ErrReturned(code, message, details)
    return result


class _Run:
    """One run of a N.E.K.O plugin: its loop, runtime and instance, from start to stop."""

    def __init__(self, ctx: nekohooks.PluginContext, spec: _Spec) -> None:
        self.ctx = ctx
        self.spec = spec
        self.runtime = Runtime(ctx, spec.manifest, spec.folder)
        self.loop: PluginLoop | None = None
        self.instance: object | None = None
        self.started = False

    async def start(self) -> None:
        """Construct the N.E.K.O plugin on a new loop and run its startup hooks."""
        manifest = self.spec.manifest
        if manifest.store_enabled:
            _ = self.ctx.store  # made here, on trio, before the plugin's threads touch it
        self.ctx.tasks.start("neko-outbox", self.runtime.deliver)
        name = f"neko-asyncio-{self.ctx.name}"
        self.loop = await real_time(functools.partial(trio.to_thread.run_sync, PluginLoop, name))
        sdk_ctx = SdkContext(self.runtime, SdkLogger(self.ctx.logger))
        plugin_class = self.spec.plugin_class

        async def construct() -> object:
            return plugin_class(sdk_ctx)

        self.instance = await self.loop.run(construct)
        for attr in self.spec.startup:
            try:
                await self.invoke(attr, {})
            except Exception as exc:  # the policy decides; the next hooks still run
                self._startup_failed(attr, exc)
        self.started = True

    def _startup_failed(self, attr: str, exc: Exception) -> None:
        policy = self.spec.manifest.startup_failure
        text = f"startup hook {attr!r} failed: {type(exc).__name__}: {exc}"
        if policy == "fail":
            raise exc
        level = logging.WARNING if policy == "warn" else logging.DEBUG
        log.log(level, "N.E.K.O plugin %r: %s (startup_failure = %r)", self.ctx.name, text, policy)

    async def invoke(self, attr: str, arguments: Mapping[str, Any]) -> object:
        """Call handler ``attr`` with ``arguments`` on the plugin's loop; unwrap its result."""
        assert self.loop is not None and self.instance is not None
        handler = getattr(self.instance, attr)
        return _unwrap(await self.loop.run(lambda: _call(handler, arguments)))

    async def stop(self) -> None:
        """Run the shutdown hooks, send queued messages, stop the loop; re-raise a hook's error."""
        failure: Exception | None = None
        if self.instance is not None:
            for attr in self.spec.shutdown:
                try:
                    await self.invoke(attr, {})
                except Exception as exc:  # the other hooks and the clean-up still run
                    failure = failure or exc
        self.instance = None
        await self.runtime.flush()
        self.runtime.close_files()
        if self.loop is not None:
            await real_time(functools.partial(trio.to_thread.run_sync, self.loop.close))
            self.loop = None
        if failure is not None:
            raise failure


class _AdapterBase(nekohooks.NekoPluginBase):
    """What every adapted plugin class shares; :func:`_build` adds the entries and jobs."""

    _neko_spec: _Spec

    def __init__(self, ctx: nekohooks.PluginContext) -> None:
        super().__init__(ctx)
        self._neko_run: _Run | None = None
        self._neko_lock = trio.Lock()

    async def startup(self) -> None:
        manifest = self._neko_spec.manifest
        if manifest.enabled and manifest.auto_start:
            await self._neko_start()

    async def _neko_start(self) -> _Run:
        async with self._neko_lock:
            if self._neko_run is None:
                self._neko_run = _Run(self.ctx, self._neko_spec)
                await self._neko_run.start()
            return self._neko_run

    async def _neko_running(self) -> _Run:
        manifest = self._neko_spec.manifest
        if not manifest.enabled:
            raise PluginUnavailable(
                self.ctx.name, f"disabled by [plugin_runtime] enabled = false in {manifest.path}"
            )
        run = self._neko_run
        if run is not None and run.started:
            return run
        return await self._neko_start()  # auto_start = false: started by its first call

    async def terminate(self) -> None:
        run, self._neko_run = self._neko_run, None
        if run is not None:
            await run.stop()


def _make_entry(
    attr: str,
    entry_id: str,
    meta: HandlerMeta,
    schema: dict[str, Any],
    description: str,
    timeout: float | None,
) -> Callable[..., Any]:
    async def entry(self: _AdapterBase, **arguments: Any) -> object:
        run = await self._neko_running()
        return await run.invoke(attr, arguments)

    entry.__name__ = entry.__qualname__ = f"neko_{attr}"
    name = meta.name if isinstance(meta.name, str) else entry_id
    marked: Callable[..., Any] = nekohooks.plugin_entry(
        id=entry_id,
        name=name,
        description=description,
        input_schema=schema,
        timeout=timeout,
        asyncio=False,
    )(entry)
    return marked


def _make_timer(attr: str, timer_id: str, seconds: float) -> Callable[..., Any]:
    async def job(self: _AdapterBase) -> None:
        run = self._neko_run
        if run is not None and run.started:
            await run.invoke(attr, {})

    job.__name__ = job.__qualname__ = f"neko_timer_{attr}"
    # N.E.K.O runs a timer at once, then every ``seconds``.
    marked: Callable[..., Any] = nekohooks.periodic(
        every=seconds, first_in=0, id=timer_id, asyncio=False
    )(job)
    return marked


def _build(folder: Path, manifest: Manifest, plugin_class: type) -> type[nekohooks.NekoPluginBase]:
    i18n = load_locales(folder / manifest.locales_dir, default_locale=manifest.default_locale)
    namespace: dict[str, Any] = {}
    startup: list[str] = []
    shutdown: list[str] = []
    for attr, func, meta in _members(plugin_class):
        description = (
            str(i18n.resolve(meta.description) or "") or (inspect.getdoc(func) or "").strip()
        )
        if meta.role in ("entry", "llm_tool"):
            entry_id = meta.id or attr
            timeout = meta.timeout or manifest.timeout
            schema = entry_schema(func, meta, i18n)
            namespace[f"neko_{attr}"] = _make_entry(
                attr, entry_id, meta, schema, description, timeout
            )
        elif meta.role == "timer":
            if meta.auto_start and meta.seconds is not None:
                namespace[f"neko_timer_{attr}"] = _make_timer(attr, meta.id or attr, meta.seconds)
        elif meta.id == "startup":
            startup.append(attr)
        elif meta.id == "shutdown":
            shutdown.append(attr)
    namespace.update(
        __module__=manifest.module,
        __qualname__=plugin_class.__qualname__,
        __doc__=manifest.description or inspect.getdoc(plugin_class),
        _neko_spec=_Spec(folder, manifest, plugin_class, tuple(startup), tuple(shutdown)),
    )
    adapted = type(plugin_class.__name__, (_AdapterBase,), namespace)
    description = manifest.description or manifest.name
    return nekohooks.neko_plugin(description=description)(adapted)
