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
