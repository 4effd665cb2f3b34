#!/usr/bin/env python3
"""Runs a command and prints the peak resident memory (VmHWM) of it and of every
descendant, by process, as pooltop names its processes (front end, main process,
workers). Usage: peak_rss.py [--root-is-main] COMMAND [ARGS...]; with --root-is-main the
command itself is the main process and its descendants workers (a Python program).

Samples /proc every 20 ms; VmHWM is the kernel's own high-water mark, so the last sample
of a process before it exits is its peak (a process that lives under 20 ms is missed).
"""
import os
import subprocess
import sys
import time


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        return cmd, int(fields.get("VmHWM", "0 kB").split()[0]), int(fields["PPid"])
    except (OSError, ValueError):
        return None


def main():
    args = sys.argv[1:]
    root_is_main = args[:1] == ["--root-is-main"]
    if root_is_main:
        args = args[1:]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    peaks = {}
    start = time.monotonic()
    while proc.poll() is None:
        stack = [proc.pid]
        while stack:
            pid = stack.pop()
            got = status(pid)
            if got:
                cmd, hwm, ppid = got
                old = peaks.get(pid, (cmd, 0, ppid))
                peaks[pid] = (old[0] if old[1] else cmd, max(old[1], hwm), old[2])
            stack += children(pid)
        time.sleep(0.02)
    wall = time.monotonic() - start
    by_kind = {}
    for pid, (cmd, hwm, ppid) in peaks.items():
        if root_is_main:
            kind = "main process" if pid == proc.pid else "workers"
        elif pid == proc.pid:
            kind = "front end"
        elif ppid == proc.pid:
            kind = "main process"
        elif "__forkserver" in cmd:
            kind = "fork server"
        else:
            kind = "workers"
        by_kind.setdefault(kind, []).append(hwm)
    print(f"exit {proc.returncode}, {wall:.2f} s wall")
    for kind, values in sorted(by_kind.items()):
        print(f"  {kind:30} peak {max(values) / 1024:7.1f} MiB  ({len(values)} processes)")


if __name__ == "__main__":
    main()
