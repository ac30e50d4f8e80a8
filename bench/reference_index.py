#!/usr/bin/env python3
"""The tool a user would otherwise write: PIL decode + resize, onnxruntime on the same model.

Embeds every image under a folder with models/efficientnet_lite0.onnx and prints images per
second, end to end (walk, decode, composite, resize, normalise, infer, L2-normalise). Vectors are
kept in memory only, so this is a lower bound on what a real script with a store would take.

    pip install pillow numpy onnx onnxruntime
    python bench/reference_index.py DIR [--threads 2] [--batch 16]
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, numpy_helper
from PIL import Image

EXTS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".tga", ".ico", ".ppm", ".pgm", ".pbm", ".qoi"}


def load(path, size):
    img = Image.open(path)
    img.seek(0)
    if img.mode in ("RGBA", "LA", "P", "PA"):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img)
    img = img.convert("RGB").resize((size, size), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return x.transpose(2, 0, 1)


def float32_model(path):
    """The model's bytes with weights stored as float16 (as imgtui stores its built-in model)
    widened to float32, as imgtui does when it loads it."""
    m = onnx.load(path)
    for t in m.graph.initializer:
        if t.data_type == TensorProto.FLOAT16:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
    return m.SerializeToString()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--model", default=os.path.join(os.path.dirname(__file__), "..", "models", "efficientnet_lite0.onnx"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()

    start = time.perf_counter()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(float32_model(args.model), opts, providers=["CPUExecutionProvider"])
    paths = sorted(
        os.path.join(d, f) for d, _, fs in os.walk(args.dir) for f in fs if os.path.splitext(f)[1].lower() in EXTS
    )
    vectors, skipped, batch = [], 0, []

    def flush():
        (emb,) = sess.run(["embedding"], {"input": np.stack(batch)})
        vectors.extend(emb / np.linalg.norm(emb, axis=1, keepdims=True))
        batch.clear()

    for p in paths:
        try:
            batch.append(load(p, 224))
        except Exception:
            skipped += 1
            continue
        if len(batch) == args.batch:
            flush()
    if batch:
        flush()
    secs = time.perf_counter() - start
    print(json.dumps({"tool": "python-pil-onnxruntime", "images": len(vectors), "skipped": skipped,
                      "seconds": round(secs, 3), "images_per_second": round(len(vectors) / secs, 1),
                      "threads": args.threads, "batch": args.batch}))


if __name__ == "__main__":
    sys.exit(main())
