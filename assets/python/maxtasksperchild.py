# maxtasksperchild.py: with maxtasksperchild=2 a pool worker exits after two tasks and
# the pool starts a fresh process in its place, so the PIDs change every two tasks.
# Assignment Q4 (Step 1, the Pool's arguments: maxtasksperchild).
# Watch it:  pooltop assets/python/maxtasksperchild.py
# (An optional argument fork, spawn or forkserver picks the start method.)
import collections
import multiprocessing
import os
import sys
import time


def cube(n):
    print(f"worker {os.getpid()}: cube({n})")
    time.sleep(0.2)  # long enough for both workers to take a task each round
    return n**3, os.getpid()


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    print(f"main {os.getpid()}: Pool(2, maxtasksperchild=2), map over 8 items")
    with multiprocessing.Pool(2, maxtasksperchild=2) as pool:
        # chunksize=1: each item is one task (a chunk of items would count as one task)
        results = pool.map(cube, range(1, 9), chunksize=1)
    print("cubes:", [c for c, pid in results])
    print("PID that ran each item:", [pid for c, pid in results])
    per_worker = collections.Counter(pid for c, pid in results)
    print(f"{len(per_worker)} worker processes ran the 8 tasks; "
          f"most tasks in one worker: {max(per_worker.values())}")
