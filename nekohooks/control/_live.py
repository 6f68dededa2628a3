"""Changes to a running host's plugin table: enable, disable, restart, reload, rescan.

Each is a table operation of the host (``start_plugin``, ``stop_plugin``, ``add_plugin``,
``remove_plugin``) that touches one plugin and nothing else; one lock orders them. What this
module adds is policy:

* **disable** stops the plugin (terminate within its grace, its tasks cancelled, its HTTP
  client and store closed); it stays listed, shown ``disabled``, and calls to it raise
  ``PluginUnavailable``. The name is kept in ``<home>/disabled.json``, so the next host does
  not even import it.
* **enable** starts it again with a fresh context; one that the host never imported (it was
  disabled when the host started) is imported now.
* **restart** is stop + start with a fresh runner and context (same code).
* **reload** imports the plugin's distribution afresh and swaps the new code in. In process
  that is only safe when its top-level package belongs to it alone: the package's modules
  are taken out of ``sys.modules`` and the entry point imported again while the old plugin
  still runs; if anything fails the old modules go back and the old plugin was never stopped
  (never a half-reloaded module), else the old plugin stops and the new one starts.
  A plugin without a distribution, or sharing its package with another plugin, is refused
  with a message saying that a host restart is needed.
* **rescan** adds plugins whose distributions were installed since, and removes those whose
  distributions are gone, without touching the others (nor plugins installed into
  environments of their own, which this environment's scan cannot see).
* A plugin that runs isolated in a process is reloaded the same way: the new runner starts a
  new process, which imports the new code. One in an environment of its own is refused
  (its environment's record would have to be rebuilt): restart the host.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

import trio

from .. import __version__
from .._config import PluginFilter
from .._discovery import Candidate, load_plugins, scan
from .._errors import PluginError, PluginUnavailable
from .._host import Host
from .._model import PluginState, PluginStatus
from .._registry import LoadedPlugin, Registry
from ._disabled import read_disabled, write_disabled
from ._fresh import ModuleSwap, package_of, shared_with

__all__ = ["Live"]

log = logging.getLogger("nekohooks.control")

_STOPPED = (PluginState.STOPPED, PluginState.FAILED)


class Live:
    """The table operations the control API exposes, for one running host.

    Cancellation: the API does not cancel an operation whose client went away (a half-done
    table change helps no one); stopping a plugin is shielded by the host, so even a
    cancelled caller leaves the plugin stopped within its grace, never half-stopped.
    """

    def __init__(self, host: Host, home: Path) -> None:
        self.host = host
        self.home = home
        self.lock = trio.Lock()
        self.disabled: set[str] = set(read_disabled(home))
        """Names the user disabled (kept in ``<home>/disabled.json``)."""
        configured = host.config.plugin_filter  # less what deny_disabled() added to it
        self._config = PluginFilter(configured.allow, configured.deny - self.disabled)

    # ---- what a status looks like from here ---------------------------------------------------

    def state(self, status: PluginStatus) -> str:
        """The state to show: ``disabled`` for a plugin stopped because the user disabled it."""
        if status.name in self.disabled and status.state in (*_STOPPED, PluginState.DISABLED):
            return PluginState.DISABLED.value
        return status.state.value

    def _remember(self, name: str, *, disabled: bool) -> None:
        names = self.disabled | {name} if disabled else self.disabled - {name}
        if names != self.disabled:
            write_disabled(self.home, frozenset(names))
            self.disabled = names

    # ---- operations ---------------------------------------------------------------------------

    async def disable(self, name: str) -> None:
        """Stop plugin ``name`` and keep it disabled across restarts.

        Raises:
            EntryNotFound: the host knows no plugin ``name``.

        Cancellation: the stop is shielded (it finishes within the plugin's grace).
        """
        async with self.lock:
            self.host.status(name)
            self._remember(name, disabled=True)
            if name in self.host.runners:
                await self.host.stop_plugin(name)

    async def enable(self, name: str) -> None:
        """Start plugin ``name`` (importing it if the host never did); forget it was disabled.

        Raises:
            EntryNotFound: the host knows no plugin ``name``.
            PluginError: the host's config denies it (``[plugins] deny``,
                ``NEKO_DISABLE_PLUGINS``), or it is no longer installed.
        """
        async with self.lock:
            self.host.status(name)
            if name not in self.host.runners and name in self.host.registry.disabled:
                if not self._config.permits(name):
                    raise PluginError(
                        name,
                        "is denied by the host config ([plugins] allow/deny in neko.toml, "
                        "NEKO_LOAD_PLUGINS, NEKO_DISABLE_PLUGINS); change it there",
                    )
                self._remember(name, disabled=False)
                await self._import_and_add([c for c in scan() if c.name == name], name)
                return
            self._remember(name, disabled=False)
            if name in self.host.runners and self.host.runners[name].state in _STOPPED:
                await self.host.start_plugin(name)

    async def restart(self, name: str) -> None:
        """Stop plugin ``name`` and start it again with a fresh runner and context.

        Raises:
            EntryNotFound: the host knows no plugin ``name``.
            PluginUnavailable: it is disabled or failed to load (nothing to restart).
        """
        async with self.lock:
            self._require_loaded(name, "restart")
            await self.host.stop_plugin(name)
            await self.host.start_plugin(name)

    async def reload(self, name: str) -> None:
        """Load plugin ``name``'s code afresh from its installed distribution and start it.

        Raises:
            EntryNotFound: the host knows no plugin ``name``.
            PluginUnavailable: it is disabled.
            PluginError: it cannot be reloaded in process (no distribution, a package shared
                with another plugin, no longer installed); or the new code failed to load,
                in which case the old plugin was never stopped and keeps running its code.

        The new code is imported (in a worker thread) while the old plugin still runs; only
        once it has loaded and registered is the old plugin stopped and the new one started.
        """
        async with self.lock:
            self._require_loaded(name, "reload")
            old = self.host.registry.plugins[name]
            info = old.info
            if _own_environment(old):
                raise PluginError(
                    name,
                    "runs from an environment of its own (`neko install --isolated`): "
                    "install the new version there, then restart the host to load it",
                )
            if info.distribution is None:
                raise PluginError(
                    name,
                    "cannot reload in process: it was not loaded from an installed "
                    "distribution; restart the host to load new code",
                )
            package = package_of(info.module)
            others = [
                (n, p.info.module) for n, p in self.host.registry.plugins.items() if n != name
            ]
            sharing = shared_with(package, others)
            if sharing:
                raise PluginError(
                    name,
                    f"cannot reload in process: its package {package!r} is shared with "
                    f"{', '.join(sharing)}; restart the host (or isolate the plugin)",
                )
            candidates = [c for c in _rescan() if c.name == name]
            if not candidates:
                raise PluginError(name, "is no longer installed; use rescan")
            swap = ModuleSwap(package)
            swap.take()  # the old plugin keeps the module objects it holds, and keeps running
            scratch = await _load(candidates, self.host)
            if name not in scratch.plugins:
                swap.restore()  # the old modules, exactly as they were; nothing was stopped
                failure = next((f for f in scratch.failures if f.name == name), None)
                why = f"{failure.phase}: {failure.error}" if failure else "it did not register"
                raise PluginError(
                    name,
                    f"reload failed ({why}); the previous code "
                    f"({info.distribution} {info.version}) keeps running",
                    phase=failure.phase if failure else None,
                )
            swap.commit()
            await self.host.remove_plugin(name)  # stops it: terminate, tasks, context
            await self.host.add_plugin(self._adopt(scratch.plugins[name]))

    async def rescan(self) -> tuple[list[str], list[str]]:
        """Add plugins installed since the last scan, remove those whose distribution is gone.

        Returns ``(added, removed)`` names, sorted. A plugin that fails to import is added as
        failed-to-load (and listed under ``added``). Plugins passed in by hand (no
        distribution) are left alone.
        """
        async with self.lock:
            candidates = _rescan()
            installed = {c.name for c in candidates}
            registry = self.host.registry
            known = set(self.host.runners) | set(registry.disabled)
            known |= {f.name for f in registry.failures}
            removed: list[str] = []
            for name, loaded in list(registry.plugins.items()):
                if _own_environment(loaded):
                    continue  # not in this environment's scan: its own venv holds it
                if loaded.info.distribution is not None and name not in installed:
                    await self.host.remove_plugin(name)
                    removed.append(name)
            for failure in list(registry.failures):
                if failure.distribution is not None and failure.name not in installed:
                    registry.failures.remove(failure)
                    removed.append(failure.name)
            for name in [n for n in registry.disabled if n not in installed]:
                if name not in self.host.runners:
                    registry.disabled.remove(name)
                    removed.append(name)
            new = [c for c in candidates if c.name not in known]
            added = sorted({c.name for c in new})

            def wanted(name: str) -> bool:
                return name not in self.disabled and self._config.permits(name)

            registry.disabled.extend(name for name in added if not wanted(name))
            await self._import_and_add([c for c in new if wanted(c.name)], None)
            return added, sorted(set(removed))

    # ---- helpers ------------------------------------------------------------------------------

    def _require_loaded(self, name: str, verb: str) -> None:
        self.host.status(name)
        if name not in self.host.runners:
            raise PluginUnavailable(
                name, f"is {self.state(self.host.status(name))}; cannot {verb} it"
            )
        if name in self.disabled:
            raise PluginUnavailable(name, f"is disabled; enable it instead of {verb}ing it")

    def _adopt(self, loaded: LoadedPlugin) -> LoadedPlugin:
        """Register in the host's registry what was loaded in a scratch one."""
        info = loaded.info
        return self.host.registry.add(
            info.name,
            loaded.plugin_class or loaded.obj,
            value=info.value,
            distribution=info.distribution,
            version=info.version,
        )

    async def _import_and_add(self, candidates: list[Candidate], name: str | None) -> None:
        registry = self.host.registry
        if name is not None:
            if not candidates:
                raise PluginError(name, "is no longer installed; use rescan")
            if name in registry.disabled:
                registry.disabled.remove(name)
        in_use = {package_of(p.info.module) for p in registry.plugins.values()}
        for cand in candidates:  # a reinstalled distribution: not the modules of its last run
            package = package_of(cand.value.partition(":")[0])
            if package not in in_use:
                ModuleSwap(package).take()
        scratch = await _load(candidates, self.host)
        registry.failures.extend(scratch.failures)
        for loaded in scratch.plugins.values():
            await self.host.add_plugin(self._adopt(loaded))


def _own_environment(loaded: LoadedPlugin) -> bool:
    """Whether ``loaded`` lives in an environment of its own (``neko install --isolated``);
    such plugins are never in this environment's scan. (Checked without importing the
    isolation package: if it was never imported, there are none.)"""
    envs = sys.modules.get("nekohooks.isolation._envs")
    return envs is not None and isinstance(loaded.obj, envs.EnvPlugin)


def _rescan() -> list[Candidate]:
    importlib.invalidate_caches()  # see distributions installed since the last look
    return scan()


async def _load(candidates: list[Candidate], host: Host) -> Registry:
    """Import and register ``candidates`` in a scratch registry, in a worker thread (imports
    may be slow; each is abandoned after the startup timeout)."""
    scratch = Registry()
    if candidates:
        await trio.to_thread.run_sync(
            lambda: load_plugins(
                scratch,
                candidates,
                plugin_filter=PluginFilter(),
                version=__version__,
                import_timeout=host.config.limits.startup_timeout,
            )
        )
    return scratch
