import atexit
import os
import subprocess
import sys
import time

WATCH = []  # Process objects whose exit codes are reported after multiprocessing's own atexit hook


def report_exitcodes():
    # Registered BEFORE `import multiprocessing`, so (atexit is LIFO) it runs AFTER
    # multiprocessing.util._exit_function has terminated/joined the children.
    for p in WATCH:
        print(f"after exit hook: {p.name} exitcode={p.exitcode}", flush=True)


atexit.register(report_exitcodes)
import multiprocessing  # noqa: E402


def ticker(tag):
    for i in range(5):
        print(f"{tag} tick {i}", flush=True)
        time.sleep(0.2)
    print(f"{tag} done", flush=True)


def slow(x):
    print(f"pool task {x} start in {multiprocessing.current_process().name}", flush=True)
    time.sleep(1)
    print(f"pool task {x} end", flush=True)
    return x


def child(mode):
    # The "main program" under test: it ends without join()/close()/terminate().
    global pool, r
    if mode == "nondaemon":
        p = multiprocessing.Process(target=ticker, args=("nondaemon",))
        p.start()
        WATCH.append(p)
        print(f"main: end of script, p.is_alive() = {p.is_alive()}", flush=True)
    elif mode == "daemon":
        p = multiprocessing.Process(target=ticker, args=("daemon",), daemon=True)
        p.start()
        WATCH.append(p)
        time.sleep(0.3)
        print(f"main: end of script, p.is_alive() = {p.is_alive()}", flush=True)
    elif mode == "pool_idle_global":
        # typical script: `pool = Pool(2)` at module level, never closed
        pool = multiprocessing.Pool(2)
        WATCH.extend(pool._pool)
        print(f"main: workers {[w.name for w in pool._pool]}", flush=True)
        print("main: end of script", flush=True)
    elif mode == "pool_busy_global":
        pool = multiprocessing.Pool(2)
        WATCH.extend(pool._pool)
        r = pool.apply_async(slow, (1,))
        time.sleep(0.3)
        print("main: end of script", flush=True)
    elif mode == "pool_busy_local":
        # same, but the Pool is a local of a function that returns before the end
        lpool = multiprocessing.Pool(2)
        WATCH.extend(lpool._pool)
        lr = lpool.apply_async(slow, (1,))
        time.sleep(0.3)
        print("main: end of script", flush=True)


def observe(mode):
    """Run `mode` as a separate main program; report stdout, stderr, exit status, duration."""
    t0 = time.monotonic()
    try:
        cp = subprocess.run([sys.executable, "-u", __file__, mode],
                            capture_output=True, text=True, timeout=10)
        rc, out, err = cp.returncode, cp.stdout, cp.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "HANG (killed after 10 s)", e.stdout, e.stderr
    dt = time.monotonic() - t0
    print("==", mode)
    print("exit status:", rc, "  duration ~%.1f s" % dt)
    print("stdout:")
    for line in (out or "").splitlines():
        print("  |", line)
    print("stderr:")
    for line in (err or "").splitlines():
        print("  |", line.replace(str(os.getpid()), "PID"))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(sys.argv[1])
    else:
        for m in ["nondaemon", "daemon", "pool_idle_global", "pool_busy_global", "pool_busy_local"]:
            observe(m)
