"""The hooks a nekohooks plugin may implement (pluggy project name ``neko``).

Write them as plain functions in a module marked with :data:`hookimpl` and register the module
under the ``neko.plugins`` entry-point group; or write a ``NekoPluginBase`` class, which
implements them for you. Every hook is optional. Argument names must match the spec (pluggy
checks them at registration; a mismatch is reported as that plugin's load failure).

The host calls each plugin's implementation on its own, in the plugin's own scope and with the
plugin's own timeout, so one plugin's hook never delays or breaks another's. Sync implementations
of the lifecycle hooks run in a worker thread; ``async def`` ones run on trio.

==================  ============  ========================================================
hook                sync/async    when
==================  ============  ========================================================
neko_entries        sync          at load: the plugin's named actions
neko_periodic       sync          at load: the plugin's periodic jobs
neko_startup        either        each time the plugin starts (and restarts)
neko_terminate      either        each time the plugin stops, crashed or not
neko_entry_call     sync wrapper  around every entry call of every plugin
neko_deliver_message either       when any plugin sends a message
neko_message        either        each incoming message (``host.dispatch``); yields replies
neko_check_permission either      before a handler that needs a permission runs
==================  ============  ========================================================
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ._context import PluginContext
    from ._messages import Message
    from ._model import EntryCall

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "neko"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def neko_entries() -> Iterable[Callable[..., Any]]:  # type: ignore[empty-body]
    """Return the plugin's entries: functions marked ``@plugin_entry`` (or plain functions).

    Sync, called once when the plugin is loaded, before it starts. Each entry is addressed as
    ``<plugin>.<id>``; its JSON Schema comes from ``input_schema`` or its type hints. An entry
    function may take a ``ctx`` parameter to receive the plugin's context.
    """


@hookspec
def neko_periodic() -> Iterable[Callable[..., Any]]:  # type: ignore[empty-body]
    """Return the plugin's periodic jobs: functions marked ``@periodic``.

    Sync, called once at load. The host runs each job on its schedule while the plugin runs,
    skipping a tick while the previous run is still going and counting errors without stopping.
    """


@hookspec
def neko_startup(ctx: PluginContext) -> Awaitable[None] | None:
    """Set the plugin up; background tasks started here through ``ctx.tasks`` are owned by it.

    Sync or async, called each time the plugin starts, concurrently with other plugins' startup
    and bounded by the host's startup timeout. Raising (or timing out) counts as a crash: the
    host runs ``neko_terminate`` and restarts the plugin with backoff, up to its restart limit.
    """


@hookspec
def neko_terminate(ctx: PluginContext) -> Awaitable[None] | None:
    """Clean up. Called once per run after a successful start, also after a crash or Ctrl-C.

    Sync or async, called in reverse start order at shutdown, shielded from cancellation but
    bounded by the host's terminate grace period: a hung terminate is abandoned at the deadline.
    The plugin's background tasks are cancelled after it returns.
    """


@hookspec(firstresult=True)
def neko_entry_call(call: EntryCall) -> Callable[[], Awaitable[Any]]:  # type: ignore[empty-body]
    """Wrap entry calls: implement it as ``@hookimpl(wrapper=True)`` to observe or change them.

    The host's own implementation returns an async function that performs the call. A wrapper
    receives it from ``yield`` and returns an async function of its own, e.g.::

        @hookimpl(wrapper=True)
        def neko_entry_call(call):
            invoke = yield
            async def timed():
                started = trio.current_time()
                try:
                    return await invoke()
                finally:
                    log.info("%s.%s took %.3fs", call.plugin, call.entry,
                             trio.current_time() - started)
            return timed

    Wrappers run for every plugin's entries (this is N.E.K.O's before/after/around entry), so
    they should be quick; the host skips the hook entirely while no wrapper is registered.
    """


@hookspec(firstresult=True)
def neko_deliver_message(
    plugin: str, target: str, message: Any
) -> Awaitable[bool | None] | bool | None:
    """Deliver ``message`` from ``plugin`` to ``target`` (a user, a chat, a channel id).

    Implemented by the host application or by a transport plugin; sync or async. Return (or
    resolve to) ``True`` when delivered; ``None`` lets the next implementation try. When nobody
    delivers it, the host's own message sink gets it (``neko run`` logs it to stdout).
    """


# ---- inbound messages (see nekohooks/_inbound.py) ------------------------------------------------


@hookspec
def neko_message(message: Message, ctx: PluginContext) -> Any:
    """Receive an incoming chat message (``message.kind == "message"``) and answer it.

    A module plugin's catch-all message handler (class plugins use ``@command`` and
    ``@on_message``). Called by ``host.dispatch`` for every chat message, at priority 0 in
    plugin load order, each plugin's implementation on its own, like an entry: sync ones in a
    worker thread, ``async def`` on trio, generators streamed; bounded by the entry timeout and
    cancelled when the plugin stops. Return a reply, a list of replies or ``None``, or yield
    replies; return or yield ``nekohooks.messages.STOP`` to keep the message from lower-priority
    handlers. Raising becomes an error reply naming the plugin; the next handler still runs.
    """


@hookspec(firstresult=True)
def neko_check_permission(
    message: Message, plugin: str, handler: str, permission: str
) -> Awaitable[bool | None] | bool | None:
    """May the sender of ``message`` use ``handler`` (``"/ban"``) of ``plugin``, which needs
    ``permission`` (``"admin"``)?

    Implemented by the host application; sync or async, called before the handler runs (no
    plugin code runs when it says no: the sender gets a "permission denied" reply). Return
    ``True`` or ``False``; ``None`` lets the next implementation decide. With no answer the
    permission must be in ``message.roles``. Raising counts as ``False`` and is logged.
    """
