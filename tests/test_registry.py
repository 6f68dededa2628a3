"""The registry's pluggy manager: module plugins are registered as pluggy itself would.

The manager answers "is this name a hook implementation?" itself for a plain module's
unmarked names (a speed-up); these tests hold its answers and its registrations to plain
pluggy's, on modules with every kind of attribute a plugin module has.
"""

from __future__ import annotations

import textwrap
import types

import pluggy
import pytest

from nekohooks import hookspecs
from nekohooks.discovery import Registry
from nekohooks.errors import PluginLoadError

MODULE_SOURCE = '''
"""A module plugin with one of everything."""
import functools
import os
from nekohooks import hookimpl, plugin_entry

CONSTANT = 3
unmarked_lambda = lambda: None  # noqa: E731

def helper():
    return 1

@plugin_entry(id="add")
def add(a: int, b: int = 1) -> int:
    return a + b

@hookimpl
def neko_entries():
    return [add]

@hookimpl(specname="neko_periodic")
def my_jobs():
    return []

@hookimpl(wrapper=True)
def neko_entry_call(call):
    return (yield)

@hookimpl(tryfirst=True)
def neko_deliver_message(plugin, target, message):
    return None

@hookimpl(hookwrapper=True)
def neko_check_permission(message, plugin, handler, permission):
    yield

marked_static = staticmethod(hookimpl(lambda ctx: None))
marked_partial = functools.partial(helper)
marked_partial.neko_impl = {}

def odd_mark():
    pass

odd_mark.neko_impl = "not options"

class Helper:
    @hookimpl
    def neko_startup(self, ctx):
        pass

instance = Helper()
bound = instance.neko_startup
'''


def module_plugin(name: str, source: str = MODULE_SOURCE) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(textwrap.dedent(source), f"<{name}>", "exec"), vars(module))
    return module


def plain_pluggy() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def test_every_name_of_a_module_is_parsed_as_pluggy_parses_it() -> None:
    module = module_plugin("everything")
    ours, theirs = Registry().pm, plain_pluggy()
    names = dir(module) + dir(types.ModuleType)
    answers = {name: ours.parse_hookimpl_opts(module, name) for name in names}
    assert answers == {name: theirs.parse_hookimpl_opts(module, name) for name in names}
    found = {name for name, opts in answers.items() if opts is not None}
    assert {"neko_entries", "my_jobs", "neko_entry_call", "marked_static", "bound"} <= found
    assert answers["my_jobs"] == {**answers["my_jobs"], "specname": "neko_periodic"}
    assert answers["neko_entry_call"] is not None and answers["neko_entry_call"]["wrapper"]
    unmarked = {"helper", "add", "CONSTANT", "Helper", "os", "unmarked_lambda", "odd_mark"}
    assert unmarked.isdisjoint(found)


def test_a_module_plugin_is_registered_with_the_same_hooks_as_by_pluggy() -> None:
    registry = Registry()
    loaded = registry.add("everything", module_plugin("everything"))
    theirs = plain_pluggy()
    theirs.register(module_plugin("everything"), name="everything")

    def impls(pm: pluggy.PluginManager) -> dict[str, list[tuple[str, dict[str, object]]]]:
        found = {}
        for caller in pm.get_hookcallers(pm.get_plugin("everything")) or []:
            found[caller.name] = [
                (impl.function.__name__, dict(impl.opts)) for impl in caller.get_hookimpls()
            ]
        return found

    assert impls(registry.pm) == impls(theirs)
    assert set(impls(theirs)) >= {"neko_entries", "neko_periodic", "neko_entry_call"}
    assert [e.id for e in loaded.info.entries] == ["add"]


def test_a_module_subclass_and_an_object_go_to_pluggy_unchanged() -> None:
    class Lazy(types.ModuleType):
        pass

    lazy = Lazy("lazy")
    vars(lazy).update(vars(module_plugin("lazy")))
    ours, theirs = Registry().pm, plain_pluggy()
    for plugin in (lazy, module_plugin("plain").instance):
        for name in dir(plugin):
            assert ours.parse_hookimpl_opts(plugin, name) == theirs.parse_hookimpl_opts(
                plugin, name
            )


def test_a_misspelt_or_mistyped_hook_still_fails_registration() -> None:
    registry = Registry()
    typo = module_plugin(
        "typo",
        """
        from nekohooks import hookimpl
        @hookimpl
        def neko_startupp(ctx):
            pass
        @hookimpl
        def neko_entriess():
            return []
        """,
    )
    with pytest.raises(PluginLoadError, match="unknown hook 'neko_entriess'") as info:
        registry.add("typo", typo)
    assert info.value.phase == "validate"
    wrong_args = module_plugin(
        "wrong",
        """
        from nekohooks import hookimpl
        @hookimpl
        def neko_startup(context):
            pass
        """,
    )
    with pytest.raises(PluginLoadError, match="context") as info:
        registry.add("wrong", wrong_args)
    assert info.value.phase == "register"
    assert not registry.pm.has_plugin("typo") and not registry.pm.has_plugin("wrong")
    assert registry.plugins == {}


def test_lifecycle_and_message_hooks_of_a_module_are_found() -> None:
    loaded = Registry().add(
        "life",
        module_plugin(
            "life",
            """
            from nekohooks import hookimpl
            @hookimpl
            def neko_startup(ctx):
                pass
            @hookimpl
            def neko_message(message, ctx):
                return None
            def neko_terminate(ctx):  # not marked: not a hook
                pass
            """,
        ),
    )
    assert loaded.hooks == {"neko_startup"}
    assert len(loaded.info.handlers) == 1


def test_class_members_keep_definition_order_and_overrides_of_object_in_place() -> None:
    """The walk leaves out ``object``'s own builtins but nothing a class defines or overrides,
    in the order of a full walk of the MRO."""
    from nekohooks import NekoPluginBase, plugin_entry
    from nekohooks._api import class_entries, class_members

    class Base(NekoPluginBase):
        @plugin_entry(id="show")
        def __repr__(self) -> str:  # overrides object.__repr__: keeps object's place
            return "base"

        @plugin_entry()
        def first(self) -> None: ...

    class Child(Base):
        limit = 3

        def first(self) -> None: ...  # overridden without the mark

        @plugin_entry()
        def second(self) -> None: ...

    full: dict[str, object] = {}
    for klass in reversed(Child.__mro__):
        full.update(vars(klass))
    expected = [(n, v) for n, v in full.items() if v is not vars(object).get(n)]
    assert class_members(Child) == expected
    assert [n for n, _ in class_members(Child)][:2] == ["__repr__", "__init__"]
    assert [f.__name__ for f in class_entries(Child)] == ["__repr__", "second"]


def test_a_plugin_is_described_by_its_own_docstring_only() -> None:
    from nekohooks import NekoPluginBase, plugin_entry

    class Quiet(NekoPluginBase):
        @plugin_entry(id="ping")
        async def ping(self) -> str:
            return "pong"

    class Said(NekoPluginBase):
        """Says hello.

        More lines.
        """

    registry = Registry()
    assert registry.add("quiet", Quiet).info.description == ""  # not NekoPluginBase's
    assert registry.add("said", Said).info.description == "Says hello."
    module = types.ModuleType("mod", "A module plugin.\n\nDetails.")
    assert registry.add("mod", module).info.description == "A module plugin."
