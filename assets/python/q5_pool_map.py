# q5_pool_map.py: a Pool of 10 worker processes; map() sends cube(n) for six numbers to
# the workers and gives back the results in the order of the list.
# Assignment Q5: "How can we create a pool of worker processes in python using the
# multiprocessing module?"
# Watch it:  pooltop assets/python/q5_pool_map.py
# (An optional argument fork, spawn or forkserver picks the start method.)
#
# Six items and ten workers: map() cuts the list into chunks of 1, so at most six workers
# get a task, and often fewer: a worker that is ready first takes the next task before the
# others are up (sometimes one worker does all six).
import multiprocessing
import sys


def cube(n):
    return n**3


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    # Here it will allocate the 10 child processes to execute the task
    with multiprocessing.Pool(processes=10) as pool:
        output = pool.map(cube, [10, 11, 12, 5, 4, 3])
        print(output)

# Output of one run: `python3 q5_pool_map.py fork`, CPython 3.11.7, unbuffered as under
# pooltop (PYTHONUNBUFFERED=1). PIDs, times and the order of interleaved lines vary.
#
#   [1000, 1331, 1728, 125, 64, 27]
