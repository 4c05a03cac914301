"""`muse serve` over real HTTP on an ephemeral loopback port.

Checks what a clinic portal relies on: every path in docs/openapi.yaml
answers with a status that document lists; errors are JSON
{"error": {"code", "message"}} with the right 4xx; auth, body limits, rate
limits, CORS, path traversal and HTML in questions behave; /metrics counts;
the access log holds no question text; SIGTERM finishes a request in flight.
"""
import json
import os
import re
import signal
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import SOURCE_ROOT, Server, run_muse  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
PORTAL = "https://portal.example.org"
SRV = None


def setUpModule():
    global SRV
    # Many requests come from one address here; the rate limit has its own test.
    SRV = Server(config={"rate_limit": 0})


def tearDownModule():
    if SRV:
        SRV.finish()


def openapi_operations():
    """(path, method, {documented statuses}) from docs/openapi.yaml, read
    without a YAML library: paths are the 2-space keys under `paths:`."""
    ops = []
    in_paths = False
    path = method = None
    with open(os.path.join(SOURCE_ROOT, "docs", "openapi.yaml")) as f:
        for line in f:
            if re.match(r"^paths:\s*$", line):
                in_paths = True
                continue
            if in_paths and re.match(r"^\S", line):
                break
            if not in_paths:
                continue
            m = re.match(r"^  (/\S*):\s*$", line)
            if m:
                path = m.group(1)
                continue
            m = re.match(r"^    (get|post|put|delete|patch):\s*$", line)
            if m:
                method = m.group(1).upper()
                ops.append((path, method, set()))
                continue
            m = re.match(r"^        '(\d{3})':", line)
            if m and ops:
                ops[-1][2].add(int(m.group(1)))
    return ops


EXAMPLE_BODIES = {
    "/v1/ask": {"question": "What is asthma?", "mode": "instant"},
    "/v1/chart": {"preset": "bp_trend", "title": "Blood pressure",
                  "readings": "Mon 8am 142/91\nTue 8am 138/88\nWed 8am 135/86"},
    "/v1/report": {"text": "Mon 8am 142/91\nTue 8am 138/88\nWed 8am 135/86", "format": "json"},
    "/v1/interpret": {"text": "150/95, A1c 7.2"},
    "/v1/safety/check": {"text": "what is a normal blood pressure"},
}


def assert_json_error(tc, status, hdrs, body, want_status, want_code=None):
    tc.assertEqual(status, want_status, body)
    tc.assertTrue(hdrs.get("content-type", "").startswith("application/json"), hdrs)
    j = json.loads(body)
    tc.assertIsInstance(j.get("error"), dict, j)
    tc.assertIsInstance(j["error"].get("code"), str)
    tc.assertTrue(j["error"].get("message"), j)
    if want_code:
        tc.assertEqual(j["error"]["code"], want_code, j)
    return j["error"]


class OpenApi(unittest.TestCase):
    def test_every_documented_path_answers(self):
        ops = openapi_operations()
        self.assertGreaterEqual(len(ops), 11, ops)
        for path, method, documented in ops:
            url = path.replace("{id}", "asthma")
            if path == "/v1/kb/search":
                url += "?q=asthma"
            with self.subTest(path=path, method=method):
                status, hdrs, body = SRV.request(method, url, body=EXAMPLE_BODIES.get(path))
                self.assertNotIn(status, (404, 405), (path, body[:200]))
                self.assertIn(status, documented, (path, status, body[:300]))
                if status >= 400:
                    assert_json_error(self, status, hdrs, body, status)

    def test_openapi_served_verbatim(self):
        status, hdrs, body = SRV.request("GET", "/openapi.yaml")
        self.assertEqual(status, 200)
        with open(os.path.join(SOURCE_ROOT, "docs", "openapi.yaml"), "rb") as f:
            self.assertEqual(body, f.read())
        self.assertIn("yaml", hdrs["content-type"])

    def test_server_routes_are_documented(self):
        documented = {p for p, _, _ in openapi_operations()}
        for p in ("/v1/ask", "/v1/chart", "/v1/report", "/v1/interpret", "/v1/safety/check",
                  "/v1/kb/search", "/v1/kb/entries/{id}", "/healthz", "/metrics", "/openapi.yaml", "/"):
            self.assertIn(p, documented)


