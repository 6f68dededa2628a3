"""``neko say`` and the commands in ``neko info``, with the real console script and the
installed example ``reminders`` (its ``/countdown`` command)."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli import neko


def test_say_prints_the_reply_then_the_message_sent_later(tmp_path: Path) -> None:
    proc = neko(tmp_path, "say", "/countdown 1", "--only", "reminders", "--wait", "2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["1s countdown started!", "→ cli: ⏰ 1s countdown finished!"]


def test_say_json_and_a_usage_reply_exit_1(tmp_path: Path) -> None:
    proc = neko(
        tmp_path, "say", "/countdown 0x1b", "--only", "reminders", "--origin", "room-7", "--json"
    )
    assert proc.returncode == 1
    [record] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert record == {
        "plugin": "reminders",
        "handler": "/countdown",
        "target": "room-7",
        "kind": "usage",
        "content": "/countdown: argument seconds: '0x1b' is not an integer\n"
        "usage: /countdown <seconds:int>",
    }
    quiet = neko(tmp_path, "say", "hello there", "--only", "reminders")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "(no plugin answered)\n")


def test_info_lists_each_plugins_commands(tmp_path: Path) -> None:
    proc = neko(tmp_path, "info", "reminders", "--json")
    assert proc.returncode == 0, proc.stderr
    [countdown] = json.loads(proc.stdout)["commands"]
    assert countdown["usage"] == "/countdown <seconds:int>"
    assert countdown["description"].startswith("Start a countdown")
    text = neko(tmp_path, "info", "reminders")
    assert "/countdown <seconds:int>" in text.stdout
