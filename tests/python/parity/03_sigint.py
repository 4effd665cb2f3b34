# PARITY 03_sigint.py
# Case 3: SIGINT sent by the parent (os.kill(pid, SIGINT)) to
#   A) a running Process whose target sleeps -> KeyboardInterrupt in the child; process.py:
#      BaseProcess._bootstrap's bare `except:` writes 'Process <name>:' + traceback, exitcode 1.
#   B) a busy pool worker (Pool(1), apply_async of a 5 s sleep): KeyboardInterrupt is not an
#      Exception, so pool.py: worker's `except Exception` does not catch it -> worker dies with
#      exitcode 1 and the same 'Process ForkPoolWorker-N:' traceback; Pool._handle_workers /
#      _maintain_pool starts a replacement; the task is LOST: get(timeout=3) raises
#      multiprocessing.TimeoutError, ready() stays False forever; later tasks run normally.
#   C) an idle pool worker: same (traceback ends in the inqueue read), exitcode 1, replaced; the
#      inqueue lock is released by the `with self._rlock` in queues.SimpleQueue.get, so the pool
#      keeps working (contrast with SIGKILL in 11_sigkill_worker.py).
# The parent is not affected (exit status 0).
#
# Run: timeout 30 python3 -u tests/python/parity/03_sigint.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   == A: SIGINT to a running Process
#   sleeper start in Process-1
#   exitcode: 1
#   repr: <Process name='Process-1' pid=PID parent=PPID stopped exitcode=1>
#   == B: SIGINT to a BUSY pool worker
#   sleeper start in ForkPoolWorker-2
#   killed worker ForkPoolWorker-2 exitcode: 1
#   pool._pool now: ['ForkPoolWorker-3']
#   get(timeout=3) raised multiprocessing.context.TimeoutError TimeoutError() after ~3 s
#   ready(): False
#   next apply(quick, (1,)): 2
#   pool._pool after: ['ForkPoolWorker-3']
#   == C: SIGINT to an IDLE pool worker
#   killed worker ForkPoolWorker-4 exitcode: 1
#   pool._pool now: ['ForkPoolWorker-5']
#   next apply(quick, (1,)): 2
#   pool._pool after: ['ForkPoolWorker-5']
#   main exits normally
# --- stderr
#   == A: SIGINT to a running Process
#   Process Process-1:
#   Traceback (most recent call last):
#     File "<stdlib>/multiprocessing/process.py", line 314, in _bootstrap
#       self.run()
#     File "<stdlib>/multiprocessing/process.py", line 108, in run
#       self._target(*self._args, **self._kwargs)
#     File "<dir>/03_sigint.py", line 99, in sleeper
#       time.sleep(secs)
#   KeyboardInterrupt
#   == B: SIGINT to a BUSY pool worker
#   Process ForkPoolWorker-2:
#   Traceback (most recent call last):
#     File "<stdlib>/multiprocessing/process.py", line 314, in _bootstrap
#       self.run()
#     File "<stdlib>/multiprocessing/process.py", line 108, in run
#       self._target(*self._args, **self._kwargs)
#     File "<stdlib>/multiprocessing/pool.py", line 125, in worker
#       result = (True, func(*args, **kwds))
#                       ^^^^^^^^^^^^^^^^^^^
#     File "<dir>/03_sigint.py", line 99, in sleeper
#       time.sleep(secs)
#   KeyboardInterrupt
#   == C: SIGINT to an IDLE pool worker
#   Process ForkPoolWorker-4:
#   Traceback (most recent call last):
#     File "<stdlib>/multiprocessing/process.py", line 314, in _bootstrap
#       self.run()
#     File "<stdlib>/multiprocessing/process.py", line 108, in run
#       self._target(*self._args, **self._kwargs)
#     File "<stdlib>/multiprocessing/pool.py", line 114, in worker
#       task = get()
#              ^^^^^
#     File "<stdlib>/multiprocessing/queues.py", line 365, in get
#       res = self._reader.recv_bytes()
#             ^^^^^^^^^^^^^^^^^^^^^^^^^
#     File "<stdlib>/multiprocessing/connection.py", line 216, in recv_bytes
#       buf = self._recv_bytes(maxlength)
#             ^^^^^^^^^^^^^^^^^^^^^^^^^^^
#     File "<stdlib>/multiprocessing/connection.py", line 430, in _recv_bytes
#       buf = self._recv(4)
#             ^^^^^^^^^^^^^
#     File "<stdlib>/multiprocessing/connection.py", line 395, in _recv
#       chunk = read(handle, remaining)
#               ^^^^^^^^^^^^^^^^^^^^^^^
#   KeyboardInterrupt
# --- exit status: 0
#
# 3.12.1: identical text (queues.py line 382 instead of 365 in C's traceback).
# 3.13.0: identical except the tracebacks carry the new '~~~~^^^^' markers under some lines and
#   process.py line 313 instead of 314; the 3 frames in connection.py/queues.py have no markers.
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
