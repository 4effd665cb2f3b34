# maxtasksperchild=2: the pool replaces its workers, from its own thread.
import multiprocessing
import sys


def double(x):
    return 2 * x


if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    pool = ctx.Pool(2, maxtasksperchild=2)
    print(pool.map(double, range(10), chunksize=1))
    pool.close()
    pool.join()
