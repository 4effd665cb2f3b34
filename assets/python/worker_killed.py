# worker_killed.py: a pool worker is killed (SIGKILL) in the middle of a task. The pool
# starts a new worker in its place and the other tasks finish, but the lost task's result
# never comes: CPython does not notice, and pool.map() would wait forever (a hang). This
# script uses map_async(...).get(timeout=5) instead, so after 5 s get() raises
# multiprocessing.TimeoutError and the script says what happened (exit status 1).
# Assignment Q4 (Step 3, waiting for results: AsyncResult.get; Step 4, terminate).
# Watch it:  pooltop assets/python/worker_killed.py
# (An optional argument fork, spawn or forkserver picks the start method.)
import multiprocessing
import os
import signal
import sys
import time

DOOMED = 3  # the item whose task kills its own worker


def cube(n):
    if n == DOOMED:
        # flush=True: a killed process never empties its print buffer
        print(f"worker {os.getpid()}: cube({n}) kills its own worker with SIGKILL", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.1)
    print(f"worker {os.getpid()}: cube({n}) = {n**3}")
    return n**3


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    print(f"main {os.getpid()}: Pool(processes=2), map_async(cube, [1, ..., 6])")
    with multiprocessing.Pool(processes=2) as pool:
        start = time.monotonic()
        result = pool.map_async(cube, range(1, 7), chunksize=1)
        try:
            print(result.get(timeout=5))  # pool.map() would wait here forever
        except multiprocessing.TimeoutError:
            print(f"main {os.getpid()}: get(timeout=5) raised multiprocessing.TimeoutError "
                  f"after {time.monotonic() - start:.1f} s")
            print(f"main {os.getpid()}: the task for item {DOOMED} died with its worker; "
                  f"result.ready() is {result.ready()}: the map's results never come")
            print(f"main {os.getpid()}: leaving 'with' terminates the pool")
            exit_status = 1
        else:
            exit_status = 0
    sys.exit(exit_status)
