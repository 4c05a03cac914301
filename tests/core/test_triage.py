"""Triage on clinical vignettes (tests/core/vignettes.jsonl: 80 cases written by the
project in the style of published symptom-checker evaluations, 20 per level).

Issue 7 aims at >= 85 % triage accuracy and every emergency recognised. The engine does
not reach that yet (docs/engine.md gives the measured figures); this test guards what it
does reach, so a change that makes triage worse fails, and prints the gap to the aim."""
import json
import os
import subprocess
import sys

AIM_ACCURACY, AIM_EMERGENCY = 85.0, 100.0
FLOOR_ACCURACY, FLOOR_SAFE, FLOOR_EMERGENCY = 62.0, 85.0, 95.0

muse = os.environ["MUSE_BIN"]
root = os.environ["MUSE_SOURCE_ROOT"]
p = subprocess.run([muse, "eval", os.path.join(root, "tests/core/vignettes.jsonl"), "--modes", "auto", "--json"],
                   capture_output=True, text=True, timeout=600)
if p.returncode != 0:
    print(p.stderr)
    sys.exit(1)
r = json.loads(p.stdout)["modes"]["auto"]
print(f"triage: {r['answered']} vignettes, accuracy {r['triage_accuracy']:.1f} % (aim {AIM_ACCURACY:.0f}), "
      f"safe {r['triage_safe']:.1f} %, emergencies {r['emergency_recall']:.1f} % (aim {AIM_EMERGENCY:.0f})")
ok = (r["triage_accuracy"] >= FLOOR_ACCURACY and r["triage_safe"] >= FLOOR_SAFE
      and r["emergency_recall"] >= FLOOR_EMERGENCY)
sys.exit(0 if ok else 1)
