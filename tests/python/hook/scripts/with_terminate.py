# `with Pool()` terminates the workers as it exits: right after a map (every result
# printed must have its `done`), and while a task still runs (it never ends).
import multiprocessing
import sys
import time


def sq(x):
    return x * x


if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    with ctx.Pool(2) as pool:
        print(pool.map(sq, range(20), chunksize=1))
    with ctx.Pool(2) as pool:
        r = pool.apply_async(time.sleep, (30,))
        pool.apply(sq, (3,))
        time.sleep(0.3)
    print("terminated:", r.ready())
