#!/usr/bin/env python3
"""Which features separate a labelled image set best: imgtui's built-in model, another ONNX
model from a spec, and the classic descriptors, side by side.

    bench/features.py SET_DIR [--imgtui PATH] [--store PATH] [FEATURES ...]

FEATURES default to model:efficientnet-lite0 hog pixels color (add e.g. model:opennsfw after
config/models/fetch-opennsfw.sh). SET_DIR holds images/ and labels.csv (filename,label[,group]),
as built by ../shared/datasets/make.sh. For each, one Markdown row: adjusted Rand index and NMI
of KMeans at the true number of classes (mean ± sd over SEEDS, default 0,1,2), precision@5 of the
neighbours (same group, or same label), and the cold indexing time. Needs scikit-learn.
"""

import argparse
import csv
import io
import json
import os
import subprocess
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

SEEDS = [int(s) for s in os.environ.get("SEEDS", "0,1,2").split(",")]


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set_dir")
    ap.add_argument("features", nargs="*", default=["model:efficientnet-lite0", "hog", "pixels", "color"])
    ap.add_argument("--imgtui", default="target/release/imgtui")
    ap.add_argument("--store", default="/tmp/imgtui-features.sqlite")
    a = ap.parse_args()
    images = os.path.realpath(os.path.join(a.set_dir, "images"))
    labels, groups = {}, {}
    with open(os.path.join(a.set_dir, "labels.csv")) as f:
        for row in csv.DictReader(f):
            labels[row["filename"]] = row["label"]
            groups[row["filename"]] = row.get("group") or row["label"]
    k_true = len(set(labels.values()))
    name = os.path.basename(os.path.normpath(a.set_dir))
    print("| set | n | classes | features | ARI | NMI | precision@5 | indexing s |")
    print("|---|---|---|---|---|---|---|---|")
    for feat in a.features:
        base = [a.imgtui, "--store", a.store, "--features", feat]
        t = time.time()
        summary = json.loads(run(base + ["index", images, "--json"]))
        seconds = time.time() - t
        aris, nmis = [], []
        for seed in SEEDS:
            out = run(base + ["cluster", images, "--k", str(k_true), "--seed", str(seed), "--recluster", "--format", "csv"])
            pred = {os.path.basename(r["path"]): int(r["cluster"]) for r in csv.DictReader(io.StringIO(out))}
            names = sorted(n for n in pred if n in labels)
            truth = [labels[n] for n in names]
            guess = [pred[n] for n in names]
            aris.append(adjusted_rand_score(truth, guess))
            nmis.append(normalized_mutual_info_score(truth, guess))
        nb = run(base + ["neighbours", images, "--n", "5", "--format", "csv"])
        hits = total = 0
        for r in csv.DictReader(io.StringIO(nb)):
            q, n = os.path.basename(r["path"]), os.path.basename(r["neighbour"])
            if q in groups and n in groups:
                hits += groups[q] == groups[n]
                total += 1
        cell = lambda v: f"{np.mean(v):.3f} ± {np.std(v):.3f}"
        embedded = summary["embedded"]
        timing = f"{seconds:.1f} ({embedded} embedded)"
        print(f"| {name} | {len(names)} | {k_true} | {feat} | {cell(aris)} | {cell(nmis)} | {hits / max(total, 1):.3f} | {timing} |", flush=True)


if __name__ == "__main__":
    main()
