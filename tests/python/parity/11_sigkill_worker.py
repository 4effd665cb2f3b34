# PARITY 11_sigkill_worker.py
# Case 11: SIGKILL of pool workers. Each scenario runs as its own subprocess.
#   busy_kill (Pool(1), worker SIGKILLed inside a 5 s task): exitcode -9, replaced by
#     ForkPoolWorker-2 (pool.py: _handle_workers/_maintain_pool); the task is LOST: get(timeout=3)
#     raises multiprocessing.TimeoutError, ready() stays False (Python would wait forever; no
#     BrokenPool error as in concurrent.futures); the next task runs fine; terminate() works.
#   idle kill: the worker is replaced (exitcode -9) BUT idle workers read the task pipe under a
#     shared lock (queues.py: SimpleQueue.get `with self._rlock: self._reader.recv_bytes()`); the
#     idle worker blocked in recv HOLDS that lock. SIGKILL does not release it, so if the killed
#     worker was the lock holder, the pool is DEADLOCKED: no worker can read tasks (map_async
#     .get(timeout=3) -> TimeoutError) and terminate() itself hangs forever in
#     pool.py: Pool._help_stuff_finish -> inqueue._rlock.acquire(). With Pool(1)
#     (idle_kill_pool1) this is deterministic. With Pool(2) it depends on which worker holds the
#     lock: over 6+6 runs per version, killing pool._pool[0] deadlocked 4/6 (3.11), 6/6 (3.12),
#     5/6 (3.13); killing pool._pool[1] deadlocked 2/6, 1/6, 0/6. (The program exits via os._exit(3)
#     after SIGKILLing the remaining workers when terminate() is stuck.)
#   pending_terminate: AsyncResult.get() after terminate() while pending never returns:
#     get(timeout=3) raises TimeoutError after 3 s, ready() False (same as case 7).
#
# Run: timeout 60 python3 -u tests/python/parity/11_sigkill_worker.py > out 2> err; echo $?   (REPS=6 env var repeats the idle cases)
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   == idle_kill_pool1  exit status: 3  (~8 s)
#     | killing idle ForkPoolWorker-1 (pool._pool[0]) with SIGKILL
#     | ForkPoolWorker-1 exitcode: -9
#     | pool._pool now: ['ForkPoolWorker-2']
#     | map_async(square, range(4)).get(timeout=3): raised multiprocessing.context.TimeoutError TimeoutError() after ~3 s
#     | terminate()+join(): HANGS (still blocked after 4 s)
#   == idle_kill_0  exit status: 3  (~8 s)
#     | killing idle ForkPoolWorker-1 (pool._pool[0]) with SIGKILL
#     | ForkPoolWorker-1 exitcode: -9
#     | pool._pool now: ['ForkPoolWorker-2', 'ForkPoolWorker-3']
#     | map_async(square, range(4)).get(timeout=3): raised multiprocessing.context.TimeoutError TimeoutError() after ~3 s
#     | terminate()+join(): HANGS (still blocked after 4 s)
#   == idle_kill_1  exit status: 0  (~1 s)
#     | killing idle ForkPoolWorker-2 (pool._pool[1]) with SIGKILL
#     | ForkPoolWorker-2 exitcode: -9
#     | pool._pool now: ['ForkPoolWorker-1', 'ForkPoolWorker-3']
#     | map_async(square, range(4)).get(timeout=3): returned [0, 1, 4, 9]
#     | terminate()+join(): returned
#   == busy_kill  exit status: 0  (~4 s)
#     | killing busy ForkPoolWorker-1 with SIGKILL
#     | ForkPoolWorker-1 exitcode: -9
#     | pool._pool now: ['ForkPoolWorker-2']
#     | lost task get(timeout=3): raised multiprocessing.context.TimeoutError TimeoutError() after ~3 s
#     | lost task ready(): False
#     | next apply_async(square, (3,)).get(timeout=3): returned 9
#     | terminate()+join(): returned
#   == pending_terminate  exit status: 0  (~3 s)
#     | get(timeout=3) after terminate() while pending: raised multiprocessing.context.TimeoutError TimeoutError() after ~3 s
#     | ready(): False
# --- stderr
#   (empty)
# --- exit status: 0
#
# The idle_kill_0 / idle_kill_1 lines above are ONE sample each; either may show the other outcome.
# 3.12.1 / 3.13.0: same behaviour (same random split for the Pool(2) idle kills).
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time


