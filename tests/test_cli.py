"""The real ``neko`` command (the installed console script) against the installed examples,
and against throwaway plugin wheels in a temporary venv for failures and generator entries."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
from plugin_factory import TempVenv, build_wheel
from processes import LineReader

from nekohooks import HostConfig, NekoPluginBase, open_host
from nekohooks.errors import ConfigError

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


@pytest.mark.parametrize(
    "env, config",
    [
        ({"NEKO_LOAD_PLUGINS": "nosuch"}, ""),
        ({"NEKO_DISABLE_PLUGINS": "hello,nosuch"}, ""),
        ({}, '[plugins]\nallow = ["hello", "nosuch"]\n'),
    ],
)
def test_unknown_plugin_names_are_a_usage_error_everywhere(
    tmp_path: Path, env: dict[str, str], config: str
) -> None:
    (tmp_path / "neko.toml").write_text(config)
    for command in (["list"], ["run"], ["schema"], ["call", "hello.greet"]):
        proc = neko(tmp_path, *command, env=env)
        assert proc.returncode == 2, (command, proc.stderr)
        assert "no installed plugin 'nosuch' (named in NEKO_LOAD_PLUGINS, " in proc.stderr
        assert "installed: companion, hello, netkit, reminders)" in proc.stderr
    doctor = neko(tmp_path, "doctor", env=env)
    assert doctor.returncode == 1 and "problem: no installed plugin 'nosuch'" in doctor.stderr


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
    "neko_odd.py": """
        import trio
        from nekohooks import NekoPluginBase, plugin_entry

        class Odd(NekoPluginBase):
            @plugin_entry(id="opaque")
            def opaque(self):
                return object()

            @plugin_entry(id="deaf", timeout=2)
            async def deaf(self):
                (self.ctx.home / "called").write_text("")
                while True:  # swallows the timeout's cancellation: it never unwinds
                    try:
                        await trio.sleep(10)
                    except trio.Cancelled:
                        pass

            @plugin_entry(id="grow")
            def grow(self, n: int):
                return len(bytearray(n))

            @plugin_entry(id="fail")
            def fail(self):
                return 1 / 0


        class DeafStart(NekoPluginBase):
            async def startup(self):
                while True:  # swallows the cancellation of startup_timeout
                    try:
                        await trio.sleep(10)
                    except trio.Cancelled:
                        pass
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
        "odd": "neko_odd:Odd",
        "deafstart": "neko_odd:DeafStart",
    }
    env.install(build_wheel(root, "neko-cli-cases", CASES, entry_points=entry_points))
    future = {
        "neko_future.py": "from nekohooks import NekoPluginBase\nclass F(NekoPluginBase): ..."
    }
    env.install(
        build_wheel(
            root,
            "neko-future",
            future,
            entry_points={"future": "neko_future:F"},
            requires=("nekohooks>=99",),
        )
    )
    return env


def test_version_marks_an_incompatible_plugin_alike_from_metadata_and_cache(
    venv: TempVenv, tmp_path: Path
) -> None:
    then = time.time() - 3600
    os.utime(venv.site, (then, then))  # installed moments ago: the scan cache would not trust it
    fresh = neko(tmp_path, "--version", python=venv.python)
    assert list((tmp_path / "cache").glob("scan-*.json"))
    cached = neko(tmp_path, "--version", python=venv.python)
    among_options = neko(tmp_path, "-v", "--version", python=venv.python)  # through click
    assert fresh.returncode == cached.returncode == among_options.returncode == 0
    assert fresh.stdout == cached.stdout == among_options.stdout
    assert re.search(
        r"^  future +neko-future 1\.0\.0  \[incompatible: requires nekohooks>=99, this is "
        r"nekohooks 0\.1\.0\]$",
        cached.stdout,
        re.MULTILINE,
    ), cached.stdout
    assert re.search(r"^  counter +neko-cli-cases 1\.0\.0$", cached.stdout, re.MULTILINE)


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


