#!/usr/bin/env bash
# Load and faults for `muse serve`, run by hand (or in CI's long mode); prints
# figures, asserts nothing about speed.
#
#   tests/serve/load.sh [--build DIR] [--duration S] [--soak S] [--connections N]
#
# 1. wrk against a libmicrohttpd hello-world (tests/serve/mhd_hello.c) with
#    the same thread pool, GET /healthz, and POST /v1/ask (instant) twice:
#    one question asked again and again with the answer cache on (what the
#    cache serves: every request after the first is a hit), and the
#    questions of tests/core/eval.jsonl in turn with the cache off (what the
#    engine itself answers per second). All in the same run: requests/s,
#    p50, p99, errors, and each as a share of hello-world. The machine's load
#    average is printed before and after: on a shared machine the figures
#    move with it.
# 2. A soak: /v1/ask under load for --soak seconds (default 600), the
#    eval questions in turn against a cache of 50 answers (so the engine
#    runs and the cache evicts all along), with the server's RSS sampled
#    along the way and its growth printed.
# 3. Faults (tests/serve/faults.py) while wrk keeps /v1/ask busy: malformed
#    JSON, wrong types, 10 MiB bodies, unknown paths, path traversal, HTML in
#    questions, slowloris clients; each must get the right status and the
#    server must keep answering.
# 4. SIGTERM under load: the server must exit 0.
#
# Everything listens on and talks to 127.0.0.1 (and 127.0.0.2 as a second
# client address); every loop is bounded in time.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$root/build"
duration=15
soak=600
conns=64
while [ $# -gt 0 ]; do
    case "$1" in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --soak) soak=$2; shift 2 ;;
        --connections) conns=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "load.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "load.sh: installing wrk with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 || {
            apt-get update -qq >/dev/null 2>&1
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1
        }
    fi
    command -v wrk >/dev/null 2>&1 || { echo "load.sh: wrk is needed: sudo apt-get install wrk" >&2; exit 1; }