class Ask(unittest.TestCase):
    def test_answer_with_sources(self):
        status, hdrs, a = SRV.json("POST", "/v1/ask", {"question": "What is asthma?", "mode": "instant"})
        self.assertEqual(status, 200, a)
        self.assertEqual(hdrs.get("cache-control"), "no-store")
        self.assertEqual(hdrs.get("x-content-type-options"), "nosniff")
        self.assertEqual(a["safety"]["verdict"], "allow")
        self.assertEqual(a["mode"], "instant")
        self.assertTrue(a["answer"]["summary"])
        self.assertGreaterEqual(len(a["sources"]), 1)
        self.assertIn("asthma", [s["id"] for s in a["sources"]])

    def test_emergency(self):
        status, _, a = SRV.json("POST", "/v1/ask", {"question": "crushing chest pain and my left arm is numb"})
        self.assertEqual(status, 200, a)
        self.assertEqual(a["safety"]["verdict"], "emergency")
        self.assertEqual(a["answer"]["seek_care"]["level"], "emergency")
        self.assertIn("911", a["answer"]["summary"])

    def test_charts_option_attaches_specs(self):
        q = "My readings: Mon 142/91, Tue 138/88, Wed 150/95. Is that high?"
        status, _, a = SRV.json("POST", "/v1/ask", {"question": q, "options": {"charts": True}})
        self.assertEqual(status, 200, a)
        self.assertTrue(any(c.get("preset") == "bp_trend" for c in a["charts"]), a["charts"])

    def test_every_mode(self):
        for mode in ("instant", "thinking", "contemplating", "auto"):
            status, _, a = SRV.json("POST", "/v1/ask", {"question": "How is high blood pressure treated?", "mode": mode})
            self.assertEqual(status, 200, (mode, a))
            self.assertEqual(a["mode_requested"], mode)


