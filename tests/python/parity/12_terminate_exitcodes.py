import collections
import multiprocessing
import os
import sys
import time


def sleeper(secs):
    time.sleep(secs)
    return secs


def one_run(mode):
    pool = multiprocessing.Pool(4)
    workers = list(pool._pool)          # captured before terminate()
    if mode == "idle, settled 0.5 s":
        time.sleep(0.5)
    busy = mode == "busy"
    if busy:
        rs = [pool.apply_async(sleeper, (5,)) for _ in range(4)]
        time.sleep(0.5)                 # all 4 are now inside sleeper()
    pool.terminate()
    pool.join()
    return [w.exitcode for w in workers]


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for mode in ("idle, immediately", "idle, settled 0.5 s", "busy"):
        busy = mode == "busy"
        per_worker = collections.Counter()
        per_run = collections.Counter()
        first = None
        for _ in range(runs if not busy else 3):
            codes = one_run(mode)
            first = first or codes
            per_worker.update(codes)
            per_run[tuple(sorted(codes))] += 1
        label = ("4 busy workers (each in a 5 s sleep)" if busy
                 else f"4 idle workers, terminate() {mode.split(', ')[1]}")
        print(f"== {label}: runs={sum(per_run.values())}")
        print(f"first run exitcodes (pool order): {first}")
        print(f"per-worker exitcode counts: {dict(sorted(per_worker.items()))}")
        print(f"per-run patterns: {dict(sorted(per_run.items()))}")
