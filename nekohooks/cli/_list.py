"""``neko list``: every installed plugin, from the running host, the manifest cache, or a
one-shot host (``--strict``).

Listing without a host must be quick, so this module loads no trio, host or HTTP client
unless it starts a host (``--strict``) or finds one running.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from .._manifests import installed
from .._records import listing_records, plugin_records
from ._live import remote_rows, running_host
from ._logging import setup_logging
from ._oneshot import host_config, run_host
from ._options import check_only, json_option, only_option, split_only, verbosity
from ._render import BROKEN, console, dumps, plugins_table

__all__ = ["list_plugins"]

log = logging.getLogger("neko")


@click.command("list")
@json_option
@click.option(
    "--strict",
    is_flag=True,
    help="Start every plugin in a one-shot host (unless one runs) and exit 1 if any failed "
    "to load or start.",
)
@only_option
@click.option(
    "--local",
    is_flag=True,
    help="Do not ask a host running in the home: list from the manifest cache (with --strict, "
    "start a one-shot host).",
)
def list_plugins(as_json: bool, strict: bool, only: tuple[str, ...], local: bool) -> None:
    """Every discovered plugin: distribution, entries, schedules, status.

    With a host running in the home (and no --local) its live records. Otherwise nothing is
    started: each plugin's entries and schedules come from the manifest cache, and only a
    plugin whose distribution or files changed since it was last loaded (or that failed to
    load) is imported to refresh it; status is `installed` for a plugin that loads. --strict
    instead starts them all in a one-shot host and shows whether each really runs.
    """
    setup_logging(verbosity())
    keep = check_only(split_only(only))
    fallback = "starting a one-shot host" if strict else "listing from the manifest cache"
    client = running_host(local=local, fallback=fallback)
    rows: list[dict[str, Any]]
    if client is not None:
        rows = remote_rows(client, keep)
    elif strict:
        rows = run_host(host_config(keep), lambda h: plugin_records(h, keep=keep))
    else:
        listing = installed(host_config(keep))
        if listing.imported:
            log.info("imported (not started): %s", ", ".join(listing.imported))
        rows = listing_records(listing, keep)
    if as_json:
        click.echo(dumps(rows))
    elif not rows:
        console.print("no plugins installed (entry-point group neko.plugins); try `neko new`")
    else:
        console.print(plugins_table(rows))
    broken = [r["name"] for r in rows if r["status"] in BROKEN]
    if strict and broken:
        click.echo(f"error: {len(broken)} plugin(s) failed: {', '.join(broken)}", err=True)
        sys.exit(1)
