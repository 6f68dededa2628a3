"""The registry: one pluggy manager, the plugins registered in it, and their entries and jobs.

:meth:`Registry.add` is the only way in, for discovered and hand-passed plugins alike. It
registers the plugin with pluggy, checks every hook it implements against the specs, collects
its entries and jobs, and on any problem unregisters it again and raises
:class:`~nekohooks.PluginLoadError` naming the plugin and the phase, leaving the registry as
it was.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import attrs
import pluggy

from . import hookspecs
from ._api import (
    class_entries,
    class_jobs,
    class_members,
    entry_spec,
    is_plugin_class,
    job_spec,
    plugin_description,
)
from ._config import PluginFilter
from ._errors import Phase, PluginLoadError
from ._handlers import class_handlers, hook_handler
from ._model import EntrySpec, LoadFailure, PluginInfo
from ._schema import schema_problem

__all__ = ["LoadedPlugin", "Registry", "valid_plugin_name"]


_PLUGIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")


def valid_plugin_name(name: str) -> bool:
    """Plugin names are 1-64 ASCII letters, digits, ``_`` and ``-`` (not first).

    No dots (entries are addressed ``<plugin>.<entry>``) and no path characters: the name is
    also the plugin's folder, ``<home>/plugins/<name>``, which must not alias another's.
    """
    return _PLUGIN_NAME.fullmatch(name) is not None


class ClassPlugin:
    """The hook face of a class-style plugin: its marked methods are its entries and jobs.

    Same shape as a module plugin's hookimpls, so the registry collects both one way.
    """

    def __init__(self, cls: type) -> None:
        self.cls = cls

    @hookspecs.hookimpl
    def neko_entries(self) -> list[Callable[..., Any]]:
        return class_entries(self.cls)

    @hookspecs.hookimpl
    def neko_periodic(self) -> list[Callable[..., Any]]:
        return class_jobs(self.cls)


_IMPL_MARK = hookspecs.PROJECT + "_impl"
"""The attribute ``@hookimpl`` puts its options in (pluggy: ``<project>_impl``)."""
_MODULE_DESCRIPTORS = frozenset(  # __dict__, __annotations__: found before the module's dict
    name
    for name, value in vars(types.ModuleType).items()
    if hasattr(type(value), "__set__") or hasattr(type(value), "__delete__")
)
_HOOKABLE = (types.FunctionType, types.MethodType, staticmethod, classmethod)


class _Manager(pluggy.PluginManager):
    """pluggy's manager, with a quicker reading of a plain module's names.

    ``register`` asks :meth:`parse_hookimpl_opts` about every name in ``dir(plugin)``, and
    pluggy's answer looks each one up with ``inspect.getattr_static`` (~10 us; a plugin module
    has a dozen names: its imports, its dunders, its functions). For a plain module the
    static lookup is the module's own ``__dict__``, except for the names of ``ModuleType``'s
    data descriptors; pluggy then takes a plain function's options from its ``<project>_impl``
    attribute (a dict, else none) and answers ``None`` for a value that is no function or
    method. Those two cases are answered here the same way, without the lookup; the rest
    (static, class and bound methods in a module; objects and classes as plugins) is pluggy's
    to parse, as before. ``specname=``, wrappers and the other options are in the dict.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        if type(plugin) is types.ModuleType and name not in _MODULE_DESCRIPTORS:
            value = vars(plugin).get(name)
            if type(value) is types.FunctionType:
                opts = value.__dict__.get(_IMPL_MARK)
                return opts if isinstance(opts, dict) else None  # type: ignore[return-value]
            if not isinstance(value, _HOOKABLE):
                return None
        return super().parse_hookimpl_opts(plugin, name)


@attrs.frozen(eq=False)
class LoadedPlugin:
    """A registered plugin: its record, the object pluggy holds for it, and what runs it needs."""

    info: PluginInfo
    obj: object
    plugin_class: type | None  # set for class-style plugins
    hooks: frozenset[str] = frozenset()
    """The lifecycle hooks a module-style plugin implements (``neko_startup``, ...)."""
    package: str | None = None
    """The package its bundled files (``plugin.toml``) are read from."""


