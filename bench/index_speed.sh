#!/usr/bin/env bash
# Cold and warm indexing speed of imgtui against the Python reference (PIL + onnxruntime, same
# model), on the same folder in the same session. Prints one markdown table row per tool.
#
#   bench/index_speed.sh DIR [RUNS]
#   IMGTUI_ARGS="--runtime onnxruntime" BIN=path/to/imgtui bench/index_speed.sh DIR   # another build or runtime
#
# Needs: a release build (cargo build --release) and python3 with pip (installs into bench/.venv).
set -euo pipefail
DIR=${1:?usage: bench/index_speed.sh DIR [RUNS]}
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$HERE/../target/release/imgtui}
read -r -a EXTRA <<< "${IMGTUI_ARGS:-}"
VENV=$HERE/.venv
[ -x "$BIN" ] || (cd "$HERE/.." && cargo build --release --locked)
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pillow numpy onnx onnxruntime scikit-learn
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=$(find -L "$DIR" -type f | wc -l)
echo "folder: $DIR ($n files), $(nproc) cores, $(date -u +%F)"
echo
echo "| run | imgtui cold img/s | imgtui warm s | python img/s | imgtui / python |"
echo "|---|---|---|---|---|"
for i in $(seq "$RUNS"); do
  rm -f "$TMP"/store.sqlite*
  cold=$("$BIN" index --json --store "$TMP/store.sqlite" "${EXTRA[@]}" "$DIR" 2>/dev/null)
  warm=$("$BIN" index --json --store "$TMP/store.sqlite" "${EXTRA[@]}" "$DIR" 2>/dev/null)
  py=$("$VENV/bin/python" "$HERE/reference_index.py" "$DIR")
  python3 - "$i" "$cold" "$warm" "$py" <<'PY'
import json, sys
run, cold, warm, py = sys.argv[1], *map(json.loads, sys.argv[2:])
# End to end: walk + hash + decode + embed + store, over the whole run.
c = cold["embedded"] / cold["seconds"]
p = py["images_per_second"]
print(f"| {run} | {c:.1f} | {warm['seconds']:.3f} | {p:.1f} | {c / p:.2f} |")
PY
done
