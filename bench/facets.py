#!/usr/bin/env python3
"""Whether each facet's neighbours are alike in the way it promises: on art labelled by
generator family and by palette (bench/make_art_families.py OUT 400 192 11 named).

    bench/facets.py SET_DIR [--imgtui PATH] [--store PATH] [FACETS ...]

FACETS default to content colour texture content:0.7,colour:0.3. For each, `imgtui neighbours
--n 5 --facet F` on SET_DIR/images, then over every image and its 5 neighbours:

- palette p@5: the share of neighbours drawn with the same named palette (palettes.csv);
- histogram overlap: the mean histogram intersection, sum(min(p, q)), of the image's and the
  neighbour's 8x8x8 RGB histograms (each summing to 1; 1 = the same colours in the same
  amounts), measured here on the PNGs, independently of imgtui's descriptors;
- family p@5: the share of neighbours of the same generator family (labels.csv).

Prints a Markdown table, then family p@5 by family for each facet. Chance is about 1/8 for both
labels.
"""

import argparse
import csv
import io
import os
import subprocess
from collections import defaultdict

import numpy as np
from PIL import Image


def histogram(path):
    rgb = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3) // 32
    h = np.bincount(rgb[:, 0] * 64 + rgb[:, 1] * 8 + rgb[:, 2], minlength=512).astype(float)
    return h / h.sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set_dir")
    ap.add_argument("facets", nargs="*", default=["content", "colour", "texture", "content:0.7,colour:0.3"])
    ap.add_argument("--imgtui", default="target/release/imgtui")
    ap.add_argument("--store", default="/tmp/imgtui-facets.sqlite")
    a = ap.parse_args()
    images = os.path.realpath(os.path.join(a.set_dir, "images"))
    read = lambda name: {r[0]: r[1] for r in list(csv.reader(open(os.path.join(a.set_dir, name))))[1:]}
    family, palette = read("labels.csv"), read("palettes.csv")
    hists = {}
    by_family = {}
    print(f"| facet | palette p@5 | histogram overlap | family p@5 |")
    print("|---|---|---|---|")
    for facet in a.facets:
        out = subprocess.run(
            [a.imgtui, "--store", a.store, "neighbours", images, "--n", "5", "--facet", facet, "--format", "csv"],
            check=True, capture_output=True, text=True,
        ).stdout
        rows = list(csv.DictReader(io.StringIO(out)))
        same_palette, same_family, overlap = [], [], []
        per_family = defaultdict(list)
        for r in rows:
            q, n = r["path"], r["neighbour"]
            qn, nn = os.path.basename(q), os.path.basename(n)
            for p in (q, n):
                if p not in hists:
                    hists[p] = histogram(p)
            same_palette.append(palette[qn] == palette[nn])
            same_family.append(family[qn] == family[nn])
            per_family[family[qn]].append(family[qn] == family[nn])
            overlap.append(np.minimum(hists[q], hists[n]).sum())
        print(f"| {facet} | {np.mean(same_palette):.3f} | {np.mean(overlap):.3f} | {np.mean(same_family):.3f} |")
        by_family[facet] = {f: np.mean(v) for f, v in sorted(per_family.items())}
    print()
    names = sorted(next(iter(by_family.values())))
    print("| facet | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for facet, ps in by_family.items():
        print(f"| {facet} | " + " | ".join(f"{ps[n]:.2f}" for n in names) + " |")


if __name__ == "__main__":
    main()