def test_call_refuses_a_result_that_is_not_json(venv: TempVenv, tmp_path: Path) -> None:
    for extra in ([], ["--json"]):
        proc = neko(tmp_path, "call", "odd.opaque", *extra, python=venv.python)
        assert proc.returncode == 1, proc.stdout
        assert proc.stdout == ""
        assert proc.stderr.startswith(
            "Error: plugin 'odd': entry 'opaque' returned a value that is not JSON: "
            "<object object at 0x"
        )


def test_debug_shows_a_startup_traceback(venv: TempVenv, tmp_path: Path) -> None:
    plain = neko(tmp_path, "list", "--strict", "--only", "crashy", python=venv.python)
    assert "Traceback" not in plain.stderr
    proc = neko(tmp_path, "-vv", "list", "--strict", "--only", "crashy", python=venv.python)
    assert "plugin 'crashy': startup failed: RuntimeError: no database" in proc.stderr
    assert re.search(
        r"DEBUG nekohooks.runner: plugin 'crashy': startup traceback\n"
        r"Traceback \(most recent call last\):\n(.|\n)*"
        r'neko_crashy.py", line \d+, in startup\n +raise RuntimeError\("no database"\)',
        proc.stderr,
    ), proc.stderr


def test_debug_shows_the_plugins_traceback(venv: TempVenv, tmp_path: Path) -> None:
    plain = neko(tmp_path, "call", "odd.fail", python=venv.python)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.splitlines() == [
        "Error: plugin 'odd': entry 'fail': ZeroDivisionError: division by zero"
    ]
    for flags in (["-vv"], ["--debug"]):
        proc = neko(tmp_path, *flags, "call", "odd.fail", python=venv.python)
        assert proc.returncode == 1
        assert "Traceback (most recent call last):" in proc.stderr
        assert re.search(r'neko_odd.py", line \d+, in fail\n +return 1 / 0', proc.stderr)
        assert proc.stderr.splitlines()[-1] == plain.stderr.splitlines()[-1]


def test_call_on_an_entry_that_ignores_cancellation_exits_1_in_time(
    venv: TempVenv, tmp_path: Path
) -> None:
    # deaf swallows the cancellation of its 2 s timeout; the grace to unwind is 1 s here
    (tmp_path / "neko.toml").write_text("[limits]\nterminate_grace = 1\n")
    started = time.monotonic()
    proc = neko(tmp_path, "call", "odd.deaf", python=venv.python)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        "Error: plugin 'odd': entry 'deaf': timed out after 2s, and it did not stop within 3s "
        "more (it ignores cancellation); abandoned it, exiting"
    )
    assert 2 + 1 <= took < 2 + 1 + 2 + 3, took  # timeout + grace + slack (+ start-up)


def test_list_with_a_startup_that_ignores_cancellation_exits_1_in_time(
    venv: TempVenv, tmp_path: Path
) -> None:
    (tmp_path / "neko.toml").write_text("[limits]\nstartup_timeout = 1\n")
    started = time.monotonic()
    proc = neko(tmp_path, "list", "--strict", "--only", "deafstart", python=venv.python)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "Error: start-up did not finish within 3s (a plugin's startup ignores cancellation?); "
        "exiting"
    )
    assert time.monotonic() - started < 1 + 2 + 4


def test_a_second_signal_ends_a_one_shot_command_at_once(venv: TempVenv, tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    (tmp_path / "neko.toml").write_text("[limits]\nterminate_grace = 60\n")
    proc = subprocess.Popen(
        [str(venv.python), "-m", "nekohooks.cli", "-v", "call", "odd.deaf"],
        stderr=subprocess.PIPE,
        text=True,
        env={**environ, "NEKO_HOME": str(tmp_path)},
    )
    try:
        assert proc.stderr is not None
        reader = LineReader(proc.stderr)
        deadline = time.monotonic() + 30
        while not (tmp_path / "plugins" / "odd" / "called").exists():
            assert time.monotonic() < deadline, reader.drain()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)  # cancels the call; the entry swallows it
        assert reader.wait_for("signal 2 during the command: shutting down"), reader.drain()
        assert proc.poll() is None
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert time.monotonic() - started < 2
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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


