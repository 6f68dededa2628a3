#!/usr/bin/env bash
# Install the OS packages the tests need (when missing), make .venv, install nekohooks and every
# example plugin, then run them until Ctrl-C / SIGTERM.
# Each step says what it does and how long it took; pip lists the packages as it gets them.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

step() {  # step N TEXT: one progress line on stderr
    printf '[%s/5] %s (%ds so far)\n' "$1" "$2" "$((SECONDS - started))" >&2
}

pip_progress() {  # keep pip's "Collecting X" / "Successfully installed" lines, drop the rest
    { grep --line-buffered -E '^(Collecting|Successfully installed)' || true; } | sed 's/^/      /' >&2
}

bash scripts/os-packages.sh  # bubblewrap and chromium for the tests, when missing (apt-get, root)
step 1 "creating .venv with $(python3 --version)"
python3 -m venv .venv
step 2 "upgrading pip"
.venv/bin/python -m pip install --upgrade --disable-pip-version-check pip | pip_progress
step 3 "installing nekohooks with its dev tools and the example plugins, about a minute"
.venv/bin/python -m pip install --disable-pip-version-check -e ".[dev]" ./example_plugins/*/ \
    | pip_progress
step 4 "checking that every example plugin loads and starts: neko list --strict"
.venv/bin/neko list --strict  # stops here, naming the plugin, if any example fails
step 5 "serving: neko run; Ctrl-C or SIGTERM stops it cleanly"
exec .venv/bin/neko run       # a live status table on a terminal
