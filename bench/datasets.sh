#!/usr/bin/env bash
# Builds the benchmark image sets from Debian packages, so anyone can rerun BENCHMARKS.md.
#
#   bench/datasets.sh [ROOT]        (default ROOT=/tmp/imgsets; about 2 minutes plus downloads)
#
# ROOT/wesnoth_units, ROOT/fashion_mnist     labelled sets, built by ../shared/datasets/make.sh
#                                            when it is there (Fashion-MNIST: all 70,000)
# ROOT/scale/100k/images                     100,000 files: every PNG of seven icon themes (20,914;
#                                            8 to 256 px RGBA), every image in Wesnoth's data (12,299:
#                                            sprites, terrain, portraits up to 1024 px, a few WebP and
#                                            JPEG), and 66,787 Fashion-MNIST images to make up the number
# ROOT/scale/1k/images, ROOT/scale/10k/images   seeded samples of the 100k set (hard links)
#
# Needs: apt-get (as root) and python3 with pillow (make.sh installs it into ROOT/venv).
set -euo pipefail
ROOT=${1:-/tmp/imgsets}
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=$HERE/../../shared/datasets
CACHE=$ROOT/cache
mkdir -p "$CACHE"

if [ ! -d "$ROOT/fashion_mnist" ] || [ "$(ls "$ROOT/fashion_mnist/images" | wc -l)" -lt 70000 ] \
  || [ ! -d "$ROOT/wesnoth_units" ]; then
  [ -x "$SHARED/make.sh" ] || { echo "needs ../shared/datasets/make.sh beside the checkout" >&2; exit 2; }
  ROOT=$ROOT "$SHARED/make.sh" wesnoth fashion
fi

icons=()
for p in oxygen-icon-theme gnome-icon-theme tango-icon-theme mate-icon-theme lxde-icon-theme \
  elementary-xfce-icon-theme gnome-accessibility-themes; do
  (cd "$CACHE" && { ls "$p"_*.deb >/dev/null 2>&1 || apt-get download -q "$p" 2>/dev/null \
    || { apt-get update -q >/dev/null; apt-get download -q "$p"; }; })
  rm -rf "${CACHE:?}/$p" && mkdir -p "$CACHE/$p"
  dpkg-deb -x "$CACHE/$p"_*.deb "$CACHE/$p"
  icons+=("$CACHE/$p")
done

"$ROOT/venv/bin/python" - "$ROOT" "${icons[@]}" <<'PY'
import os, random, shutil, sys

root, icon_roots = sys.argv[1], sys.argv[2:]
wesnoth = os.path.join(root, "cache", "wesnoth_src", "usr", "share", "games", "wesnoth", "1.16", "data")
scale = os.path.join(root, "scale")
shutil.rmtree(scale, ignore_errors=True)
out = os.path.join(scale, "100k", "images")
os.makedirs(out)

files = []  # (source, name in the set)
for r in icon_roots:
    for d, _, fs in sorted(os.walk(r)):
        for f in sorted(fs):
            path = os.path.join(d, f)
            if f.endswith(".png") and not os.path.islink(path):
                # …/icons/THEME/SIZE/CATEGORY/NAME.png → icon_THEME_SIZE_CATEGORY_NAME.png
                rel = os.path.relpath(path, r).split(os.sep)
                files.append((path, "_".join(["icon"] + rel[rel.index("icons") + 1:])))
for d, _, fs in sorted(os.walk(wesnoth)):
    for f in sorted(fs):
        path = os.path.join(d, f)
        if f.endswith((".png", ".jpg", ".webp")) and not os.path.islink(path):
            files.append((path, "wesnoth_" + os.path.relpath(path, wesnoth).replace(os.sep, "_")))
fashion = os.path.join(root, "fashion_mnist", "images")
files += [(os.path.join(fashion, f), f"fashion_{f}") for f in sorted(os.listdir(fashion))]
files = files[:100_000]
assert len(files) == 100_000, len(files)
for src, name in files:
    os.link(src, os.path.join(out, name))

rng = random.Random(0)
for n, name in ((1_000, "1k"), (10_000, "10k")):
    d = os.path.join(scale, name, "images")
    os.makedirs(d)
    for _, f in rng.sample(files, n):
        os.link(os.path.join(out, f), os.path.join(d, f))
kinds = {}
for _, f in files:
    k = f.split("_")[0]
    kinds[k] = kinds.get(k, 0) + 1
print(f"scale: 100k = {kinds}; 1k and 10k are seeded samples")
PY
