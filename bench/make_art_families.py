#!/usr/bin/env python3
"""Procedural art in eight families with random parameters and palettes, for judging how many
clusters `--k auto` finds against how many a person sees.

    python3 bench/make_art_families.py OUT_DIR [COUNT=400] [SIZE=256] [SEED=11] [PALETTES=random]

Families: noise, marble, flow (flow-field streaks), cells (Voronoi), opart (high-contrast
moiré and checkers), rings, attractor (Clifford attractor densities), mondrian (recursive
splits with black rules). Every image draws its own palette of 3–5 random colours and its own
parameters, so a family is a structure, not a look. Writes OUT_DIR/images/FAMILY-NNNN.png and
OUT_DIR/labels.csv (filename,label = family); families take turns, so the first n images of
the set hold every family about equally.

With PALETTES=named, each image's palette is instead one of the eight fixed named palettes
below, drawn at random (a family and a palette are independent), lightly jittered per image;
OUT_DIR/palettes.csv then gives each image's palette (filename,palette), for judging whether
a similarity shares palettes (bench/facets.py).
"""

import os
import sys

import numpy as np
from PIL import Image, ImageDraw

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
S = int(sys.argv[3]) if len(sys.argv) > 3 else 256
rng = np.random.default_rng(int(sys.argv[4]) if len(sys.argv) > 4 else 11)
y, x = np.mgrid[0:S, 0:S].astype(np.float32) / S


NAMED = {
    "sunset": ["#2b1055", "#d53369", "#f58e3b", "#ffd56b"],
    "ocean": ["#03045e", "#0077b6", "#00b4d8", "#caf0f8"],
    "forest": ["#1b2d1b", "#2d6a4f", "#74c69d", "#d8f3dc"],
    "desert": ["#6b3e1e", "#c67c3d", "#e9c46a", "#f4e9cd"],
    "neon": ["#0d0221", "#ff00a0", "#00f0ff", "#f9f871"],
    "greys": ["#111111", "#555555", "#999999", "#eeeeee"],
    "candy": ["#ffafcc", "#ffc8dd", "#cdb4db", "#a2d2ff"],
    "rust": ["#250902", "#7f1d1d", "#c2410c", "#a8a29e"],
}
named = len(sys.argv) > 5 and sys.argv[5] == "named"
drawn = []


def palette():
    if not named:
        return rng.uniform(0, 1, (rng.integers(3, 6), 3))
    name = list(NAMED)[rng.integers(0, len(NAMED))]
    drawn.append(name)
    pal = np.array([[int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)] for h in NAMED[name]])
    return np.clip(pal + rng.normal(0, 0.03, pal.shape), 0, 1)[rng.permutation(len(pal))]


def colorize(t, pal):
    t = np.clip(t, 0, 1) * (len(pal) - 1)
    i = np.minimum(np.floor(t).astype(int), len(pal) - 2)
    f = (t - i)[..., None]
    return pal[i] * (1 - f) + pal[i + 1] * f


def fractal(octaves=5, base=None):
    base = base or int(rng.integers(2, 6))
    g = np.zeros((S, S), np.float32)
    for o in range(octaves):
        n = base * 2**o
        small = rng.uniform(0, 255, (n, n)).astype(np.uint8)
        g += np.asarray(Image.fromarray(small).resize((S, S), Image.BICUBIC), np.float32) / 1.8**o
    return (g - g.min()) / (g.max() - g.min() + 1e-9)


def noise(pal):
    return colorize(fractal(), pal)


def marble(pal):
    a, f = rng.uniform(0, 6.28), rng.uniform(3, 12)
    t = np.sin((x * np.cos(a) + y * np.sin(a)) * f * 6.28 + rng.uniform(3, 9) * fractal())
    return colorize(0.5 + 0.5 * t, pal)


def flow(pal):
    angle = fractal(3) * rng.uniform(6, 14)
    img = Image.new("RGB", (S, S), tuple(int(c * 255) for c in pal[0]))
    d = ImageDraw.Draw(img)
    for _ in range(rng.integers(150, 400)):
        px, py = rng.uniform(0, S, 2)
        col = tuple(int(c * 255) for c in pal[rng.integers(1, len(pal))])
        pts = []
        for _ in range(40):
            pts.append((px, py))
            a = angle[int(py) % S, int(px) % S]
            px, py = px + 3 * np.cos(a), py + 3 * np.sin(a)
        d.line(pts, fill=col, width=int(rng.integers(1, 4)))
    return np.asarray(img, np.float32) / 255


