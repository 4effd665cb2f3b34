# A program that dies of SIGPIPE on a broken pipe (SIG_DFL), checked against a listener
# that closes every connection at once: the hook must fall silent, not kill it.
import multiprocessing
import signal
import sys
import threading


def sq(x):
    return x * x


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    multiprocessing.set_start_method(sys.argv[1])
    print(threading.active_count())
    with multiprocessing.Pool(2) as pool:
        for i in range(20):
            print(pool.apply(sq, (i,)))
        print(pool.map(sq, range(50), chunksize=1))
    print(threading.active_count())
