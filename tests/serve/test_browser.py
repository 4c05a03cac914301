"""The web page at / in Debian's Chromium, driven by playwright-core.

Starts `muse serve` on an ephemeral loopback port and runs test_browser.js
against it. Chromium (/usr/bin/chromium) and playwright-core (npm, in
tests/serve/node_modules) are installed by scripts/setup-browser.sh; when
either is missing this test is skipped (exit 77) and says which.
"""
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import Server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get("MUSE_CHROMIUM", "/usr/bin/chromium")


def skip(why):
    print("SKIP: %s (run scripts/setup-browser.sh to install what the browser test needs)" % why)
    sys.exit(77)


def main():
    node = shutil.which("node")
    if not node:
        skip("node is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        skip("%s is not installed" % CHROMIUM)
    if not os.path.isfile(os.path.join(HERE, "node_modules", "playwright-core", "package.json")):
        skip("playwright-core is not installed in tests/serve/node_modules")
    srv = Server()
    try:
        env = dict(os.environ, MUSE_URL=srv.url + "/", MUSE_CHROMIUM=CHROMIUM)
        p = subprocess.run([node, os.path.join(HERE, "test_browser.js")], env=env, timeout=120)
        rc = p.returncode
    except BaseException:
        srv.cleanup()
        raise
    srv.finish()
    sys.exit(rc)


if __name__ == "__main__":
    main()
