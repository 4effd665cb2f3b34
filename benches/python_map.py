"""CPython's side of benches/scale.sh: Pool(W).map(cube, range(N), chunksize=C), the
results kept as Python keeps them. Usage: python_map.py N W C"""
import multiprocessing
import sys
import time


def cube(n):
    return n ** 3


if __name__ == "__main__":
    n, w, c = (int(a) for a in sys.argv[1:4])
    t0 = time.perf_counter()
    with multiprocessing.Pool(processes=w) as pool:
        output = pool.map(cube, range(n), chunksize=c)
    assert len(output) == n and output[-1] == (n - 1) ** 3
    print(f"{n} items in {time.perf_counter() - t0:.2f} s", file=sys.stderr)
