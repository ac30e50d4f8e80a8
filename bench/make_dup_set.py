#!/usr/bin/env python3
"""A near-duplicate benchmark: distinct procedural artworks, each with copies a person calls
"the same picture", and same-style siblings that are other pictures.

    python3 bench/make_dup_set.py OUT_DIR [ARTWORKS=48] [SIZE=512]

Each artwork is one of eight generator families (noise, rings, stripes, cells, gradient,
blobs, waves, spiral) with its own parameters and a palette from a pool of twelve. Every
artwork gets a copy per transformation:

    jpeg95 jpeg85 jpeg75 jpeg50   JPEG re-encodes at that quality
    half quarter                  50 % and 25 % of the size (Lanczos)
    crop92                        the centre 92 % of each side
    bright8                       +8 % brightness (values × 1.08, clipped)

and two siblings, each a distinct picture of the same style: `palette` (same family and
parameters, another palette, as two ring pictures in different colours) and `params` (same
family and palette, other parameters). Writes OUT_DIR/images/ and OUT_DIR/labels.csv
(`filename,artwork,transform`: `original` for originals and siblings, whose artwork is their
own). bench/dup_score.py scores `imgtui dups` against it.
"""

import io
import os
import sys

import numpy as np
from PIL import Image, ImageEnhance

out = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else sys.exit(__doc__.strip())
count = int(sys.argv[2]) if len(sys.argv) > 2 else 48
S = int(sys.argv[3]) if len(sys.argv) > 3 else 512
rng = np.random.default_rng(2026)
PALETTES = [rng.uniform(0, 1, (4, 3)) for _ in range(12)]
y, x = np.mgrid[0:S, 0:S].astype(np.float32) / S


def colorize(t, pal):
    t = np.clip(t, 0, 1) * (len(pal) - 1)
    i = np.minimum(np.floor(t).astype(int), len(pal) - 2)
    f = (t - i)[..., None]
    return pal[i] * (1 - f) + pal[i + 1] * f


def noise(p):
    r = np.random.default_rng(int(p[0] * 1e6))
    g = np.zeros((S, S), np.float32)
    for o in range(5):
        small = r.uniform(0, 255, (3 * 2**o, 3 * 2**o)).astype(np.uint8)
        g += np.asarray(Image.fromarray(small).resize((S, S), Image.BICUBIC), np.float32) / 2**o
    return (g - g.min()) / (g.max() - g.min())


def rings(p):
    cx, cy = 0.2 + 0.6 * p[0], 0.2 + 0.6 * p[1]
    return 0.5 + 0.5 * np.sin(np.hypot(x - cx, y - cy) * (8 + 22 * p[2]) * 6.28 + 6 * p[3])


def stripes(p):
    a, f = 3.14 * p[0], 4 + 16 * p[1]
    u = x * np.cos(a) + y * np.sin(a) + 0.3 * p[2] * np.sin(y * (2 + 6 * p[3]) * 6.28)
    return 0.5 + 0.5 * np.sign(np.sin(u * f * 6.28)) * (0.6 + 0.4 * p[4])


def cells(p):
    r = np.random.default_rng(int(p[0] * 1e6))
    pts = r.uniform(0, 1, (12 + int(28 * p[1]), 2))
    d = np.sort([np.hypot(x - px, y - py) for px, py in pts], axis=0)
    return np.clip((d[1] - d[0]) * (4 + 5 * p[2]), 0, 1)


def gradient(p):
    a = 6.28 * p[0]
    return np.clip((x - 0.5) * np.cos(a) + (y - 0.5) * np.sin(a) + 0.5 + 0.2 * np.sin(x * (2 + 6 * p[1]) + y * (1 + 5 * p[2])), 0, 1)


def blobs(p):
    r = np.random.default_rng(int(p[0] * 1e6))
    t = np.zeros((S, S), np.float32)
    for cx, cy, rad in r.uniform([0, 0, 0.05], [1, 1, 0.2], (4 + int(10 * p[1]), 3)):
        t = np.maximum(t, np.clip(1 - np.hypot(x - cx, y - cy) / rad, 0, 1) ** (0.3 + p[2]))
    return t


def waves(p):
    return 0.5 + 0.25 * np.sin((x * (2 + 10 * p[0]) + np.sin(y * (1 + 8 * p[1]) * 6.28) * p[2]) * 6.28) \
        + 0.25 * np.sin(y * (2 + 10 * p[3]) * 6.28 + 6 * p[4])


def spiral(p):
    cx, cy = 0.3 + 0.4 * p[0], 0.3 + 0.4 * p[1]
    ang = np.arctan2(y - cy, x - cx)
    rad = np.hypot(x - cx, y - cy)
    return 0.5 + 0.5 * np.sin(ang * (1 + int(6 * p[2])) + rad * (10 + 30 * p[3]) * 6.28)


FAMILIES = [noise, rings, stripes, cells, gradient, blobs, waves, spiral]


def draw(family, params, palette):
    img = colorize(family(params), PALETTES[palette])
    return Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))


def jpeg(img, q):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue()))


def crop(img, f):
    w, h = img.size
    cw, ch = round(w * f), round(h * f)
    left, top = (w - cw) // 2, (h - ch) // 2
    return img.crop((left, top, left + cw, top + ch))


TRANSFORMS = {
    "jpeg95": lambda im: (jpeg(im, 95), "jpg", 95),
    "jpeg85": lambda im: (jpeg(im, 85), "jpg", 85),
    "jpeg75": lambda im: (jpeg(im, 75), "jpg", 75),
    "jpeg50": lambda im: (jpeg(im, 50), "jpg", 50),
    "half": lambda im: (im.resize((S // 2, S // 2), Image.LANCZOS), "png", None),
    "quarter": lambda im: (im.resize((S // 4, S // 4), Image.LANCZOS), "png", None),
    "crop92": lambda im: (crop(im, 0.92), "png", None),
    "bright8": lambda im: (ImageEnhance.Brightness(im).enhance(1.08), "png", None),
}


def main():
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    rows = ["filename,artwork,transform"]

    def save(img, name, ext, q, artwork, transform):
        fname = f"{name}.{ext}"
        path = os.path.join(out, "images", fname)
        if ext == "jpg":
            img.save(path, "JPEG", quality=q)
        else:
            img.save(path)
        rows.append(f"{fname},{artwork},{transform}")

    for i in range(count):
        family = FAMILIES[i % len(FAMILIES)]
        params = rng.uniform(0, 1, 5)
        palette = int(rng.integers(len(PALETTES)))
        art = f"{family.__name__}-{i:03d}"
        img = draw(family, params, palette)
        save(img, art, "png", None, art, "original")
        for t, make in TRANSFORMS.items():
            copy, ext, q = make(img)
            save(copy, f"{art}-{t}", ext, q, art, t)
        # Same style, other pictures: another palette; other parameters (each moved by 0.15).
        other = (palette + 1 + int(rng.integers(len(PALETTES) - 1))) % len(PALETTES)
        save(draw(family, params, other), f"{art}-sib-palette", "png", None, f"{art}-sib-palette", "original")
        moved = np.clip(params + rng.choice([-0.15, 0.15], 5), 0, 1)
        save(draw(family, moved, palette), f"{art}-sib-params", "png", None, f"{art}-sib-params", "original")
    with open(os.path.join(out, "labels.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


main()
