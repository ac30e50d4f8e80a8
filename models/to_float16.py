#!/usr/bin/env python3
"""Stores an ONNX model's float32 weights as float16, halving the file (18.5 MB -> 9.3 MB for
EfficientNet-Lite0), so that the crate stays under crates.io's 10 MB. imgtui widens them back
to float32 when it loads the model (src/features/onnx.rs, widen_float16); the graph is left
as it is, so the file is a storage format for imgtui, not a float16 model for other runtimes.

    pip install onnx numpy
    python models/to_float16.py efficientnet_lite0_float32.onnx models/efficientnet_lite0.onnx
"""
import sys, numpy as np, onnx
from onnx import numpy_helper, TensorProto
src, dst = sys.argv[1], sys.argv[2]
m = onnx.load(src)
n16 = n32 = 0
for t in m.graph.initializer:
    if t.data_type == TensorProto.FLOAT:
        a = numpy_helper.to_array(t)
        h = a.astype(np.float16)
        t.ClearField("float_data")
        t.raw_data = h.tobytes()
        t.data_type = TensorProto.FLOAT16
        n16 += 1
    else:
        n32 += 1
onnx.save(m, dst)
print(n16, "initializers stored as float16;", n32, "left as they were")
