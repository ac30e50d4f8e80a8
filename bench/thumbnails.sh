#!/usr/bin/env bash
# What thumbnails cost cold indexing, and their size: each folder indexed into a fresh store
# with thumbnails on and off (alternating), RUNS times each; prints the medians as one markdown
# table row per folder and setting: wall time, and CPU time (user + system, all threads),
# which other work on a shared machine disturbs less.
#
#   bench/thumbnails.sh [RUNS] DIR...
#
# Needs: a release build (cargo build --release) and python3 (its sqlite3 module).
set -euo pipefail
RUNS=${1:?usage: bench/thumbnails.sh RUNS DIR...}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$HERE/../target/release/imgtui}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(date -u +%F)"
echo
echo "| folder | thumbnails | images | median wall s | median img/s | median CPU s | bytes / thumbnail | wall, CPU vs off |"
echo "|---|---|---|---|---|---|---|---|"
for dir in "$@"; do
  for f in on off on.bytes off.bytes on.cpu off.cpu; do : > "$TMP/$f"; done
  for i in $(seq "$RUNS"); do
    for mode in on off; do
      rm -f "$TMP"/store.sqlite*
      flag=(); [ "$mode" = off ] && flag=(--no-thumbnails)
      /usr/bin/time -f '%U %S' -o "$TMP/time" \
        "$BIN" index --json --store "$TMP/store.sqlite" "${flag[@]}" "$dir" 2>/dev/null >> "$TMP/$mode"
      awk '{ print $1 + $2 }' "$TMP/time" >> "$TMP/$mode.cpu"
      python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('SELECT count(*), COALESCE(AVG(length(jpeg)),0) FROM thumbnails').fetchone())" "$TMP/store.sqlite" >> "$TMP/$mode.bytes"
    done
  done
  python3 - "$dir" "$TMP" <<'PY'
import ast, json, statistics, sys, os
d, tmp = sys.argv[1], sys.argv[2]
rows = {}
for mode in ("off", "on"):
    runs = [json.loads(l) for l in open(f"{tmp}/{mode}")]
    sizes = [ast.literal_eval(l) for l in open(f"{tmp}/{mode}.bytes")]
    cpu = statistics.median(float(l) for l in open(f"{tmp}/{mode}.cpu"))
    rows[mode] = (runs, statistics.median(r["seconds"] for r in runs), cpu, sizes[-1])
_, base, base_cpu, _ = rows["off"]
for mode in ("off", "on"):
    runs, sec, cpu, (n, avg) = rows[mode]
    ips = statistics.median(r["embedded"] / r["seconds"] for r in runs)
    slower = (
        f"{(sec / base - 1) * 100:+.1f} %, {(cpu / base_cpu - 1) * 100:+.1f} %"
        if mode == "on"
        else ""
    )
    size = f"{avg:,.0f} ({n} rows)" if n else "–"
    name = os.path.basename(d.rstrip("/"))
    print(f"| {name} | {mode} | {runs[0]['embedded']} | {sec:.2f} | {ips:.1f} | {cpu:.2f} | {size} | {slower} |")
PY
done
