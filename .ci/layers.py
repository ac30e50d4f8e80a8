#!/usr/bin/env python3
"""Checks that every module of the engine imports only from layers below it, and that no two
files import each other, directly or through others (a cycle of `crate::`, `super::` and
`self::` paths, file by file).

The layers, bottom first (docs/ARCHITECTURE.md, Layers). A file belongs to the layer of its top-level
module (src/analysis/kmeans.rs is `analysis`); `crate::x` and `crate::{X, …}` (names the crate
root re-exports) are the imports looked at. Prints each upward import and exits 1 if any.

The explorer (every file under src/tui/) reaches the engine only through the session: its
`use` declarations may name, of the crate, only `crate::session` (and what it re-exports), the
layer-neutral `crate::error`, `crate::text` and `crate::config`, its own `crate::tui`, and the
crate-root re-exports of those (`Session`, `Error`, `ErrorKind`, and any name that session
re-exports, such as `Progress`); so may a path written in full in the code. Any other is
reported and exits 1.
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


# App's impl is split by feature: src/tui/app.rs defines App (it holds each pane's state),
# and each file of src/tui/panes/ holds a pane's state and an `impl App` block for its keys,
# events and drawing (docs/ARCHITECTURE.md, "Adding a view"). A pane naming App is that
# split, not a dependency back, so that one edge is left out; every other edge counts,
# panes among themselves included.
APP = src / "tui" / "app.rs"
PANES = src / "tui" / "panes"


def counted(path, target):
    return not (target == APP and path.parent == PANES)


graph = {path: {t for t in imports(path) if counted(path, t)} for path in FILES.values()}


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

# The explorer's rule: through the session only.
TUI_MODULES = {"session", "error", "text", "config", "tui"}


def session_reexports():
    """The names src/session.rs re-exports (`pub use …::{A, B};`, `pub use …::C;`)."""
    names = set()
    for tree in re.findall(r"\bpub\s+use\s+([^;]+);", code((src / "session.rs").read_text())):
        names |= set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*(?:[,}]|$)", tree.strip()))
    return names


def tui_allows(name):
    """Whether a file under src/tui/ may import `crate::name`."""
    if name in TUI_MODULES:
        return True
    return ROOT.get(name) in ("session", "error") or (name in ROOT and name in SESSION_NAMES)


def top_level(group):
    """The items of a `{…}` use group, split at its top-level commas."""
    items, depth, item = [], 0, ""
    for ch in group:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(item)
            item = ""
        else:
            item += ch
    return [i.strip() for i in items + [item] if i.strip()]


def crate_names(tree):
    """The first names after `crate::` in a use tree: `crate::{a::B, C}` gives a and C."""
    tree = re.sub(r"\s+", "", tree)
    names = []
    for at in re.finditer(r"\bcrate::", tree):
        rest = tree[at.end():]
        if rest.startswith("{"):
            depth, end = 0, 0
            for end, ch in enumerate(rest):
                depth += {"{": 1, "}": -1}.get(ch, 0)
                if depth == 0:
                    break
            names += [re.match(r"[A-Za-z_0-9]*", item).group(0) for item in top_level(rest[1:end])]
        else:
            names.append(re.match(r"[A-Za-z_0-9]*", rest).group(0))
    return [n for n in names if n]


SESSION_NAMES = session_reexports()
for path in sorted((src / "tui").rglob("*.rs")):
    rel = path.relative_to(src)
    text = code(path.read_text())
    uses = re.findall(r"\buse\s+([^;]+);", text)
    for name in sorted({n for tree in uses for n in crate_names(tree)}):
        if not tui_allows(name):
            bad.append(f"src/{rel}: the explorer imports crate::{name}; import it through crate::session")
    rest = re.sub(r"\buse\s+[^;]+;", "", text)
    for name in sorted(set(re.findall(r"\bcrate::([A-Za-z_][A-Za-z0-9_]*)", rest))):
        if not tui_allows(name):
            bad.append(f"src/{rel}: crate::{name}::… written in full; name it through crate::session")

for line in bad:
    print(line)
if not bad:
    print("layers: no module imports from a layer above it, no file cycle, and the explorer imports the engine through its session only")
sys.exit(1 if bad else 0)
