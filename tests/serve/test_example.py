"""docs/example/muse_example.c built against the *installed* libmuse.

Installs the build into a temporary DESTDIR with `meson install`, finds
muse.pc there, compiles the example with the flags pkg-config gives, and runs
it: an answer, a safety verdict, several threads on one muse_t, a chart.
Argument 1 is the build's b_sanitize option: a sanitized libmuse needs the
program linked with the same runtime.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import sanitizer_env  # noqa: E402

BUILD = os.environ["MUSE_BUILD_ROOT"]
SOURCE = os.environ["MUSE_SOURCE_ROOT"]
KB = os.environ["MUSE_KB"]
SANITIZE = sys.argv[1] if len(sys.argv) > 1 else "none"
TMP = None
EXES = {}
LIBDIR = None


def setUpModule():
    global TMP, LIBDIR
    TMP = tempfile.mkdtemp(prefix="muse-install-")
    dest = os.path.join(TMP, "dest")
    p = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--quiet", "--destdir", dest],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("meson install failed:\n" + p.stdout + p.stderr)
    pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == "muse.pc"]
    if not pcs:
        raise RuntimeError("muse.pc was not installed under " + dest)
    pc = pcs[0]
    prefix = None
    with open(pc) as f:
        for line in f:
            if line.startswith("prefix="):
                prefix = line.split("=", 1)[1].strip()
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc))
    define = ["--define-variable=prefix=" + dest + prefix]
    flags = subprocess.run(["pkg-config", *define, "--cflags", "--libs", "muse"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    LIBDIR = subprocess.run(["pkg-config", *define, "--variable=libdir", "muse"], env=env,
                            capture_output=True, text=True, check=True).stdout.strip()
    cc = os.environ.get("CC", "cc")
    san = ["-fsanitize=" + SANITIZE] if SANITIZE not in ("", "none") else []
    for name in ("muse_example", "muse_answer"):
        if name == "muse_answer" and not header_declares(dest, "muse_answer_t"):
            continue   # muse_ask() is not in this build's muse.h: test_ask_struct says so
        exe = os.path.join(TMP, name)
        cmd = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", *san,
               os.path.join(SOURCE, "docs", "example", name + ".c"), *flags, "-pthread", "-o", exe]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("compiling %s failed:\n%s\n%s" % (name, " ".join(cmd), p.stderr))
        EXES[name] = exe


def header_declares(dest, name):
    for d, _, fs in os.walk(dest):
        if "muse.h" in fs:
            with open(os.path.join(d, "muse.h")) as f:
                return name in f.read()
    return False


def tearDownModule():
    if TMP:
        shutil.rmtree(TMP, ignore_errors=True)


def run(*args, exe="muse_example"):
    env = sanitizer_env(dict(os.environ, MUSE_KB=KB, LD_LIBRARY_PATH=LIBDIR))
    return subprocess.run([EXES[exe], *args], capture_output=True, text=True, env=env, timeout=120)


class Example(unittest.TestCase):
    def test_links_the_installed_shared_library(self):
        p = subprocess.run(["ldd", EXES["muse_example"]], capture_output=True, text=True,
                           env=dict(os.environ, LD_LIBRARY_PATH=LIBDIR))
        self.assertIn(os.path.realpath(LIBDIR), os.path.realpath(
            [l for l in p.stdout.splitlines() if "libmuse" in l][0].split("=>")[1].split("(")[0].strip()))

    def test_ask_json(self):
        p = run("ask", "What is asthma?")
        self.assertEqual(p.returncode, 0, p.stderr)
        a = json.loads(p.stdout)
        self.assertEqual(a["safety"]["verdict"], "allow")
        self.assertIn("asthma", [s["id"] for s in a["sources"]])

    def struct_example(self):
        if "muse_answer" not in EXES:
            self.skipTest("muse_ask() and muse_answer_t are not declared in this build's muse.h")
        return "muse_answer"

    def test_ask_struct(self):
        p = run("What is asthma?", exe=self.struct_example())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\n## .+\n.+ \[asthma\]\n")       # a section citing its entry
        self.assertRegex(p.stdout, r"\n  asthma: Asthma \((draft|reviewed)\) https?://")
        self.assertRegex(p.stdout, r"seek care: (self_care|routine|urgent|emergency)\n")

    def test_ask_struct_emergency(self):
        p = run("crushing chest pain and my left arm is numb", exe=self.struct_example())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("[emergency] "), p.stdout)
        self.assertIn("911", p.stdout)

    def test_safety(self):
        p = run("safety", "crushing chest pain and my left arm is numb")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["verdict"], "emergency")

    def test_threads_share_one_handle(self):
        p = run("threads", "8", "How is high blood pressure treated?")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("8 threads answered; answers identical: yes", p.stdout)

    def test_chart(self):
        out = os.path.join(TMP, "bp.svg")
        p = run("chart", out)
        if p.returncode != 0 and "not supported" in p.stderr:
            self.skipTest("charts are not in this build")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertIn(b"<svg", f.read())

    def test_errors_are_messages(self):
        env = sanitizer_env(dict(os.environ, MUSE_KB="/nonexistent/muse.db", LD_LIBRARY_PATH=LIBDIR))
        p = subprocess.run([EXES["muse_example"], "ask", "hi"], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("/nonexistent/muse.db", p.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