def cells(pal):
    pts = rng.uniform(0, 1, (rng.integers(10, 60), 2))
    d = np.sort([np.hypot(x - px, y - py) for px, py in pts], axis=0)
    owner = np.argmin([np.hypot(x - px, y - py) for px, py in pts], axis=0)
    fill = pal[rng.integers(0, len(pal), len(pts))][owner]
    edge = np.clip((d[1] - d[0]) * rng.uniform(20, 60), 0, 1)[..., None]
    return fill * edge


def opart(pal):
    a, b = pal[0] * 0.2, 0.8 + 0.2 * pal[-1]
    f = rng.uniform(8, 30)
    cx, cy = rng.uniform(0.2, 0.8, 2)
    r = np.hypot(x - cx, y - cy)
    warp = 1 + rng.uniform(0.3, 1.5) * np.exp(-r * rng.uniform(2, 6))
    t = (np.sign(np.sin((x - cx) * f * warp * 6.28)) * np.sign(np.sin((y - cy) * f * warp * 6.28)) > 0)
    return np.where(t[..., None], a, b)


def rings(pal):
    cx, cy = rng.uniform(0.1, 0.9, 2)
    t = 0.5 + 0.5 * np.sin(np.hypot(x - cx, y - cy) * rng.uniform(6, 30) * 6.28 + rng.uniform(0, 6))
    return colorize(t, pal)


def attractor(pal):
    while True:  # redraw parameters whose orbit collapses to a few points
        a, b, c, d = rng.uniform(-2, 2, 4)
        p = rng.uniform(-1, 1, (500, 2))
        for _ in range(60):
            p = np.stack([np.sin(a * p[:, 1]) + c * np.cos(a * p[:, 0]), np.sin(b * p[:, 0]) + d * np.cos(b * p[:, 1])], 1)
        if len(np.unique((p * 50).astype(int), axis=0)) > 300:
            break
    p = rng.uniform(-1, 1, (2000, 2))
    hist = np.zeros((S, S), np.float32)
    for i in range(120):
        p = np.stack([np.sin(a * p[:, 1]) + c * np.cos(a * p[:, 0]), np.sin(b * p[:, 0]) + d * np.cos(b * p[:, 1])], 1)
        if i > 10:
            q = ((p / 4.2 + 0.5) * (S - 1)).astype(int).clip(0, S - 1)
            np.add.at(hist, (q[:, 1], q[:, 0]), 1)
    t = np.log1p(hist) / np.log1p(hist.max())
    return colorize(t, np.vstack([pal[0] * 0.15, pal]))


def mondrian(pal):
    img = Image.new("RGB", (S, S), (245, 245, 240))
    d = ImageDraw.Draw(img)

    def split(x0, y0, x1, y1, depth):
        if depth == 0 or (x1 - x0) < S / 8 or (y1 - y0) < S / 8 or rng.uniform() < 0.15:
            if rng.uniform() < 0.4:
                d.rectangle([x0, y0, x1, y1], fill=tuple(int(c * 255) for c in pal[rng.integers(0, len(pal))]))
            d.rectangle([x0, y0, x1, y1], outline=(10, 10, 10), width=int(rng.integers(3, 7)))
            return
        if (x1 - x0) > (y1 - y0):
            m = rng.uniform(x0 + (x1 - x0) * 0.25, x1 - (x1 - x0) * 0.25)
            split(x0, y0, m, y1, depth - 1)
            split(m, y0, x1, y1, depth - 1)
        else:
            m = rng.uniform(y0 + (y1 - y0) * 0.25, y1 - (y1 - y0) * 0.25)
            split(x0, y0, x1, m, depth - 1)
            split(x0, m, x1, y1, depth - 1)

    split(0, 0, S - 1, S - 1, int(rng.integers(3, 6)))
    return np.asarray(img, np.float32) / 255


families = [noise, marble, flow, cells, opart, rings, attractor, mondrian]
os.makedirs(os.path.join(out, "images"), exist_ok=True)
labels = ["filename,label"]
for i in range(count):
    fam = families[i % len(families)]
    img = fam(palette()) + rng.normal(0, 0.01, (S, S, 3))
    name = f"{fam.__name__}-{i // len(families):04d}.png"
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(os.path.join(out, "images", name))
    labels.append(f"{name},{fam.__name__}")
with open(os.path.join(out, "labels.csv"), "w") as f:
    f.write("\n".join(labels) + "\n")
if named:
    with open(os.path.join(out, "palettes.csv"), "w") as f:
        f.write("filename,palette\n")
        f.writelines(f"{line.split(',')[0]},{p}\n" for line, p in zip(labels[1:], drawn))