fi
muse="$build/muse"
kb="$build/muse.db"
[ -x "$muse" ] && [ -f "$kb" ] || { echo "load.sh: build first: $muse and $kb are missing" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

threads=$(nproc)
cc -O2 -o "$tmp/mhd_hello" "$root/tests/serve/mhd_hello.c" $(pkg-config --cflags --libs libmicrohttpd) || exit 1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_muse CONFIG_JSON: starts muse serve, sets $muse_pid and $muse_port.
# (One at a time: stop the last one first.)
start_muse() {
    echo "$1" > "$tmp/serve.json"
    MUSE_KB="$kb" "$muse" serve --listen 127.0.0.1:0 --config "$tmp/serve.json" >"$tmp/url" 2>"$tmp/serve.log" &
    muse_pid=$!
    pids+=("$muse_pid")
    for _ in $(seq 100); do
        grep -q "^listening on" "$tmp/url" 2>/dev/null && break
        sleep 0.1
    done
    muse_port=$(sed -n 's/^listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/url")
    [ -n "$muse_port" ] || { echo "load.sh: muse serve did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }

cat > "$tmp/ask.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"question": "What is a normal blood pressure?", "mode": "instant"}'
wrk.headers["Content-Type"] = "application/json"
EOF

# The eval questions in turn, each wrk thread starting at its own place.
python3 - "$root/tests/core/eval.jsonl" > "$tmp/distinct.lua" <<'PY'
import json, sys
qs = [json.loads(l)["q"] for l in open(sys.argv[1]) if l.strip()]
print("local bodies = {")
for q in qs:
    body = json.dumps({"question": q, "mode": "instant"})
    assert "]==]" not in body
    print("  [==[%s]==]," % body)
print("}")
print('''local i = 0
local headers = {["Content-Type"] = "application/json"}
init = function(args) i = math.random(#bodies) end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, headers, bodies[i])
end''')
PY
nq=$(grep -c . "$root/tests/core/eval.jsonl")

# metric NAME: a value from the running muse's /metrics.
metric() { python3 -c "
import re, sys, urllib.request
t = urllib.request.urlopen('http://127.0.0.1:$muse_port/metrics').read().decode()
m = re.search(r'^' + re.escape(sys.argv[1]) + r' (\S+)$', t, re.M)
print(m.group(1) if m else '?')" "$1"; }

# run_wrk NAME URL [LUA] [SECONDS]: prints one line of figures.
run_wrk() {
    local name=$1 url=$2 lua=${3:-} secs=${4:-$duration}
    local args=(-t2 -c"$conns" -d"${secs}s" --latency --timeout 10s)
    [ -n "$lua" ] && args+=(-s "$lua")
    wrk "${args[@]}" "$url" > "$tmp/wrk.out" 2>&1
    python3 - "$name" "$tmp/wrk.out" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
errs = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
print("  %-26s %10.0f req/s   p50 %8.2f ms   p99 %8.2f ms   errors %d" % (
    name, float(rps.group(1)) if rps else 0, ms(p50.group(1)) if p50 else float("nan"),
    ms(p99.group(1)) if p99 else float("nan"), errs))
with open(sys.argv[2] + ".rps", "w") as f:
    f.write(rps.group(1) if rps else "0")
PY
}

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $conns connections, ${duration}s per run; threads $threads"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
limits='"rate_limit": 0, "access_log": false, "per_ip_connections": 4096, "connection_limit": 4096'
start_muse "{$limits}"
hello_port=$(free_port)
"$tmp/mhd_hello" "$hello_port" "$threads" &
pids+=("$!")
sleep 0.3

echo "throughput:"
run_wrk "hello-world (libmicrohttpd)" "http://127.0.0.1:$hello_port/"
hello=$(cat "$tmp/wrk.out.rps")
run_wrk "muse GET /healthz" "http://127.0.0.1:$muse_port/healthz"
health=$(cat "$tmp/wrk.out.rps")
run_wrk "/v1/ask, 1 question, cache" "http://127.0.0.1:$muse_port/v1/ask" "$tmp/ask.lua"
cached=$(cat "$tmp/wrk.out.rps")
echo "    (cache hits $(metric muse_answer_cache_hits_total), misses $(metric muse_answer_cache_misses_total))"
kill "$muse_pid"; wait "$muse_pid" 2>/dev/null
start_muse "{$limits, \"answer_cache\": 0}"
run_wrk "/v1/ask, $nq questions, no cache" "http://127.0.0.1:$muse_port/v1/ask" "$tmp/distinct.lua"
engine=$(cat "$tmp/wrk.out.rps")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 -c "
import sys; h, z, c, e = map(float, sys.argv[1:])
print('  as a share of hello-world: /healthz %.1f%%; /v1/ask from the answer cache (one question) %.1f%%;' % (100*z/h, 100*c/h))
print('  /v1/ask answered by the engine (distinct questions, cache off) %.1f%%' % (100*e/h))" "$hello" "$health" "$cached" "$engine"

echo "soak: /v1/ask under load for ${soak}s ($nq questions in turn, a cache of 50 answers)"
kill "$muse_pid"; wait "$muse_pid" 2>/dev/null
start_muse "{$limits, \"answer_cache\": 50}"
rss0=$(rss_kb "$muse_pid")
( wrk -t2 -c"$conns" -d"${soak}s" --timeout 10s -s "$tmp/distinct.lua" "http://127.0.0.1:$muse_port/v1/ask" > "$tmp/soak.out" 2>&1 ) &
wrk_pid=$!
step=$(( soak / 10 )); [ "$step" -lt 1 ] && step=1
peak=$rss0
elapsed=0
while kill -0 "$wrk_pid" 2>/dev/null; do
    sleep "$step"
    elapsed=$((elapsed + step))
    r=$(rss_kb "$muse_pid")
    [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
    [ -n "$r" ] && printf '  t=%4ds rss %7s MiB\n' "$elapsed" "$(mib "$r")"
done
wait "$wrk_pid"
rss1=$(rss_kb "$muse_pid")
reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/soak.out")
soak_errs=$(python3 -c "
import re,sys; t=open(sys.argv[1]).read()
n=re.search(r'Non-2xx or 3xx responses: (\d+)',t); s=re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',t)
print((int(n.group(1)) if n else 0)+(sum(map(int,s.groups())) if s else 0))" "$tmp/soak.out")
printf '  %s requests, %s errors; RSS %s MiB at start, %s MiB at end (growth %s MiB), peak %s MiB\n' \
    "${reqs:-?}" "$soak_errs" "$(mib "$rss0")" "$(mib "$rss1")" "$(mib "$((rss1 - rss0))")" "$(mib "$peak")"
echo "  answer cache: $(metric muse_answer_cache_entries) entries, $(metric muse_answer_cache_evictions_total) evictions, $(metric muse_answer_cache_hits_total) hits"

echo "faults, while wrk keeps /v1/ask busy (default limits):"
kill "$muse_pid"; wait "$muse_pid" 2>/dev/null
start_muse '{"rate_limit": 0, "access_log": false}'
( wrk -t1 -c8 -d40s --timeout 10s -s "$tmp/ask.lua" "http://127.0.0.1:$muse_port/v1/ask" > "$tmp/bg.out" 2>&1 ) &
bg=$!
python3 "$root/tests/serve/faults.py" 127.0.0.1 "$muse_port"
faults=$?
kill "$bg" 2>/dev/null; wait "$bg" 2>/dev/null

echo "shutdown under load:"
( wrk -t1 -c16 -d5s --timeout 10s -s "$tmp/ask.lua" "http://127.0.0.1:$muse_port/v1/ask" > "$tmp/bg.out" 2>&1 ) &
bg=$!
sleep 2
t0=$(date +%s%N)
kill -TERM "$muse_pid"
wait "$muse_pid"
code=$?
t1=$(date +%s%N)
wait "$bg" 2>/dev/null
printf '  SIGTERM during load: exit %d after %s s; %s\n' "$code" "$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.2f", n / 1e9 }')" \
    "$(grep -E 'stopped|cut off' "$tmp/serve.log" | tail -n1)"
[ "$faults" -eq 0 ] && [ "$code" -eq 0 ]
