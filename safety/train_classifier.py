#!/usr/bin/env python3
"""Trains the safety module's harm classifier (safety/data/classifier.json).

Logistic regression over hashed word unigrams and bigrams, the features
safety/model.c computes: tokens are runs of ASCII letters, digits and
apostrophes, lower-cased; a bigram joins the previous token, a space and the
current one ("<s>" before the first, "</s>" after the last); each feature
is its FNV-1a 32-bit hash modulo the bucket count. Plain Python, no numpy:
the data is small and the weights are shipped as sparse [bucket, weight]
pairs.

It trains on tests/safety/data/train.tsv only (written for this project;
see make_train.py there). The evaluation sets are never read here.

Usage: python3 safety/train_classifier.py [TRAIN.tsv] [OUT.json]
"""
import json
import math
import os
import random
import sys

BUCKETS = 1 << 18
EPOCHS = 30
RATE = 0.3
L2 = 1e-5
THRESHOLD = 0.7  # favours precision: a false refusal is a defect


def fnv1a(data: bytes, h: int = 2166136261) -> int:
    for b in data:
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def tokens(text: str):
    raw = text.encode("utf-8")
    out, cur = [], bytearray()
    i = 0
    n = len(raw)
    while True:
        while i < n and not (chr(raw[i]).isascii() and chr(raw[i]).isalnum()):
            i += 1
        cur = bytearray()
        while i < n and ((chr(raw[i]).isascii() and chr(raw[i]).isalnum()) or raw[i] == 0x27):
            if len(cur) < 47:
                c = raw[i]
                cur.append(c | 0x20 if 0x41 <= c <= 0x5A else c)
            i += 1
        if not cur:
            break
        out.append(bytes(cur))
    return out


def features(text: str):
    feats = []
    prev = b"<s>"
    for t in tokens(text) + [None]:
        cur = b"</s>" if t is None else t
        if t is not None:
            feats.append(fnv1a(cur) & (BUCKETS - 1))
        seed = fnv1a(b" ", fnv1a(prev))
        feats.append(fnv1a(cur, seed) & (BUCKETS - 1))
        if t is None:
            break
        prev = cur
    return feats


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "safety", "data", "train.tsv")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "data", "classifier.json")
    data = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            y, text = line.split("\t", 1)
            data.append((int(y), features(text)))
    random.seed(1)
    w = {}
    b = 0.0
    for epoch in range(EPOCHS):
        random.shuffle(data)
        rate = RATE / (1 + epoch * 0.2)
        for y, fs in data:
            z = b + sum(w.get(k, 0.0) for k in fs)
            p = 1 / (1 + math.exp(-max(-30, min(30, z))))
            g = p - y
            b -= rate * g
            for k in fs:
                w[k] = w.get(k, 0.0) * (1 - rate * L2) - rate * g
    # Training fit, printed so a reviewer sees it (not a measure of quality).
    tp = fp = fn = tn = 0
    for y, fs in data:
        p = 1 / (1 + math.exp(-max(-30, min(30, b + sum(w.get(k, 0.0) for k in fs)))))
        hit = p >= THRESHOLD
        tp += hit and y == 1
        fp += hit and y == 0
        fn += (not hit) and y == 1
        tn += (not hit) and y == 0
    print(f"train: {len(data)} examples, tp {tp} fp {fp} fn {fn} tn {tn}", file=sys.stderr)
    weights = sorted([k, round(v, 4)] for k, v in w.items() if abs(v) >= 1e-3)
    out = {
        "schema": 1,
        "about": "Harm classifier: logistic regression over hashed word uni- and bigrams "
                 "(FNV-1a 32-bit, modulo buckets). Trained by safety/train_classifier.py on "
                 "tests/safety/data/train.tsv (written for this project, never on evaluation "
                 "data). Used only as a backstop when no rule fired: a score at or above "
                 "threshold refuses as S6. Regenerate with: python3 safety/train_classifier.py",
        "buckets": BUCKETS,
        "bias": round(b, 6),
        "threshold": THRESHOLD,
        "weights": weights,
    }
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {dst}: {len(weights)} weights", file=sys.stderr)


if __name__ == "__main__":
    main()
