# Leaving `with Pool()` calls terminate(): a task still running dies with its worker
# (SIGTERM), and CPython never reports it: r.ready() stays False for ever.
# pooltop's watch reports it as `task_lost` with cause `pool_terminated`.
#
# CPython 3.11.7 prints (and exits 0):
#   ready after terminate: False
import multiprocessing
import time


def slow(x):
    time.sleep(30)
    return x


if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        r = pool.apply_async(slow, (1,))
        time.sleep(0.5)  # the worker has taken the task
    print("ready after terminate:", r.ready())
