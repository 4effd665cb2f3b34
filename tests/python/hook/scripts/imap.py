# imap against imap_unordered with slow items, and a chunked imap (a generator in CPython).
import multiprocessing
import sys
import time


def slow(x):
    time.sleep(0.04 * (5 - x % 5))
    return x * x


if __name__ == "__main__":
    ctx = multiprocessing.get_context(sys.argv[1])
    with ctx.Pool(3) as pool:
        print(list(pool.imap(slow, range(5))))
        print(sorted(pool.imap_unordered(slow, range(5))))
        for v in pool.imap(slow, range(6), chunksize=2):
            print(v)
        it = pool.imap_unordered(slow, iter([7, 8]))
        print(sorted(it))
