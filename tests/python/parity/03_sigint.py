import multiprocessing
import os
import signal
import sys
import time


def sleeper(secs):
    print(f"sleeper start in {multiprocessing.current_process().name}", flush=True)
    time.sleep(secs)
    print("sleeper end", flush=True)
    return "slept"


def quick(x):
    return x + 1


def mark(text):
    # same marker on both streams, so the child tracebacks on stderr can be located
    print(f"== {text}", flush=True)
    sys.stderr.write(f"== {text}\n")
    sys.stderr.flush()


def plain_process():
    mark("A: SIGINT to a running Process")
    p = multiprocessing.Process(target=sleeper, args=(5,))
    p.start()
    time.sleep(0.5)
    os.kill(p.pid, signal.SIGINT)
    p.join(3)
    print(f"exitcode: {p.exitcode}")
    print("repr:", repr(p).replace(str(p.pid), "PID").replace(str(os.getpid()), "PPID"))


def pool_worker(busy):
    mark("B: SIGINT to a BUSY pool worker" if busy else "C: SIGINT to an IDLE pool worker")
    pool = multiprocessing.Pool(1)
    w = pool._pool[0]
    if busy:
        r = pool.apply_async(sleeper, (5,))
    time.sleep(0.5)
    os.kill(w.pid, signal.SIGINT)
    time.sleep(0.5)
    print(f"killed worker {w.name} exitcode: {w.exitcode}")
    print(f"pool._pool now: {[x.name for x in pool._pool]}")
    if busy:
        t0 = time.monotonic()
        try:
            print("get(timeout=3) returned", r.get(timeout=3))
        except BaseException as e:
            print(f"get(timeout=3) raised {type(e).__module__}.{type(e).__name__} {e!r} after ~{time.monotonic() - t0:.0f} s")
        print(f"ready(): {r.ready()}")
    print("next apply(quick, (1,)):", pool.apply_async(quick, (1,)).get(timeout=3))
    print(f"pool._pool after: {[x.name for x in pool._pool]}")
    pool.terminate()
    pool.join()


if __name__ == "__main__":
    plain_process()
    pool_worker(busy=True)
    pool_worker(busy=False)
    print("main exits normally")
