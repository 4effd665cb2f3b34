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
    # flush=True: the line goes out now, even when the output is a pipe or a file
    print(f"worker {os.getpid()}: cube({n})", flush=True)
    time.sleep(0.2)  # long enough for both workers to take a task each round
    return n**3, os.getpid()


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    print(f"main {os.getpid()}: Pool(2, maxtasksperchild=2), map over 8 items", flush=True)
    with multiprocessing.Pool(2, maxtasksperchild=2) as pool:
        # chunksize=1: each item is one task (a chunk of items would count as one task)
        results = pool.map(cube, range(1, 9), chunksize=1)
    print("cubes:", [c for c, pid in results])
    print("PID that ran each item:", [pid for c, pid in results])
    # Usually 4 workers, two tasks each; never more than 2 tasks in one worker.
    per_worker = collections.Counter(pid for c, pid in results)
    print(f"{len(per_worker)} worker processes ran the 8 tasks; "
          f"most tasks in one worker: {max(per_worker.values())}")

# Output of one run: `python3 maxtasksperchild.py fork`, CPython 3.11.7, unbuffered as under
# pooltop (PYTHONUNBUFFERED=1). PIDs, times and the order of interleaved lines vary.
#
#   main 16210: Pool(2, maxtasksperchild=2), map over 8 items
#   worker 16251: cube(1)
#   worker 16252: cube(2)
#   worker 16251: cube(3)
#   worker 16252: cube(4)
#   worker 16256: cube(5)
#   worker 16257: cube(6)
#   worker 16256: cube(7)
#   worker 16257: cube(8)
#   cubes: [1, 8, 27, 64, 125, 216, 343, 512]
#   PID that ran each item: [16251, 16252, 16251, 16252, 16256, 16257, 16256, 16257]
#   4 worker processes ran the 8 tasks; most tasks in one worker: 2
