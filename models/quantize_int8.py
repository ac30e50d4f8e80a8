#!/usr/bin/env python3
"""Quantizes the built-in EfficientNet-Lite0 to int8 (QDQ format): weights per output channel
(symmetric int8), activations per tensor (uint8) calibrated on images from the Debian package
`wesnoth-1.16-data` (portraits, items, scenery, story art and terrain; not the unit sprites,
which are one of the labelled sets the result is measured on).

    pip install onnx onnxruntime numpy pillow
    apt-get download wesnoth-1.16-data=1:1.16.9-1 && dpkg-deb -x wesnoth-1.16-data_*.deb wes
    python models/quantize_int8.py models/efficientnet_lite0.onnx \
        wes/usr/share/games/wesnoth/1.16/data/core/images /tmp/efficientnet_lite0_int8.onnx

Only convolutions are quantized (onnxruntime's `quantize_static`, QDQ format, percentile
calibration), except the stem and the head convolution; the global average pool, the
`embedding` output and the classifier stay float32,
so the graph's inputs and outputs are those of the float model. The input is prepared as imgtui
prepares it: RGB over mid-grey, stretched to 224×224 (Triangle filter), (x / 255 − 0.5) / 0.5.
"""
import os, sys, hashlib, shutil, tempfile
import numpy as np, onnx
from onnx import numpy_helper, TensorProto
from PIL import Image
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      CalibrationMethod, quantize_static)

src, images_root, dst = sys.argv[1], sys.argv[2], sys.argv[3]
PER_FOLDER = {"portraits": 120, "items": 50, "scenery": 50, "story": 30, "terrain": 50}
SIZE = 224


def calibration_files():
    files = []
    for folder, n in PER_FOLDER.items():
        found = sorted(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(images_root, folder))
                       for f in fs if f.endswith((".png", ".jpg", ".webp")))
        # An even spread over the sorted list, the same every run.
        step = max(1, len(found) // n)
        files += found[::step][:n]
    return files


def prepare(path):
    img = Image.open(path).convert("RGBA")
    grey = Image.new("RGBA", img.size, (128, 128, 128, 255))
    img = Image.alpha_composite(grey, img).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - 0.5) / 0.5
    return x.transpose(2, 0, 1)[None]


class Reader(CalibrationDataReader):
    def __init__(self, files):
        self.it = iter(files)

    def get_next(self):
        path = next(self.it, None)
        return None if path is None else {"input": prepare(path)}


# The stored model keeps its weights as float16 (see to_float16.py): widen them first.
m = onnx.load(src)
for i, n in enumerate(m.graph.node):  # the export leaves nodes unnamed; the quantizer keys by name
    n.name = n.name or f"{n.op_type}_{i}"
for t in m.graph.initializer:
    if t.data_type == TensorProto.FLOAT16:
        a = numpy_helper.to_array(t).astype(np.float32)
        t.CopyFrom(numpy_helper.from_array(a, t.name))
tmp = tempfile.mkdtemp()
float32 = os.path.join(tmp, "float32.onnx")
onnx.save(m, float32)

files = calibration_files()
print(len(files), "calibration images")
convs = [n.name for n in m.graph.node if n.op_type == "Conv"]
quantize_static(
    float32, dst, Reader(files),
    quant_format=QuantFormat.QDQ,
    op_types_to_quantize=["Conv"],
    # The stem (it sees the raw image) and the head (it makes the embedding) stay float: with
    # them quantized the median cosine to the float vectors was 0.954 instead of 0.989.
    nodes_to_exclude=[convs[0], convs[-1]],
    per_channel=True,
    weight_type=QuantType.QInt8,
    activation_type=QuantType.QUInt8,
    # Ranges from the 0.01th to the 99.99th percentile rather than min to max: rare extremes
    # no longer coarsen the steps for every other value (median cosine 0.916 with MinMax).
    calibrate_method=CalibrationMethod.Percentile,
    extra_options={"CalibPercentile": 99.99},
)
# The quantizer records shapes with a symbolic batch; imgtui feeds one image: drop them.
q = onnx.load(dst)
del q.graph.value_info[:]
onnx.save(q, dst)
print(dst, os.path.getsize(dst), "bytes, sha256", hashlib.sha256(open(dst, "rb").read()).hexdigest())

# A model spec beside it, so that `imgtui --model NAME` finds it when both sit in the user's
# models folder (~/.config/imgtui/models on Linux).
here = os.path.dirname(os.path.abspath(__file__))
name = os.path.splitext(os.path.basename(dst))[0]
spec = open(os.path.join(here, "..", "config", "models", "efficientnet-lite0.toml")).read()
spec = spec.replace('name = "efficientnet-lite0"', f'name = "{name}"')
spec = spec.replace('onnx = "../../models/efficientnet_lite0.onnx"', f'onnx = "{name}.onnx"')
spec = spec.replace('classes = "../../models/imagenet_classes.txt"', f'classes = "{name}.classes.txt"')
out_dir = os.path.dirname(os.path.abspath(dst))
open(os.path.join(out_dir, name + ".toml"), "w").write(spec)
shutil.copy(os.path.join(here, "imagenet_classes.txt"), os.path.join(out_dir, name + ".classes.txt"))
print("spec", os.path.join(out_dir, name + ".toml"))
