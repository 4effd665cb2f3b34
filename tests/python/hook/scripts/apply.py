# apply_async + get, apply with keywords, starmap, starmap_async, map_async of a generator.
import multiprocessing
import sys


def add(x, y=10):
    return x + y


def sq(x):
    return x * x


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    with multiprocessing.Pool(2) as pool:
        r = pool.apply_async(add, (1, 2))
        print(r.get())
        print(pool.apply(add, (3,), {"y": 4}))
        print(pool.starmap(add, [(1, 2), (3, 4)]))
        print(pool.starmap_async(add, [(5, 6)]).get())
        m = pool.map_async(sq, (i for i in range(5)))
        m.wait()
        print(m.get(timeout=10))
        print(pool.map(sq, []))
