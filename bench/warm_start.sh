#!/usr/bin/env bash
# Warm start of the explorer in a real terminal (tmux): time from launch to the first drawn
# frame, and to the clusters on screen (the status line says "N images · kmeans k=…").
# The folder must be indexed and clustered already (run `imgtui cluster DIR` once).
#
#   bench/warm_start.sh DIR [RUNS] [imgtui options…]
#
# Prints one markdown table row per run. Needs tmux and a release build.
set -euo pipefail
DIR=${1:?usage: bench/warm_start.sh DIR [RUNS] [imgtui options…]}
RUNS=${2:-5}
shift $(($# < 2 ? $# : 2))
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$HERE/../target/release/imgtui
[ -x "$BIN" ] || (cd "$HERE/.." && cargo build --release --locked)
S=imgtui-warm-$$
trap 'tmux kill-session -t $S 2>/dev/null || true' EXIT
now() { date +%s%N; }
echo "| run | first frame ms | clusters on screen ms |"
echo "|---|---|---|"
for run in $(seq "$RUNS"); do
  start=$(now)
  tmux new-session -d -s "$S" -x 160 -y 48 "$BIN $* $DIR"
  first='' clusters=''
  while [ -z "$clusters" ]; do
    screen=$(tmux capture-pane -p -t "$S" 2>/dev/null || true)
    t=$(now)
    [ -z "$first" ] && [ -n "$(tr -d ' \n' <<<"$screen")" ] && first=$(((t - start) / 1000000))
    grep -q ' images · ' <<<"$screen" && clusters=$(((t - start) / 1000000))
    [ $(((t - start) / 1000000000)) -lt 60 ] || { echo "no clusters after 60 s" >&2; exit 1; }
  done
  echo "| $run | $first | $clusters |"
  tmux send-keys -t "$S" q
  while tmux has-session -t "$S" 2>/dev/null; do sleep 0.05; done
done
