#!/usr/bin/env python3
"""Sanity check of an exported EfficientNet-Lite: classify the photos shipped in scikit-image.

    pip install onnxruntime pillow scikit-image==0.26.0 --no-deps   (only its data folder is used)
    python models/check_export.py models/efficientnet_lite0.onnx
"""

import importlib.util
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

PHOTOS = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png", "horse.png"]


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else "models/efficientnet_lite0.onnx"
    here = os.path.dirname(os.path.abspath(__file__))
    classes = open(os.path.join(here, "imagenet_classes.txt")).read().splitlines()
    data = os.path.join(os.path.dirname(importlib.util.find_spec("skimage").origin), "data")
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    size = sess.get_inputs()[0].shape[-1]
    for name in PHOTOS:
        img = Image.open(os.path.join(data, name)).convert("RGB").resize((size, size), Image.BILINEAR)
        x = (np.asarray(img, dtype=np.float32) / 255.0 - 0.5) / 0.5
        x = x.transpose(2, 0, 1)[None]
        emb, logits = sess.run(["embedding", "logits"], {"input": x})
        p = np.exp(logits[0] - logits[0].max())
        p /= p.sum()
        top = np.argsort(-p)[:3]
        tops = ", ".join(f"{i} {classes[i]} {p[i]:.2f}" for i in top)
        print(f"{name:22s} -> {tops}   |embedding| {np.linalg.norm(emb):.2f}")


if __name__ == "__main__":
    main()
