"""The contract kit passes good plugins and catches each kind of broken one, with a clear message.

Every broken plugin below breaks exactly one promise; the kit must fail on it and say which
plugin, which entry or job, and (for entries) hypothesis's minimal failing example.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import hypothesis
import pytest
import trio
from modes import harness_both_ways
from plugin_factory import TempVenv, build_wheel

from nekohooks import NekoPluginBase, hookimpl, lifecycle, periodic, plugin_entry
from nekohooks.errors import InvalidArguments
from nekohooks.testing import (
    Budget,
    ContractViolation,
    check_plugin,
    from_schema,
    open_harness,
    valid_arguments,
)
from nekohooks.testing._budget import Runaway, Worker, nothing_to_open

EXAMPLES = ["companion", "hello", "netkit", "reminders"]

#: Hypothesis examples per property in each mode. Isolated, every host the kit opens (each
#: lifecycle sequence, each restart in one) starts a plugin process cold (~0.5-1 s on the CI's
#: 2 cores), so that variant gets a small budget: it checks the same properties, less widely.
BUDGET = {"none": 20, "process": 3}
#: The loop-block threshold in each mode: a fresh plugin process builds its first TLS context
#: (``ctx.http``, certifi's bundle) on the loop, which takes 0.1-0.3 s cold on a loaded CI box.
BLOCK = {"none": 0.25, "process": 0.5}


@harness_both_ways
@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_plugin_keeps_the_contract(name: str, isolation: str, tmp_path) -> None:
    examples = BUDGET[isolation]
    report = check_plugin(
        name,
        max_examples=examples,
        home=tmp_path,
        isolation=isolation,
        block_threshold=BLOCK[isolation],
    )
    assert report.ok, report.violations
    assert report.entries  # it really found and called them
    assert report.examples >= examples


def broken(plugin: object, isolation: str = "none", **kwargs) -> str:
    examples = 15 if isolation == "none" else 3
    with pytest.raises(ContractViolation) as caught:
        check_plugin(plugin, name="broken", max_examples=examples, isolation=isolation, **kwargs)
    message = str(caught.value)
    assert "plugin 'broken' broke the nekohooks contract" in message
    return message


class RaisesBare(NekoPluginBase):
    @plugin_entry(id="divide")
    async def divide(self, a: int, b: int) -> float:
        return a / b


def test_a_bare_exception_is_caught_with_the_minimal_example() -> None:
    message = broken(RaisesBare)
    assert "broken.divide(**{'a': 0, 'b': 0}) raised ZeroDivisionError: division by zero" in message


class ReturnsNonJson(NekoPluginBase):
    @plugin_entry(id="obj")
    async def obj(self, n: int) -> object:
        return object() if n > 3 else n


def test_a_non_json_result_is_caught_with_the_minimal_example() -> None:
    message = broken(ReturnsNonJson)
    assert "broken.obj(**{'n': 4}) returned a value that is not JSON-serialisable" in message


class LeaksTask(NekoPluginBase):
    @lifecycle(id="startup")
    async def startup(self) -> None:
        async def forever() -> None:
            await trio.sleep_forever()

        # Outside the plugin's nursery: nothing the host owns, so nothing cancels it at stop.
        trio.lowlevel.spawn_system_task(forever, name="LeaksTask.forever")

    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"


def test_a_leaked_task_is_caught() -> None:
    message = broken(LeaksTask)
    assert "left trio tasks running after it stopped" in message
    assert "LeaksTask.forever" in message


_leaked_stop = threading.Event()


class LeaksThread(NekoPluginBase):
    @lifecycle(id="startup")
    def startup(self) -> None:
        threading.Thread(target=_leaked_stop.wait, name="LeaksThread.poller", daemon=True).start()

    @plugin_entry(id="ping")
    def ping(self) -> str:
        return "pong"


def test_a_leaked_thread_is_caught() -> None:
    try:
        message = broken(LeaksThread)
    finally:
        _leaked_stop.set()
    assert "left threads running after it stopped" in message
    assert "LeaksThread.poller" in message


async def test_an_isolated_plugin_reports_what_it_left_in_its_process(autojump_clock) -> None:
    # what check_plugin(..., isolation="process") reads; the kit's shrinking over many cold
    # processes would make the whole isolated check of a leaking plugin take minutes in CI
    for plugin, task, thread in [
        (LeaksTask, ["LeaksTask.forever"], []),
        (LeaksThread, [], ["LeaksThread.poller"]),
    ]:
        async with open_harness(plugin, name="broken", isolation="process") as harness:
            probes = harness.isolated.probes
        assert [(leaks.tasks, leaks.threads) for leaks in probes.leaks] == [(task, thread)]
        assert probes.leaks[0].clients == probes.leaks[0].stores == 0


class BlocksLoop(NekoPluginBase):
    @plugin_entry(id="slow")
    async def slow(self) -> str:
        time.sleep(0.5)  # a synchronous call in async code holds the whole loop
        return "done"


@harness_both_ways
def test_blocking_the_loop_is_caught_and_located(isolation: str) -> None:
    message = broken(BlocksLoop, isolation, block_threshold=0.2)
    assert "blocked the trio loop for at least" in message
    assert "in BlocksLoop.slow" in message


class Overlaps(NekoPluginBase):
    @periodic(every=10, id="sync_inbox")
    async def sync_inbox(self) -> None:
        await trio.sleep(25)  # each run outlasts the next two ticks


@harness_both_ways
def test_a_job_overlapping_its_own_runs_is_caught(isolation: str) -> None:
    message = broken(Overlaps, isolation, days=0.01)
    assert "periodic job broken.sync_inbox overlaps itself" in message
    assert "ticks were skipped" in message


class FailingJob(NekoPluginBase):
    @periodic(every=60, id="report")
    def report(self) -> None:
        raise RuntimeError("mail server said no")


def test_a_failing_job_is_caught() -> None:
    message = broken(FailingJob, days=0.1)
    assert "periodic job broken.report failed 144 of 144 runs" in message  # 0.1 days / 60s
    assert "RuntimeError: mail server said no" in message


class IgnoresCancel(NekoPluginBase):
    @plugin_entry(id="ping")
    async def ping(self) -> str:
        return "pong"

    @lifecycle(id="shutdown")
    async def shutdown(self) -> None:
        while True:
            try:
                await trio.sleep(1)
            except trio.Cancelled:
                continue  # swallowing Cancelled: the host can never stop this


def test_ignoring_cancellation_in_terminate_is_caught_and_interrupted() -> None:
    message = broken(IgnoresCancel, stall_timeout=2)
    assert "did not finish within 2s of real time" in message
    assert "in IgnoresCancel.shutdown" in message
    assert "ignore cancellation" in message
    running = [t.name for t in threading.enumerate()]
    assert "neko-contract-run" not in running  # the kit stopped the stuck run: nothing spins on


@plugin_entry(id="echo", input_schema={"type": "object", "additionalProperties": False})
def echo(**kwargs: object) -> object:
    return kwargs


class AcceptsAnything:
    """A raw-hookimpl plugin whose code takes anything; its schema takes nothing."""

    @hookimpl
    def neko_entries(self) -> list[object]:
        return [echo]


ACCEPTS_ANYTHING = AcceptsAnything()  # importable by a plugin process


@harness_both_ways
def test_invalid_arguments_never_reach_the_plugin(isolation: str) -> None:
    examples = BUDGET[isolation]
    report = check_plugin(
        ACCEPTS_ANYTHING, name="echoer", max_examples=examples, isolation=isolation
    )
    assert report.ok


async def test_an_isolated_plugin_counts_the_calls_that_reach_its_code(autojump_clock) -> None:
    async with open_harness(ACCEPTS_ANYTHING, name="echoer", isolation="process") as harness:
        assert harness.isolated is not None
        assert await harness.call("echo") == {}
        assert harness.isolated.probes.reached == {"echo": 1}  # counted in its process
        with pytest.raises(InvalidArguments):
            await harness.call("echo", surprise=1)
        assert harness.isolated.probes.reached == {"echo": 1}  # refused before its code ran
        pids = list(harness.isolated.probes.pids)
    assert len(pids) == 1
    with pytest.raises(ProcessLookupError):
        os.killpg(pids[0], 0)  # nothing of it is left


def test_a_startup_crash_is_reported_as_such() -> None:
    class CrashesAtStart(NekoPluginBase):
        @lifecycle(id="startup")
        async def startup(self) -> None:
            raise OSError("no such device")

    message = broken(CrashesAtStart)
    assert "did not start: startup failed: OSError: no such device" in message


def test_an_unknown_plugin_name_is_not_installed_not_a_broken_contract(tmp_path) -> None:
    with pytest.raises(LookupError) as caught:
        check_plugin("no-such-plugin", home=tmp_path, raise_on_violation=False)
    assert str(caught.value).startswith("no installed plugin 'no-such-plugin' (installed: ")
    assert "hello" in str(caught.value)


# ---- budgets: generated sizes, memory and time per example (issue 13, defect 2) ------------


class Grows(NekoPluginBase):
    @plugin_entry(id="grow")
    def grow(self, n: int) -> int:
        return len(bytearray(abs(n)))  # n bytes, allocated in one C call


def test_unbounded_integers_get_modest_sizes_by_default() -> None:
    report = check_plugin(Grows, name="grows", max_examples=30)
    assert report.ok  # |n| <= Budget().max_integer: a few kilobytes at most
    values = []

    @hypothesis.given(valid_arguments({"properties": {"n": {"type": "integer"}}}))
    @hypothesis.settings(max_examples=200, database=None)
    def draw(args: dict[str, int]) -> None:
        values.append(args.get("n", 0))

    draw()
    assert max(map(abs, values)) <= Budget().max_integer == 10_000
    wide = from_schema({"type": "integer", "minimum": 5}, Budget(max_integer=10))
    assert wide.validate() is None  # a bounded side keeps its bound
    hypothesis.find(wide, lambda n: n == 15)  # the other side reaches minimum + max_integer


def test_an_example_over_the_memory_budget_is_a_violation_with_shrunk_arguments() -> None:
    progress: list[str] = []
    report = check_plugin(
        Grows,
        name="grows",
        max_examples=30,
        budget=Budget(max_integer=10**12, memory_mb=64),
        progress=progress.append,
        raise_on_violation=False,
    )
    (violation,) = [v for v in report.violations if v.startswith("grows.grow(")]
    n = int(violation.split("{'n': ")[1].split("}")[0])
    # about the budget (the peak also counts the call's own few MB), shrunk from up to 10**12
    assert 56 * 2**20 < abs(n) < 2**31, violation
    assert "used more than 64 MB of memory (each example's budget" in violation
    assert progress[0] == "[1/4] starts and stops"
    assert any(
        line.startswith("[2/4] grows.grow answers valid arguments: 1 violation(s) (")
        for line in progress
    ), progress


def test_the_worker_kills_a_runaway_and_starts_afresh() -> None:
    def handle(request: tuple[str, int]) -> int:
        what, size = request
        if what == "grow":
            return len(bytearray(size))  # freed at once: only the peak shows it
        if what == "sleep":
            time.sleep(size)
        if what == "exit":
            os._exit(3)
        return os.getpid()

    with Worker(lambda: nothing_to_open(handle), Budget(memory_mb=32, seconds=1)) as worker:
        first = worker.ask(("pid", 0))
        assert worker.ask(("grow", 8 * 2**20)) == 8 * 2**20
        with pytest.raises(Runaway, match="used more than 32 MB of memory"):
            worker.ask(("grow", 64 * 2**20))
        with pytest.raises(Runaway, match=r"took longer than 1s of real time"):
            worker.ask(("sleep", 30))
        with pytest.raises(Runaway, match=r"ended the process it ran in \(exit code 3\)"):
            worker.ask(("exit", 0))
        second = worker.ask(("pid", 0))
        assert first != second != os.getpid()  # each runaway cost its child
    assert worker.forked  # on Linux the budget is enforced from outside the child


@harness_both_ways
async def test_the_harness_runs_three_days_in_no_time(isolation: str, autojump_clock) -> None:
    async with open_harness("reminders", isolation=isolation) as harness:
        started = time.monotonic()
        await harness.advance(3 * 86400 + 1)
        jobs = harness.jobs()
        assert jobs["background_task"].runs == 3 * 86400 // 300
        assert jobs["send_daily_reminder"].runs == 3  # 09:00 on each of the three days
        assert harness.status().state.value == "running"
        assert time.monotonic() - started < 30
        assert any("background task ran" in r.getMessage() for r in harness.records)


SLOPPY = """
from nekohooks import neko_plugin, NekoPluginBase, plugin_entry

