#!/usr/bin/env python3
"""How far the second step of the near-duplicate pixel check (src/decode/signature.rs,
`fine_map` / `fine_difference`) puts copies and distinct pictures, to choose its threshold.

    python3 bench/fine_check.py COPY_SET STORE_OF_COPY_SET OTHER_STORE [PAIRS=40000]

COPY_SET is made by bench/make_dup_set.py and indexed into STORE_OF_COPY_SET; OTHER_STORE
holds a set of distinct pictures (e.g. Fashion-MNIST's 10,000 test images, indexed). A
numpy/PIL model of both steps, read from the stores (signatures, thumbnails, vectors):

* copies: every copy against its original, at the alignment the signatures choose;
* distinct: a seeded sample of PAIRS pairs of OTHER_STORE at cosine >= 0.70, of which those
  the signatures agree on are measured.

Prints, per transformation, the 98th percentile and the largest fine difference of the
copies, and the smallest fine differences of the distinct pairs, in 0..255 units (the
threshold in imgtui is MAX_FINE_DIFFERENCE = 10). Needs numpy and PIL.
"""

import csv
import io
import random
import sqlite3
import sys

import numpy as np
from PIL import Image

CELLS, SCALES, FINE, BLOCK, FLAT_STD = 16, [1.0, 0.92, 0.84], 64, 16, 2.0  # BLOCK: blocks a side
M = CELLS * CELLS
ALIGNMENTS = [(0, 0), (1, 0), (0, 1), (2, 0), (0, 2)]


def load(store):
    db = sqlite3.connect(store)
    paths = {bytes(p).decode(): bytes(h) for p, h in db.execute("SELECT path, hash FROM files")}
    vectors = {bytes(h): np.frombuffer(v, np.float32) for h, v in db.execute("SELECT hash, vector FROM vectors")}
    sigs = {bytes(h): np.frombuffer(s, np.uint8).astype(np.float32) for h, s in db.execute("SELECT hash, signature FROM signatures")}
    thumbs = {bytes(h): bytes(j) for h, j in db.execute("SELECT hash, jpeg FROM thumbnails")}
    return paths, vectors, sigs, thumbs


def likeness(a, b):
    """Structure NCC, both flat, chroma RMS, tone: the signature comparison of one scale."""
    def joint(s):
        y, e = s[:M], s[3 * M:4 * M]
        return np.concatenate([y - y.mean(), (e - e.mean()) / 4]), y.mean()
    (ja, ma), (jb, mb) = joint(a), joint(b)
    aa, bb = ja @ ja, jb @ jb
    flat = lambda e: e / len(ja) <= 1.0
    structure = 0.0 if flat(aa) or flat(bb) else float(ja @ jb / np.sqrt(aa * bb))
    chroma = float(np.sqrt(((a[M:3 * M] - b[M:3 * M]) ** 2).mean()))
    return structure, flat(aa) and flat(bb), chroma, abs(ma - mb)


def agrees(l):
    return (l[0] >= 0.90 or l[1]) and l[2] <= 8.0 and l[3] <= 25.0


def compare(a, b):
    scale = lambda s, k: s[1 + k * 4 * M:1 + (k + 1) * 4 * M]
    found = [(likeness(scale(a, x), scale(b, y)), (x, y)) for x, y in ALIGNMENTS]
    return max(found, key=lambda t: (agrees(t[0]), t[0][0]))


_pictures = {}


def fine_map(thumbs, h, k):
    if (h, k) not in _pictures:
        im = Image.open(io.BytesIO(thumbs[h])).convert("YCbCr")
        w, hh = im.size
        f = SCALES[k]
        box = ((w - w * f) / 2, (hh - hh * f) / 2, (w + w * f) / 2, (hh + hh * f) / 2)
        _pictures[(h, k)] = np.asarray(im.resize((FINE, FINE), Image.BILINEAR, box=box), np.uint8)
    return _pictures[(h, k)]


def matching(x, y):
    """Histogram matching of the u8 plane x onto y: each value of x takes the mean of y's
    sorted values at the ranks it holds in x's order."""
    counts = np.bincount(x, minlength=256)
    ends = np.cumsum(counts)
    prefix = np.concatenate([[0.0], np.cumsum(np.sort(y).astype(float))])
    starts = ends - counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, (prefix[ends] - prefix[starts]) / counts, 0.0)


def fine_difference(a, b):
    if max(a[..., c].std() for c in range(3)) < FLAT_STD or max(b[..., c].std() for c in range(3)) < FLAT_STD:
        return None
    worst, q = 0.0, FINE // BLOCK
    for c in range(3):
        x, y = a[..., c].ravel().astype(np.uint8), b[..., c].ravel().astype(np.uint8)
        r = np.abs(y - matching(x, y)[x]).reshape(FINE, FINE)
        worst = max(worst, float(r.reshape(BLOCK, q, BLOCK, q).mean(axis=(1, 3)).max()))
    return worst


def difference(sigs, thumbs, ha, hb):
    l, al = compare(sigs[ha], sigs[hb])
    if not agrees(l):
        return None
    tries = ALIGNMENTS if l[1] else [al]
    ds = [fine_difference(fine_map(thumbs, ha, x), fine_map(thumbs, hb, y)) for x, y in tries]
    return min((d for d in ds if d is not None), default=None)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip())
    copy_set, copy_store, other_store = sys.argv[1:4]
    n_pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 40000
    paths, _, sigs, thumbs = load(copy_store)
    by_name = {p.split("/")[-1]: h for p, h in paths.items()}
    rows = list(csv.DictReader(open(f"{copy_set}/labels.csv")))
    original = {r["artwork"]: by_name[r["filename"]] for r in rows if r["transform"] == "original"}
    per = {}
    for r in rows:
        if r["transform"] != "original" and r["filename"] in by_name:
            d = difference(sigs, thumbs, original[r["artwork"]], by_name[r["filename"]])
            per.setdefault(r["transform"], []).append(np.inf if d is None else d)
    print("copies against their original (inf: the signatures disagree, or flat):")
    for t, ds in sorted(per.items()):
        print(f"  {t:<10} n={len(ds):4}  p98 {np.percentile(ds, 98):6.1f}  max {max(ds):6.1f}")
    _pictures.clear()
    paths, vectors, sigs, thumbs = load(other_store)
    hashes = sorted(set(paths.values()))
    x = np.stack([vectors[h] for h in hashes])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pairs = []
    for s in range(0, len(hashes), 1000):
        i, j = np.nonzero(x[s:s + 1000] @ x.T >= 0.70)
        keep = j > i + s
        pairs += list(zip((i[keep] + s).tolist(), j[keep].tolist()))
    random.seed(0)
    sample = random.sample(pairs, min(n_pairs, len(pairs)))
    ds = [difference(sigs, thumbs, hashes[i], hashes[j]) for i, j in sample]
    passed = np.array([d for d in ds if d is not None])
    print(f"distinct: {len(pairs)} pairs at cosine >= 0.70, {len(sample)} sampled, "
          f"{len(passed)} passed by the signatures; their smallest fine differences: "
          f"{np.sort(passed)[:8].round(1).tolist()}; at most 10: {(passed <= 10).sum()}")


if __name__ == "__main__":
    main()
