#!/usr/bin/env python3
"""Exports an open_clip model's image and text encoders to ONNX, with a model spec for imgtui.

    python models/export_clip.py --model ViT-B-32 --pretrained laion2b_s34b_b79k --out DIR
    python models/export_clip.py --model ViT-B-32 --random --out DIR
    python models/export_clip.py --tiny --out tests/it/fixtures/clip-tiny

Writes into DIR:

- `image.onnx`: `image` float32 [N, 3, S, S] → `embedding` [N, D] (`encode_image`, not normalised);
- `text.onnx`: `tokens` int64 [N, 77] → `embedding` [N, D] (`encode_text`, not normalised);
- `bpe_simple_vocab_16e6.txt.gz`: the CLIP BPE vocabulary, copied from the open_clip package;
- `spec.toml`: how imgtui feeds both (input size, mean, std, centre crop) and where the files are.

Then `imgtui index FOLDER --features model:DIR/spec.toml` embeds with it and
`imgtui search FOLDER "words" --features model:DIR/spec.toml` searches by text.

`--pretrained NAME` downloads weights (open_clip's names, e.g. `openai` or `laion2b_s34b_b79k`
for ViT-B-32): run it where the internet is reachable. `--random` keeps the architecture with random
weights, for checking the export and the runtime without a download. `--tiny` is a random model
of a few MB (width 32, 2 layers) for tests. `--float16` stores the weights as float16 (imgtui
widens them when it loads the model; halves the files).

Only models whose tokenizer is CLIP's BPE (open_clip's `SimpleTokenizer`) are accepted: ViT-*,
RN*, convnext_* and most others; SigLIP, MobileCLIP2 and the multilingual models use other
tokenizers, which imgtui does not have.

Needs: pip install open_clip_torch==3.3.0 onnx (torch comes with it).
"""

import argparse
import os
import shutil
import sys

import numpy as np
import onnx
import open_clip
import torch
from onnx import numpy_helper

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 32, "head_width": 16, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}


class ImageEncoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        return self.model.encode_image(image)


class TextEncoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return self.model.encode_text(tokens)


def export(module, example, input_name, path):
    torch.onnx.export(
        module,
        (example,),
        path,
        input_names=[input_name],
        output_names=["embedding"],
        dynamic_axes={input_name: {0: "batch"}, "embedding": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def to_float16(path):
    """Stores every float32 initializer of more than 1,000 values as float16."""
    model = onnx.load(path)
    for t in model.graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT and np.prod(t.dims) > 1000:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name))
    onnx.save(model, path)


def build(model_name, pretrained, tiny, seed):
    """The model to export, its preprocessing, its imgtui name and its tokenizer (random weights
    from `seed` unless `pretrained` names weights)."""
    torch.manual_seed(seed)
    # The fused attention kernel has no ONNX form; the plain one exports as MatMul/Softmax.
    torch.backends.mha.set_fastpath_enabled(False)
    if tiny:
        model = open_clip.model.CLIP(**TINY)
        preprocess = {"size": (224, 224), "mean": open_clip.OPENAI_DATASET_MEAN,
                      "std": open_clip.OPENAI_DATASET_STD, "resize_mode": "shortest"}
        name = "clip-tiny-random"
        tokenizer = open_clip.tokenizer.SimpleTokenizer()
    else:
        config = open_clip.get_model_config(model_name)
        if config is None:
            sys.exit(f"open_clip knows no model {model_name!r}: see open_clip.list_models()")
        if config.get("text_cfg", {}).get("hf_tokenizer_name"):
            sys.exit(f"{model_name} uses the tokenizer {config['text_cfg']['hf_tokenizer_name']}; "
                     "imgtui reads only CLIP's BPE vocabulary: choose a ViT-*, RN* or convnext_* model")
        model = open_clip.create_model(model_name, pretrained=pretrained)
        preprocess = model.visual.preprocess_cfg
        name = "clip-" + model_name.lower() + ("" if pretrained else "-random")
        tokenizer = open_clip.get_tokenizer(model_name)
    if type(tokenizer) is not open_clip.tokenizer.SimpleTokenizer:
        sys.exit(f"{model_name} uses the tokenizer {type(tokenizer).__name__}; imgtui reads only "
                 "CLIP's BPE vocabulary (SimpleTokenizer): choose a ViT-*, RN* or convnext_* model")
    return model.eval(), preprocess, name, tokenizer


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="ViT-B-32", help="an open_clip model name (default ViT-B-32)")
    weights = p.add_mutually_exclusive_group(required=True)
    weights.add_argument("--pretrained", help="open_clip's name of the weights to download")
    weights.add_argument("--random", action="store_true", help="random weights, same architecture")
    weights.add_argument("--tiny", action="store_true", help="a random model of a few MB, for tests")
    p.add_argument("--out", required=True, help="the folder to write (made if missing)")
    p.add_argument("--name", help="the model's name in imgtui (default: from --model)")
    p.add_argument("--float16", action="store_true", help="store the weights as float16")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights (default 0)")
    args = p.parse_args()

    model, preprocess, name, tokenizer = build(args.model, args.pretrained, args.tiny, args.seed)
    name = args.name or name
    size = preprocess["size"]
    size = size[0] if isinstance(size, (tuple, list)) else size
    context = model.context_length if hasattr(model, "context_length") else 77
    if preprocess.get("resize_mode", "shortest") != "shortest":
        print(f"note: the model was trained with resize_mode {preprocess['resize_mode']!r}; "
              "imgtui centre-crops (as 'shortest' does)", file=sys.stderr)

    os.makedirs(args.out, exist_ok=True)
    with torch.no_grad():
        export(ImageEncoder(model), torch.zeros(1, 3, size, size), "image",
               os.path.join(args.out, "image.onnx"))
        export(TextEncoder(model), torch.zeros(1, context, dtype=torch.int64), "tokens",
               os.path.join(args.out, "text.onnx"))
    if args.float16:
        for f in ("image.onnx", "text.onnx"):
            to_float16(os.path.join(args.out, f))
    vocab = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
    shutil.copyfile(vocab, os.path.join(args.out, "bpe_simple_vocab_16e6.txt.gz"))

    fmt = lambda v: "[" + ", ".join(f"{x:.8f}" for x in v) + "]"
    source = ("random weights, seed %d" % args.seed) if (args.random or args.tiny) else args.pretrained
    with open(os.path.join(args.out, "spec.toml"), "w") as f:
        f.write(f"""# {args.model if not args.tiny else 'a tiny CLIP'} ({source}), exported by models/export_clip.py
# (open_clip {open_clip.__version__}, torch {torch.__version__.split('+')[0]}).
name = "{name}"
onnx = "image.onnx"
input = "image"
size = {size}
range = 1.0
mean = {fmt(preprocess['mean'])}
std = {fmt(preprocess['std'])}
fit = "crop"
embedding = "embedding"

[text]
onnx = "text.onnx"
input = "tokens"
embedding = "embedding"
vocabulary = "bpe_simple_vocab_16e6.txt.gz"
context_length = {context}
""")
    print(f"wrote {args.out}/spec.toml, image.onnx, text.onnx, bpe_simple_vocab_16e6.txt.gz")


if __name__ == "__main__":
    main()