class BadRequests(unittest.TestCase):
    def test_malformed_json(self):
        for raw in (b"{", b"{\"question\": }", b"not json", b"{\"question\": \"x\"} trailing", b""):
            with self.subTest(raw=raw):
                st, h, b = SRV.request("POST", "/v1/ask", raw=raw, headers={"Content-Type": "application/json"})
                err = assert_json_error(self, st, h, b, 400, "invalid_json")
                self.assertNotIn("<", err["message"])

    def test_malformed_json_names_position(self):
        st, h, b = SRV.request("POST", "/v1/ask", raw=b'{\n  "question": tru\n}',
                               headers={"Content-Type": "application/json"})
        err = assert_json_error(self, st, h, b, 400, "invalid_json")
        self.assertIn("line 2", err["message"])

    def test_not_an_object(self):
        for body in ([1, 2], "question", 42, None):
            with self.subTest(body=body):
                st, h, b = SRV.request("POST", "/v1/ask", body=body)
                assert_json_error(self, st, h, b, 400)

    def test_wrong_types(self):
        cases = [
            ("/v1/ask", {"question": 5}, "question"),
            ("/v1/ask", {"question": ["a"]}, "question"),
            ("/v1/ask", {"question": "hi", "mode": 3}, "mode"),
            ("/v1/ask", {"question": "hi", "mode": "sleepy"}, "mode"),
            ("/v1/ask", {"question": "hi", "options": []}, "options"),
            ("/v1/ask", {"question": "hi", "options": {"charts": "yes"}}, "charts"),
            ("/v1/safety/check", {"text": {"a": 1}}, "text"),
            ("/v1/chart", {"spec": "bp_trend"}, "spec"),
            ("/v1/chart", {"preset": "bp_trend", "readings": 7}, "readings"),
            ("/v1/interpret", {"text": 150}, "text"),
            ("/v1/interpret", {"text": "150/95", "csv": "a,b"}, "csv"),
        ]
        for path, body, field in cases:
            with self.subTest(path=path, body=body):
                st, h, b = SRV.request("POST", path, body=body)
                err = assert_json_error(self, st, h, b, 400)
                self.assertIn(field, err["message"])

    def test_missing_field(self):
        st, h, b = SRV.request("POST", "/v1/ask", body={"q": "hi"})
        err = assert_json_error(self, st, h, b, 400, "missing_field")
        self.assertIn("question", err["message"])

    def test_empty_question(self):
        st, h, b = SRV.request("POST", "/v1/ask", body={"question": "   "})
        assert_json_error(self, st, h, b, 400)

    def test_wrong_content_type(self):
        st, h, b = SRV.request("POST", "/v1/ask", raw=b"question=hi",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_json_error(self, st, h, b, 415, "unsupported_media_type")

    def test_bad_chart_format(self):
        st, h, b = SRV.request("POST", "/v1/chart", body={"preset": "bp_trend", "data": [], "format": "gif"})
        err = assert_json_error(self, st, h, b, 400)
        self.assertIn("format", err["message"])

    def test_kb_search_needs_q(self):
        st, h, b = SRV.request("GET", "/v1/kb/search")
        assert_json_error(self, st, h, b, 400, "missing_field")
        st, h, b = SRV.request("GET", "/v1/kb/search?q=asthma&limit=0")
        assert_json_error(self, st, h, b, 400)
        st, h, b = SRV.request("GET", "/v1/kb/search?q=asthma&kind=wizard")
        assert_json_error(self, st, h, b, 400)


class Limits(unittest.TestCase):
    def test_body_over_limit_with_length(self):
        """Refused from the declared Content-Length, before the body is sent."""
        s = socket.create_connection((SRV.host, SRV.port), timeout=20)
        try:
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % (10 * 1024 * 1024))
            data = b""
            while b"}}" not in data:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 413"), head)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], "payload_too_large")
        self.assertIn("1048576", err["message"])

    def test_chunked_body_over_limit(self):
        """No Content-Length to refuse up front: the server stops reading at
        the limit and answers 413 (or drops the connection), and keeps serving."""
        s = socket.create_connection((SRV.host, SRV.port), timeout=20)
        try:
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"a" * 65536
            sent = 0
            try:
                while sent < 3 * 1024 * 1024:
                    s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            data = b""
            try:
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    data += d
                    if b"\r\n\r\n" in data and b"}}" in data:
                        break
            except (ConnectionResetError, socket.timeout):
                pass
            if data:
                self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
                self.assertIn(b"payload_too_large", data)
        finally:
            s.close()
        st, _, _ = SRV.request("GET", "/healthz")
        self.assertEqual(st, 200)

    def test_unknown_paths_404(self):
        for path in ("/nope", "/v1", "/v1/ask/extra", "/v2/ask", "/index.php", "/v1/kb/entries/"):
            with self.subTest(path=path):
                st, h, b = SRV.request("GET", path)
                assert_json_error(self, st, h, b, 404, "not_found")

    def test_unknown_entry_404(self):
        st, h, b = SRV.request("GET", "/v1/kb/entries/no-such-entry-here")
        assert_json_error(self, st, h, b, 404, "not_found")

    def test_wrong_method_405(self):
        for method, path, allow in (("GET", "/v1/ask", "POST"), ("PUT", "/v1/ask", "POST"),
                                    ("POST", "/healthz", "GET"), ("DELETE", "/v1/kb/entries/asthma", "GET")):
            with self.subTest(method=method, path=path):
                st, h, b = SRV.request(method, path)
                assert_json_error(self, st, h, b, 405, "method_not_allowed")
                self.assertIn(allow, h.get("allow", ""))

    def test_path_traversal(self):
        paths = ["/../../etc/passwd", "/v1/kb/entries/../../../etc/passwd",
                 "/v1/kb/entries/..%2F..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                 "/v1/kb/entries/%2e%2e", "/v1/kb/entries/asthma%00.json", "/./openapi.yaml/../../etc/passwd",
                 "/web/../../../../etc/shadow", "//etc/passwd"]
        for p in paths:
            with self.subTest(path=p):
                st, h, b = SRV.request("GET", p)
                self.assertIn(st, (400, 404), (p, st))
                self.assertNotIn(b"root:", b)
                assert_json_error(self, st, h, b, st)

    def test_slow_client_is_dropped(self):
        """A client that sends headers and then nothing is cut off after the
        idle timeout (slowloris), and the server keeps serving others."""
        srv = Server(config={"timeout": 1})
        try:
            s = socket.create_connection((srv.host, srv.port), timeout=15)
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n")
            t0 = time.monotonic()
            data = b""
            try:
                data = s.recv(100)
            except ConnectionResetError:
                pass
            waited = time.monotonic() - t0
            s.close()
            self.assertEqual(data, b"")
            self.assertLess(waited, 14)
            st, _, _ = srv.request("GET", "/healthz")
            self.assertEqual(st, 200)
        finally:
            srv.cleanup()


