#!/usr/bin/env python3
"""Writes the generated fixtures in this folder (tests/report/data) (run once; the files are
kept in the tree and reviewed like any other fixture). Deterministic: the same
script writes the same bytes. Hand-written fixtures (bp_week.csv, lab_panel.csv,
fhir_mixed.json, bad_rows.csv, ...) are not touched."""
import datetime
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def weight_year():
    # A year of morning weights: 94 kg falling to about 87.5 kg, with the
    # day-to-day swings (water, meals) of a real scale.
    rng = random.Random(2025)
    day = datetime.date(2025, 1, 1)
    lines = ["# Bathroom scale export, one reading each morning", "date,time,weight (kg)"]
    for i in range(365):
        trend = 94.0 - 6.5 * i / 364
        w = trend + 0.45 * math.sin(i / 3.1) + rng.gauss(0, 0.35)
        lines.append("%s,07:%02d,%.1f" % (day.isoformat(), 5 + rng.randrange(40), w))
        day += datetime.timedelta(days=1)
    with open(os.path.join(HERE, "weight_year.csv"), "w") as f:
        f.write("\n".join(lines) + "\n")


def fhir_mixed():
    # A Bundle as an EHR exports it: vital signs and labs over three visits,
    # a Patient resource to skip, an unrecognised code (sodium, 2951-2), an
    # observation entered in error and one without a number.
    import json

    def q(value, unit, code):
        return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": code}

    def obs(loinc, display, when, value=None, components=None, status="final"):
        o = {"resourceType": "Observation", "status": status,
             "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}],
                      "text": display},
             "subject": {"reference": "Patient/example"}}
        if when:
            o["effectiveDateTime"] = when
        if value is not None:
            o["valueQuantity"] = value
        if components:
            o["component"] = components
        return o

    def bp(when, s, d):
        comp = [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                 "valueQuantity": q(s, "mmHg", "mm[Hg]")},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                 "valueQuantity": q(d, "mmHg", "mm[Hg]")}]
        return obs("85354-9", "Blood pressure panel", when, components=comp)

    visits = ["2026-01-12T09:20:00-05:00", "2026-02-16T10:05:00-05:00", "2026-03-23T09:45:00-04:00"]
    res = [{"resourceType": "Patient", "id": "example"}]
    for i, v in enumerate(visits):
        res.append(bp(v, [146, 141, 137][i], [92, 90, 86][i]))
        res.append(obs("8867-4", "Heart rate", v, q([78, 74, 71][i], "beats/minute", "/min")))
        res.append(obs("29463-7", "Body weight", v, q([212.0, 208.4, 205.1][i], "lb", "[lb_av]")))
        res.append(obs("4548-4", "Hemoglobin A1c", v, q([7.4, 7.1, 6.8][i], "%", "%")))
        res.append(obs("2345-7", "Glucose", v, q([8.1, 7.4, 7.0][i], "mmol/L", "mmol/L")))
    v = visits[-1]
    res.append(obs("8302-2", "Body height", v, q(70, "in", "[in_i]")))
    res.append(obs("39156-5", "BMI", v, q(29.4, "kg/m2", "kg/m2")))
    res.append(obs("2093-3", "Cholesterol", v, q(214, "mg/dL", "mg/dL")))
    res.append(obs("18262-6", "LDL cholesterol", v, q(138, "mg/dL", "mg/dL")))
    res.append(obs("2085-9", "HDL cholesterol", v, q(44, "mg/dL", "mg/dL")))
    res.append(obs("2571-8", "Triglycerides", v, q(162, "mg/dL", "mg/dL")))
    res.append(obs("2160-0", "Creatinine", v, q(88, "umol/L", "umol/L")))
    res.append(obs("98979-8", "eGFR (CKD-EPI 2021)", v, q(79, "mL/min/1.73m2", "mL/min/{1.73_m2}")))
    res.append(obs("59408-5", "Oxygen saturation", v, q(97, "%", "%")))
    res.append(obs("8310-5", "Body temperature", v, q(98.4, "degF", "[degF]")))
    res.append(obs("2951-2", "Sodium", v, q(139, "mmol/L", "mmol/L")))
    res.append(obs("2951-2", "Sodium", visits[0], q(141, "mmol/L", "mmol/L")))
    res.append(obs("2345-7", "Glucose", visits[1], q(6.2, "mmol/L", "mmol/L"), status="entered-in-error"))
    bad = obs("2085-9", "HDL cholesterol", visits[0], None)
    bad["valueString"] = "see lab report"
    res.append(bad)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": "urn:uuid:%08d-0000-4000-8000-000000000000" % i, "resource": r}
                        for i, r in enumerate(res)]}
    with open(os.path.join(HERE, "fhir_mixed.json"), "w") as f:
        json.dump(bundle, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    weight_year()
    fhir_mixed()
