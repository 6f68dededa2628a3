"""``neko say``: one message to the plugins, the replies printed as they arrive; and the command
lines ``neko info`` shows."""

from __future__ import annotations

import sys
from typing import Any

import click

from .._errors import NekoError
from .._messages import Message, Reply, ReplyKind, reply_record
from ._live import local_option, running_host
from ._logging import setup_logging
from ._oneshot import host_config
from ._options import check_only, json_option, only_option, split_only, verbosity
from ._render import console, dumps

__all__ = ["command_lines", "say"]

_CONTROL = {i: f"\\x{i:02x}" for i in [*range(32), 127] if chr(i) not in "\n\t"}


def _shown(content: Any) -> str:
    """Plugin text for the terminal: control characters (escape sequences) made visible."""
    return str(content).translate(_CONTROL)


def command_lines(row: dict[str, Any]) -> None:
    """Print ``neko info``'s command lines (plugin text printed as text, not markup)."""
    for handler in row.get("commands", ()):
        extra = f" (needs {handler['permission']})" if handler["permission"] else ""
        line = f"  {handler['usage']}{extra}"
        console.print(line, highlight=False, markup=False, soft_wrap=True, end="")
        console.print(f" {handler['description']}", style="dim", markup=False, highlight=False)


@click.command()
@click.argument("text")
@click.option("--origin", default="cli", show_default=True, help="Where replies go (a chat id).")
@click.option("--sender", default="cli-user", show_default=True, help="The sender's id.")
@click.option("--platform", default="cli", show_default=True, help="The platform name.")
@click.option("--channel", default="", help="A group/channel id (default: a private message).")
@click.option("--role", "roles", multiple=True, metavar="ROLE", help="A role the sender has.")
@click.option("--kind", default="message", show_default=True, help="An event kind instead.")
@click.option(
    "--wait",
    default=0.0,
    type=click.FloatRange(0, 3600),
    help="Keep the host up this many seconds for messages sent later (a countdown's).",
)
@only_option
@json_option
@local_option
def say(
    text: str,
    origin: str,
    sender: str,
    platform: str,
    channel: str,
    roles: tuple[str, ...],
    kind: str,
    wait: float,
    only: tuple[str, ...],
    as_json: bool,
    local: bool,
) -> None:
    """Dispatch one message (e.g. "/countdown 10") and print the replies as they arrive.

    Hands the plugins the message as a chat adapter would and prints each reply (--json: one
    JSON object per line): through the host running in the home (POST /v1/say) when one
    answers and neither --only nor --wait is given, else in a one-shot host that starts the
    plugins and stops them after. Exit 1 if a command was refused (usage, permission) or a
    handler failed.
    """
    setup_logging(verbosity())
    keep = check_only(split_only(only))
    message = Message(
        text,
        sender=sender,
        origin=origin,
        platform=platform,
        channel=channel,
        roles=roles,
        kind=kind,
    )
    queued: list[tuple[str, str, Any]] = []
    live = {"dispatching": True, "failed": False, "answered": False}
    client = None if keep or wait else running_host(local=local)

    def show(record: dict[str, Any]) -> None:
        live["answered"] = True
        if as_json:
            click.echo(dumps(record, indent=None))
        elif record["kind"] in ("reply", "message"):
            prefix = f"→ {record['target']}: " if record["kind"] == "message" else ""
            click.echo(prefix + _shown(record["content"]))
        else:
            click.echo(f"{record['kind']}: {_shown(record['content'])}", err=True)
        sys.stdout.flush()

    def later(plugin: str, target: str, content: Any) -> None:
        show(reply_record(Reply(plugin, "", target, content)) | {"kind": "message"})

    def sink(plugin: str, target: str, content: Any) -> None:
        if live["dispatching"]:
            queued.append((plugin, target, content))
        else:
            later(plugin, target, content)

    import trio  # a host runs here: trio and the host load now, not for command_lines

    from .._host import open_host

    async def main() -> None:
        async with open_host(host_config(keep), message_sink=sink) as host:
            async for reply in host.dispatch(message):
                if reply.kind is not ReplyKind.REPLY:
                    live["failed"] = True
                for index, item in enumerate(queued):  # this reply's own delivery
                    if item == (reply.plugin, reply.target, reply.content):
                        del queued[index]
                        break
                show(reply_record(reply))
            live["dispatching"] = False
            for item in queued:
                later(*item)
            queued.clear()
            await trio.sleep(wait)

    try:
        if client is not None:
            with client:
                fields: dict[str, Any] = {"text": text, "origin": origin, "sender": sender}
                fields |= {"kind": kind, "platform": platform, "channel": channel}
                fields["roles"] = list(roles)
                for record in client.say(fields):
                    live["failed"] |= record["kind"] != ReplyKind.REPLY.value
                    show(record)
        else:
            trio.run(main)
    except NekoError as exc:
        raise click.ClickException(str(exc)) from exc
    if not live["answered"] and not as_json:
        click.echo("(no plugin answered)", err=True)
    if live["failed"]:
        sys.exit(1)
