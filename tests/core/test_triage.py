"""Triage on clinical vignettes (tests/core/vignettes.jsonl, written by the project in
the style of published symptom-checker evaluations: 20 per level). Runs `muse eval`
and fails below the aims of issue 7: triage accuracy >= 85 % and every emergency
recognised. Also reports the safe rate (at or above the right urgency)."""
import json
import os
import subprocess
import sys

muse = os.environ["MUSE_BIN"]
root = os.environ["MUSE_SOURCE_ROOT"]
p = subprocess.run([muse, "eval", os.path.join(root, "tests/core/vignettes.jsonl"), "--modes", "auto", "--json"],
                   capture_output=True, text=True, timeout=600)
if p.returncode != 0:
    print(p.stderr)
    sys.exit(1)
r = json.loads(p.stdout)["modes"]["auto"]
print(f"triage: {r['answered']} vignettes, accuracy {r['triage_accuracy']:.1f} %, safe {r['triage_safe']:.1f} %, "
      f"emergencies {r['emergency_recall']:.1f} %")
ok = r["triage_accuracy"] >= 85.0 and r["emergency_recall"] >= 100.0
sys.exit(0 if ok else 1)
