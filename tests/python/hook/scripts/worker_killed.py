# A worker killed in the middle of a task: its `start` arrives, its `done` never does.
import multiprocessing
import os
import signal
import sys


def die_on_3(x):
    if x == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    with ctx.Pool(2) as pool:
        r = pool.map_async(die_on_3, range(6), chunksize=1)
        try:
            r.get(timeout=1.5)
        except multiprocessing.TimeoutError:
            print("timed out")
