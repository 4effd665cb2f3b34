# PARITY 06_chunk_failure.py
# Case 6: one failing item inside a chunk. f(x) prints, sleeps 0.05 s, raises ValueError('bad item 5')
# for x == 5. range(8), chunksize=4 -> chunks [0..3] and [4..7]; each chunk runs as ONE task
# (pool.py: mapstar = list(map(f, chunk))), so the exception at 5 aborts the rest of its chunk:
# items 6 and 7 NEVER run (no 'f(6)'/'f(7)' line in any variant, 1 or 2 workers).
#   imap:            yields 0, 10, 20, 30 (chunk 0 results) then raises ValueError: bad item 5.
#   imap_unordered:  Pool(1): yields 0,10,20,30 then raises. Pool(2): chunk 1 fails (after 0.1 s)
#                    before chunk 0 completes (0.2 s), so it raises BEFORE yielding anything.
#   map / map_async(...).get(): raise ValueError: bad item 5 only after ALL chunks finished
#                    (pool.py: MapResult._set 'only consider the result ready once all jobs are
#                    done'); with 2 workers f(3) is printed before the exception line.
# The raised exception is the worker's own ValueError (repr ValueError('bad item 5')) whose
# __cause__ is multiprocessing.pool.RemoteTraceback carrying the worker traceback text
# (pool.py: ExceptionWithTraceback / rebuild_exc); uncaught, stderr shows both (see below).
#
# Run: timeout 20 python3 -u tests/python/parity/06_chunk_failure.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   == imap(f, range(8), chunksize=4), Pool(1)
#   f(0) in ForkPoolWorker-1
#   f(1) in ForkPoolWorker-1
#   f(2) in ForkPoolWorker-1
#   f(3) in ForkPoolWorker-1
#   f(4) in ForkPoolWorker-1
#   got 0
#   got 10
#   got 20
#   got 30
#   f(5) in ForkPoolWorker-1
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   == imap_unordered(f, range(8), chunksize=4), Pool(1)
#   f(0) in ForkPoolWorker-2
#   f(1) in ForkPoolWorker-2
#   f(2) in ForkPoolWorker-2
#   f(3) in ForkPoolWorker-2
#   got 0
#   got 10
#   f(4) in ForkPoolWorker-2
#   got 20
#   got 30
#   f(5) in ForkPoolWorker-2
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   == map(f, range(8), chunksize=4), Pool(1)
#   f(0) in ForkPoolWorker-3
#   f(1) in ForkPoolWorker-3
#   f(2) in ForkPoolWorker-3
#   f(3) in ForkPoolWorker-3
#   f(4) in ForkPoolWorker-3
#   f(5) in ForkPoolWorker-3
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   == map_async(f, range(8), chunksize=4).get(), Pool(1)
#   f(0) in ForkPoolWorker-4
#   f(1) in ForkPoolWorker-4
#   f(2) in ForkPoolWorker-4
#   f(3) in ForkPoolWorker-4
#   f(4) in ForkPoolWorker-4
#   f(5) in ForkPoolWorker-4
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   == imap(f, range(8), chunksize=4), Pool(2)
#   f(0) in ForkPoolWorker-6
#   f(4) in ForkPoolWorker-5
#   f(5) in ForkPoolWorker-5
#   f(1) in ForkPoolWorker-6
#   f(2) in ForkPoolWorker-6
#   f(3) in ForkPoolWorker-6
#   got 0
#   got 10
#   got 20
#   got 30
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   == imap_unordered(f, range(8), chunksize=4), Pool(2)
#   f(0) in ForkPoolWorker-7
#   f(4) in ForkPoolWorker-8
#   f(5) in ForkPoolWorker-8
#   f(1) in ForkPoolWorker-7
#   f(2) in ForkPoolWorker-7
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   f(3) in ForkPoolWorker-7
#   == map(f, range(8), chunksize=4), Pool(2)
#   f(0) in ForkPoolWorker-9
#   f(4) in ForkPoolWorker-10
#   f(1) in ForkPoolWorker-9
#   f(5) in ForkPoolWorker-10
#   f(2) in ForkPoolWorker-9
#   f(3) in ForkPoolWorker-9
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   == map_async(f, range(8), chunksize=4).get(), Pool(2)
#   f(0) in ForkPoolWorker-11
#   f(4) in ForkPoolWorker-12
#   f(5) in ForkPoolWorker-12
#   f(1) in ForkPoolWorker-11
#   f(2) in ForkPoolWorker-11
#   f(3) in ForkPoolWorker-11
#   raised ValueError: bad item 5  (repr ValueError('bad item 5'); __cause__ multiprocessing.pool.RemoteTraceback)
#   == uncaught: list(pool.imap(f, range(8), chunksize=4)), Pool(1)
#   f(0) in ForkPoolWorker-13
#   f(1) in ForkPoolWorker-13
#   f(2) in ForkPoolWorker-13
#   f(3) in ForkPoolWorker-13
#   f(4) in ForkPoolWorker-13
#   f(5) in ForkPoolWorker-13
# --- stderr
#   multiprocessing.pool.RemoteTraceback: 
#   """
#   Traceback (most recent call last):
#     File "<stdlib>/multiprocessing/pool.py", line 125, in worker
#       result = (True, func(*args, **kwds))
#                       ^^^^^^^^^^^^^^^^^^^
#     File "<stdlib>/multiprocessing/pool.py", line 48, in mapstar
#       return list(map(*args))
#              ^^^^^^^^^^^^^^^^
#     File "<dir>/06_chunk_failure.py", line 151, in f
#       raise ValueError(f"bad item {x}")
#   ValueError: bad item 5
#   """
#
#   The above exception was the direct cause of the following exception:
#
#   Traceback (most recent call last):
#     File "<dir>/06_chunk_failure.py", line 200, in <module>
#       list(pool.imap(f, range(8), chunksize=4))
#     File "<stdlib>/multiprocessing/pool.py", line 423, in <genexpr>
#       return (item for chunk in result for item in chunk)
#              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
#     File "<stdlib>/multiprocessing/pool.py", line 873, in next
#       raise value
#   ValueError: bad item 5
# --- exit status: 1
#
# Order between worker lines (f(..)) and main-process lines (got ..) is timing-dependent, e.g.
# 'f(4)' may come before or after 'got 0' with Pool(1). Stable facts: the sets of f() items printed,
# the 'got' values, the exception text, and for imap_unordered Pool(2): no 'got' line at all.
# 3.12.1 / 3.13.0: same values; 3.13 traceback has '~~~~^^^' markers and no marker line under
# 'return list(map(*args))' and the genexpr line marks only 'result'.
import multiprocessing
import os
import time


