#!/usr/bin/env python3
"""How every figure grows from 1,000 to 10,000 to 100,000 images: imgtui beside the Python
reference (PIL + onnxruntime + scikit-learn), on the same images, in one run.

    bench/growth.py [ROOT] [--python-max N] [--sizes 1k,10k,100k]
    bench/growth.py [ROOT] --harness FROM.sqlite:FROM_DIR [--sizes 1k,10k,100k,1m]

With --harness the sets are made by examples/scale_store.rs from an indexed folder (FROM_DIR
in the store FROM.sqlite: real embeddings, jittered, with copies; see its doc) as
ROOT/harness/SIZE, unless there already: nothing is embedded, so 1,000,000 images take
minutes, not days. Those runs leave out cold indexing and the Python reference, and add what
each figure costs per image, the warm `cluster` and one `similar` as a process.

ROOT is where bench/datasets.sh put the sets (default /tmp/imgsets): ROOT/scale/SIZE/images.
Each set gets its own store, ROOT/scale/SIZE/store.sqlite. Cold indexing starts from an empty
store, except where the store is already complete and holds `cold.json` from an earlier run
(100,000 images take about half an hour to embed): that figure is reported with its date.
The Python reference runs on sets up to --python-max images (default 10,000). Prints a
Markdown table. Needs a release build, tmux, /usr/bin/time, and bench/.venv (made by
bench/index_speed.sh) or python3 with pillow, numpy, onnxruntime and scikit-learn.
"""

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "..", "target", "release", "imgtui")
EXAMPLES = os.path.join(HERE, "..", "target", "release", "examples")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (stdout, seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    p = run(["/usr/bin/time", "-v"] + cmd)
    secs = time.perf_counter() - start
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return p.stdout, secs, rss / 1024


def sklearn_sweep(store, images, feature):
    """What the user's Python did to choose k: KMeans for k = 2..30 on the embeddings,
    with inertia and the cosine silhouette (on a 3,000-image sample, as imgtui)."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    db = sqlite3.connect(store)
    prefix = (images.rstrip("/") + "/").encode()
    x = np.stack([
        np.frombuffer(v, dtype="<f4")
        for p, v in db.execute(
            "SELECT f.path, v.vector FROM files f JOIN vectors v ON v.hash = f.hash AND v.feature = ?",
            (feature,))
        if (p if isinstance(p, bytes) else p.encode()).startswith(prefix)
    ])
    start = time.perf_counter()
    for k in range(2, 31):
        labels = KMeans(n_clusters=k, random_state=0).fit_predict(x)
        silhouette_score(x, labels, metric="cosine", sample_size=min(3000, len(x)), random_state=0)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?", default="/tmp/imgsets")
    ap.add_argument("--python-max", type=int, default=10_000)
    ap.add_argument("--sizes", default="1k,10k,100k")
    ap.add_argument("--harness", help="FROM.sqlite:FROM_DIR: sets made by scale_store")
    a = ap.parse_args()
    if a.harness:
        return harness(a)
    venv_python = os.path.join(HERE, ".venv", "bin", "python")
    python = venv_python if os.path.exists(venv_python) else sys.executable
    run(["cargo", "build", "--release", "--locked", "--bins", "--examples"], cwd=os.path.join(HERE, ".."))

    rows = {}
    sizes = a.sizes.split(",")
    for size in sizes:
        base = os.path.join(a.root, "scale", size)
        images = os.path.realpath(os.path.join(base, "images"))
        store = os.path.join(base, "store.sqlite")
        n = len(os.listdir(images))
        st = ["--store", store]
        r = rows.setdefault(size, {"n": n})
        print(f"{size}: {n} images", file=sys.stderr)

        cold_file = os.path.join(base, "cold.json")
        if os.path.exists(store) and os.path.exists(cold_file):
            cold = json.load(open(cold_file))
            r["cold_note"] = f" (run of {cold.get('date', '?')})"
        else:
            for f in (store, store + "-wal", store + "-shm"):
                if os.path.exists(f):
                    os.remove(f)
            out, _, _ = timed([BIN, "index", images, "--json"] + st)
            cold = json.loads(out)
            cold["date"] = time.strftime("%Y-%m-%d")
            json.dump(cold, open(cold_file, "w"))
        r["cold"] = cold["embedded"] / cold["seconds"]
        warm = json.loads(run([BIN, "index", images, "--json"] + st).stdout)
        assert warm["embedded"] == 0, "the store is not complete"
        r["warm_index"] = warm["seconds"]
        feature = warm["feature"]
        if n <= a.python_max:
            py = json.loads(run([python, os.path.join(HERE, "reference_index.py"), images]).stdout)
            r["python"] = py["images_per_second"]
            r["sklearn"] = sklearn_sweep(store, images, feature)

        _, r["cluster"], r["cluster_rss"] = timed([BIN, "cluster", images, "--recluster", "--format", "json"] + st)
        r["matrix_mb"] = n * 1280 * 4 / 2**20
        _, r["dups"], _ = timed([BIN, "dups", images, "--format", "json"] + st)

        neighbours_and_warm_start(r, images, store)

    def line(name, f):
        cells = []
        for s in sizes:
            try:
                cells.append(f(rows[s]))
            except KeyError:
                cells.append("—")
        print(f"| {name} | " + " | ".join(cells) + " |")

    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n")
    print("| | " + " | ".join(f"{rows[s]['n']:,} images" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    line("cold indexing, imgtui (images/s)", lambda r: f"{r['cold']:.1f}{r.get('cold_note', '')}")
    line("cold indexing, PIL + onnxruntime (images/s)", lambda r: f"{r['python']:.1f}")
    line("imgtui / Python", lambda r: f"{r['cold'] / r['python']:.2f}")
    line("re-index, nothing changed (s)", lambda r: f"{r['warm_index']:.2f}")
    line("k sweep 2..30 + final fit + names, imgtui (s)", lambda r: f"{r['cluster']:.1f}")
    line("k sweep 2..30 with silhouette, scikit-learn (s)", lambda r: f"{r['sklearn']:.1f}")
    line("peak memory of the clustering (MiB)", lambda r: f"{r['cluster_rss']:.0f}")
    line("embedding matrix (MiB)", lambda r: f"{r['matrix_mb']:.0f}")
    line("near-duplicate groups (s)", lambda r: f"{r['dups']:.1f}")
    line("10 nearest, per query (ms)", lambda r: f"{r['query']:.2f}")
    line("… exact search (ms)", lambda r: f"{r['exact']:.2f}")
    line("recall@10", lambda r: f"{r['recall']:.4f}")
    line("warm start: first frame (ms)", lambda r: f"{r['first_frame']:.0f}")
    line("warm start: clusters on screen (ms)", lambda r: f"{r['on_screen']:.0f}")
    line("… of which reading the paths and the saved clustering (ms)", lambda r: f"{r['load']:.0f}")
    line("vectors, read after the clusters are shown (ms)", lambda r: f"{r['vectors']:.0f}")
    line("saved neighbour index, read after the vectors (ms)",
         lambda r: f"{r['index']:.0f}" if r["index"] else "— (exact search)")


def neighbours_and_warm_start(r, images, store):
    """Query time and recall (neighbours_speed), the warm start's steps (warm_load) and the
    explorer's first frame and clusters on screen in tmux (warm_start.sh), into `r`."""
    nb = run([os.path.join(EXAMPLES, "neighbours_speed"), store, images, "200"]).stdout
    m = re.search(r"([\d.]+) ms per query through the index \(exact search: ([\d.]+) ms\); "
                  r"recall@10 ([\d.]+)", nb)
    r["query"], r["exact"], r["recall"] = float(m.group(1)), float(m.group(2)), float(m.group(3))
    r["rows_read"] = int(re.search(r"rows scanned per query: (\d+)", nb).group(1))
    steps = run([os.path.join(EXAMPLES, "warm_load"), store, images]).stdout
    # The clusters are shown from the paths and the saved clustering; the vectors are read
    # after, then the saved neighbour index (from 50,000 images).
    r["load"] = float(re.search(r"clusters ready\s+([\d.]+) ms", steps).group(1))
    r["vectors"] = float(re.search(r"read \d+ vectors\s+([\d.]+) ms", steps).group(1))
    index = re.search(r"saved neighbour index .*?\s+([\d.]+) ms", steps)
    r["index"] = float(index.group(1)) if index else None
    tui = run([os.path.join(HERE, "warm_start.sh"), images, "3", "--store", store]).stdout
    cells = [line.split("|") for line in tui.splitlines() if re.match(r"\| \d", line)]
    r["first_frame"] = statistics.median(int(c[2]) for c in cells)
    r["on_screen"] = statistics.median(int(c[3]) for c in cells)


SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def harness(a):
    """The growth table on sets made by scale_store (see the module's doc)."""
    run(["cargo", "build", "--release", "--locked", "--bins", "--examples"], cwd=os.path.join(HERE, ".."))
    from_store, from_dir = a.harness.split(":", 1)
    sizes = a.sizes.split(",")
    rows = {}
    for size in sizes:
        n = SIZES[size]
        base = os.path.join(a.root, "harness", size)
        if not os.path.exists(os.path.join(base, "store.sqlite")):
            run([os.path.join(EXAMPLES, "scale_store"), "--n", str(n), "--out", base,
                 "--from", from_store, "--from-dir", from_dir])
        images = os.path.realpath(os.path.join(base, "images"))
        store = os.path.join(base, "store.sqlite")
        st = ["--store", store]
        r = rows.setdefault(size, {"n": n})
        print(f"{size}: {n} images", file=sys.stderr)
        # The first run after the set is made may make the neighbour index; the second is
        # the one timed.
        run([BIN, "index", images] + st)
        _, r["warm_index"], r["index_rss"] = timed([BIN, "index", images] + st)
        _, r["fit"], r["fit_rss"] = timed([BIN, "cluster", images, "--recluster", "--format", "csv",
                                           "--table", "clusters"] + st)
        _, r["cluster"], r["cluster_rss"] = timed([BIN, "cluster", images, "--format", "csv",
                                                   "--table", "clusters"] + st)
        _, r["dups"], r["dups_rss"] = timed([BIN, "dups", images, "--format", "csv"] + st)
        first = sorted(os.listdir(images))[0]
        query = os.path.join(images, first)
        if os.path.isdir(query):
            query = os.path.join(query, sorted(os.listdir(query))[0])
        _, r["similar"], r["similar_rss"] = timed([BIN, "similar", query, "--in", images,
                                                   "--n", "10", "--format", "csv"] + st)
        neighbours_and_warm_start(r, images, store)
        r["store_kb"] = os.path.getsize(store) / 1024 / n

    def line(name, f):
        print(f"| {name} | " + " | ".join(f(rows[s]) for s in sizes) + " |")

    def seconds(key, rss=None):
        # "s (µs an image); MB (KB an image)"
        def cell(r):
            out = f"{r[key]:.2f} s ({r[key] / r['n'] * 1e6:.0f} µs)"
            if rss:
                out += f"; {r[rss]:.0f} MB ({r[rss] * 1024 / r['n']:.1f} KB)"
            return out
        return cell

    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; each cell: the figure "
          "(what it costs per image)\n")
    print("| | " + " | ".join(f"{rows[s]['n']:,} images" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    line("re-index, nothing changed", seconds("warm_index", "index_rss"))
    line("first fit (k sweep, UMAP, lattice, names)", seconds("fit", "fit_rss"))
    line("warm `cluster`", seconds("cluster", "cluster_rss"))
    line("`dups`", seconds("dups", "dups_rss"))
    line("`similar` as a process", seconds("similar", "similar_rss"))
    line("10 nearest, per query (ms)", lambda r: f"{r['query']:.2f} ({r['rows_read']:,} rows read)")
    line("… exact search (ms)", lambda r: f"{r['exact']:.2f}")
    line("recall@10", lambda r: f"{r['recall']:.4f}")
    line("explorer: clusters on screen (ms)", lambda r: f"{r['on_screen']:.0f}")
    line("… of which the paths and the saved clustering (ms)", lambda r: f"{r['load']:.0f}")
    line("vectors, read after the clusters are shown (ms)", lambda r: f"{r['vectors']:.0f}")
    line("saved neighbour index (ms)", lambda r: f"{r['index']:.0f}" if r["index"] else "— (exact)")
    line("store (KB an image)", lambda r: f"{r['store_kb']:.1f}")


if __name__ == "__main__":
    main()
