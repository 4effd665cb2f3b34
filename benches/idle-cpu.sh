#!/usr/bin/env bash
# Idle cost of the dashboard, side by side with htop and bottom in one run.
# pooltop opens the default scenario and steps to the moment its pool has started, so the
# workers are alive and idle; then each tool runs alone in its own tmux session while its
# CPU time (utime+stime from /proc) is measured over the same window.
# Usage: benches/idle-cpu.sh [SECONDS]   (needs tmux; htop and btm are measured if present)
set -euo pipefail
secs=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/pooltop"
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# The pid of the command a tmux session runs.
session_pid() { tmux list-panes -t "$1" -F '#{pane_pid}'; }

measure() { # name session-pid -> "name cpu% peak-kib"
  local name=$1 pid=$2 t0 t1
  t0=$(cpu_ticks "$pid"); sleep "$secs"; t1=$(cpu_ticks "$pid")
  awk -v n="$name" -v d="$((t1 - t0))" -v hz="$hz" -v s="$secs" -v k="$(peak_kib "$pid")" \
    'BEGIN { printf "%-22s %7.2f%% of one core   peak RSS %6.1f MiB\n", n, 100 * d / hz / s, k / 1024 }'
}

run_tool() { # session-name command...
  local s=$1; shift
  tmux kill-session -t "$s" 2>/dev/null || true
  tmux new-session -d -s "$s" -x 120 -y 40 "$@"
  sleep 2
}

echo "idle CPU over ${secs}s each, 120x40 terminal, this machine: $(nproc) cores"
run_tool pooltop-idle "$bin" tui workshop
# Step through the two Processes to the line that creates the pool: workers alive, idle.
for _ in 1 2 3 4 5 6 7 8; do tmux send-keys -t pooltop-idle n; sleep 0.3; done
sleep 2
pid=$(session_pid pooltop-idle)
measure "pooltop (default 1s)" "$pid"
tmux send-keys -t pooltop-idle q; sleep 1

if command -v htop >/dev/null; then
  run_tool htop-idle htop -d 5
  measure "htop -d 5" "$(session_pid htop-idle)"
  tmux kill-session -t htop-idle
fi
btm=$(command -v btm || echo "$HOME/.cargo/bin/btm")
if [ -x "$btm" ]; then
  run_tool btm-idle "$btm" -r 250
  measure "btm -r 250" "$(session_pid btm-idle)"
  tmux kill-session -t btm-idle
fi