class HtmlEscaping(unittest.TestCase):
    PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    def test_ask_escapes_html(self):
        q = self.PAYLOAD + " what is asthma?"
        st, h, raw = SRV.request("POST", "/v1/ask", body={"question": q})
        self.assertEqual(st, 200, raw)
        self.assertNotIn(b"<script", raw)
        self.assertNotIn(b"<img", raw)
        a = json.loads(raw)
        self.assertEqual(a["query"], q)

    def test_safety_and_search_escape_html(self):
        st, _, raw = SRV.request("POST", "/v1/safety/check", body={"text": self.PAYLOAD})
        self.assertEqual(st, 200, raw)
        self.assertNotIn(b"<", raw)
        st, _, raw = SRV.request("GET", "/v1/kb/search?q=%3Cscript%3Easthma")
        self.assertEqual(st, 200, raw)
        self.assertNotIn(b"<", raw)
        self.assertEqual(json.loads(raw)["query"], "<script>asthma")

    def test_errors_escape_html(self):
        st, _, raw = SRV.request("POST", "/v1/ask", body={"question": "hi", "mode": "<b>x</b>"})
        self.assertEqual(st, 400)
        self.assertNotIn(b"<", raw)

    def test_chart_title_escaped(self):
        st, h, raw = SRV.request("POST", "/v1/chart", body={
            "preset": "bp_trend", "title": self.PAYLOAD, "readings": "Mon 142/91\nTue 138/88\nWed 135/86"})
        if st == 501:
            self.skipTest("charts are not in this build")
        self.assertEqual(st, 200, raw[:300])
        self.assertIn("image/svg+xml", h["content-type"])
        self.assertNotIn(b"<script", raw)
        self.assertNotIn(b"<img", raw)


class Charts(unittest.TestCase):
    def test_readings_to_svg(self):
        st, h, raw = SRV.request("POST", "/v1/chart", body=EXAMPLE_BODIES["/v1/chart"])
        if st == 501:
            assert_json_error(self, st, h, raw, 501, "not_implemented")
            self.skipTest("charts are not in this build")
        self.assertEqual(st, 200, raw[:300])
        self.assertTrue(h["content-type"].startswith("image/svg+xml"))
        self.assertIn(b"<svg", raw)
        self.assertIn(b"tabindex", raw)   # data points take keyboard focus

    def test_format_by_accept_and_field(self):
        body = dict(EXAMPLE_BODIES["/v1/chart"])
        st, h, raw = SRV.request("POST", "/v1/chart", body=body, headers={"Accept": "image/png"})
        if st == 501:
            self.skipTest("charts are not in this build")
        self.assertEqual(st, 200, raw[:300])
        self.assertEqual(h["content-type"], "image/png")
        self.assertTrue(raw.startswith(b"\x89PNG\r\n\x1a\n"))
        body["format"] = "pdf"
        st, h, raw = SRV.request("POST", "/v1/chart", body=body)
        self.assertEqual(st, 200)
        self.assertTrue(raw.startswith(b"%PDF-"))

    def test_readings_without_bp(self):
        st, h, raw = SRV.request("POST", "/v1/chart", body={"preset": "bp_trend", "readings": "nothing here"})
        assert_json_error(self, st, h, raw, 400)

    def test_report_and_interpret_are_json_or_501(self):
        for path in ("/v1/report", "/v1/interpret"):
            st, h, raw = SRV.request("POST", path, body=EXAMPLE_BODIES[path])
            with self.subTest(path=path):
                if st == 501:
                    err = assert_json_error(self, st, h, raw, 501, "not_implemented")
                    self.assertIn("not in this build", err["message"])
                else:
                    self.assertEqual(st, 200, raw[:300])
                    self.assertIsInstance(json.loads(raw), dict)


