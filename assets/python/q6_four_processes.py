# q6_four_processes.py: four Processes, each printing one number (11**2, 12**3, 10**4,
# 13**5); which prints first is up to the scheduler. Then the main process prints the time.
# Assignment Q6: "Write a python program to create 4 processes, each process should print
# a different number using the multiprocessing module in python."
# Watch it:  pooltop assets/python/q6_four_processes.py
# (An optional argument fork, spawn or forkserver picks the start method.)
import multiprocessing  # importing the multiprocessing module
import sys
import time


def squares(l):
    print(l**2)


def cubes(l):
    print(l**3)


def fun3(l):
    print(l**4)


def fun4(l):
    print(l**5)


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    start = time.time()
    # process to execute the squares function
    process1 = multiprocessing.Process(target=squares, args=(11,))
    # process to execute the cubes function
    process2 = multiprocessing.Process(target=cubes, args=(12,))
    process3 = multiprocessing.Process(target=fun3, args=(10,))
    process4 = multiprocessing.Process(target=fun4, args=(13,))

    process1.start()  # process1 started
    process2.start()  # process2 started
    process3.start()
    process4.start()

    process1.join()  # wait until process 1 is finished
    process2.join()  # wait until process 2 is finished
    process3.join()
    process4.join()
    print("Time taken to execute the program:", time.time() - start)

# Output of one run: `python3 q6_four_processes.py fork`, CPython 3.11.7, unbuffered as under
# pooltop (PYTHONUNBUFFERED=1). PIDs, times and the order of interleaved lines vary.
#
#   121
#   1728
#   10000
#   371293
#   Time taken to execute the program: 0.0075969696044921875
