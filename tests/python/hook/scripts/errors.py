# Tasks that raise, and a result that cannot be pickled (CPython sends an error instead).
import multiprocessing
import sys


def boom(x):
    if x == 2:
        raise ValueError("bad %d" % x)
    return x


def unpicklable(x):
    return lambda: x


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    with multiprocessing.Pool(2) as pool:
        try:
            pool.map(boom, range(4), chunksize=1)
        except ValueError as e:
            print("map raised", e)
        try:
            pool.apply(boom, (2,))
        except ValueError as e:
            print("apply raised", e)
        r = pool.apply_async(unpicklable, (1,))
        try:
            r.get()
        except Exception as e:
            print("get raised", type(e).__name__)
        print(pool.map(boom, [5, 6, 7], chunksize=2))
