# An exception nobody catches: the traceback on stderr must read the same with the hook.
import multiprocessing
import sys


def boom(x):
    if x == 2:
        raise ValueError("bad %d" % x)
    return x


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    with multiprocessing.Pool(2) as pool:
        print(pool.map(boom, range(4)))
