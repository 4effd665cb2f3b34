# A signal handler that calls into multiprocessing (active_children() polls the
# children: the hook reports `reaped` from inside the handler) while the main thread
# is itself reporting: the hook must neither deadlock nor garble its records.
import multiprocessing
import signal
import sys


def sq(x):
    return x * x


def on_alarm(signum, frame):
    multiprocessing.active_children()


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    procs = [multiprocessing.Process(target=sq, args=(i,)) for i in range(6)]
    for p in procs:
        p.start()
    with multiprocessing.Pool(2) as pool:
        total = 0
        for i in range(300):
            total += pool.apply(sq, (i,))
        print(total)
        print(sum(pool.map(sq, range(2000), chunksize=1)))
    for p in procs:
        p.join()
    signal.setitimer(signal.ITIMER_REAL, 0)
    # (not their exit codes: a forkserver child's, polled from the handler while the
    # main thread polls it too, can read 255 in CPython itself)
    print(len(procs))
