#!/usr/bin/env python3
"""Reference vectors of a random-weight CLIP export, from torch and from onnxruntime, for
checking that tract (imgtui) runs both encoders the same.

    python bench/clip_reference.py DIR [--model ViT-B-32 | --tiny] [--seed 0] [--float16]

DIR holds an export by `models/export_clip.py` made with the same model, seed and --float16 (it
rebuilds the same random weights; with --float16 it rounds them as the export stored them). Writes
DIR/reference.json: for a few images drawn by formula (`pixel(k, x, y, c)` below, 224×224 RGB) and a
few texts, the torch vectors, and prints the largest difference of onnxruntime from torch.
`examples/clip_check.rs` (and the test on tests/it/fixtures/clip-tiny) compare tract with them.

Needs the packages of models/export_clip.py and onnxruntime.
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "models"))
from export_clip import build  # noqa: E402

TEXTS = [
    "a photo of a cat",
    "Rust-coloured spirals, high contrast",
    "ÉCOLE – café au lait!",
    "a painting of blue waves in the style of hokusai, with foam and mount fuji far away",
]
IMAGES = 3


def pixel(k, size):
    """Image k: channel c of pixel (x, y) is (x·(3+k) + y·(5+2k) + 85c + 17k) mod 256."""
    y, x = np.mgrid[0:size, 0:size]
    return np.stack([(x * (3 + k) + y * (5 + 2 * k) + 85 * c + 17 * k) % 256 for c in range(3)],
                    axis=-1).astype(np.uint8)


def session(path):
    """An onnxruntime session on `path`, float16-stored weights widened first (onnxruntime
    refuses a float32 graph on float16 initializers; imgtui widens them the same way)."""
    model = onnx.load(path)
    for t in model.graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT16:
            t.CopyFrom(onnx.numpy_helper.from_array(
                onnx.numpy_helper.to_array(t).astype(np.float32), t.name))
    return onnxruntime.InferenceSession(model.SerializeToString())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--model", default="ViT-B-32")
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--float16", action="store_true")
    args = p.parse_args()

    model, pre, _, tokenizer = build(args.model, None, args.tiny, args.seed)
    if args.float16:
        with torch.no_grad():
            for t in list(model.parameters()) + list(model.buffers()):
                if t.is_floating_point() and t.numel() > 1000:
                    t.copy_(t.half().float())
    size = pre["size"][0] if isinstance(pre["size"], (tuple, list)) else pre["size"]
    mean = np.array(pre["mean"], np.float32)
    std = np.array(pre["std"], np.float32)
    images = np.stack([(pixel(k, size).astype(np.float32) / 255 - mean) / std
                       for k in range(IMAGES)]).transpose(0, 3, 1, 2).astype(np.float32)
    tokens = tokenizer(TEXTS).numpy().astype(np.int64)

    with torch.no_grad():
        want_img = model.encode_image(torch.from_numpy(images)).numpy()
        want_txt = model.encode_text(torch.from_numpy(tokens)).numpy()
    ort_img = session(os.path.join(args.dir, "image.onnx"))
    ort_txt = session(os.path.join(args.dir, "text.onnx"))
    got_img = np.concatenate([ort_img.run(None, {"image": images[k:k + 1]})[0]
                              for k in range(IMAGES)])
    got_txt = np.concatenate([ort_txt.run(None, {"tokens": tokens[k:k + 1]})[0]
                              for k in range(len(TEXTS))])
    print(f"onnxruntime against torch: image encoder {np.abs(got_img - want_img).max():.2e}, "
          f"text encoder {np.abs(got_txt - want_txt).max():.2e} (largest difference per component; "
          f"vectors' largest component {np.abs(want_img).max():.2f} / {np.abs(want_txt).max():.2f})")
    with open(os.path.join(args.dir, "reference.json"), "w") as f:
        json.dump({
            "pixel": "channel c of pixel (x, y) of image k = (x*(3+k) + y*(5+2k) + 85c + 17k) mod 256",
            "images": [v.tolist() for v in want_img],
            "texts": [{"text": t, "tokens": tk[:int(np.argmax(tk)) + 1].tolist(), "embedding": v.tolist()}
                      for t, tk, v in zip(TEXTS, tokens, want_txt)],
        }, f)
    print(f"wrote {os.path.join(args.dir, 'reference.json')}")


if __name__ == "__main__":
    main()
