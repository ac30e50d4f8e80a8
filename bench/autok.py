#!/usr/bin/env python3
"""How many clusters `--k auto` picks against how many a labelled set holds, at several sizes,
and the KMeans objective at the true k beside scikit-learn's.

    bench/autok.py SET_DIR [SIZES=31,100,400,1000] [--imgtui PATH] [--store PATH] [--objective]

SET_DIR holds images/ and labels.csv (filename,label), as made by bench/make_art_families.py or
../shared/datasets/make.sh. For each size n the first n images of labels.csv (families take
turns there) or, when labels.csv is not interleaved, a seeded sample of n, are hard-linked into
a folder of their own under /tmp/imgtui-autok/, indexed (vectors are found in the store by
content, so only new images are embedded) and clustered with `--k auto --recluster`. Prints one
Markdown row per size: n, true classes, chosen k, ARI and NMI against the labels, the share of
images in clusters of one or two, and the reason. With --objective it also fits `--k TRUE` and
scikit-learn `KMeans(n_init=10)` (seeds 0, 1, 2) on the very same vectors from the store and
prints the KMeans objective (Σ squared distance to the cluster means of the unit vectors) of
both: mean and the worst of imgtui over its seeds against scikit-learn's best.
Needs numpy and scikit-learn.
"""

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def inertia(x, pred):
    pred = np.asarray(pred)
    return float(sum(((x[pred == c] - x[pred == c].mean(0)) ** 2).sum() for c in set(pred.tolist())))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set_dir")
    ap.add_argument("sizes", nargs="?", default="31,100,400,1000")
    ap.add_argument("--imgtui", default="target/release/imgtui")
    ap.add_argument("--store", default="/tmp/imgtui-autok.sqlite")
    ap.add_argument("--objective", action="store_true")
    a = ap.parse_args()
    src = os.path.realpath(os.path.join(a.set_dir, "images"))
    with open(os.path.join(a.set_dir, "labels.csv")) as f:
        rows = [(r["filename"], r["label"]) for r in csv.DictReader(f)]
    # Interleaved sets (families taking turns) keep their order; others are sampled.
    first = [l for _, l in rows[: len(set(l for _, l in rows))]]
    if len(set(first)) < len(first):
        order = np.random.default_rng(0).permutation(len(rows))
        rows = [rows[i] for i in order]
    name = os.path.basename(os.path.normpath(a.set_dir))
    print("| set | n | classes | k auto | ARI | NMI | in clusters of 1–2 | reason |")
    print("|---|---|---|---|---|---|---|---|")
    objective = []
    for n in [int(s) for s in a.sizes.split(",")]:
        if n > len(rows):
            continue
        sub = rows[:n]
        labels = dict(sub)
        k_true = len(set(labels.values()))
        folder = f"/tmp/imgtui-autok/{name}-{n}"
        os.makedirs(folder, exist_ok=True)
        for fn, _ in sub:
            dst = os.path.join(folder, fn)
            if not os.path.exists(dst):
                os.link(os.path.join(src, fn), dst)
        base = [a.imgtui]
        store = ["--store", a.store]
        feature = json.loads(run(base + ["index", folder, "--json"] + store))["feature"]
        out = json.loads(run(base + ["cluster", folder, "--k", "auto", "--recluster"] + store))
        if os.environ.get("KEEP"):
            with open(f"{folder}.{os.environ['KEEP']}.json", "w") as f:
                json.dump(out, f)
        pred = {os.path.basename(i["path"]): i["cluster"] for i in out["images"]}
        names = sorted(pred)
        truth = [labels[f] for f in names]
        p = [pred[f] for f in names]
        sizes = {c["cluster"]: c["size"] for c in out["clusters"]}
        small = sum(1 for f in names if sizes[pred[f]] <= 2) / len(names)
        ari, nmi = adjusted_rand_score(truth, p), normalized_mutual_info_score(truth, p)
        reason = out["reason"].replace("|", "/")
        print(f"| {name} | {n} | {k_true} | {out['k']} | {ari:.3f} | {nmi:.3f} | {small:.0%} | {reason} |", flush=True)
        if a.objective:
            db = sqlite3.connect(a.store)
            vecs = {}
            for path, blob in db.execute(
                "SELECT f.path, v.vector FROM files f JOIN vectors v ON v.hash = f.hash AND v.feature = ?",
                (feature,),
            ):
                path = path.decode() if isinstance(path, bytes) else path
                if path.startswith(os.path.realpath(folder) + "/"):
                    vecs[os.path.basename(path)] = np.frombuffer(blob, dtype="<f4")
            x = np.stack([vecs[f] for f in names]).astype(np.float64)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            ours, theirs = [], []
            for seed in (0, 1, 2):
                got = json.loads(run(base + ["cluster", folder, "--k", str(k_true), "--seed", str(seed), "--recluster"] + store))
                q = {os.path.basename(i["path"]): i["cluster"] for i in got["images"]}
                ours.append((inertia(x, [q[f] for f in names]), adjusted_rand_score(truth, [q[f] for f in names])))
                sk = KMeans(n_clusters=k_true, n_init=10, random_state=seed).fit_predict(x)
                theirs.append((inertia(x, sk), adjusted_rand_score(truth, sk)))
            objective.append((name, n, k_true, np.array(ours), np.array(theirs)))
    if objective:
        print("\n| set | n | k | imgtui objective (mean; worst) | scikit-learn n_init=10 (mean; best) | imgtui worst vs sklearn best | ARI imgtui | ARI scikit-learn |")
        print("|---|---|---|---|---|---|---|---|")
        for name, n, k, o, t in objective:
            print(
                f"| {name} | {n} | {k} | {o[:, 0].mean():.3f}; {o[:, 0].max():.3f} | {t[:, 0].mean():.3f}; {t[:, 0].min():.3f} "
                f"| {100 * (o[:, 0].max() / t[:, 0].min() - 1):+.2f} % | {o[:, 1].mean():.3f} ± {o[:, 1].std():.3f} | {t[:, 1].mean():.3f} ± {t[:, 1].std():.3f} |"
            )


if __name__ == "__main__":
    sys.exit(main())
