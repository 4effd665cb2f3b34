#!/bin/sh
# Runs every parity program under each installed CPython (3.11, 3.12, 3.13)
# with a timeout, saving stdout / stderr / exit status to $OUT (default /tmp/parity_out).
# Usage: sh tests/python/parity/run_all.sh [NN_name.py ...]
DIR=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/parity_out}
T=${T:-20}
mkdir -p "$OUT"
cd "$DIR"
[ $# -eq 0 ] && set -- [0-9][0-9]_*.py
for f in "$@"; do
  for v in 3.11.7 3.12.1 3.13.0; do
    py=$HOME/.pyenv/versions/$v/bin/python3
    [ -x "$py" ] || continue
    b=$OUT/${f%.py}.$v
    timeout "$T" "$py" -u "$f" > "$b.out" 2> "$b.err"
    echo $? > "$b.rc"
    echo "$f $v rc=$(cat "$b.rc")"
  done
done
