"""Faults against a running `muse serve` (used by load.sh; run by hand):
each bad request must get the right status, and the server must still
answer /healthz afterwards. Prints one line per fault and exits 1 if any
went wrong. Traffic goes only to the loopback address given.

usage: faults.py HOST PORT
"""
import json
import socket
import sys
import threading
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
failures = 0


def exchange(raw, timeout=20, src=None):
    """Sends raw bytes, returns (status, body) of the answer, or (None, b'')
    when the server closed the connection without one."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((HOST, PORT))
    try:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data = b""
        while True:
            try:
                d = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not d:
                break
            data += d
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
    finally:
        s.close()
    if not data.startswith(b"HTTP/1.1 "):
        return None, b""
    return int(data[9:12]), data.partition(b"\r\n\r\n")[2]


def post(path, body, ctype="application/json"):
    return exchange(b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (path.encode(), ctype.encode(), len(body), body))


def get(path):
    return exchange(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())


def check(name, got, want, extra_ok=True):
    global failures
    status = got[0]
    ok = status in want and extra_ok
    health = get("/healthz")[0]
    ok = ok and health == 200
    if not ok:
        failures += 1
    print("  %-44s want %-11s got %-5s then /healthz %s  %s" % (
        name, "/".join(map(str, want)), status, health, "ok" if ok else "WRONG"))


def json_error(body):
    try:
        e = json.loads(body)["error"]
        return bool(e["code"] and e["message"])
    except (ValueError, KeyError, TypeError):
        return False


print("faults:")
for raw in (b"{", b"not json", b'{"question": }', b"[1,2]", b"", b'{"question":"x"} tail'):
    st, body = post("/v1/ask", raw)
    check("malformed JSON %r" % raw[:16], (st, body), (400,), json_error(body))
for body in ({"question": 5}, {"question": "hi", "mode": 7}, {"question": "hi", "options": []},
             {"text": ["a"]}):
    path = "/v1/safety/check" if "text" in body else "/v1/ask"
    st, b = post(path, json.dumps(body).encode())
    check("wrong type %s" % json.dumps(body)[:30], (st, b), (400,), json_error(b))

big = b'{"question": "' + b"a" * (10 * 1024 * 1024) + b'"}'
st, b = post("/v1/ask", big)
check("10 MiB body (Content-Length)", (st, b), (413,), json_error(b))
chunks = b"".join(b"%x\r\n%s\r\n" % (65536, b"a" * 65536) for _ in range(160))
st, b = exchange(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
check("10 MiB body (chunked)", (st, b), (413, None))
st, b = post("/v1/ask", b"question=hi", "application/x-www-form-urlencoded")
check("form-encoded body", (st, b), (415,), json_error(b))

for path in ("/nope", "/v2/ask", "/v1/ask/../../etc/passwd", "/../../etc/passwd",
             "/v1/kb/entries/..%2F..%2Fetc%2Fpasswd", "/v1/kb/entries/asthma%00", "/%2e%2e/%2e%2e/etc/shadow"):
    st, b = get(path)
    check("path %s" % path, (st, b), (400, 404), json_error(b) and b"root:" not in b)

payload = '<script>alert(1)</script><img src=x onerror=alert(2)>'
st, b = post("/v1/ask", json.dumps({"question": payload + " what is asthma?"}).encode())
check("HTML in a question (ask)", (st, b), (200,), b"<script" not in b and b"<img" not in b)
st, b = post("/v1/safety/check", json.dumps({"text": payload}).encode())
check("HTML in text (safety/check)", (st, b), (200,), b"<" not in b)
st, b = post("/v1/chart", json.dumps({"preset": "bp_trend", "title": payload,
                                      "readings": "Mon 142/91\nTue 138/88\nWed 135/86"}).encode())
check("HTML in a chart title", (st, b), (200, 501), b"<script" not in b and b"<img" not in b)
st, b = get("/v1/kb/search?q=%3Cscript%3E")
check("HTML in a search", (st, b), (200,), b"<" not in b)

# Slowloris: many connections from another loopback address that send a
# header byte now and then. The server must keep answering everyone else.
N, SECONDS = 64, 12
held = []
stop = threading.Event()


def slow_client():
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind(("127.0.0.2", 0))
        s.connect((HOST, PORT))
        held.append(s)
        for ch in b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            if stop.is_set():
                break
            s.send(bytes([ch]))
            time.sleep(2)
    except OSError:
        pass


threads = [threading.Thread(target=slow_client, daemon=True) for _ in range(N)]
for t in threads:
    t.start()
time.sleep(1)
served = 0
t0 = time.monotonic()
while time.monotonic() - t0 < SECONDS:
    served += get("/healthz")[0] == 200
    time.sleep(0.2)
stop.set()
for s in held:
    s.close()
ok = served >= SECONDS * 3
if not ok:
    failures += 1
print("  %-44s %d slow connections for %d s: /healthz answered %d times meanwhile  %s" % (
    "slowloris (from 127.0.0.2)", N, SECONDS, served, "ok" if ok else "WRONG"))

print("faults: %d wrong" % failures)
sys.exit(1 if failures else 0)
