#!/usr/bin/env bash
# Soak checks too long for `cargo test`, with the figures the README's reliability section
# quotes: processes left after kill -9 of pooltop at random moments, the main process's
# descriptors and memory across 2,000 processes in 400 pools, and memory under an output
# flood nobody reads. Usage: benches/soak.sh [KILLS]   (default 20)
set -euo pipefail
kills=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/pooltop"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

alive() { # live processes among the PIDs given (a zombie has exited)
  local n=0
  for pid in "$@"; do
    if [ -r "/proc/$pid/stat" ] && ! awk '{exit ($3=="Z"||$3=="X")?0:1}' "/proc/$pid/stat"; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}
pids_in() { # every PID the events file reported
  python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: e=json.loads(l)
    except ValueError: continue
    if e.get("event") in ("loaded","created","spawned"): print(e["pid"])' "$1" | sort -u
}

# 1. kill -9 of pooltop at random moments, 64 workers busy.
left=0
for i in $(seq 1 "$kills"); do
  "$bin" run pool-map --workers 64 --cost 2s --events "$work/k.jsonl" >/dev/null 2>&1 &
  victim=$!
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$victim" 2>/dev/null || true
  wait "$victim" 2>/dev/null || true
  sleep 1
  # shellcheck disable=SC2046
  n=$(alive $(pids_in "$work/k.jsonl"))
  left=$((left + n))
done
echo "kill -9 of pooltop at random moments with 64 workers, $kills times: $left processes left"

# 2. 2,000 processes in 400 pools: the main process's descriptors and memory.
python3 - "$work/pools.toml" <<'PY'
import sys
out = ['cost = "0"']
for i in range(400):
    out += [f'[[step]]\ndo = "pool"\nvar = "p{i}"\nprocesses = 5',
            f'[[step]]\ndo = "map"\non = "p{i}"\nfunc = "square"\nrange = [0, 10]',
            f'[[step]]\ndo = "with-exit"\non = "p{i}"']
    if i in (20, 399):
        out += ['[[step]]\ndo = "sleep"\nseconds = 1']
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
"$bin" run --file "$work/pools.toml" --events "$work/p.jsonl" >/dev/null 2>&1 &
run=$!
driver=""
for _ in $(seq 1 100); do
  driver=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e["event"]=="loaded": print(e["pid"]); break' "$work/p.jsonl" 2>/dev/null || true)
  [ -n "$driver" ] && break
  sleep 0.05
done
sample() { echo "$(ls "/proc/$driver/fd" 2>/dev/null | wc -l) fds, $(awk '/VmRSS/ {print $2}' "/proc/$driver/status" 2>/dev/null) KiB"; }
until grep -q '"index":6[0-9],' "$work/p.jsonl" 2>/dev/null; do sleep 0.05; done
early=$(sample)
until grep -q '"event":"step","index":120[0-9]' "$work/p.jsonl" 2>/dev/null; do sleep 0.05; done
late=$(sample)
wait "$run"
workers=$(grep -c '"event":"created".*"role":"pool_worker"' "$work/p.jsonl")
echo "main process after 20 pools: $early; after 400 pools ($workers workers): $late"

# 3. An output flood nobody reads: memory of pooltop and its main process.
cat > "$work/flood.toml" <<'TOML'
cost = "0"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "map"
on = "pool"
func = "chatter"
items = [1000000, 1000000]
chunksize = 1
TOML
mkfifo "$work/pipe"
"$bin" run --file "$work/flood.toml" >"$work/pipe" 2>/dev/null &
flood=$!
exec 3<"$work/pipe"
head -c 100000 <&3 >/dev/null   # read a little, then stop reading
peak=0
for _ in $(seq 1 20); do
  for pid in $flood $(pgrep -P "$flood"); do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss
  done
  sleep 0.25
done
kill -INT "$flood" 2>/dev/null || true
cat <&3 >/dev/null
exec 3<&-
status=0
wait "$flood" || status=$?
echo "an output flood nobody reads, 5 s: peak RSS of pooltop and its main process $peak KiB; SIGINT then exit $status"