def test_call_args_json_and_pairs_do_not_mix_and_keys_do_not_repeat(tmp_path: Path) -> None:
    proc = neko(tmp_path, "call", "reminders.countdown", "--args", '{"seconds": 9}', "target=x")
    assert proc.returncode == 2
    assert "either as key=value pairs or as one --args JSON object, not both" in proc.stderr
    proc = neko(tmp_path, "call", "hello.greet", "name=Oslo", "name=Bergen")
    assert proc.returncode == 2
    assert "'name' is given twice (name=Oslo and name=Bergen)" in proc.stderr
    proc = neko(tmp_path, "call", "reminders.countdown", "--args", '{"seconds": 9}')
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
    progress = proc.stderr.splitlines()  # one line as each check starts and ends; no plugin log
    assert progress[:2] == ["[1/5] starts and stops", "[1/5] starts and stops: ok (0.0s)"]
    assert progress[-1].startswith("[5/5] lifecycles leave nothing behind: ok (")
    assert all(line.startswith("[") for line in progress), progress
    proc = neko(tmp_path, "check", "nope")
    assert proc.returncode == 1 and "no installed plugin 'nope'" in proc.stderr
    proc = neko(tmp_path, "check", "hello", "--examples", "0")
    assert proc.returncode == 2 and "--examples" in proc.stderr


