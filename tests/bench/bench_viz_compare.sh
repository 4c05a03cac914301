#!/usr/bin/env bash
# Whole-process chart rendering: `muse chart --preset bp_trend` against
# gnuplot and matplotlib drawing the same 365 readings the same way (two
# panels, systolic and diastolic, lines with markers over the ACC/AHA
# category bands), to SVG, PDF and PNG. Prints the median wall time of each
# and the ratios. Needs gnuplot (gnuplot-nox) and Debian's matplotlib
# (python3-matplotlib, under /usr/bin/python3); a missing one is skipped.
#
# usage: tests/bench/bench_viz_compare.sh [MUSE_BIN] [RUNS]
set -u
MUSE=${1:-${MUSE_BIN:-build/muse}}
RUNS=${2:-15}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The same data as tests/bench/bench_viz.c: one morning reading a day for a year.
python3 - "$tmp" <<'PYEOF'
import json, math, sys
d = sys.argv[1]
seed = 42
rows = []
md = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
for i in range(365):
    seed = (seed * 1103515245 + 12345) & 0xFFFFFFFF
    noise = ((seed >> 16) & 0x7FFF) / 32768.0 - 0.5
    sys_ = round(128 + 14 * math.sin(i / 40.0) + i * 0.03 + noise * 16)
    dia = round(82 + 7 * math.sin(i / 40.0) + noise * 8)
    m, day = 1, 1 + i
    while day > md[m - 1]:
        day -= md[m - 1]; m += 1
    rows.append({"time": "2024-%02d-%02dT07:30" % (m, day), "systolic": sys_, "diastolic": dia})
json.dump(rows, open(d + "/readings.json", "w"))
with open(d + "/readings.dat", "w") as f:
    for r in rows:
        f.write("%s %d %d\n" % (r["time"], r["systolic"], r["diastolic"]))
PYEOF

cat > "$tmp/plot.gp" <<'GPEOF'
set xdata time
set timefmt "%Y-%m-%dT%H:%M"
set format x "%b"
set multiplot layout 2,1 title "A year of readings"
set title "Systolic"
set yrange [100:170]
set object 1 rect from graph 0, first 100 to graph 1, first 120 fc rgb "#c6e9de" fs solid noborder behind
set object 2 rect from graph 0, first 120 to graph 1, first 130 fc rgb "#faf6c5" fs solid noborder behind
set object 3 rect from graph 0, first 130 to graph 1, first 140 fc rgb "#fae9c5" fs solid noborder behind
set object 4 rect from graph 0, first 140 to graph 1, first 170 fc rgb "#f5dac5" fs solid noborder behind
plot "readings.dat" using 1:2 with linespoints lc rgb "#0072B2" pt 7 ps 0.4 notitle
unset object 1; unset object 2; unset object 3; unset object 4
set title "Diastolic"
set yrange [60:100]
set object 5 rect from graph 0, first 60 to graph 1, first 80 fc rgb "#c6e9de" fs solid noborder behind
set object 6 rect from graph 0, first 80 to graph 1, first 90 fc rgb "#fae9c5" fs solid noborder behind
set object 7 rect from graph 0, first 90 to graph 1, first 100 fc rgb "#f5dac5" fs solid noborder behind
plot "readings.dat" using 1:3 with linespoints lc rgb "#D55E00" pt 5 ps 0.4 notitle
unset multiplot
GPEOF

cat > "$tmp/plot.py" <<'PYEOF'
import json, sys, datetime
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = json.load(open(sys.argv[1]))
t = [datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M") for r in rows]
fig, (a, b) = plt.subplots(2, 1, figsize=(640 / 72, 470 / 72), dpi=96, sharex=True)
fig.suptitle("A year of readings")
for lo, hi, c in ((100, 120, "#c6e9de"), (120, 130, "#faf6c5"), (130, 140, "#fae9c5"), (140, 170, "#f5dac5")):
    a.axhspan(lo, hi, color=c, zorder=0)
for lo, hi, c in ((60, 80, "#c6e9de"), (80, 90, "#fae9c5"), (90, 100, "#f5dac5")):
    b.axhspan(lo, hi, color=c, zorder=0)
a.plot(t, [r["systolic"] for r in rows], "-o", color="#0072B2", ms=2)
b.plot(t, [r["diastolic"] for r in rows], "-s", color="#D55E00", ms=2)
a.set_title("Systolic"); b.set_title("Diastolic")
fig.savefig(sys.argv[2])
PYEOF

have_gnuplot=0; command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1
have_mpl=0; "$PY" -c "import matplotlib" >/dev/null 2>&1 && have_mpl=1
if [ ! -x "$MUSE" ] && ! command -v "$MUSE" >/dev/null 2>&1; then
    echo "bench_viz_compare: no muse binary at $MUSE (give its path)" >&2
    exit 1
fi
MUSE=$(cd "$(dirname "$MUSE")" && pwd)/$(basename "$MUSE")

# Round robin, so a busy machine slows all three alike; wall time and CPU
# time (user + system, from rusage) are both reported, since on a shared
# machine the wall time mostly measures the neighbours.
python3 - "$tmp" "$RUNS" "$MUSE" "$have_gnuplot" "$have_mpl" "$PY" <<'PYEOF'
import os, resource, statistics, subprocess, sys, time
tmp, runs, muse, have_gp, have_mpl, py = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5] == "1", sys.argv[6]
terms = {"svg": "svg size 640,470", "pdf": "pdfcairo size 8.89in,6.53in", "png": "pngcairo size 853,627"}

def once(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    ok = subprocess.run(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return ((t1 - t0) * 1e3, cpu * 1e3) if ok else None

def fmt(v):
    return "NA" if v is None else "%.1f" % v

def ratio(a, b, f="%.2f"):
    return "NA" if a is None or b is None or b == 0 else f % (a / b)

print("bp_trend, 365 readings, whole process, median of %d runs (ms; wall / cpu)" % runs)
print("%-4s %15s %15s %17s %16s %18s" % ("fmt", "muse", "gnuplot", "matplotlib", "muse/gnuplot", "matplotlib/muse"))
for f in ("svg", "pdf", "png"):
    cmds = {"muse": [muse, "chart", "--preset", "bp_trend", "--data", "readings.json", "-o", "out." + f]}
    if have_gp:
        cmds["gnuplot"] = ["gnuplot", "-e", "set terminal %s; set output 'gp.%s'" % (terms[f], f), "plot.gp"]
    if have_mpl:
        cmds["matplotlib"] = [py, "plot.py", "readings.json", "mpl." + f]
    res = {k: [] for k in cmds}
    for _ in range(runs):
        for k, c in cmds.items():
            r = once(c)
            if r:
                res[k].append(r)
    med = {k: ((statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) if v else (None, None))
           for k, v in res.items()}
    m = med["muse"]; g = med.get("gnuplot", (None, None)); p = med.get("matplotlib", (None, None))
    cell = lambda t: "%s / %s" % (fmt(t[0]), fmt(t[1]))
    print("%-4s %15s %15s %17s %16s %18s" % (f, cell(m), cell(g), cell(p),
          "%s / %s" % (ratio(m[0], g[0]), ratio(m[1], g[1])),
          "%s / %s" % (ratio(p[0], m[0], "%.1f"), ratio(p[1], m[1], "%.1f"))))
print("load average: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
PYEOF
