# PARITY 10_initializer_raises.py
# Case 10: Pool(2, initializer=init) where init raises ValueError('boom'). Every worker dies in its
# initializer (pool.py: worker -> initializer(*initargs); process.py: _bootstrap prints
# 'Process ForkPoolWorker-N:' + traceback ending 'ValueError: boom', exitcode 1), and
# Pool._handle_workers -> _maintain_pool immediately starts a replacement: a respawn storm with
# NO delay and NO limit (it waits on the worker sentinels, which fire at once). Pool() itself does
# not raise; pool._state stays 'RUN'; apply_async(...).get(timeout=3) raises TimeoutError (no
# worker ever takes the task). terminate() stops the storm; state becomes 'TERMINATE'.
# The driver runs the scenario in a subprocess and counts the stderr headers.
#
# Run: timeout 30 python3 -u tests/python/parity/10_initializer_raises.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   child exit status: 0
#   child stdout:
#     | right after Pool(): pool._state='RUN' workers=['ForkPoolWorker-1', 'ForkPoolWorker-2']
#     | get(timeout=3) raised multiprocessing.context.TimeoutError TimeoutError() after ~3 s
#     | after 3 s: pool._state='RUN' ready()=False pool._pool now=['ForkPoolWorker-396', 'ForkPoolWorker-398']
#     | exitcodes of the first two workers: [('ForkPoolWorker-1', 1), ('ForkPoolWorker-2', 1)]
#     | after terminate(): pool._state='TERMINATE'
#     | joined
#   stderr 'Process ForkPoolWorker-N:' headers: 399 (N from 1 to 399)
#   stderr lines 'ValueError: boom': 397
#   one stderr block:
#     | Process ForkPoolWorker-4:
#     | Traceback (most recent call last):
#     |   File "<stdlib>/multiprocessing/process.py", line 314, in _bootstrap
#     |     self.run()
#     |   File "<stdlib>/multiprocessing/process.py", line 108, in run
#     |     self._target(*self._args, **self._kwargs)
#     |   File "<stdlib>/multiprocessing/pool.py", line 109, in worker
#     |     initializer(*initargs)
#     |   File "<dir>/10_initializer_raises.py", line 58, in init
#     |     raise ValueError("boom")
#     | ValueError: boom
# --- stderr
#   (empty)
# --- exit status: 0
#
# The counts are machine-dependent: this 2-CPU box saw 280 to 494 workers in 3 s across runs and
# versions (~100-160 per second). Worker numbers in the 'one stderr block' vary; the block text
# is stable. Right after Pool() the list may already show replacements (3.13 once showed
# ['ForkPoolWorker-2', 'ForkPoolWorker-3']) and pool._pool can be caught mid-update (1 entry).
# Counting 'Process ForkPoolWorker-N:' and 'ValueError: boom' may differ by one (last worker
# terminated by terminate() before finishing its traceback).
# 3.13.0: tracebacks carry '~~~^^^' markers.
import multiprocessing
import os
import re
import subprocess
import sys
import time


def init():
    raise ValueError("boom")


def square(x):
    return x * x


def child():
    t0 = time.monotonic()
    pool = multiprocessing.Pool(2, initializer=init)
    print(f"right after Pool(): pool._state={pool._state!r} workers={[w.name for w in pool._pool]}", flush=True)
    first_two = list(pool._pool)
    r = pool.apply_async(square, (3,))
    try:
        print("get(timeout=3) returned", r.get(timeout=3), flush=True)
    except Exception as e:
        print(f"get(timeout=3) raised {type(e).__module__}.{type(e).__name__} {e!r} "
              f"after ~{time.monotonic() - t0:.0f} s", flush=True)
    print(f"after 3 s: pool._state={pool._state!r} ready()={r.ready()} "
          f"pool._pool now={[w.name for w in pool._pool]}", flush=True)
    print(f"exitcodes of the first two workers: {[(w.name, w.exitcode) for w in first_two]}", flush=True)
    pool.terminate()
    print(f"after terminate(): pool._state={pool._state!r}", flush=True)
    pool.join()
    print("joined", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["child"]:
        child()
        sys.exit(0)
    cp = subprocess.run([sys.executable, "-u", __file__, "child"],
                        capture_output=True, text=True, timeout=15)
    print(f"child exit status: {cp.returncode}")
    print("child stdout:")
    for line in cp.stdout.splitlines():
        print("  |", line)
    headers = re.findall(r"^Process (\S+):$", cp.stderr, re.M)
    nums = sorted(int(h.rsplit("-", 1)[1]) for h in headers)
    print(f"stderr 'Process ForkPoolWorker-N:' headers: {len(headers)} "
          f"(N from {nums[0] if nums else None} to {nums[-1] if nums else None})")
    print(f"stderr lines 'ValueError: boom': {cp.stderr.count('ValueError: boom')}")
    # one worker's block: from its header to the next header (two workers dying at the same
    # moment may interleave their lines; pick a block whose last line is the ValueError)
    blocks = re.split(r"^(?=Process \S+:$)", cp.stderr, flags=re.M)
    good = [b for b in blocks if b.startswith("Process ") and b.rstrip().endswith("ValueError: boom")
            and b.count("Traceback") == 1 and b.count("ValueError: boom") == 1
            and b.count("_bootstrap") == 1]
    print("one stderr block:")
    for line in (good[0] if good else "").splitlines():
        print("  |", line)
