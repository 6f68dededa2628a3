"""The author API: the class style from the N.E.K.O docs, and the decorators both styles share.

A plugin is either

* a class (``NekoPluginBase`` subclass, optionally marked ``@neko_plugin``) whose methods are marked
  ``@plugin_entry``, ``@periodic`` and ``@lifecycle``; the host creates one instance per run with
  ``cls(ctx)`` and calls its ``startup``/``terminate`` methods; or
* a module (or any object) with pluggy ``@hookimpl`` functions for the hooks in
  :mod:`nekohooks.hookspecs`, where ``neko_entries`` returns functions marked ``@plugin_entry``.

The decorators only attach metadata; :func:`entry_spec` and :func:`job_spec` turn it into records.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

from ._asyncio_bridge import uses_asyncio
from ._model import EntryKind, EntrySpec, JobSpec, RunsOn
from ._schedule import Cron, Every, Schedule, daily
from ._schema import schema_from_signature

if TYPE_CHECKING:
    from ._context import PluginContext

__all__ = [
    "NekoPluginBase",
    "class_members",
    "entry_spec",
    "is_plugin_class",
    "job_spec",
    "lifecycle",
    "lifecycle_methods",
    "neko_plugin",
    "periodic",
    "plugin_entry",
    "timer_interval",
]

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)

_ENTRY_ATTR = "__neko_entry__"
_JOB_ATTR = "__neko_job__"
_LIFECYCLE_ATTR = "__neko_lifecycle__"
_PLUGIN_ATTR = "__neko_plugin__"

LIFECYCLE_EVENTS = {"startup": "startup", "shutdown": "terminate", "terminate": "terminate"}


@attrs.frozen(eq=False)
class _EntryMeta:
    id: str | None
    name: str | None
    description: str | None
    input_schema: Mapping[str, Any] | None
    timeout: float | None
    asyncio: bool | None


@attrs.frozen(eq=False)
class _JobMeta:
    id: str | None
    schedule: Schedule
    timeout: float | None
    asyncio: bool | None


class NekoPluginBase:
    """Base class for class-style plugins: ``__init__(self, ctx)`` stores ``self.ctx``.

    Override :meth:`startup` and :meth:`terminate` (sync or ``async def``) for set-up and clean-up;
    the host calls them once per run, with timeouts, and always calls ``terminate`` after a
    successful construction, including after a crash or on Ctrl-C.
    """

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    def startup(self) -> Awaitable[None] | None:
        """Called after construction, before entries are served. The default does nothing."""
        return None

    def terminate(self) -> Awaitable[None] | None:
        """Called when the plugin stops. The default does nothing."""
        return None


@overload
def neko_plugin(cls: C, /) -> C: ...
@overload
def neko_plugin(*, description: str = "") -> Callable[[C], C]: ...
def neko_plugin(cls: C | None = None, /, *, description: str = "") -> C | Callable[[C], C]:
    """Mark a class as a plugin (``@neko_plugin`` or ``@neko_plugin(description=...)``).

    Subclassing :class:`NekoPluginBase` is enough on its own; the marker adds a description and
    lets a class that does not subclass the base be a plugin too (it must accept ``ctx``).
    """

    def mark(klass: C) -> C:
        setattr(klass, _PLUGIN_ATTR, {"description": description or inspect.getdoc(klass) or ""})
        return klass

    return mark(cls) if cls is not None else mark


def is_plugin_class(obj: object) -> bool:
    """True for a class written in the class style."""
    return isinstance(obj, type) and (issubclass(obj, NekoPluginBase) or hasattr(obj, _PLUGIN_ATTR))


def plugin_description(obj: object) -> str:
    """The description a plugin class or module gives of itself."""
    marker = getattr(obj, _PLUGIN_ATTR, None)
    if isinstance(marker, dict) and marker.get("description"):
        return str(marker["description"])
    # its own docstring: a class without one must not show NekoPluginBase's
    doc = vars(obj).get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    doc = inspect.cleandoc(doc) if isinstance(doc, str) else ""
    return doc.splitlines()[0] if doc else ""


def plugin_entry(
    id: str | None = None,
    name: str | None = None,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    *,
    asyncio: bool | None = None,
) -> Callable[[F], F]:
    """Mark a function or method as an entry, callable as ``<plugin>.<id>``.

    Args:
        id: the entry id (default: the function's name).
        name: a display name (default: the id).
        description: what it does, shown to users and LLMs (default: the docstring).
        input_schema: a JSON Schema for the arguments (default: derived from the type hints).
        timeout: seconds before a call is cancelled (default: the host's entry timeout).
        asyncio: run on the plugin's asyncio loop (for aiohttp and friends); ``None`` detects it.

    The function may be sync (run in a worker thread), ``async def`` (run on trio), or a sync or
    async generator (its items are streamed by ``host.stream``). It may sit on top of other
    decorators that keep ``__wrapped__`` (tenacity's ``@retry``, ``functools.wraps``).
    """
    if timeout is not None and timeout <= 0:
        raise ValueError(f"plugin_entry timeout must be positive, got {timeout!r}")

    def mark(func: F) -> F:
        meta = _EntryMeta(id, name, description, input_schema, timeout, asyncio)
        setattr(func, _ENTRY_ATTR, meta)
        return func

    return mark


def periodic(
    *,
    every: float | None = None,
    cron: str | None = None,
    daily_at: str | None = None,
    tz: str | None = None,
    jitter: float = 0.0,
    first_in: float | None = None,
    id: str | None = None,
    timeout: float | None = None,
    asyncio: bool | None = None,
) -> Callable[[F], F]:
    """Mark a function or method as a periodic job; give exactly one of the schedule forms.

    ``every=60`` runs every 60 s on absolute deadlines; ``cron="*/5 * * * *"`` and
    ``daily_at="09:00"`` run on the wall clock of ``tz`` (default: local). A tick that arrives
    while the previous run is still going is skipped; missed ticks are folded into one run;
    ``timeout`` bounds each run. Errors are logged and counted; the schedule keeps going.
    """
    forms = [f for f in (every, cron, daily_at) if f is not None]
    if len(forms) != 1:
        raise ValueError("periodic() takes exactly one of every=, cron= or daily_at=")
    schedule: Schedule
    if every is not None:
        schedule = Every(every, jitter=jitter, first_in=first_in)
    elif cron is not None:
        schedule = Cron(cron, tz=tz, jitter=jitter)
    else:
        assert daily_at is not None
        schedule = daily(daily_at, tz=tz, jitter=jitter)

    def mark(func: F) -> F:
        setattr(func, _JOB_ATTR, _JobMeta(id, schedule, timeout, asyncio))
        return func

    return mark


def timer_interval(id: str, seconds: float, **options: Any) -> Callable[[F], F]:
    """N.E.K.O's spelling of ``@periodic(every=seconds, id=id)``."""
    return periodic(every=seconds, id=id, **options)


def lifecycle(id: str, *, asyncio: bool = False) -> Callable[[F], F]:
    """Mark a method to run at ``"startup"`` or at ``"shutdown"`` (alias ``"terminate"``).

    ``asyncio=True`` runs an ``async def`` method on the plugin's asyncio loop thread.
    """
    if id not in LIFECYCLE_EVENTS:
        raise ValueError(
            f"unknown lifecycle event {id!r}; expected one of {sorted(LIFECYCLE_EVENTS)}"
        )

    def mark(func: F) -> F:
        setattr(func, _LIFECYCLE_ATTR, LIFECYCLE_EVENTS[id])
        if asyncio:
            func.__neko_asyncio__ = True  # type: ignore[attr-defined]
        return func

    return mark


Members = list[tuple[str, Any]]
_OBJECT_ORDER = {name: i for i, name in enumerate(vars(object))}


def class_members(cls: type) -> Members:
    """Class attributes in definition order, base classes first, overrides in place.

    ``object``'s own attributes are left out (they are builtins, which take no marks) unless a
    class defines them again; such an override keeps ``object``'s place, first. The callers
    that look for several marks (entries, jobs, handlers) take this list once.
    """
    seen: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is not object:
            seen.update(vars(klass))
    overrides = sorted(seen.keys() & _OBJECT_ORDER.keys(), key=_OBJECT_ORDER.__getitem__)
    return [(name, seen.pop(name)) for name in overrides] + list(seen.items())


def class_entries(cls: type, members: Members | None = None) -> list[Callable[..., Any]]:
    """The methods of a plugin class marked ``@plugin_entry`` (``members``: its
    :func:`class_members`, if the caller has them)."""
    members = class_members(cls) if members is None else members
    return [v for _, v in members if callable(v) and hasattr(v, _ENTRY_ATTR)]


def class_jobs(cls: type, members: Members | None = None) -> list[Callable[..., Any]]:
    """The methods of a plugin class marked ``@periodic`` (``members`` as for
    :func:`class_entries`)."""
    members = class_members(cls) if members is None else members
    return [v for _, v in members if callable(v) and hasattr(v, _JOB_ATTR)]


def lifecycle_methods(instance: object, event: str) -> list[Callable[..., Any]]:
    """Bound methods to run for ``event`` ("startup" or "terminate"), overridden hooks first."""
    found: list[Callable[..., Any]] = []
    cls = type(instance)
    base_default = getattr(NekoPluginBase, event)
    own = getattr(cls, event, None)
    if own is not None and own is not base_default and callable(own):
        found.append(getattr(instance, event))
    for name, value in class_members(cls):
        if getattr(value, _LIFECYCLE_ATTR, None) == event and name != event:
            found.append(getattr(instance, name))
    return found


def _runs_on(func: Callable[..., Any], kind: EntryKind, asyncio: bool | None) -> RunsOn:
    if kind in (EntryKind.SYNC, EntryKind.SYNC_GEN):
        return RunsOn.THREAD
    detected = uses_asyncio(func) if asyncio is None else asyncio
    if detected and kind is EntryKind.ASYNC_GEN:
        raise TypeError("async generator entries cannot run on asyncio; make it a plain coroutine")
    return RunsOn.ASYNCIO if detected else RunsOn.TRIO


def _wants_ctx(
    func: Callable[..., Any], is_method: bool, signature: inspect.Signature | None = None
) -> bool:
    if is_method:
        return False
    return "ctx" in (signature or inspect.signature(func)).parameters


def entry_spec(func: Callable[..., Any], *, is_method: bool) -> EntrySpec:
    """Build the :class:`EntrySpec` for a marked (or plain) function; raises on a bad signature."""
    meta = getattr(func, _ENTRY_ATTR, None) or _EntryMeta(None, None, None, None, None, None)
    entry_id = meta.id or func.__name__
    if not entry_id.replace("_", "").replace("-", "").isalnum() or "." in entry_id:
        raise ValueError(f"entry id {entry_id!r} must be letters, digits, '_' or '-'")
    kind = EntryKind.of(func)
    # one signature for the schema and the ctx check, taken only if either needs it
    signature = None if is_method and meta.input_schema else inspect.signature(func)
    schema = meta.input_schema or schema_from_signature(
        func, is_method=is_method, signature=signature
    )
    description = meta.description
    if not description:  # the docstring's first line (inherited ones too): only if needed
        doc = (inspect.getdoc(func) or "").strip()
        description = doc.splitlines()[0] if doc else ""
    return EntrySpec(
        id=entry_id,
        name=meta.name or entry_id,
        description=description,
        input_schema=dict(schema),
        timeout=meta.timeout,
        func=func,
        kind=kind,
        runs_on=_runs_on(func, kind, meta.asyncio),
        wants_ctx=_wants_ctx(func, is_method, signature),
        is_method=is_method,
    )


def job_spec(func: Callable[..., Any], *, is_method: bool) -> JobSpec:
    """Build the :class:`JobSpec` for a function marked ``@periodic``."""
    meta: _JobMeta | None = getattr(func, _JOB_ATTR, None)
    if meta is None:
        raise TypeError(f"{func!r} is not marked with @periodic")
    kind = EntryKind.of(func)
    if kind in (EntryKind.SYNC_GEN, EntryKind.ASYNC_GEN):
        raise TypeError(f"periodic job {func.__name__!r} must not be a generator")
    return JobSpec(
        id=meta.id or func.__name__,
        schedule=meta.schedule,
        timeout=meta.timeout,
        func=func,
        runs_on=_runs_on(func, kind, meta.asyncio),
        wants_ctx=_wants_ctx(func, is_method),
        is_method=is_method,
    )
