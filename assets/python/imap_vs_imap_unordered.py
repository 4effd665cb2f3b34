# imap_vs_imap_unordered.py: the same slow tasks through imap() and imap_unordered().
# slow_cube(n) sleeps n * 0.2 s, so for [5, 1, 4, 2, 3] item 5 is the slowest.
# imap() hands results back in submission order: nothing comes until 125 (item 5) is
# ready, then the rest follow at once. imap_unordered() hands each result back as soon as
# its task ends: the quick items first, in completion order.
# Assignment Q4 (Step 2, "Issue tasks asynchronously": imap and imap_unordered).
# Watch it:  pooltop assets/python/imap_vs_imap_unordered.py
# (An optional argument fork, spawn or forkserver picks the start method.)
import multiprocessing
import os
import sys
import time

ITEMS = [5, 1, 4, 2, 3]


# flush=True: each line goes out when it is printed, even when the output is a pipe
# or a file (there Python would hold a process's lines back until it ends).
def slow_cube(n):
    print(f"worker {os.getpid()}: slow_cube({n}) starts, takes {n * 0.2:.1f} s", flush=True)
    time.sleep(n * 0.2)
    return n**3


def show(pool, method):
    start = time.monotonic()
    print(f"main {os.getpid()}: pool.{method}(slow_cube, {ITEMS})", flush=True)
    for result in getattr(pool, method)(slow_cube, ITEMS):
        print(f"main {os.getpid()}: {method} gave {result} after {time.monotonic() - start:.1f} s",
              flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    # 3 workers for 5 tasks: the worker that ends slow_cube(1) goes on with 2, then 3.
    with multiprocessing.Pool(processes=3) as pool:
        show(pool, "imap")            # 125, 1, 64, 8, 27: the order of ITEMS
        show(pool, "imap_unordered")  # 1, 8, 64, 125, 27: the order they finish

# Output of one run: `python3 imap_vs_imap_unordered.py fork`, CPython 3.11.7, unbuffered as under
# pooltop (PYTHONUNBUFFERED=1). PIDs, times and the order of interleaved lines vary.
#
#   main 16156: pool.imap(slow_cube, [5, 1, 4, 2, 3])
#   worker 16197: slow_cube(5) starts, takes 1.0 s
#   worker 16198: slow_cube(1) starts, takes 0.2 s
#   worker 16199: slow_cube(4) starts, takes 0.8 s
#   worker 16198: slow_cube(2) starts, takes 0.4 s
#   worker 16198: slow_cube(3) starts, takes 0.6 s
#   main 16156: imap gave 125 after 1.0 s
#   main 16156: imap gave 1 after 1.0 s
#   main 16156: imap gave 64 after 1.0 s
#   main 16156: imap gave 8 after 1.0 s
#   main 16156: imap gave 27 after 1.2 s
#   main 16156: pool.imap_unordered(slow_cube, [5, 1, 4, 2, 3])
#   worker 16199: slow_cube(5) starts, takes 1.0 s
#   worker 16197: slow_cube(1) starts, takes 0.2 s
#   worker 16198: slow_cube(4) starts, takes 0.8 s
#   worker 16197: slow_cube(2) starts, takes 0.4 s
#   main 16156: imap_unordered gave 1 after 0.2 s
#   worker 16197: slow_cube(3) starts, takes 0.6 s
#   main 16156: imap_unordered gave 8 after 0.6 s
#   main 16156: imap_unordered gave 64 after 0.8 s
#   main 16156: imap_unordered gave 125 after 1.0 s
#   main 16156: imap_unordered gave 27 after 1.2 s
