#!/usr/bin/env bash
# What watching costs a real program: benches/watch_map.py (Pool(2).map, chunksize 1) run
# plain and under `pooltop watch --events /dev/null`, interleaved, ROUNDS times each; the
# map's median wall time of each and their ratio, for trivial tasks and for tasks of
# about 1 ms of CPU. Targets: at most 2x trivial, at most 1.10x at 1 ms.
#
#   benches/watch-overhead.sh [ROUNDS]        (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
cargo build --release --quiet
bin=target/release/pooltop
py=$(python3 -c 'import sys; print(sys.executable)')
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

measure() {  # name tasks work_us
    local plain=() watched=()
    for _ in $(seq "$rounds"); do
        plain+=("$("$py" benches/watch_map.py "$2" "$3")")
        watched+=("$("$bin" watch --events /dev/null -- "$py" benches/watch_map.py "$2" "$3")")
    done
    local p w
    p=$(printf '%s\n' "${plain[@]}" | median)
    w=$(printf '%s\n' "${watched[@]}" | median)
    awk -v n="$1" -v t="$2" -v p="$p" -v w="$w" 'BEGIN {
        printf "%-22s %6d tasks  plain %.3fs  watched %.3fs  ratio %.2fx  (%.1f vs %.1f us a task)\n",
            n, t, p, w, w / p, 1e6 * p / t, 1e6 * w / t }'
}

echo "# $("$py" --version) · $(nproc) cores · median of $rounds interleaved rounds"
measure "trivial tasks" 20000 0
measure "1 ms of CPU a task" 2000 1000
