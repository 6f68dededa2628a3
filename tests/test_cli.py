"""The real ``neko`` command (the installed console script) against the installed examples,
and against throwaway plugin wheels in a temporary venv for failures and generator entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_factory import TempVenv, build_wheel

NEKO = Path(sys.executable).with_name("neko")


def neko(
    home: Path, *args: str, python: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``neko ARGS`` with ``NEKO_HOME=home`` (in the venv of ``python`` if given)."""
    command = [str(python), "-m", "nekohooks.cli"] if python else [str(NEKO)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    environ.update({"NEKO_HOME": str(home), **(env or {})})
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=environ, timeout=120
    )


# ---- --version ---------------------------------------------------------------------------------


def test_version_shows_nekohooks_and_every_installed_plugin(tmp_path: Path) -> None:
    proc = neko(tmp_path, "--version")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("nekohooks 0.1.0 ")
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows["hello"] == ["neko-hello", "0.1.0"]
    assert rows["companion"] == ["neko-companion", "0.1.0"]
    assert {"netkit", "reminders"} <= set(rows)


def test_version_reads_metadata_without_importing_plugins(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom nekohooks.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit as e:\n    code = e.code\n"
        "print(sorted(m for m in sys.modules if m.startswith('neko_')), code, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip() == "[] 0"
    assert "hello" in proc.stdout


# ---- list ----------------------------------------------------------------------------------------


def test_list_json_shows_the_installed_example(tmp_path: Path) -> None:
    proc = neko(tmp_path, "list", "--json", "--strict")
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    hello = rows["hello"]
    assert hello["distribution"] == "neko-hello" and hello["status"] == "running"
    assert hello["entries"] == ["greet"] and hello["schedules"] == {"announce": "every 60s"}


def test_list_table_and_only(tmp_path: Path) -> None:
    proc = neko(tmp_path, "list", "--only", "hello,reminders")
    assert proc.returncode == 0, proc.stderr
    assert "neko-hello 0.1.0" in proc.stdout and "neko-reminders" in proc.stdout
    assert "netkit" not in proc.stdout and "companion" not in proc.stdout
    repeated = neko(tmp_path, "list", "--json", "--only", "hello", "--only", "netkit")
    assert [r["name"] for r in json.loads(repeated.stdout)] == ["hello", "netkit"]


def test_list_only_refuses_unknown_names(tmp_path: Path) -> None:
    proc = neko(tmp_path, "list", "--only", "hello,nope")
    assert proc.returncode == 2
    assert "no installed plugin 'nope'" in proc.stderr and "installed: " in proc.stderr


def test_disabled_plugins_are_listed_as_disabled(tmp_path: Path) -> None:
    proc = neko(tmp_path, "list", "--json", "--strict", env={"NEKO_DISABLE_PLUGINS": "hello"})
    assert proc.returncode == 0, proc.stderr  # disabled on purpose is not a failure
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert rows["hello"]["status"] == "disabled" and rows["hello"]["entries"] == []


# ---- failures, --strict and generator entries, in a throwaway venv ----------------------------


#: What the throwaway venv's tests load: the three wheels and one example, nothing else.
ISOLATED = {"NEKO_LOAD_PLUGINS": "broken,crashy,counter,hello"}


CASES = {
    "neko_broken.py": "import no_such_module_anywhere\n",
    "neko_crashy.py": """
        from nekohooks import NekoPluginBase

        class Crashy(NekoPluginBase):
            async def startup(self):
                raise RuntimeError("no database")
        """,
    "neko_counter.py": """
        from nekohooks import NekoPluginBase, plugin_entry

        class Counter(NekoPluginBase):
            @plugin_entry(id="count")
            def count(self, n: int):
                for i in range(n):
                    yield {"i": i}
        """,
}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> TempVenv:
    """A venv with the examples plus one distribution of three plugins: one that cannot be
    imported, one whose startup raises, and one with a generator entry."""
    root = tmp_path_factory.mktemp("cli-venv")
    env = TempVenv(root / "venv")
    entry_points = {
        "broken": "neko_broken",
        "crashy": "neko_crashy:Crashy",
        "counter": "neko_counter:Counter",
    }
    env.install(build_wheel(root, "neko-cli-cases", CASES, entry_points=entry_points))
    return env


def test_list_strict_exits_1_naming_the_failed_plugins(venv: TempVenv, tmp_path: Path) -> None:
    proc = neko(tmp_path, "list", "--json", "--strict", python=venv.python, env=ISOLATED)
    assert proc.returncode == 1
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert rows["broken"]["status"] == "failed-to-load"
    assert (
        rows["broken"]["distribution"] == "neko-cli-cases" and rows["broken"]["phase"] == "import"
    )
    assert "no_such_module_anywhere" in rows["broken"]["error"]
    assert rows["crashy"]["status"] == "restarting"
    assert rows["crashy"]["error"] == "RuntimeError: no database"
    assert rows["hello"]["status"] == "running"
    assert "2 plugin(s) failed: broken, crashy" in proc.stderr
    lenient = neko(tmp_path, "list", python=venv.python, env=ISOLATED)
    assert lenient.returncode == 0 and "failed-to-load" in lenient.stdout


def test_call_on_a_plugin_that_failed_to_load(venv: TempVenv, tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "broken.anything", python=venv.python)
    assert proc.returncode == 1
    assert "plugin 'broken': is failed-to-load at import: ModuleNotFoundError" in proc.stderr
    proc = neko(tmp_path, "call", "crashy.anything", python=venv.python)
    assert proc.returncode == 1
    assert "plugin 'crashy': is restarting at startup: RuntimeError: no database" in proc.stderr


def test_call_streams_generator_items(venv: TempVenv, tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "counter.count", "n=3", python=venv.python)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [
        {"i": 0},
        {"i": 1},
        {"i": 2},
    ]
    as_json = neko(tmp_path, "call", "counter.count", "n=2", "--json", python=venv.python)
    assert json.loads(as_json.stdout) == [{"i": 0}, {"i": 1}]


def test_check_reports_a_broken_plugin_and_exits_1(venv: TempVenv, tmp_path: Path) -> None:
    proc = neko(tmp_path, "check", "crashy", "--examples", "3", python=venv.python)
    assert proc.returncode == 1
    assert "plugin 'crashy' broke the contract:" in proc.stderr
    assert "did not start: startup failed: RuntimeError: no database" in proc.stderr
    as_json = neko(tmp_path, "check", "crashy", "--examples", "3", "--json", python=venv.python)
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["ok"] is False and report["plugin"] == "crashy"


# ---- call ----------------------------------------------------------------------------------------


def test_call_parses_values_and_uses_the_bundled_config(tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "hello.greet", "name=Ada", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"message": "Hello, Ada!"}
    assert (tmp_path / "plugins" / "hello" / "plugin.toml").exists()


def test_call_prints_text_results_as_text_and_others_as_json(tmp_path: Path) -> None:
    assert neko(tmp_path, "call", "reminders.countdown", "seconds=5").stdout == (
        "5s countdown started!\n"
    )
    proc = neko(tmp_path, "call", "hello__greet", "name=Ada")  # the LLM tool name works too
    assert json.loads(proc.stdout) == {"message": "Hello, Ada!"}


def test_call_keeps_string_parameters_as_text(tmp_path: Path) -> None:
    # name is a string parameter: 42 and true stay text instead of becoming JSON numbers
    proc = neko(tmp_path, "call", "hello.greet", "name=42", "--json")
    assert json.loads(proc.stdout) == {"message": "Hello, 42!"}
    proc = neko(tmp_path, "call", "reminders.countdown", "seconds=7", "target=true")
    assert proc.returncode == 0, proc.stderr  # seconds parsed as an integer, target kept as text


def test_call_with_a_bad_argument_names_it_and_fails(tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "hello.greet", "nmae=Ada")
    assert proc.returncode == 1
    assert "unknown argument 'nmae'" in proc.stderr
    proc = neko(tmp_path, "call", "reminders.countdown", "seconds=0")
    assert proc.returncode == 1
    assert "argument 'seconds': 0 is less than the minimum of 1" in proc.stderr
    proc = neko(tmp_path, "call", "reminders.countdown", "seconds=soon")
    assert proc.returncode == 1 and "argument 'seconds': 'soon' is not of type" in proc.stderr
    proc = neko(tmp_path, "call", "hello.greet", "--args", "[1]")
    assert proc.returncode == 2 and "must be a JSON object" in proc.stderr
    proc = neko(tmp_path, "call", "hello.greet", "--args", "{nope")
    assert proc.returncode == 2 and "not JSON" in proc.stderr
    proc = neko(tmp_path, "call", "hello.greet", "Ada")
    assert proc.returncode == 2 and "'Ada' is not key=value" in proc.stderr
    proc = neko(tmp_path, "call", "hello.greet", "--args", "[" * 100_000)  # past json's nesting
    assert proc.returncode == 2 and "not JSON" in proc.stderr and "Traceback" not in proc.stderr
    proc = neko(tmp_path, "call", "reminders.countdown", "seconds=" + "7" * 5_000)  # past int()
    assert proc.returncode == 1 and "argument 'seconds': '7777" in proc.stderr


def test_call_args_json_and_pairs_combine(tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "reminders.countdown", "--args", '{"seconds": 9}', "target=x")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "9s countdown started!\n"


def test_call_unknown_targets(tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "nope.greet")
    assert proc.returncode == 1
    assert "no installed plugin 'nope' (installed: " in proc.stderr and "hello" in proc.stderr
    proc = neko(tmp_path, "call", "hello.nope")
    assert proc.returncode == 1 and "no entry 'nope' (entries: greet)" in proc.stderr
    proc = neko(tmp_path, "call", "hello")
    assert proc.returncode == 2 and "'hello' is not PLUGIN.ENTRY" in proc.stderr


# ---- info, schema, check, usage ------------------------------------------------------------------


def test_check_runs_the_contract_kit_on_an_installed_plugin(tmp_path: Path) -> None:
    proc = neko(tmp_path, "check", "hello", "--examples", "5", "--days", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("plugin 'hello' kept the contract: 1 entry, 1 periodic job, ")
    assert proc.stderr == ""  # the plugin's own log stays quiet unless -v
    proc = neko(tmp_path, "check", "nope")
    assert proc.returncode == 1 and "no installed plugin 'nope'" in proc.stderr
    proc = neko(tmp_path, "check", "hello", "--examples", "0")
    assert proc.returncode == 2 and "--examples" in proc.stderr


def test_check_isolated_runs_the_plugin_in_its_own_process(tmp_path: Path) -> None:
    proc = neko(tmp_path, "check", "hello", "--isolated", "--examples", "2", "--days", "0.1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("plugin 'hello' kept the contract isolated: 1 entry, ")


def test_info_shows_each_entrys_parameters(tmp_path: Path) -> None:
    proc = neko(tmp_path, "info", "hello", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    greet = row["entries"][0]
    assert greet["id"] == "greet" and greet["kind"] == "sync" and greet["runs_on"] == "thread"
    assert greet["parameters"]["properties"]["name"]["type"] == "string"
    assert row["description"] == "Greets people."
    text = neko(tmp_path, "info", "hello").stdout
    assert "hello.greet(name?: string)" in text and "job announce: every 60s" in text
    missing = neko(tmp_path, "info", "nope")
    assert missing.returncode == 1 and "no installed plugin 'nope'" in missing.stderr


def test_schema_is_an_openai_tool_list(tmp_path: Path) -> None:
    proc = neko(tmp_path, "schema")
    tools = {t["function"]["name"]: t for t in json.loads(proc.stdout)}
    assert tools["hello__greet"]["function"]["parameters"]["properties"]["name"] == {
        "type": "string",
        "default": "world",
    }
    only = neko(tmp_path, "schema", "--json", "--only", "hello")
    assert [t["function"]["name"] for t in json.loads(only.stdout)] == ["hello__greet"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["frobnicate"], "No such command 'frobnicate'"),
        (["list", "--bogus"], "No such option"),
        (["info"], "Missing argument 'PLUGIN'"),
        (["call"], "Missing argument 'TARGET'"),
        (["new"], "Missing argument 'NAME'"),
        (["run", "--only", "nope"], "no installed plugin 'nope'"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    proc = neko(tmp_path, *args)
    assert proc.returncode == 2 and message in proc.stderr


def test_help_lists_every_command(tmp_path: Path) -> None:
    proc = neko(tmp_path, "--help")
    assert proc.returncode == 0
    for command in ("call", "check", "info", "list", "new", "run", "schema"):
        assert f"  {command} " in proc.stdout


def test_a_corrupt_host_config_is_reported_by_path(tmp_path: Path) -> None:
    (tmp_path / "neko.toml").write_text("[limits\n")
    proc = neko(tmp_path, "list")
    assert proc.returncode == 1
    assert "cannot read host config" in proc.stderr and "neko.toml" in proc.stderr
