#!/usr/bin/env bash
# The OS packages the test suite needs, installed with apt-get when missing (Debian/Ubuntu, as
# root): bubblewrap for the isolation sandbox, Debian's chromium and its chromedriver for the
# console's browser tests. One apt-get run; prints what it installs. Elsewhere it says what to
# install and carries on (the tests that need them then fail, naming what is missing).
set -euo pipefail
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    need+=(chromium chromium-driver fonts-dejavu-core)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "please install: ${need[*]} (the sandbox and browser tests need them)" >&2
    exit 0
fi
echo "installing OS packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
