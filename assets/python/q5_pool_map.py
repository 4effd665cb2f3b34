# q5_pool_map.py: a Pool of 10 worker processes; map() sends cube(n) for six numbers to
# the workers and gives back the results in the order of the list.
# Assignment Q5: "How can we create a pool of worker processes in python using the
# multiprocessing module?"
# Watch it:  pooltop assets/python/q5_pool_map.py
# (An optional argument fork, spawn or forkserver picks the start method.)
#
# Six items and ten workers: map() cuts the list into chunks of 1, so at most six workers
# get a task, and often fewer (a fast worker takes the next task before the others wake).
import multiprocessing
import sys


def cube(n):
    return n**3


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    with multiprocessing.Pool(processes=10) as pool:  # Here it will allocate the 10 child processes to execute the task
        output = pool.map(cube, [10, 11, 12, 5, 4, 3])
        print(output)
