#!/usr/bin/env python3
"""Checks that every module of the engine imports only from layers below it.

The layers, bottom first (docs/ARCHITECTURE.md, Layers). A file belongs to the layer of its top-level
module (src/analysis/kmeans.rs is `analysis`); `crate::x` and `crate::{X, …}` (names the crate
root re-exports) are the imports looked at. Prints each upward import and exits 1 if any.
"""

import pathlib
import re
import sys

LAYERS = [
    ["error", "toml_error", "text"],
    ["scan"],
    ["decode"],
    ["features"],
    ["collection"],
    ["store"],
    ["index", "watch"],
    ["analysis", "export", "montage"],
    ["dedupe"],
    ["config"],
    ["session", "answers"],
    ["tui"],
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
# What lib.rs re-exports at the crate root, and from where.
ROOT = {
    "Collection": "collection",
    "Error": "error",
    "ErrorKind": "error",
    "Extractor": "features",
    "OnnxModel": "features",
    "IndexOptions": "index",
    "Progress": "index",
    "Summary": "index",
    "index": "index",
    "Session": "session",
    "Store": "store",
    "serialize_path": "error",  # a serde helper in lib.rs, used by every layer
    "serialize_paths": "error",
}

src = pathlib.Path(__file__).resolve().parent.parent / "src"
bad = []
for path in sorted(src.rglob("*.rs")):
    rel = path.relative_to(src)
    module = rel.parts[0].removesuffix(".rs")
    if module not in RANK:
        continue  # lib.rs, main.rs
    text = path.read_text()
    used = set(re.findall(r"crate::([a-z_]+)\b", text))
    for group in re.findall(r"crate::\{([^}]*)\}", text):
        for name in re.findall(r"\b([A-Za-z_]+)\b", group):
            used.add(ROOT.get(name, name))
    used |= {ROOT[n] for n in re.findall(r"crate::([A-Z][A-Za-z]*)", text) if n in ROOT}
    for target in sorted(used):
        target = ROOT.get(target, target)
        if target in RANK and RANK[target] > RANK[module]:
            bad.append(f"src/{rel}: {module} imports {target}, a layer above it")
print("\n".join(bad) if bad else "layers: no module imports from a layer above it")
sys.exit(1 if bad else 0)