class KnowledgeStore(unittest.TestCase):
    def test_search(self):
        st, _, j = SRV.json("GET", "/v1/kb/search?q=asthma&limit=3")
        self.assertEqual(st, 200, j)
        self.assertEqual(j["results"][0]["id"], "asthma")
        self.assertLessEqual(len(j["results"]), 3)
        self.assertIn(j["results"][0]["review_status"], ("draft", "reviewed"))

    def test_entry(self):
        st, _, e = SRV.json("GET", "/v1/kb/entries/asthma")
        self.assertEqual(st, 200, e)
        self.assertEqual(e["id"], "asthma")
        self.assertTrue(e["sections"])
        self.assertTrue(e["sources"])
        self.assertIn(e["review"]["status"], ("draft", "reviewed"))


def metric(srv, name):
    """A value from /metrics (None when absent)."""
    st, _, raw = srv.request("GET", "/metrics")
    m = re.search("^" + re.escape(name) + r" (\S+)$", raw.decode(), re.M)
    return float(m.group(1)) if m else None


class AnswerCache(unittest.TestCase):
    """The in-memory answer cache (docs/http-api.md#answer-cache)."""

    def ask(self, srv, body):
        status, hdrs, raw = srv.request("POST", "/v1/ask", body=body)
        self.assertEqual(status, 200, raw[:300])
        return hdrs.get("x-muse-cache"), raw

    def test_hit_after_identical_request(self):
        body = {"question": "What causes gout?", "mode": "instant"}
        hits = metric(SRV, "muse_answer_cache_hits_total")
        self.assertEqual(self.ask(SRV, body)[0], "miss")
        state, first = self.ask(SRV, body)
        self.assertEqual(state, "hit")
        # The same request in another spelling: field order, spacing, an
        # escape, the default mode said out loud, charts off said out loud.
        raw = b'{ "mode" :"instant",\n "question": "What causes gout\\u003f", "options": {"charts": false}}'
        status, hdrs, again = SRV.request("POST", "/v1/ask", raw=raw,
                                          headers={"Content-Type": "application/json"})
        self.assertEqual((status, hdrs.get("x-muse-cache")), (200, "hit"))
        self.assertEqual(again, first)
        self.assertEqual(json.loads(first)["query"], "What causes gout?")
        self.assertEqual(metric(SRV, "muse_answer_cache_hits_total"), hits + 2)
        self.assertEqual(metric(SRV, "muse_answer_cache_misses_total") >= 1, True)

    def test_miss_when_mode_or_option_changes(self):
        q = "How is eczema treated?"
        self.assertEqual(self.ask(SRV, {"question": q, "mode": "instant"})[0], "miss")
        self.assertEqual(self.ask(SRV, {"question": q, "mode": "instant"})[0], "hit")
        state, thinking = self.ask(SRV, {"question": q, "mode": "thinking"})
        self.assertEqual(state, "miss")
        self.assertEqual(json.loads(thinking)["mode_requested"], "thinking")
        self.assertEqual(self.ask(SRV, {"question": q, "mode": "instant", "options": {"charts": True}})[0], "miss")
        # Not case-folded: capitals change what the safety screen reads.
        self.assertEqual(self.ask(SRV, {"question": q.upper(), "mode": "instant"})[0], "miss")

    def test_emergencies_and_personal_details_are_not_kept(self):
        for q in ("crushing chest pain and my left arm is numb",
                  "My name is Margaret Thompson, born 03/04/1961: what is a normal blood pressure?"):
            with self.subTest(q=q):
                self.assertEqual(self.ask(SRV, {"question": q})[0], "miss")
                self.assertEqual(self.ask(SRV, {"question": q})[0], "miss")

    def test_disabled_with_zero(self):
        srv = Server(config={"rate_limit": 0, "answer_cache": 0})
        try:
            for _ in range(2):
                state, _ = self.ask(srv, {"question": "What causes gout?", "mode": "instant"})
                self.assertIsNone(state)
            self.assertEqual(metric(srv, "muse_answer_cache_hits_total"), 0)
            self.assertEqual(metric(srv, "muse_answer_cache_misses_total"), 0)
            self.assertEqual(metric(srv, "muse_answer_cache_entries"), 0)
        finally:
            srv.cleanup()

    def test_eviction_at_the_bound(self):
        srv = Server(config={"rate_limit": 0, "answer_cache": 2})
        try:
            qs = ["What causes gout?", "What is asthma?", "How is eczema treated?"]
            for q in qs:
                self.assertEqual(self.ask(srv, {"question": q, "mode": "instant"})[0], "miss")
            self.assertEqual(metric(srv, "muse_answer_cache_entries"), 2)
            self.assertEqual(metric(srv, "muse_answer_cache_evictions_total"), 1)
            # The least recently used went; the two newest stay.
            self.assertEqual(self.ask(srv, {"question": qs[2], "mode": "instant"})[0], "hit")
            self.assertEqual(self.ask(srv, {"question": qs[1], "mode": "instant"})[0], "hit")
            self.assertEqual(self.ask(srv, {"question": qs[0], "mode": "instant"})[0], "miss")
            # Asking qs[0] again pushed out qs[2], used least recently.
            self.assertEqual(self.ask(srv, {"question": qs[1], "mode": "instant"})[0], "hit")
            self.assertEqual(self.ask(srv, {"question": qs[2], "mode": "instant"})[0], "miss")
        finally:
            srv.cleanup()

    def test_max_age(self):
        srv = Server(config={"rate_limit": 0, "answer_cache_max_age": 1})
        try:
            body = {"question": "What causes gout?", "mode": "instant"}
            self.assertEqual(self.ask(srv, body)[0], "miss")
            self.assertEqual(self.ask(srv, body)[0], "hit")
            time.sleep(1.5)
            self.assertEqual(self.ask(srv, body)[0], "miss")
            # An old answer leaves memory at the next request of any kind,
            # even when its question is not asked again.
            time.sleep(1.5)
            self.assertEqual(srv.request("GET", "/healthz")[0], 200)
            self.assertEqual(metric(srv, "muse_answer_cache_entries"), 0)
        finally:
            srv.cleanup()

    def test_store_change_empties_it(self):
        import shutil
        import sqlite3
        import tempfile
        with tempfile.TemporaryDirectory(prefix="muse-cache-kb-") as d:
            kb = os.path.join(d, "muse.db")
            shutil.copy(os.environ["MUSE_KB"], kb)
            srv = Server(config={"rate_limit": 0}, kb=kb)
            try:
                body = {"question": "What is asthma?", "mode": "instant"}
                self.assertEqual(self.ask(srv, body)[0], "miss")
                self.assertEqual(self.ask(srv, body)[0], "hit")
                db = sqlite3.connect(kb)
                db.execute("UPDATE entries SET title = 'Asthma (retitled)' WHERE id = 'asthma'")
                db.commit()
                db.close()
                state, raw = self.ask(srv, body)
                self.assertEqual(state, "miss")
                titles = [x["title"] for x in json.loads(raw)["sources"] if x["id"] == "asthma"]
                self.assertEqual(titles, ["Asthma (retitled)"])
            finally:
                srv.cleanup()

    def test_config_bounds(self):
        for bad in ('{"answer_cache": -1}', '{"answer_cache": "big"}', '{"answer_cache_max_age": 0}'):
            with self.subTest(config=bad):
                self.assertIn('"answer_cache', StartUp.config_error(self, bad))


