#!/usr/bin/env bash
# Make .venv, install nekohooks and every example plugin, then run them until Ctrl-C / SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]" ./example_plugins/*/
.venv/bin/neko list --strict  # stop here, naming the plugin, if any example fails to load or start
exec .venv/bin/neko run       # a live status table on a terminal; Ctrl-C or SIGTERM stops cleanly
