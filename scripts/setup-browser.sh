#!/usr/bin/env bash
# Installs what the browser tests (tests/serve/test_browser.js) need, where it
# can: Debian's Chromium at /usr/bin/chromium (apt-get, as root) and
# playwright-core from npm into tests/serve/node_modules (git-ignored; never
# a browser download: playwright-core drives the system Chromium). Says what
# it did. Exits non-zero when something is still missing, and the browser
# tests then skip with a message rather than fail.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest="$root/tests/serve"
status=0
apt_updated=0

say() { echo "setup-browser: $*"; }

apt_install() {
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        say "missing $*; install it with: sudo apt-get install -y $*"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ "$apt_updated" -eq 0 ]; then
        apt-get update -qq >/dev/null 2>&1 || { say "apt-get update failed"; return 1; }
        apt_updated=1
    fi
    say "installing $* with apt-get"
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 || {
        say "apt-get install $* failed"
        return 1
    }
}

if [ -x /usr/bin/chromium ]; then
    say "chromium: present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
else
    apt_install chromium || status=1
    [ -x /usr/bin/chromium ] && say "chromium: installed" || { say "chromium: not available"; status=1; }
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm || status=1
fi

if [ -f "$dest/node_modules/playwright-core/package.json" ]; then
    say "playwright-core: present in tests/serve/node_modules"
elif command -v npm >/dev/null 2>&1; then
    say "installing playwright-core into tests/serve/node_modules (npm install --no-save)"
    if (cd "$dest" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-audit --no-fund \
            --no-package-lock --loglevel=error playwright-core >/dev/null 2>&1) &&
       [ -f "$dest/node_modules/playwright-core/package.json" ]; then
        say "playwright-core: installed"
    else
        say "npm install playwright-core failed"
        status=1
    fi
else
    say "npm: not available; cannot install playwright-core"
    status=1
fi

[ "$status" -eq 0 ] && say "browser tests can run" || say "browser tests will be skipped"
exit "$status"