def test_check_isolated_runs_the_plugin_in_its_own_process(tmp_path: Path) -> None:
    proc = neko(tmp_path, "check", "hello", "--isolated", "--examples", "2", "--days", "0.1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("plugin 'hello' kept the contract isolated: 1 entry, ")


def test_check_stops_on_ctrl_c(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEKO_")}
    proc = subprocess.Popen(
        [str(NEKO), "check", "companion", "--examples", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**environ, "NEKO_HOME": str(tmp_path)},
    )
    try:
        assert proc.stderr is not None
        reader = LineReader(proc.stderr)
        assert reader.wait_for("answers valid arguments", timeout=60), reader.drain()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = reader.drain()
    assert text.splitlines()[-1] == "interrupted" and "Traceback" not in text


def test_info_shows_each_entrys_parameters(tmp_path: Path) -> None:
    proc = neko(tmp_path, "info", "hello", "--json")
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)
    greet = row["entries"][0]
    assert greet["id"] == "greet" and greet["kind"] == "sync" and greet["runs_on"] == "thread"
    assert greet["parameters"]["properties"]["name"]["type"] == "string"
    assert row["description"] == "Greets people."
    assert row["calls"] == {"served": 0, "failed": 0, "timed_out": 0}
    assert 0 <= row["uptime"] < 30
    (announce,) = row["jobs"]
    assert announce["id"] == "announce" and announce["last_run"] is None
    assert 30 < announce["next_run"] <= 60  # the first tick, an interval after the start
    text = neko(tmp_path, "info", "hello").stdout
    assert "hello.greet(name?: string) [sync, thread] Greet someone by name" in text
    assert re.search(r"^up \d+s; calls served 0 \(0 failed, 0 timed out\)$", text, re.M)
    assert re.search(
        r"job announce: every 60s; runs 0 \(0 failed, 0 skipped\); last never; next in \d+s",
        text,
    ), text
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


# ---- doctor --------------------------------------------------------------------------------------


def test_doctor_reports_the_installation(tmp_path: Path) -> None:
    (tmp_path / "neko.toml").write_text("[limits]\nentry_timeout = 20\n")
    proc = neko(tmp_path, "doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("nekohooks 0.1.0, Python 3.")
    assert f"home: {tmp_path} (writable)" in lines
    assert f"config: {tmp_path / 'neko.toml'}" in lines
    assert any(
        line.startswith("  [limits] startup_timeout=30.0, entry_timeout=20,") for line in lines
    )
    assert "contract kit: installed" in lines
    assert re.search(r"^  hello\s+neko-hello 0.1.0  ok$", proc.stdout, re.MULTILINE)
    assert lines[-1] == "no problems found"
    report = json.loads(neko(tmp_path, "doctor", "--json").stdout)
    assert report["home"] == {"path": str(tmp_path), "writable": True}
    assert report["config"]["values"]["limits"]["entry_timeout"] == 20
    assert report["problems"] == []


@pytest.mark.parametrize(
    "home, why",
    [("/proc/neko-home", "No such file or directory"), ("/dev/null", "/dev/null is not a folder")],
)
def test_doctor_exits_1_on_an_unusable_home(home: str, why: str) -> None:
    proc = neko(Path(home), "doctor")
    assert proc.returncode == 1
    assert f"home: {home} (NOT USABLE)" in proc.stdout
    assert proc.stderr.splitlines() == [f"problem: home {home} is not usable: {why}"]


def test_doctor_names_an_incompatible_plugin(venv: TempVenv, tmp_path: Path) -> None:
    proc = neko(tmp_path, "doctor", python=venv.python)
    assert proc.returncode == 1
    assert re.search(r"^  future\s+neko-future 1.0.0  INCOMPATIBLE: ", proc.stdout, re.MULTILINE)
    assert "problem: plugin 'future': " in proc.stderr and ">=99" in proc.stderr


# ---- a home the host cannot use: the host's error, before any plugin starts (defect 4) -------


@pytest.mark.parametrize(
    "home, why",
    [("/proc/neko-home", "No such file or directory"), ("/dev/null", "/dev/null is not a folder")],
)
@pytest.mark.parametrize("command", [["list"], ["run"], ["call", "hello.greet"]])
def test_an_unusable_home_is_one_error_before_any_plugin_starts(
    home: str, why: str, command: list[str]
) -> None:
    proc = neko(Path(home), *command)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"Error: the nekohooks home {home} cannot be used: {why}"
    )
    assert "restarting" not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a file system needs root")
def test_a_read_only_home_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(home)], check=True)
    try:
        proc = neko(home, "list")
    finally:
        subprocess.run(["umount", str(home)], check=True)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"Error: the nekohooks home {home} cannot be used: Read-only file system"
    ]


def test_open_host_refuses_an_unusable_home_before_starting_plugins() -> None:
    started: list[str] = []

    class Starts(NekoPluginBase):
        async def startup(self) -> None:
            started.append("yes")

    async def main() -> None:
        async with open_host(HostConfig(home=Path("/dev/null/x")), plugins={"s": Starts}):
            pass

    with pytest.raises(ConfigError, match=r"home /dev/null/x cannot be used: /dev/null is not"):
        trio.run(main)
    assert started == []


# ---- host config errors reach the operator as one line naming the file and key (defect 5) ----


def test_host_config_errors_name_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "neko.toml"
    config.write_text('[limits]\nentry_timeout = "abc"\n')
    proc = neko(tmp_path, "list")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"Error: [limits] entry_timeout must be a number, got 'abc' ({config})"
    ]
    config.write_text("[limitz]\nentry_timeout = 5\n")
    warned = neko(tmp_path, "list", "--only", "hello")
    assert warned.returncode == 0
    assert f"{config}: unknown table [limitz] (did you mean 'limits'?)" in warned.stderr
    missing = neko(tmp_path, "list", env={"NEKO_CONFIG": str(tmp_path / "nope.toml")})
    assert missing.returncode == 1
    assert missing.stderr.splitlines() == [
        f"Error: the host config file does not exist ({tmp_path / 'nope.toml'})"
    ]
