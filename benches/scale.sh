#!/usr/bin/env bash
# A map of N items (default 10^6, chunksize 1): the peak resident memory of every process
# and the wall time of pooltop headless (without events, and with every event to
# /dev/null), of the dashboard (run to the end, 2, 256 and 512 workers) and of CPython's
# Pool.map of the same (benches/python_map.py), one after the other on this machine.
# Usage: benches/scale.sh [N] [CHUNKSIZE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000000}
chunksize=${2:-1}
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/pooltop"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/map.toml" <<TOML
title = "a map over $n items"
cost = "0"

[[step]]
do = "pool"
var = "pool"
processes = 2
python = "with multiprocessing.Pool(processes=2) as pool:"

[[step]]
do = "map"
on = "pool"
func = "cube"
range = [0, $n]
chunksize = $chunksize
into = "output"
python = "    output = pool.map(cube, range($n), chunksize=$chunksize)"

[[step]]
do = "with-exit"
on = "pool"
TOML
measure() {
  echo "== $1"
  shift
  python3 "$root/benches/peak_rss.py" "$@"
}
measure "pooltop run (no events), 2 workers" "$bin" run --file "$dir/map.toml"
measure "pooltop run --events /dev/null, 2 workers" "$bin" run --file "$dir/map.toml" --events /dev/null
for w in 2 256 512; do
  measure "dashboard to the end, $w workers" "$bin" tui --file "$dir/map.toml" --workers "$w" \
    --screenshot "$dir/end.svg" --after end
done
measure "CPython Pool(2).map" --root-is-main python3 "$root/benches/python_map.py" "$n" 2 "$chunksize"
