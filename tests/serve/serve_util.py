"""Starting `muse serve` on an ephemeral loopback port for a test, and small
HTTP helpers. Shared by test_serve.py and test_browser.py.

The server prints "listening on URL" on stdout once it accepts connections;
that line is the only thing read from stdout. stderr (the access log) goes to
a file the test can read afterwards.
"""
import http.client
import json
import os
import select
import signal
import subprocess
import tempfile
import time

MUSE = os.environ.get("MUSE_BIN", "")
KB = os.environ.get("MUSE_KB", "")
SOURCE_ROOT = os.environ.get("MUSE_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
# ASan builds start and answer more slowly; nothing here asserts on time.
START_TIMEOUT = 30


def sanitizer_env(env):
    """Fontconfig's caches live until exit by design (see lsan.supp)."""
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
    opts = env.get("LSAN_OPTIONS", "")
    env["LSAN_OPTIONS"] = (opts + ":" if opts else "") + "suppressions=" + supp
    return env


class Server:
    def __init__(self, *args, config=None, threads=2, kb=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="muse-serve-")
        cmd = [MUSE, "serve", "--listen", "127.0.0.1:0", "--threads", str(threads)]
        if config is not None:
            path = os.path.join(self.tmp.name, "serve.json")
            with open(path, "w") as f:
                json.dump(config, f)
            os.chmod(path, 0o600)
            cmd += ["--config", path]
            self.config_path = path
        cmd += list(args)
        self.log_path = os.path.join(self.tmp.name, "stderr.log")
        self.log = open(self.log_path, "wb")
        env = sanitizer_env(dict(os.environ, MUSE_KB=kb or KB))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.url = self._read_url()
        hostport = self.url.split("//", 1)[1]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)

    def _read_url(self):
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("muse serve exited with %s: %s" % (self.proc.returncode, self.stderr()))
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                buf += chunk
                if b"\n" in buf:
                    line = buf.split(b"\n", 1)[0].decode()
                    if not line.startswith("listening on "):
                        raise RuntimeError("unexpected first line: %r" % line)
                    return line[len("listening on "):].strip()
        self.stop()
        raise RuntimeError("muse serve did not say it was listening within %d s" % START_TIMEOUT)

    def stderr(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def conn(self, timeout=30):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, raw=None):
        """Returns (status, headers dict lower-cased, body bytes)."""
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = self.conn()
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None, raw=None):
        status, hdrs, data = self.request(method, path, body, headers, raw)
        return status, hdrs, json.loads(data) if data else None

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()

    def cleanup(self):
        self.stop()
        self.tmp.cleanup()

    def finish(self):
        """Stops the server with SIGTERM and raises unless it exited 0 with
        no sanitizer report: an ASan or UBSan finding inside the server fails
        the test that ran it."""
        self.stop()
        log = self.stderr() if not self.log.closed else open(self.log_path, errors="replace").read()
        rc = self.proc.returncode
        self.tmp.cleanup()
        bad = [m for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:") if m in log]
        if rc != 0 or bad:
            raise AssertionError("muse serve exited %s %s:\n%s" % (rc, bad, log[-4000:]))


def run_muse(*args, timeout=30):
    env = sanitizer_env(dict(os.environ, MUSE_KB=KB))
    return subprocess.run([MUSE, *args], capture_output=True, text=True, env=env, timeout=timeout)
