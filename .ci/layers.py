#!/usr/bin/env python3
"""Checks that every module of the engine imports only from layers below it, and that no two
files import each other, directly or through others (a cycle of `crate::`, `super::` and
`self::` paths, file by file).

The layers, bottom first (docs/ARCHITECTURE.md, Layers). A file belongs to the layer of its top-level
module (src/analysis/kmeans.rs is `analysis`); `crate::x` and `crate::{X, …}` (names the crate
root re-exports) are the imports looked at. Prints each upward import and exits 1 if any.
"""

import itertools
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
    "serialize_optional_path": "error",
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


def module_of(path):
    """The module path of a source file: src/analysis/kmeans.rs is ["analysis", "kmeans"]."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


FILES = {}
for path in src.rglob("*.rs"):
    if path.name == "main.rs" or "cli" in path.relative_to(src).parts[:1]:
        continue  # the binary (main.rs, cli/): a client, outside the engine's graph
    FILES[tuple(module_of(path))] = path


def resolve(segments):
    """The file that defines the longest prefix of `segments` (a module path)."""
    for n in range(len(segments), -1, -1):
        if tuple(segments[:n]) in FILES:
            return FILES[tuple(segments[:n])]
    return None


def code(text):
    """`text` without its comments (line comments and doc comments)."""
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def imports(path):
    """The files `path` imports from, through `crate::`, `super::` and `self::` paths."""
    here = module_of(path)
    base = {"crate": [], "self": here, "super": here[:-1]}
    found = set()
    pattern = r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)(::\{[^}]*\})?"
    for prefix, rest, group in re.findall(pattern, code(path.read_text())):
        segments = base[prefix] + [s for s in rest.split("::") if s]
        # `crate::{a, b::C}`: each name of the group is a path of its own.
        tails = [[s.strip() for s in g.split("::")] for g in group.strip(":{}").split(",")] if group else [[]]
        for tail in tails:
            module = list(itertools.takewhile(lambda s: s and s[0].islower(), segments + tail))
            target = resolve(module)
            if target is not None and target != path:
                found.add(target)
    return found


graph = {path: imports(path) for path in FILES.values()}


def cycles():
    """Each cycle of the import graph once, as a list of files (Tarjan's strongly connected
    components of more than one file)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


for component in cycles():
    names = ", ".join(str(p.relative_to(src.parent)) for p in component)
    bad.append(f"import cycle between files: {names}")

print("\n".join(bad) if bad else "layers: no module imports from a layer above it, and no file cycle")
sys.exit(1 if bad else 0)