def say(line):
    # one write() per line, so lines from different processes never interleave mid-line
    os.write(1, (line + "\n").encode())


def f(x):
    say(f"f({x}) in {multiprocessing.current_process().name}")
    time.sleep(0.05)
    if x == 5:
        raise ValueError(f"bad item {x}")
    return x * 10


def describe(e):
    cause = e.__cause__
    return (f"raised {type(e).__name__}: {e}  (repr {e!r}; __cause__ "
            f"{type(cause).__module__}.{type(cause).__name__})")


def run(label, nproc, body):
    say(f"== {label}, Pool({nproc})")
    with multiprocessing.Pool(nproc) as pool:
        try:
            body(pool)
        except Exception as e:
            say(describe(e))
        time.sleep(0.5)  # let any chunk still running finish printing before terminate()


def loop_imap(pool):
    for r in pool.imap(f, range(8), chunksize=4):
        say(f"got {r}")
    say("loop finished")


def loop_imap_unordered(pool):
    for r in pool.imap_unordered(f, range(8), chunksize=4):
        say(f"got {r}")
    say("loop finished")


def call_map(pool):
    say(f"map returned {pool.map(f, range(8), chunksize=4)}")


def call_map_async(pool):
    say(f"map_async.get returned {pool.map_async(f, range(8), chunksize=4).get(timeout=5)}")


if __name__ == "__main__":
    for n in (1, 2):
        run("imap(f, range(8), chunksize=4)", n, loop_imap)
        run("imap_unordered(f, range(8), chunksize=4)", n, loop_imap_unordered)
        run("map(f, range(8), chunksize=4)", n, call_map)
        run("map_async(f, range(8), chunksize=4).get()", n, call_map_async)
    # what an uncaught one looks like on stderr (last thing the program does)
    say("== uncaught: list(pool.imap(f, range(8), chunksize=4)), Pool(1)")
    with multiprocessing.Pool(1) as pool:
        list(pool.imap(f, range(8), chunksize=4))
