# worker_killed.py: a pool worker is killed (SIGKILL) in the middle of a task. The pool
# starts a new worker in its place and the other tasks finish, but CPython never learns
# that the dead worker's task was lost: its result never comes, and pool.map() would wait
# for it forever (a hang). This script uses map_async(...).get(timeout=5) instead, so
# after 5 s get() raises multiprocessing.TimeoutError and the script says what happened
# (exit status 1).
# Assignment Q4 (Step 3, waiting for results: AsyncResult.get; Step 4, terminate).
# Watch it:  pooltop assets/python/worker_killed.py
# (An optional argument fork, spawn or forkserver picks the start method.)
import multiprocessing
import os
import signal
import sys
import time

DOOMED = 3  # the item whose task kills its own worker


# flush=True: each line goes out when it is printed, even when the output is a pipe or a
# file (there Python holds lines back, and a killed process never prints what it held).
def cube(n):
    if n == DOOMED:
        print(f"worker {os.getpid()}: cube({n}) kills its own worker with SIGKILL", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.1)
    print(f"worker {os.getpid()}: cube({n}) = {n**3}", flush=True)
    return n**3


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    print(f"main {os.getpid()}: Pool(processes=2), map_async(cube, [1, ..., 6])", flush=True)
    with multiprocessing.Pool(processes=2) as pool:
        start = time.monotonic()
        result = pool.map_async(cube, range(1, 7), chunksize=1)
        try:
            print(result.get(timeout=5))  # pool.map() would wait here forever
        except multiprocessing.TimeoutError:
            print(f"main {os.getpid()}: get(timeout=5) raised multiprocessing.TimeoutError "
                  f"after {time.monotonic() - start:.1f} s", flush=True)
            print(f"main {os.getpid()}: the task for item {DOOMED} died with its worker; "
                  f"result.ready() is {result.ready()}: the map's results never come", flush=True)
            print(f"main {os.getpid()}: leaving 'with' terminates the pool", flush=True)
            exit_status = 1
        else:
            exit_status = 0
    sys.exit(exit_status)

# Output of one run: `python3 worker_killed.py fork`, CPython 3.11.7, unbuffered as under
# pooltop (PYTHONUNBUFFERED=1). PIDs, times and the order of interleaved lines vary.
# The exit status was 1.
#
#   main 16267: Pool(processes=2), map_async(cube, [1, ..., 6])
#   worker 16309: cube(2) = 8worker 16308: cube(1) = 1
#
#   worker 16309: cube(3) kills its own worker with SIGKILL
#   worker 16308: cube(4) = 64
#   worker 16313: cube(5) = 125
#   worker 16308: cube(6) = 216
#   main 16267: get(timeout=5) raised multiprocessing.TimeoutError after 5.0 s
#   main 16267: the task for item 3 died with its worker; result.ready() is False: the map's results never come
#   main 16267: leaving 'with' terminates the pool