class Registry:
    """The pluggy manager and every plugin registered in it, in load order."""

    def __init__(self) -> None:
        self.pm: pluggy.PluginManager = _Manager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        self.failures: list[LoadFailure] = []
        self.disabled: list[str] = []

    def add(
        self,
        name: str,
        obj: object,
        *,
        value: str = "",
        distribution: str | None = None,
        version: str | None = None,
    ) -> LoadedPlugin:
        """Register ``obj`` (a plugin class, module or hookimpl object) as plugin ``name``.

        Raises :class:`PluginLoadError` (phase ``register`` or ``validate``) and leaves nothing
        registered when the plugin is unusable.
        """

        def fail(phase: Phase, message: str) -> PluginLoadError:
            return PluginLoadError(name, message, phase=phase)

        if not valid_plugin_name(name):
            raise fail(
                Phase.VALIDATE,
                f"invalid plugin name {name!r}: use 1-64 letters, digits, '_' and '-'",
            )
        if name in self.plugins:
            other = self.plugins[name].info.distribution or "another plugin"
            raise fail(Phase.REGISTER, f"duplicate plugin name: already provided by {other}")
        is_class = is_plugin_class(obj)
        target: object
        if is_class:
            # Not registered with pluggy: a class plugin implements only neko_entries and
            # neko_periodic, which this registry calls itself, once. (pluggy's register and
            # sorted insert cost ~270 us per plugin, quadratic in the number of plugins.)
            plugin_class = cast(type, obj)
            target = ClassPlugin(plugin_class)
            marked = _CLASS_PLUGIN_HOOKS
            members = class_members(plugin_class)  # one walk of the class for all lookups
        else:
            target = obj
            marked = _marked_hooks(self.pm, target)
            unknown = sorted(marked - _SPEC_NAMES)
            if unknown:
                raise fail(
                    Phase.VALIDATE,
                    f"implements unknown hook {unknown[0]!r}; "
                    f"known hooks: {', '.join(sorted(_SPEC_NAMES))}",
                )
            try:
                self.pm.register(target, name=name)
            except Exception as exc:
                if self.pm.has_plugin(name):  # pluggy 1.6 keeps the name reserved after an error
                    self.pm.unregister(name=name)
                raise fail(Phase.REGISTER, f"{type(exc).__name__}: {exc}") from exc
        try:
            if is_class:  # what ClassPlugin's hooks return, from the one walk of the class
                entries = [
                    entry_spec(f, is_method=True) for f in class_entries(plugin_class, members)
                ]
            else:
                entries = _collect(target, "neko_entries", entry_spec, marked)
            for entry in entries:
                _check_input_schema(name, entry)
            if is_class:
                jobs = [job_spec(f, is_method=True) for f in class_jobs(plugin_class, members)]
            else:
                jobs = _collect(target, "neko_periodic", job_spec, marked)
            _check_unique(name, "entry", [e.id for e in entries])
            _check_unique(name, "periodic job", [j.id for j in jobs])
            if is_class:  # message handlers (_handlers.py)
                handlers = class_handlers(plugin_class, members)
            elif "neko_message" in marked:
                handlers = [hook_handler(target.neko_message)]  # type: ignore[attr-defined]
            else:
                handlers = []
        except Exception as exc:
            if not is_class:
                self.pm.unregister(name=name)
            if isinstance(exc, PluginLoadError):
                raise
            raise fail(Phase.VALIDATE, f"{type(exc).__name__}: {exc}") from exc
        if isinstance(obj, types.ModuleType):
            module = obj.__name__
        else:
            module = (obj if isinstance(obj, type) else type(obj)).__module__
        info = PluginInfo(
            name=name,
            value=value,
            distribution=distribution,
            version=version,
            style="class" if is_class else "module",
            module=module,
            entries=tuple(entries),
            jobs=tuple(jobs),
            description=plugin_description(obj),
            handlers=tuple(handlers),
        )
        hooks = frozenset(() if is_class else marked & _LIFECYCLE_HOOKS)
        loaded = LoadedPlugin(
            info,
            target,
            obj if is_class else None,  # type: ignore[arg-type]
            hooks=hooks,
            package=_package_of(module),
        )
        self.plugins[name] = loaded
        return loaded

    def add_all(self, plugins: Mapping[str, object], plugin_filter: PluginFilter) -> None:
        """Register hand-passed plugins (tests, embedding) as discovery would: filtered, each in
        its own ``try``, every failure recorded in :attr:`failures`."""
        for name, obj in plugins.items():
            if not plugin_filter.permits(name):
                self.disabled.append(name)
                continue
            try:
                self.add(name, obj)
            except PluginLoadError as exc:
                self.failures.append(
                    LoadFailure(name, "", None, None, exc.phase or Phase.REGISTER, exc.detail)
                )
            except Exception as exc:  # an object no registration step expected: its failure
                error = f"{type(exc).__name__}: {exc}"
                self.failures.append(LoadFailure(name, "", None, None, Phase.REGISTER, error))

    def remove(self, name: str) -> LoadedPlugin:
        """Take plugin ``name`` out of the registry (and out of pluggy); return its record.

        Raises:
            KeyError: no plugin of that name is registered.
        """
        loaded = self.plugins.pop(name)
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)
        return loaded

    def entries(self) -> Iterable[tuple[str, EntrySpec]]:
        """Every entry of every registered plugin, as ``(plugin name, spec)`` in load order."""
        for name, plugin in self.plugins.items():
            for spec in plugin.info.entries:
                yield name, spec


_SPEC_NAMES = frozenset(n for n in dir(hookspecs) if n.startswith("neko_"))
_LIFECYCLE_HOOKS = frozenset({"neko_startup", "neko_terminate"})
_CLASS_PLUGIN_HOOKS = frozenset({"neko_entries", "neko_periodic"})  # what ClassPlugin implements


def _package_of(module: str) -> str | None:
    mod = sys.modules.get(module)
    if mod is None:
        return None
    return mod.__name__ if hasattr(mod, "__path__") else (mod.__package__ or None)


def _marked_hooks(pm: pluggy.PluginManager, target: object) -> frozenset[str]:
    """The ``neko_*`` attributes of ``target`` that are hook implementations (as pluggy's
    ``register`` finds them: through ``dir`` and ``parse_hookimpl_opts``)."""
    return frozenset(
        attr
        for attr in dir(target)
        if attr.startswith("neko_") and pm.parse_hookimpl_opts(target, attr) is not None
    )


def _collect(
    target: object, hook: str, build: Callable[..., Any], marked: frozenset[str]
) -> list[Any]:
    """What a module plugin's implementation of ``hook`` returns, each built into a spec."""
    if hook not in marked:
        return []
    produced: Iterable[Callable[..., Any]] | None = getattr(target, hook)()
    return [build(func, is_method=False) for func in produced or ()]


def _check_input_schema(plugin: str, entry: EntrySpec) -> None:
    problem = schema_problem(entry.input_schema)
    if problem is not None:
        raise PluginLoadError(
            plugin,
            f"entry {entry.id!r} has an invalid input_schema: {problem}",
            phase=Phase.VALIDATE,
        )


def _check_unique(plugin: str, what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise PluginLoadError(plugin, f"duplicate {what} id {item!r}", phase=Phase.VALIDATE)
        seen.add(item)
