# q3_squares_cubes.py: two Processes run at the same time, one printing squares and
# one printing cubes; their lines interleave (and a line can be torn, since print
# writes its text and its newline separately), then the main process prints the time.
# Assignment Q3: "Write a python code to create a process using the multiprocessing module."
# Watch it:  pooltop assets/python/q3_squares_cubes.py
# (An optional argument fork, spawn or forkserver picks the start method.)
#
# The assignment's code, with two slips fixed: "sqaure" is spelt "square", and the
# second Process is named "process2" (the assignment named both "process1").
import multiprocessing  # importing the multiprocessing module
import sys
import time


def squares(l):
    print("Calculating the squares of a given number ....")
    for i in l:
        print(f"The square of {i} is {i**2} \n")


def cubes(l):
    print("Calculating the cubes of a given number ...")
    for j in l:
        print(f"The cube of {j} is {j**3} \n")


if __name__ == "__main__":
    if len(sys.argv) > 1:  # fork, spawn or forkserver (default: Python's default)
        multiprocessing.set_start_method(sys.argv[1])
    start = time.time()
    # process to execute the squares function
    process1 = multiprocessing.Process(target=squares, args=([11, 22, 33, 44],), name="process1")
    # process to execute the cubes function
    process2 = multiprocessing.Process(target=cubes, args=([3, 5, 4, 2],), name="process2")

    process1.start()  # process1 started
    process2.start()  # process2 started

    process1.join()  # wait until process 1 is finished
    process2.join()  # wait until process 2 is finished
    print("Time taken to execute the program:", time.time() - start)

# Output of one run: `python3 q3_squares_cubes.py fork`, CPython 3.11.7, unbuffered as under
# pooltop (PYTHONUNBUFFERED=1). PIDs, times and the order of interleaved lines vary.
# (Trailing spaces left out.)
#
#   Calculating the squares of a given number ....
#   The square of 11 is 121
#
#   The square of 22 is 484
#
#   The square of 33 is 1089
#
#   The square of 44 is 1936
#
#   Calculating the cubes of a given number ...
#   The cube of 3 is 27
#
#   The cube of 5 is 125
#
#   The cube of 4 is 64
#
#   The cube of 2 is 8
#
#   Time taken to execute the program: 0.005341291427612305
