#!/usr/bin/env python3
"""The workload of benches/watch-overhead.sh: Pool(2).map over N items, chunksize 1.

Prints the map's wall time in seconds. Usage: watch_map.py N WORK_US
(WORK_US: the CPU each task burns, in microseconds; 0 for a trivial task).
"""
import multiprocessing
import sys
import time


def task(args):
    n, work_us = args
    if work_us:
        end = time.perf_counter() + work_us / 1e6
        while time.perf_counter() < end:
            pass
    return n * n


if __name__ == "__main__":
    n, work_us = int(sys.argv[1]), int(sys.argv[2])
    with multiprocessing.Pool(2) as pool:
        pool.apply(task, ((0, 0),))  # the workers are up before the clock starts
        start = time.perf_counter()
        results = pool.map(task, [(i, work_us) for i in range(n)], chunksize=1)
        elapsed = time.perf_counter() - start
    assert results == [i * i for i in range(n)]
    print(f"{elapsed:.6f}")