def square(x):
    return x * x


def sleeper(secs):
    time.sleep(secs)
    return "slept"


def timed_get(label, res, timeout=3):
    t0 = time.monotonic()
    try:
        print(f"{label}: returned {res.get(timeout=timeout)!r}", flush=True)
    except Exception as e:
        print(f"{label}: raised {type(e).__module__}.{type(e).__name__} {e!r} "
              f"after ~{time.monotonic() - t0:.0f} s", flush=True)


def guarded_terminate(pool, timeout=4):
    # terminate() can block forever (see idle_kill); run it in a thread with a deadline
    t = threading.Thread(target=lambda: (pool.terminate(), pool.join()), daemon=True)
    t.start()
    t.join(timeout)
    print("terminate()+join():", "HANGS (still blocked after %d s)" % timeout if t.is_alive()
          else "returned", flush=True)
    if t.is_alive():
        # clean up by hand and leave without running the atexit hooks (they would block too)
        for p in list(pool._pool):
            if p.exitcode is None:
                p.kill()
        os._exit(3)


def idle_kill(index, n=2):
    pool = multiprocessing.Pool(n)
    time.sleep(0.5)
    w = pool._pool[index]
    print(f"killing idle {w.name} (pool._pool[{index}]) with SIGKILL", flush=True)
    os.kill(w.pid, signal.SIGKILL)
    time.sleep(0.5)
    print(f"{w.name} exitcode: {w.exitcode}", flush=True)
    print(f"pool._pool now: {[x.name for x in pool._pool]}", flush=True)
    timed_get("map_async(square, range(4)).get(timeout=3)", pool.map_async(square, range(4)))
    guarded_terminate(pool)


def busy_kill():
    pool = multiprocessing.Pool(1)
    w = pool._pool[0]
    r = pool.apply_async(sleeper, (5,))
    time.sleep(0.5)
    print(f"killing busy {w.name} with SIGKILL", flush=True)
    os.kill(w.pid, signal.SIGKILL)
    time.sleep(0.5)
    print(f"{w.name} exitcode: {w.exitcode}", flush=True)
    print(f"pool._pool now: {[x.name for x in pool._pool]}", flush=True)
    timed_get("lost task get(timeout=3)", r)
    print(f"lost task ready(): {r.ready()}", flush=True)
    timed_get("next apply_async(square, (3,)).get(timeout=3)", pool.apply_async(square, (3,)))
    guarded_terminate(pool)


def pending_terminate():
    pool = multiprocessing.Pool(1)
    r = pool.apply_async(sleeper, (2,))
    time.sleep(0.3)
    pool.terminate()
    pool.join()
    timed_get("get(timeout=3) after terminate() while pending", r)
    print(f"ready(): {r.ready()}", flush=True)


MODES = {
    "idle_kill_pool1": lambda: idle_kill(0, n=1),
    "idle_kill_0": lambda: idle_kill(0),
    "idle_kill_1": lambda: idle_kill(1),
    "busy_kill": busy_kill,
    "pending_terminate": pending_terminate,
}

if __name__ == "__main__":
    if len(sys.argv) > 1:
        MODES[sys.argv[1]]()
        sys.exit(0)
    reps = int(os.environ.get("REPS", "1"))
    for mode in MODES:
        for rep in range(reps if mode.startswith("idle") else 1):
            t0 = time.monotonic()
            try:
                cp = subprocess.run([sys.executable, "-u", __file__, mode],
                                    capture_output=True, text=True, timeout=15)
                rc, out, err = cp.returncode, cp.stdout, cp.stderr
            except subprocess.TimeoutExpired as e:
                rc = "HANG (killed after 15 s)"
                out, err = (e.stdout or b"").decode(), (e.stderr or b"").decode()
            print(f"== {mode}  exit status: {rc}  (~{time.monotonic() - t0:.0f} s)")
            for line in out.splitlines():
                print("  |", line)
            if err.strip():
                print("  stderr:")
                for line in err.splitlines():
                    print("  !", line)
