#!/usr/bin/env python3
"""umap-learn on the vectors that examples/map_quality.rs exported, with the same measures.

Usage: python bench/map_quality.py PREFIX [--seed N]
  PREFIX.npy         n x d float32 unit vectors (map_quality --export PREFIX)
  PREFIX.labels.txt  one label per line
Needs: umap-learn (and its numpy, scikit-learn). Prints knn@10 (share of an image's 10 nearest
neighbours by cosine distance on the vectors that are among its 10 nearest on the map),
label@10 (share of its 10 nearest on the map with its label) and the time of the fit
(cosine, 15 neighbours, min_dist 0.1). Numba's compilation is done by a fit of 5,000 images first and
not counted. With --seed the fit is seeded, which makes umap-learn single-threaded.
Above 20,000 images the measures use a seeded sample of 2,000 images, as the example does.
"""

import argparse
import time

import numpy as np
import umap
from sklearn.neighbors import NearestNeighbors

K = 10
ALL_UP_TO = 20_000
SAMPLE = 2_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--seed", type=int)
    args = ap.parse_args()
    x = np.load(args.prefix + ".npy")
    labels = np.array(open(args.prefix + ".labels.txt").read().split("\n")[: len(x)])
    print(f"{len(x)} images x {x.shape[1]} dims, {len(set(labels))} labels")

    params = dict(n_neighbors=15, min_dist=0.1, metric="cosine", random_state=args.seed)
    umap.UMAP(**params).fit_transform(x[:5000])  # compiles numba (above 4,096: NN-descent)
    start = time.perf_counter()
    y = umap.UMAP(**params).fit_transform(x)
    seconds = time.perf_counter() - start

    if len(x) <= ALL_UP_TO:
        rows = np.arange(len(x))
    else:
        rows = np.sort(np.random.default_rng(7).choice(len(x), SAMPLE, replace=False))
    truth = neighbours(x, rows, "cosine")
    near = neighbours(y, rows, "euclidean")
    knn = np.mean([len(set(t) & set(m)) / K for t, m in zip(truth, near)])
    label = np.mean(labels[near] == labels[rows][:, None])
    print(f"{'map':<12} {'knn@10':>7} {'label@10':>9} {'time (s)':>9}")
    print(f"{'umap-learn':<12} {knn:>7.3f} {label:>9.3f} {seconds:>9.2f}")


def neighbours(points, rows, metric):
    """The K nearest of each of `rows` among all points, leaving the point itself out."""
    nn = NearestNeighbors(n_neighbors=K + 1, metric=metric, algorithm="brute").fit(points)
    found = nn.kneighbors(points[rows], return_distance=False)
    return np.array([[j for j in f if j != i][:K] for i, f in zip(rows, found)])


if __name__ == "__main__":
    main()
