#!/usr/bin/env python3
"""How closely one model's neighbours follow another's on the same images: recall@k of the
exact k nearest neighbours (cosine) by model B against those by model A, and the cosine between
the two vectors of an image where both have the same dimension (e.g. the int8 model against
the float one).

    bench/model_agreement.py STORE_A FEATURE_A STORE_B FEATURE_B [--k 10]

FEATURE_* are the feature ids `imgtui index --json` prints (`"feature"`). Images are matched
by content hash, so the two stores may come from different runs. Needs numpy.
"""

import argparse
import sqlite3

import numpy as np


def vectors(store, feature):
    db = sqlite3.connect(store)
    rows = db.execute("SELECT hash, vector FROM vectors WHERE feature = ?", (feature,)).fetchall()
    if not rows:
        raise SystemExit(f"{store}: no vectors for feature {feature}")
    return {h: np.frombuffer(v, dtype="<f4") for h, v in rows}


def knn(x, k):
    """Indices of the k nearest rows by cosine (rows are unit vectors), self excluded."""
    out = np.empty((len(x), k), dtype=np.int64)
    for s in range(0, len(x), 1024):
        sims = x[s : s + 1024] @ x.T
        for i in range(len(sims)):
            sims[i, s + i] = -np.inf
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        out[s : s + 1024] = part
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store_a")
    ap.add_argument("feature_a")
    ap.add_argument("store_b")
    ap.add_argument("feature_b")
    ap.add_argument("--k", type=int, default=10)
    a = ap.parse_args()
    va, vb = vectors(a.store_a, a.feature_a), vectors(a.store_b, a.feature_b)
    keys = sorted(set(va) & set(vb))
    xa = np.stack([va[h] for h in keys])
    xb = np.stack([vb[h] for h in keys])
    na, nb = knn(xa, a.k), knn(xb, a.k)
    recall = np.mean([len(set(na[i]) & set(nb[i])) / a.k for i in range(len(keys))])
    print(f"images: {len(keys)}")
    print(f"recall@{a.k} of B's neighbours against A's: {recall:.4f}")
    if xa.shape[1] == xb.shape[1]:
        cos = (xa * xb).sum(1)
        print(f"cosine A·B per image: min {cos.min():.4f}, median {np.median(cos):.4f}, mean {cos.mean():.4f}")


if __name__ == "__main__":
    main()
