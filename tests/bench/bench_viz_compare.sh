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

now_ms() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }

# median wall time in ms of RUNS runs of "$@" (run in $tmp)
median_ms() {
    local times=()
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(now_ms)
        (cd "$tmp" && "$@" >/dev/null 2>&1) || { echo "NA"; return; }
        t1=$(now_ms)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f", m}'
}

have_gnuplot=0; command -v gnuplot >/dev/null 2>&1 && have_gnuplot=1
have_mpl=0; "$PY" -c "import matplotlib" >/dev/null 2>&1 && have_mpl=1
if [ ! -x "$MUSE" ] && ! command -v "$MUSE" >/dev/null 2>&1; then
    echo "bench_viz_compare: no muse binary at $MUSE (give its path)" >&2
    exit 1
fi
MUSE=$(cd "$(dirname "$MUSE")" && pwd)/$(basename "$MUSE")

echo "bp_trend, 365 readings, whole process, median of $RUNS runs (ms)"
printf '%-4s %10s %10s %12s %14s %16s\n' fmt muse gnuplot matplotlib muse/gnuplot matplotlib/muse
for fmt in svg pdf png; do
    m=$(median_ms "$MUSE" chart --preset bp_trend --data readings.json -o "out.$fmt")
    g=NA; p=NA
    if [ $have_gnuplot = 1 ]; then
        case $fmt in
            svg) term="svg size 640,470" ;;
            pdf) term="pdfcairo size 8.89in,6.53in" ;;
            png) term="pngcairo size 853,627" ;;
        esac
        g=$(median_ms gnuplot -e "set terminal $term; set output 'gp.$fmt'" plot.gp)
    fi
    [ $have_mpl = 1 ] && p=$(median_ms "$PY" plot.py readings.json "mpl.$fmt")
    r1=$(awk -v m="$m" -v g="$g" 'BEGIN{ if (g == "NA" || m == "NA") print "NA"; else printf "%.2f", m / g }')
    r2=$(awk -v m="$m" -v p="$p" 'BEGIN{ if (p == "NA" || m == "NA") print "NA"; else printf "%.1f", p / m }')
    printf '%-4s %10s %10s %12s %14s %16s\n' "$fmt" "$m" "$g" "$p" "$r1" "$r2"
done
