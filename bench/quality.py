#!/usr/bin/env python3
"""Clustering and neighbour quality of imgtui on a labelled image set, beside scikit-learn
KMeans on the very same embeddings (read from imgtui's store).

    bench/quality.py SET_DIR [--imgtui PATH] [--store PATH] [--model NAME|SPEC.toml]

SET_DIR holds images/ and labels.csv (filename,label[,group]), as built by
../shared/datasets/make.sh. Reports, as one Markdown table row per method:
adjusted Rand index and NMI at the true number of classes, the k that `--k auto` picks,
and precision@5 of the neighbours (same group, or same label where there are no groups).
Needs numpy and scikit-learn.
"""

import argparse
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


SEEDS = [int(s) for s in os.environ.get("SEEDS", "0,1,2").split(",")]


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set_dir")
    ap.add_argument("--imgtui", default="target/release/imgtui")
    ap.add_argument("--store", default="/tmp/imgtui-quality.sqlite")
    ap.add_argument("--model", help="another model (imgtui's --model), e.g. an int8 spec")
    a = ap.parse_args()
    images = os.path.realpath(os.path.join(a.set_dir, "images"))
    labels, groups = {}, {}
    with open(os.path.join(a.set_dir, "labels.csv")) as f:
        for row in csv.DictReader(f):
            labels[row["filename"]] = row["label"]
            groups[row["filename"]] = row.get("group") or row["label"]
    k_true = len(set(labels.values()))
    base = [a.imgtui]
    store = ["--store", a.store] + (["--model", a.model] if a.model else [])

    summary = json.loads(run(base + ["index", images, "--json"] + store))
    feature = summary["feature"]

    def clusters(k, seed):
        t = time.time()
        out = run(base + ["cluster", images, "--k", str(k), "--seed", str(seed), "--recluster", "--format", "csv"] + store)
        rows = list(csv.DictReader(io.StringIO(out)))
        return {os.path.basename(r["path"]): int(r["cluster"]) for r in rows}, time.time() - t

    auto = json.loads(run(base + ["cluster", images, "--k", "auto", "--seed", "0", "--recluster"] + store))
    names = sorted(os.path.basename(i["path"]) for i in auto["images"])
    names = [n for n in names if n in labels]
    truth = [labels[n] for n in names]

    # The same vectors, straight from the store.
    db = sqlite3.connect(a.store)
    vecs = {}
    for path, blob in db.execute(
        "SELECT f.path, v.vector FROM files f JOIN vectors v ON v.hash = f.hash AND v.feature = ?",
        (feature,),
    ):
        p = path.decode() if isinstance(path, bytes) else path
        if p.startswith(images + "/"):
            vecs[os.path.basename(p)] = np.frombuffer(blob, dtype="<f4")
    x = np.stack([vecs[n] for n in names])

    def scores(pred):
        """ARI, NMI, and inertia on the full unit vectors per image (the KMeans objective)."""
        pred = np.asarray(pred)
        inertia = sum(((x[pred == c] - x[pred == c].mean(0)) ** 2).sum() for c in set(pred.tolist()))
        return adjusted_rand_score(truth, pred), normalized_mutual_info_score(truth, pred), inertia / len(pred)

    results = {"imgtui kmeans (PCA 32 sweep, full-space finish, 10 starts)": [], "scikit-learn KMeans (1280-d, n_init 10)": []}
    times = {k: 0.0 for k in results}
    for seed in SEEDS:
        ours, s = clusters(k_true, seed)
        times[list(results)[0]] += s
        results[list(results)[0]].append(scores([ours[n] for n in names]))
        t = time.time()
        sk = KMeans(n_clusters=k_true, n_init=10, random_state=seed).fit_predict(x)
        times[list(results)[1]] += time.time() - t
        results[list(results)[1]].append(scores(sk))
        if os.environ.get("DEBUG"):
            print(seed, results, adjusted_rand_score([ours[n] for n in names], sk), file=sys.stderr)

    nb = run(base + ["neighbours", images, "--n", "5", "--format", "csv"] + store)
    hits = total = 0
    for r in csv.DictReader(io.StringIO(nb)):
        q, n = os.path.basename(r["path"]), os.path.basename(r["neighbour"])
        if q in groups and n in groups:
            hits += groups[q] == groups[n]
            total += 1

    name = os.path.basename(os.path.normpath(a.set_dir))
    print("| set | n | classes | method | ARI | NMI | inertia / image | seconds per fit | k auto | precision@5 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, (method, rs) in enumerate(results.items()):
        r = np.array(rs)
        cell = lambda j, f: f"{r[:, j].mean():{f}} ± {r[:, j].std():{f}}"
        extra = f"{auto['k']} | {hits / max(total, 1):.3f}" if i == 0 else " | "
        print(f"| {name} | {len(names)} | {k_true} | {method} | {cell(0, '.3f')} | {cell(1, '.3f')} | {cell(2, '.4f')} | {times[method] / len(SEEDS):.1f} | {extra} |")
    print(f"\nauto k: {auto['reason']}", file=sys.stderr)


if __name__ == "__main__":
    main()