class HealthMetricsLog(unittest.TestCase):
    def test_healthz(self):
        st, _, j = SRV.json("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertEqual(j["status"], "ok")
        self.assertGreater(j["kb"]["entries"], 100)

    def test_page(self):
        st, h, raw = SRV.request("GET", "/")
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        csp = h.get("content-security-policy", "")
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        # Nothing is loaded from anywhere else.
        for page in ("/", "/app.js", "/style.css"):
            st, _, body = SRV.request("GET", page)
            self.assertEqual(st, 200, page)
            self.assertIsNone(re.search(rb"""(src|href)\s*=\s*["']?(https?:)?//""", body), page)
            self.assertNotIn(b"@import", body)
        self.assertNotIn(b"innerHTML", SRV.request("GET", "/app.js")[2])

    def test_metrics_count_requests_and_verdicts(self):
        SRV.request("POST", "/v1/ask", body={"question": "I want to kill myself"})
        SRV.request("GET", "/nope")
        # A request is counted when its connection is done with it, a moment
        # after the client has the answer: poll briefly.
        deadline = time.monotonic() + 10
        while True:
            st, h, raw = SRV.request("GET", "/metrics")
            self.assertEqual(st, 200)
            text = raw.decode()
            if 'route="other",status="404"' in text or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(h["content-type"].startswith("text/plain"))

        def value(pattern):
            m = re.search("^" + pattern + r" (\d+(?:\.\d+)?)$", text, re.M)
            self.assertIsNotNone(m, pattern + "\n" + text[:2000])
            return float(m.group(1))

        self.assertGreaterEqual(value(r'muse_http_requests_total\{route="/v1/ask",status="200"\}'), 1)
        self.assertGreaterEqual(value(r'muse_http_requests_total\{route="other",status="404"\}'), 1)
        self.assertGreaterEqual(value(r'muse_safety_verdicts_total\{endpoint="/v1/ask",verdict="crisis"\}'), 1)
        n = value(r'muse_http_request_duration_seconds_count\{route="/v1/ask"\}')
        inf = value(r'muse_http_request_duration_seconds_bucket\{route="/v1/ask",le="\+Inf"\}')
        self.assertEqual(n, inf)
        self.assertIn("# TYPE muse_http_request_duration_seconds histogram", text)

    def test_access_log_has_no_question_or_query(self):
        marker = "zanzibarquokka"
        SRV.request("POST", "/v1/ask", body={"question": "My name is " + marker + " and my chest hurts"})
        SRV.request("GET", "/v1/kb/search?q=" + marker)
        deadline = time.monotonic() + 10   # logged once the connection is done with it
        log = SRV.stderr()
        while "GET /v1/kb/search 200" not in log and time.monotonic() < deadline:
            time.sleep(0.1)
            log = SRV.stderr()
        self.assertNotIn(marker, log)
        self.assertRegex(log, r"muse\[access\]: POST /v1/ask 200 [\d.]+ms \d+B")
        self.assertRegex(log, r"muse\[access\]: GET /v1/kb/search 200 ")


class Security(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(config={"tokens": [TOKEN], "cors_origins": [PORTAL],
                                 "rate_limit": {"per_second": 0.5, "burst": 40}})

    @classmethod
    def tearDownClass(cls):
        cls.srv.finish()

    def auth(self, token=TOKEN):
        return {"Authorization": "Bearer " + token}

    def test_token_required(self):
        st, h, b = self.srv.request("POST", "/v1/ask", body={"question": "What is asthma?"})
        assert_json_error(self, st, h, b, 401, "unauthorized")
        self.assertIn("Bearer", h.get("www-authenticate", ""))
        for bad in ("wrong-token-0123456789abcdef", TOKEN + "x", TOKEN[:-1], ""):
            st, h, b = self.srv.request("POST", "/v1/ask", body={"question": "hi"}, headers=self.auth(bad))
            self.assertEqual(st, 401, bad)
        st, _, a = self.srv.json("POST", "/v1/ask", {"question": "What is asthma?"}, headers=self.auth())
        self.assertEqual(st, 200, a)
        st, _, _ = self.srv.request("GET", "/metrics")
        self.assertEqual(st, 401)
        st, _, _ = self.srv.request("GET", "/metrics", headers=self.auth())
        self.assertEqual(st, 200)

    def test_open_paths_need_no_token(self):
        for p in ("/healthz", "/", "/openapi.yaml", "/app.js"):
            st, _, _ = self.srv.request("GET", p)
            self.assertEqual(st, 200, p)

    def test_cors_allowed_origin(self):
        st, h, _ = self.srv.request("OPTIONS", "/v1/ask", headers={
            "Origin": PORTAL, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(st, 204)
        self.assertEqual(h.get("access-control-allow-origin"), PORTAL)
        self.assertIn("POST", h.get("access-control-allow-methods", ""))
        self.assertIn("Authorization", h.get("access-control-allow-headers", ""))
        st, h, _ = self.srv.request("POST", "/v1/ask", body={"question": "What is asthma?"},
                                    headers=dict(self.auth(), Origin=PORTAL))
        self.assertEqual(st, 200)
        self.assertEqual(h.get("access-control-allow-origin"), PORTAL)
        self.assertIn("Origin", h.get("vary", ""))

    def test_cors_other_origin(self):
        st, h, b = self.srv.request("OPTIONS", "/v1/ask", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert_json_error(self, st, h, b, 403, "cors_forbidden")
        self.assertNotIn("access-control-allow-origin", h)
        st, h, _ = self.srv.request("GET", "/healthz", headers={"Origin": "https://evil.example"})
        self.assertNotIn("access-control-allow-origin", h)

    def test_rate_limit(self):
        srv = Server(config={"rate_limit": {"per_second": 0.5, "burst": 3}})
        try:
            statuses = []
            for _ in range(6):
                st, h, b = srv.request("GET", "/v1/kb/search?q=asthma")
                statuses.append(st)
                if st == 429:
                    err = assert_json_error(self, st, h, b, 429, "too_many_requests")
                    self.assertGreaterEqual(int(h["retry-after"]), 1)
                    self.assertIn("retry", err["message"])
            self.assertEqual(statuses[:3], [200, 200, 200])
            self.assertIn(429, statuses)
            st, _, _ = srv.request("GET", "/healthz")   # health checks are never limited
            self.assertEqual(st, 200)
        finally:
            srv.cleanup()


class StartUp(unittest.TestCase):
    def test_refuses_beyond_loopback_without_tokens(self):
        p = run_muse("serve", "--listen", "0.0.0.0:0")
        self.assertEqual(p.returncode, 1)
        self.assertIn("tokens", p.stderr)
        self.assertIn("0.0.0.0", p.stderr)
        self.assertEqual(p.stdout, "")

    def config_error(self, text):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write(text)
        try:
            p = run_muse("serve", "--listen", "127.0.0.1:0", "--config", f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f.name, p.stderr)
        return p.stderr

    def test_config_errors_name_file_and_field(self):
        self.assertIn('"body_limit"', self.config_error('{"body_limit": "big"}'))
        self.assertIn('"tokens"[0]', self.config_error('{"tokens": ["short"]}'))
        self.assertIn('"cors_origins"[0]', self.config_error('{"cors_origins": ["portal.example.org/x"]}'))
        self.assertIn('"bodylimit"', self.config_error('{"bodylimit": 5}'))
        self.assertIn(":2:", self.config_error('{\n  "threads": ,\n}'))
        self.assertIn('"rate_limit"', self.config_error('{"rate_limit": "fast"}'))

    def test_usage_errors(self):
        p = run_muse("serve", "--bogus")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--bogus", p.stderr)
        p = run_muse("serve", "--listen", "localhost:99999")
        self.assertEqual(p.returncode, 2)
        p = run_muse("serve", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("usage: muse serve", p.stdout)


class Shutdown(unittest.TestCase):
    def test_sigterm_finishes_request_in_flight(self):
        srv = Server()
        try:
            body = json.dumps({"question": "What is asthma?", "mode": "instant"}).encode()
            s = socket.create_connection((srv.host, srv.port), timeout=20)
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(0.3)
            srv.signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertIsNone(srv.proc.poll(), "the server must wait for the request in flight")
            # No new connections once stopping.
            with self.assertRaises(OSError):
                c = socket.create_connection((srv.host, srv.port), timeout=2)
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if not c.recv(100):
                    raise ConnectionResetError("closed")
            s.sendall(body[10:])
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
            head, _, payload = data.partition(b"\r\n\r\n")
            self.assertIn(b"asthma", payload)
            self.assertEqual(srv.wait(30), 0)
            self.assertIn("stopped", srv.stderr())
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
