#!/usr/bin/env python3
"""Scores `imgtui dups` on a labelled near-duplicate set (bench/make_dup_set.py).

    python3 bench/dup_score.py SET_DIR [IMGTUI=target/release/imgtui] [-- DUPS_ARGS...]

Runs `IMGTUI dups SET_DIR/images --format json DUPS_ARGS` (index SET_DIR/images first, with
the same --store) and prints, per transformation, the share of copies found in one "same
picture" (or exact) group with their original, then the false merges: pairs of distinct
artworks in one such group. Groups of an imgtui without tiers are all counted as acted on.

A set without a transform column (e.g. a labelled class set such as Fashion-MNIST, one
image per row) is scored for false merges only: every pair of files in one same-picture
group is listed, for checking by eye (identical pixels are reported as such).
"""

import csv
import itertools
import json
import os
import subprocess
import sys
from collections import defaultdict

import numpy as np
from PIL import Image


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[: args.index("--")]
    if not args:
        sys.exit(__doc__.strip())
    root = args[0]
    imgtui = args[1] if len(args) > 1 else "target/release/imgtui"
    images = os.path.join(root, "images")
    if not os.path.isdir(images):
        images = root
    out = subprocess.run([imgtui, "dups", images, "--format", "json", *extra],
                         check=True, capture_output=True, text=True).stdout
    groups = json.loads(out)["groups"]
    acted = [g for g in groups if g.get("tier", "same-picture") in ("exact", "same-picture")]
    group_of = {}
    for n, g in enumerate(acted):
        for p in g["paths"]:
            group_of[os.path.basename(p)] = n
    labels = os.path.join(root, "labels.csv")
    rows = list(csv.DictReader(open(labels))) if os.path.exists(labels) else []
    if rows and "transform" in rows[0]:
        original = {r["artwork"]: r["filename"] for r in rows if r["transform"] == "original"}
        found = defaultdict(list)
        for r in rows:
            if r["transform"] == "original":
                continue
            o = group_of.get(original[r["artwork"]])
            found[r["transform"]].append(o is not None and group_of.get(r["filename"]) == o)
        print(f"{'transformation':<16}{'copies':>8}{'recall':>9}")
        every = []
        for t, hits in found.items():
            every += hits
            print(f"{t:<16}{len(hits):>8}{np.mean(hits):>9.3f}")
        print(f"{'all':<16}{len(every):>8}{np.mean(every):>9.3f}")
        artwork = {r["filename"]: r["artwork"] for r in rows}
    else:
        artwork = {}
    false = []
    for g in acted:
        names = [os.path.basename(p) for p in g["paths"]]
        for a, b in itertools.combinations(names, 2):
            if artwork.get(a, a) != artwork.get(b, b):
                false.append((a, b))
    print(f"false same-picture pairs: {len(false)} (in {len(acted)} acted-on groups, "
          f"{len(groups) - len(acted)} similar-only groups)")
    by_name = {os.path.basename(p): p for g in acted for p in g["paths"]}
    for a, b in false[:20]:
        pa, pb = (np.asarray(Image.open(by_name[x]).convert("RGB")) for x in (a, b))
        same = pa.shape == pb.shape and np.array_equal(pa, pb)
        print(f"  {a}  {b}{'  (identical pixels)' if same else ''}")


main()
