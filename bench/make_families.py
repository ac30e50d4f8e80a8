#!/usr/bin/env python3
"""Abstract art in five kinds and four palettes, labelled both ways, for bench/features.py.

    python3 bench/make_families.py OUT_DIR [COUNT=100] [SIZE=384]

Kinds: noise, rings, stripes, cells, gradient; each image takes one of four palettes (colours
jittered, order reversed at random). Writes OUT_DIR/images/KIND-NNN.png, OUT_DIR/labels.csv
(label = kind) and OUT_DIR/by-palette/ (images linked, label = palette), so

    bench/features.py OUT_DIR              # does a feature group by structure?
    bench/features.py OUT_DIR/by-palette   # ... or by palette?
"""

import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
S = int(sys.argv[3]) if len(sys.argv) > 3 else 384
rng = np.random.default_rng(7)
palettes = [rng.uniform(0, 1, (4, 3)) for _ in range(4)]
y, x = np.mgrid[0:S, 0:S].astype(np.float32) / S


def colorize(t, pal):
    t = np.clip(t, 0, 1) * (len(pal) - 1)
    i = np.minimum(np.floor(t).astype(int), len(pal) - 2)
    f = (t - i)[..., None]
    return pal[i] * (1 - f) + pal[i + 1] * f


def noise():
    g = np.zeros((S, S), np.float32)
    for o in range(5):
        small = rng.uniform(0, 255, (4 * 2**o, 4 * 2**o)).astype(np.uint8)
        g += np.asarray(Image.fromarray(small).resize((S, S), Image.BICUBIC), np.float32) / 2**o
    return (g - g.min()) / (g.max() - g.min())


def rings():
    cx, cy = rng.uniform(0.2, 0.8, 2)
    return 0.5 + 0.5 * np.sin(np.hypot(x - cx, y - cy) * rng.uniform(8, 30) * 6.28 + rng.uniform(0, 6))


def stripes():
    a, f = rng.uniform(0, 3.14), rng.uniform(4, 20)
    u = x * np.cos(a) + y * np.sin(a) + 0.3 * rng.uniform(0, 1) * np.sin(y * rng.uniform(2, 8) * 6.28)
    return 0.5 + 0.5 * np.sign(np.sin(u * f * 6.28)) * rng.uniform(0.6, 1)


def cells():
    d = np.sort([np.hypot(x - px, y - py) for px, py in rng.uniform(0, 1, (rng.integers(12, 40), 2))], axis=0)
    return np.clip((d[1] - d[0]) * rng.uniform(4, 9), 0, 1)


def gradient():
    a = rng.uniform(0, 6.28)
    return np.clip((x - 0.5) * np.cos(a) + (y - 0.5) * np.sin(a) + 0.5 + 0.1 * np.sin(x * 3 + y * 2), 0, 1)


kinds = [noise, rings, stripes, cells, gradient]
os.makedirs(os.path.join(out, "images"), exist_ok=True)
os.makedirs(os.path.join(out, "by-palette"), exist_ok=True)
by_kind, by_palette = ["filename,label"], ["filename,label"]
for i in range(count):
    kind, p = kinds[i % len(kinds)], (i // len(kinds)) % len(palettes)
    pal = np.clip(palettes[p] + rng.normal(0, 0.04, palettes[p].shape), 0, 1)
    pal = pal[::-1] if rng.uniform() < 0.5 else pal
    img = colorize(kind(), pal) + rng.normal(0, 0.01, (S, S, 3))
    name = f"{kind.__name__}-{i // len(kinds):03d}.png"
    Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(os.path.join(out, "images", name))
    by_kind.append(f"{name},{kind.__name__}")
    by_palette.append(f"{name},palette{p + 1}")
with open(os.path.join(out, "labels.csv"), "w") as f:
    f.write("\n".join(by_kind) + "\n")
with open(os.path.join(out, "by-palette", "labels.csv"), "w") as f:
    f.write("\n".join(by_palette) + "\n")
link = os.path.join(out, "by-palette", "images")
if not os.path.lexists(link):
    os.symlink(os.path.join("..", "images"), link)
