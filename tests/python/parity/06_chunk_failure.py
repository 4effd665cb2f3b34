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
