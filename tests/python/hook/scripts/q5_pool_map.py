# Q5: a Pool of 10 mapping cube over six numbers. argv[1]: the start method.
import multiprocessing
import sys


def cube(x):
    return x * x * x


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    pool = multiprocessing.Pool(processes=10)
    print(pool.map(cube, [10, 11, 12, 5, 4, 3]))
    pool.close()
    pool.join()
