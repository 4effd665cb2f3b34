"""Overhead of the hook: a Pool(2).map timed inside the script, with the hook (and a
do-nothing listener that reads and discards) and without it, runs interleaved.

    python3 tests/python/hook/bench.py [--python PY] [--runs N] [--method fork] [--tick S]

--tick S: the listener reads every S seconds instead of as soon as data comes.

Two workloads: 100,000 trivial tasks with chunksize=1, and 1,000 tasks of ~1 ms CPU.
Prints the median of each and the ratio.
"""
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import listen  # noqa: E402

SCRIPT = r'''
import multiprocessing as mp, sys, time
def f(x):
    return x
def busy(x):
    t = time.thread_time() + 0.001
    while time.thread_time() < t:
        pass
    return x
if __name__ == "__main__":
    kind, method = sys.argv[1], sys.argv[2]
    mp.set_start_method(method)
    with mp.Pool(2) as pool:
        pool.map(f, range(10))              # workers up before timing
        t = time.perf_counter()
        if kind == "trivial":
            pool.map(f, range(100000), chunksize=1)
        else:
            pool.map(busy, range(1000), chunksize=1)
        print("%.6f" % (time.perf_counter() - t))
'''


def main():
    args = sys.argv[1:]
    python, runs, method, tick = sys.executable, 7, 'fork', 0.0
    while args:
        a = args.pop(0)
        if a == '--python':
            python = args.pop(0)
        elif a == '--runs':
            runs = int(args.pop(0))
        elif a == '--method':
            method = args.pop(0)
        elif a == '--tick':
            tick = float(args.pop(0))
    path = '/tmp/pooltop_hook_bench.py'
    with open(path, 'w') as fh:
        fh.write(SCRIPT)
    for kind in ('trivial', 'busy'):
        times = {True: [], False: []}
        for i in range(runs):
            for hook in ((True, False) if i % 2 == 0 else (False, True)):
                r = listen.run([path, kind, method], python=python, hook=hook,
                               drain=False, timeout=300, tick=tick)
                assert r.returncode == 0, r.stderr
                times[hook].append(float(r.stdout.split()[-1]))
        h, n = statistics.median(times[True]), statistics.median(times[False])
        print('%-8s %s %-10s no hook %.3fs  hook %.3fs  ratio %.3f   (runs: %s | %s)' % (
            kind, os.path.basename(os.path.dirname(os.path.dirname(python))) or python,
            method, n, h, h / n, ' '.join('%.3f' % t for t in times[False]),
            ' '.join('%.3f' % t for t in times[True])))


if __name__ == '__main__':
    main()