@neko_plugin
class Sloppy(NekoPluginBase):
    @plugin_entry(id="first")
    async def first(self, items: list[str]) -> str:
        return items[0]
"""


def test_pytest_option_checks_installed_plugins(tmp_path) -> None:
    env = TempVenv(tmp_path / "venv")
    wheel = build_wheel(
        tmp_path,
        "neko-plugin-sloppy",
        {"sloppy.py": SLOPPY},
        entry_points={"sloppy": "sloppy:Sloppy"},
        requires=("nekohooks",),
    )
    env.install(wheel)
    (tmp_path / "empty").mkdir()
    command = [
        str(env.python),
        "-m",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        "--neko-examples=10",
    ]
    proc = subprocess.run(
        [*command, "--neko-plugin=hello", "--neko-plugin=sloppy", "empty"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "collected 9 items" in proc.stdout  # each check of each plugin is an item
    for check in (
        "starts and stops",
        "hello.greet answers valid arguments",
        "hello.greet refuses invalid arguments",
        "periodic jobs keep time",
        "lifecycles leave nothing behind",
    ):
        assert f"neko-contract[hello]::{check} PASSED" in proc.stdout
    assert "neko-contract[sloppy]::sloppy.first answers valid arguments FAILED" in proc.stdout
    assert "neko-contract[sloppy]::sloppy.first refuses invalid arguments PASSED" in proc.stdout
    assert "sloppy.first(**{'items': []}) raised IndexError: list index out of range" in proc.stdout
    assert "1 failed, 8 passed" in proc.stdout
    missing = subprocess.run(
        [*command, "--neko-plugin=nosuch", "empty"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert missing.returncode == 2, missing.stdout  # interrupted: a collection error
    assert "no installed plugin 'nosuch' (installed: " in missing.stdout
    assert "broke" not in missing.stdout


def test_pytest_option_checks_a_plugin_isolated_too(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-p",
            "no:cacheprovider",
            "--neko-examples=2",
            "--neko-plugin=hello",
            "--neko-isolated",
            "empty",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for plugin in ("hello", "hello-isolated"):
        assert f"neko-contract[{plugin}]::lifecycles leave nothing behind PASSED" in proc.stdout


def test_a_stuck_run_is_blamed_on_plugin_code_only() -> None:
    """Frames of trio, of what its scheduler calls between steps (outcome, sniffio), of
    hypothesis, of nekohooks and of the standard library are never "where it is stuck"; a plugin installed
    in a site-packages inside the standard library's folder (no venv) still is."""
    import os
    import sysconfig
    import types

    import hypothesis
    import outcome

    from nekohooks.testing._watched import _foreign

    def code(filename: str) -> types.CodeType:
        return compile("pass", filename, "exec")

    stdlib = sysconfig.get_paths()["stdlib"]
    assert not _foreign(code(trio.__file__))
    assert not _foreign(code(outcome.__file__))
    assert not _foreign(code(hypothesis.__file__))
    assert not _foreign(code(os.__file__))
    assert not _foreign(code("<frozen abc>"))
    assert _foreign(code("/home/me/plugins/weather/__init__.py"))
    # without a venv, purelib is <stdlib>/site-packages: still the plugin's
    assert _foreign(code(os.path.join(sysconfig.get_paths()["purelib"], "weather", "x.py")))
    assert not _foreign(code(os.path.join(stdlib, "json", "decoder.py")))
