#!/usr/bin/env python3
"""`muse interpret` and `muse calc` end to end, through the built binary
($MUSE_BIN). Expected values as in the unit tests: ACC/AHA 2017 for the BP
category, Inker 2021 for CKD-EPI, Goff 2013 for the Pooled Cohort Equations."""
import json
import os
import subprocess
import sys

MUSE = os.environ.get("MUSE_BIN", "muse")
DATA = os.path.join(os.environ.get("MUSE_SOURCE_ROOT", "."), "tests", "medical", "data")
failures = 0


def run(*args, stdin=None):
    p = subprocess.run([MUSE, *args], input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global failures
    if cond:
        print(f"ok - {name}")
    else:
        failures += 1
        print(f"not ok - {name}\n{detail}")


rc, out, err = run("interpret", "Is 150/95 high?")
check("interpret text", rc == 0 and "Stage 2 hypertension" in out and "ACC/AHA" in out, out + err)

rc, out, err = run("interpret", "--json", "Is", "150/95", "high?")
j = json.loads(out) if rc == 0 else {}
r = (j.get("readings") or [{}])[0]
check("interpret --json", rc == 0 and r.get("kind") == "bp" and r.get("value") == 150
      and r.get("category", {}).get("id") == "stage2", out + err)

rc, out, err = run("interpret", "--json", "--file", os.path.join(DATA, "bp_home.csv"))
j = json.loads(out) if rc == 0 else {}
check("interpret --file csv", rc == 0 and len(j.get("problems", [])) == 2
      and j["series"][0]["count"] == 7, out + err)

rc, out, err = run("interpret", "--file", os.path.join(DATA, "broken.json"))
check("interpret broken file names the line", rc == 1 and "broken.json:3:" in err, out + err)

rc, out, err = run("interpret", "-", stdin="A1c 7.2, fasting sugar 140\n")
check("interpret stdin", rc == 0 and "Diabetes range" in out, out + err)

rc, out, err = run("interpret")
check("interpret usage", rc == 2 and "muse interpret" in err, out + err)

rc, out, err = run("calc", "egfr", "--creatinine", "0.9", "--age", "55", "--sex", "female", "--json")
j = json.loads(out) if rc == 0 else {}
check("calc egfr json", rc == 0 and abs(j.get("value", 0) - 76) <= 1 and j.get("category_id") == "G2"
      and set(["name", "value", "unit", "category", "source"]) <= set(j), out + err)

rc, out, err = run("calc", "ascvd", "--age", "55", "--sex", "male", "--race", "african_american",
                   "--total-chol", "213", "--hdl", "50", "--sbp", "120", "--json")
j = json.loads(out) if rc == 0 else {}
check("calc ascvd (Goff 2013: 6.1 %)", rc == 0 and abs(j.get("value", 0) - 6.1) <= 0.1, out + err)

rc, out, err = run("calc", "ascvd", "--age", "20", "--sex", "female", "--race", "white",
                   "--total-chol", "213", "--hdl", "50", "--sbp", "120")
check("calc refuses out of range", rc == 1 and "40 to 79" in err, out + err)

rc, out, err = run("calc", "--help")
check("calc --help lists calculators", rc == 0 and all(n in out for n in ("bmi", "egfr", "eag", "ascvd", "bmr")),
      out + err)

rc, out, err = run("calc", "nosuch")
check("calc unknown", rc == 2, out + err)

sys.exit(1 if failures else 0)
