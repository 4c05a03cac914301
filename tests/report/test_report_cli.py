#!/usr/bin/env python3
"""`muse report` end to end: runs the muse binary on the fixtures in
tests/report/data and reads the PDFs back with poppler-utils (pdfinfo for
pages and metadata, pdftotext for headings, values and flags, pdftoppm for
the pixels of a chart). Skips, saying why, when poppler-utils is missing.

Expected categories are those of the guideline tables cited in
test_report.c; here the point is that they reach the page."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

MUSE = os.environ.get("MUSE_BIN", "muse")
ROOT = os.environ.get("MUSE_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "tests", "report", "data")
POPPLER = all(shutil.which(t) for t in ("pdfinfo", "pdftotext", "pdftoppm", "pdftohtml"))
# 2026-01-01T00:00:00Z: a fixed creation date, read back through pdfinfo.
EPOCH = "1767225600"


def env():
    e = dict(os.environ)
    e["SOURCE_DATE_EPOCH"] = EPOCH
    e["TZ"] = "UTC"
    e.pop("MUSE_REPORT_PASSWORD", None)
    # Under ASan: fontconfig's and cairo's caches live until exit by design.
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
    e["LSAN_OPTIONS"] = (e["LSAN_OPTIONS"] + ":" if e.get("LSAN_OPTIONS") else "") + "suppressions=" + supp
    return e


def muse(*args):
    return subprocess.run([MUSE, "report", *args], capture_output=True, text=True, env=env(), timeout=50)


def fixture(name):
    return os.path.join(DATA, name)


def pdfinfo(path, *extra):
    p = subprocess.run(["pdfinfo", *extra, path], capture_output=True, text=True, env=env(), timeout=30)
    info = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()
    return p.returncode, info


def pdftext(path):
    return subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True,
                          timeout=30).stdout


def outline(path):
    """The document outline (bookmarks) as [(depth, title, page)], read with pdftohtml."""
    import re
    xml = subprocess.run(["pdftohtml", "-xml", "-i", "-q", "-stdout", path], capture_output=True, text=True,
                         timeout=30).stdout
    out, depth = [], 0
    for m in re.finditer(r'<outline>|</outline>|<item page="(\d+)">([^<]*)</item>', xml):
        if m.group(0) == "<outline>":
            depth += 1
        elif m.group(0) == "</outline>":
            depth -= 1
        else:
            out.append((depth, m.group(2), int(m.group(1))))
    return out


def ppm_crop(path, page, x, y, w, h, dpi=50):
    """The pixels of a page region (points, top left) as (width, height, bytes)."""
    s = dpi / 72.0
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "crop")
        subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-x", str(int(x * s)),
                        "-y", str(int(y * s)), "-W", str(int(w * s)), "-H", str(int(h * s)), "-singlefile",
                        path, out], check=True, capture_output=True, timeout=30)
        with open(out + ".ppm", "rb") as f:
            data = f.read()
    # P6 header: magic, width, height, maxval, then RGB bytes.
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P6", parts[0]
    return int(parts[1]), int(parts[2]), parts[4]


def saturated_pixels(rgb):
    """Pixels of a data colour: the bands behind the data are pale, the page
    white and the text grey, so strong saturation means a drawn mark."""
    n = 0
    for i in range(0, len(rgb) - 2, 3):
        r, g, b = rgb[i], rgb[i + 1], rgb[i + 2]
        if max(r, g, b) - min(r, g, b) > 110:
            n += 1
    return n


def utf16_hex(s):
    return ("FEFF" + s.encode("utf-16-be").hex().upper()).encode()


@unittest.skipUnless(POPPLER, "poppler-utils (pdfinfo, pdftotext, pdftoppm, pdftohtml) is not installed")
class ReportPdf(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="muse-report-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def out(self, name="out.pdf"):
        return os.path.join(self.dir, name)

    def run_ok(self, *args):
        p = muse(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def test_bp_week(self):
        pdf = self.out()
        p = self.run_ok(fixture("bp_week.csv"), "-o", pdf, "--json", "--patient-label", "Ærøskøbing lægehus 7")
        summary = json.loads(p.stdout)
        rc, info = pdfinfo(pdf)
        self.assertEqual(rc, 0)
        self.assertEqual(info["Title"], "Health readings report")
        self.assertEqual(info["Creator"], "Muse")
        self.assertIn("2026", info["CreationDate"])
        self.assertIn("Jan  1 00:00:00 2026", info["CreationDate"])
        self.assertEqual(int(info["Pages"]), summary["pdf"]["pages"])
        self.assertGreaterEqual(int(info["Pages"]), 3)
        text = pdftext(pdf)
        for heading in ("What was measured", "Key findings", "Blood pressure", "To discuss with a clinician",
                        "Readings (14)", "Sources", "About this report"):
            self.assertIn(heading, text)
        # values, categories, the flag and the guideline's source
        for s in ("148/94", "2026-03-02 07:32", "Stage 2 hypertension", "Worth discussing soon",
                  "ACC/AHA 2017", "144/91 mmHg", "Ærøskøbing lægehus 7", "not a diagnosis"):
            self.assertIn(s, text)
        self.assertIn("Page 1 of %d" % summary["pdf"]["pages"], text)
        # the patient label stays out of the metadata
        with open(pdf, "rb") as f:
            raw = f.read()
        self.assertNotIn(utf16_hex("Ærøskøbing lægehus 7"), raw)
        # bookmarks: the outline names the sections, with the pages they start on
        items = outline(pdf)
        titles = [t for _, t, _ in items]
        self.assertEqual(titles[0], "Summary")
        for t in ("Blood pressure", "Sources", "About this report"):
            self.assertIn(t, titles)
        self.assertEqual([p for _, t, p in items if t == "Summary"], [1])
        self.assertEqual([p for _, t, p in items if t == "Blood pressure"], [summary["pdf"]["charts"][0]["page"]])
        # the chart is drawn: its data line shows in the pixels of its area
        chart = summary["pdf"]["charts"][0]
        self.assertEqual(chart["preset"], "bp_trend")
        w, h, rgb = ppm_crop(pdf, chart["page"], chart["x"], chart["y"], chart["width"], chart["height"])
        self.assertGreater(saturated_pixels(rgb), 200, "no data marks in the chart area")
        # and vector, not a bitmap: the PDF has no image objects
        self.assertNotIn(b"/Subtype /Image", raw)

    def test_weight_year(self):
        pdf = self.out()
        p = self.run_ok(fixture("weight_year.csv"), "-o", pdf, "--json")
        summary = json.loads(p.stdout)
        rc, info = pdfinfo(pdf)
        self.assertGreaterEqual(int(info["Pages"]), 4)
        text = pdftext(pdf)
        self.assertIn("Weight and body mass index", text)
        self.assertIn("Weight over time", text)
        self.assertIn("Falling by about", text)
        # 365 readings: the table goes on over several pages, header repeated
        self.assertIn("Readings (365) (continued)", text)
        self.assertIn("2025-12-31 07:19", text)
        self.assertIn("no guideline range", text)
        # the section starts after the summary page
        self.assertIn((1, "Weight and body mass index", 2), outline(pdf))
        chart = summary["pdf"]["charts"][0]
        self.assertEqual(chart["preset"], "weight_trend")
        w, h, rgb = ppm_crop(pdf, chart["page"], chart["x"], chart["y"], chart["width"], chart["height"])
        self.assertGreater(saturated_pixels(rgb), 200)

    def test_lab_panel(self):
        pdf = self.out()
        self.run_ok(fixture("lab_panel.csv"), "-o", pdf, "--patient-label", "Ærøskøbing lægehus")
        text = pdftext(pdf)
        for s in ("Blood glucose and HbA1c", "Cholesterol and other blood fats", "Kidney function",
                  "Latest results", "given as 97 µmol/L", "Borderline high", "G3a", "Prediabetes range",
                  "KDIGO 2024", "NHLBI 2002", "Ærøskøbing lægehus", "no guideline range"):
            self.assertIn(s, text)

    def test_fhir_mixed(self):
        pdf = self.out()
        p = self.run_ok(fixture("fhir_mixed.json"), "-o", pdf, "--json")
        summary = json.loads(p.stdout)
        # problems on stderr, with where they are
        self.assertIn("fhir_mixed.json: entry[26].resource.code: code 2951-2", p.stderr)
        self.assertIn("entered-in-error", p.stderr)
        text = pdftext(pdf)
        for s in ("Heart rate", "Oxygen saturation", "Body temperature", "Appendix: input problems",
                  "Codes not recognised", "2951-2", "given as 205.1 lb", "Pre-obesity"):
            self.assertIn(s, text)
        self.assertEqual([c["code"] for c in summary["unknown_codes"]], ["2951-2"])
        # sections with several measures bookmark each one under the section
        self.assertTrue(any(d == 2 and t == "Weight" for d, t, _ in outline(pdf)))
        kinds = {m["kind"] for m in summary["measures"]}
        self.assertTrue({"bp", "heart_rate", "weight", "bmi", "glucose", "a1c", "ldl", "egfr", "spo2",
                         "temperature"} <= kinds)

    def test_bad_rows_listed_rest_reported(self):
        pdf = self.out()
        p = self.run_ok(fixture("bad_rows.csv"), "-o", pdf)
        self.assertIn("bad_rows.csv:4:", p.stderr)
        self.assertIn('"12O"', p.stderr)
        self.assertIn("bad_rows.csv:6:", p.stderr)
        self.assertIn("bad_rows.csv:8:", p.stderr)
        text = pdftext(pdf)
        self.assertIn("Appendix: input problems", text)
        self.assertIn("bad_rows.csv:4", text)
        self.assertIn("not interpreted", text)  # 400/20 kept, never judged
        self.assertIn("145/93", text)

    def test_nothing_usable_leaves_target_alone(self):
        pdf = self.out()
        with open(pdf, "w") as f:
            f.write("an older report")
        for bad in ("nothing.csv", "broken.json"):
            p = muse(fixture(bad), "-o", pdf)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("nothing usable", p.stderr)
            with open(pdf) as f:
                self.assertEqual(f.read(), "an older report")
        # a missing file: an error, and no output created
        new = self.out("new.pdf")
        p = muse(fixture("no-such-file.csv"), "-o", new)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no-such-file.csv", p.stderr)
        self.assertFalse(os.path.exists(new))
        self.assertEqual(sorted(os.listdir(self.dir)), ["out.pdf"])  # no temporary files left

    def test_unwritable_target(self):
        p = muse(fixture("bp_week.csv"), "-o", os.path.join(self.dir, "missing-dir", "out.pdf"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot write", p.stderr)

    def test_usage_errors(self):
        for args in ([fixture("bp_week.csv")], ["-o", self.out()],
                     [fixture("bp_week.csv"), "-o", self.out(), "--from", "01/03/2026"],
                     [fixture("bp_week.csv"), "-o", self.out(), "--frobnicate"]):
            p = muse(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("muse report --help", p.stderr)
        self.assertFalse(os.path.exists(self.out()))
        p = muse("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--password", p.stdout)

    def test_period(self):
        p = self.run_ok(fixture("bp_week.csv"), "-o", self.out(), "--from", "2026-03-04", "--to", "2026-03-05",
                        "--json")
        s = json.loads(p.stdout)
        self.assertEqual(s["readings"]["in_period"], 4)
        self.assertEqual(s["readings"]["outside_period"], 10)
        self.assertIn("asked for 4 Mar 2026 to 5 Mar 2026", pdftext(self.out()))
        p = muse(fixture("bp_week.csv"), "-o", self.out("none.pdf"), "--from", "2027-01-01")
        self.assertEqual(p.returncode, 1)
        self.assertIn("period", p.stderr)

    def test_password(self):
        pdf = self.out()
        self.run_ok(fixture("bp_week.csv"), "-o", pdf, "--password", "s3cret pw")
        rc, _ = pdfinfo(pdf)
        self.assertNotEqual(rc, 0)  # cannot be opened without it
        rc, info = pdfinfo(pdf, "-upw", "s3cret pw")
        self.assertEqual(rc, 0)
        self.assertIn("RC4", info["Encrypted"])
        self.assertEqual(info["Title"], "Health readings report")

    def test_html_and_json_match_pdf(self):
        pdf, html = self.out(), self.out("out.html")
        p = self.run_ok(fixture("bp_week.csv"), fixture("lab_panel.csv"), "-o", pdf, "--html", html, "--json")
        s = json.loads(p.stdout)
        with open(html, encoding="utf-8") as f:
            page = f.read()
        text = pdftext(pdf)
        self.assertTrue(page.startswith("<!DOCTYPE html>"))
        self.assertIn("<svg", page)
        self.assertIn("<script>", page)
        self.assertNotIn('src="http', page)
        for f in s["findings"]:
            self.assertIn(f["explanation"][:40], page)
        for m in s["measures"]:
            self.assertIn(m["label"], page)
            self.assertIn(m["label"], text)
        self.assertEqual(len(s["inputs"]), 2)


if __name__ == "__main__":
    if not os.path.exists(MUSE):
        print("skipping: MUSE_BIN not found (%s)" % MUSE)
        sys.exit(77)
    unittest.main(verbosity=2)
