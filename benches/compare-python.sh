#!/usr/bin/env bash
# Runs Python's multiprocessing.Pool benchmark and `pooltop bench` with the same
# arguments, one after the other on this machine, and prints both rows and the ratios.
# Usage: benches/compare-python.sh [--tasks N] [--workers W] [--start-method M]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peer=${PYTHON_POOL_BENCH:-$root/../shared/bench/python_pool.py}
if [ ! -f "$peer" ]; then
  echo "compare-python: $peer not found (set PYTHON_POOL_BENCH)" >&2
  exit 2
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
py=$(python3 "$peer" "$@")
ours=$("$root/target/release/pooltop" bench "$@")
PY="$py" OURS="$ours" python3 - <<'PYEOF'
import json, os
def rows(text):
    merged = {}
    for line in text.splitlines():
        merged.update(json.loads(line))
    return merged
py, ours = rows(os.environ["PY"]), rows(os.environ["OURS"])
print(f"{'measure':42} {'python':>14} {'pooltop':>14} {'ratio':>10}")
higher_is_better = {"map_chunksize1_tasks_per_s", "imap_unordered_chunksize1_tasks_per_s",
                    "map_default_chunksize_tasks_per_s"}
for key in ["pool_ready_ms", "map_chunksize1_tasks_per_s", "imap_unordered_chunksize1_tasks_per_s",
            "map_default_chunksize_tasks_per_s", "process_start_join_ms", "start_join_32_processes_ms"]:
    a, b = py.get(key), ours.get(key)
    if a is None or b is None:
        continue
    ratio = b / a if key in higher_is_better else a / b
    print(f"{key:42} {a:14.2f} {b:14.2f} {ratio:9.2f}x")
print(f"{'worker_rss_kib (pooltop)':42} {'':>14} {ours.get('worker_rss_kib', 0):14} ")
print(f"{'worker_pss_kib (pooltop)':42} {'':>14} {ours.get('worker_pss_kib', 0):14} ")
print("ratio: how many times better pooltop is (throughput: ours/python; times: python/ours)")
PYEOF
