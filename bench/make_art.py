#!/usr/bin/env python3
"""Procedural "generative art" PNGs, like the first user's collection (tweegeemee-style colour fields).

    python bench/make_art.py OUT_DIR [COUNT=200] [SIZE=1024] [--jpeg]
"""

import os
import sys

import numpy as np
from PIL import Image


def art(rng, size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    out = np.zeros((size, size, 3), np.float32)
    for c in range(3):
        fx, fy, ph = rng.uniform(1, 12, 3)
        warp = np.sin(fx * 6.28 * x + 3 * np.cos(fy * 6.28 * y + ph))
        out[..., c] = 0.5 + 0.5 * np.sin(warp * rng.uniform(1, 5) + fy * y * 6.28 + c)
    out += rng.normal(0, 0.04, out.shape)
    return Image.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8))


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__.strip())
    out = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    jpeg = "--jpeg" in sys.argv
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2022)
    for i in range(count):
        img = art(rng, size)
        if jpeg:
            img.save(os.path.join(out, f"art-{i:04d}.jpg"), quality=90)
        else:
            img.save(os.path.join(out, f"art-{i:04d}.png"))


if __name__ == "__main__":
    main()
