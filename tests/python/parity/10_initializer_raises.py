import multiprocessing
import os
import re
import subprocess
import sys
import time


def init():
    raise ValueError("boom")


def square(x):
    return x * x


def child():
    t0 = time.monotonic()
    pool = multiprocessing.Pool(2, initializer=init)
    print(f"right after Pool(): pool._state={pool._state!r} workers={[w.name for w in pool._pool]}", flush=True)
    first_two = list(pool._pool)
    r = pool.apply_async(square, (3,))
    try:
        print("get(timeout=3) returned", r.get(timeout=3), flush=True)
    except Exception as e:
        print(f"get(timeout=3) raised {type(e).__module__}.{type(e).__name__} {e!r} "
              f"after ~{time.monotonic() - t0:.0f} s", flush=True)
    print(f"after 3 s: pool._state={pool._state!r} ready()={r.ready()} "
          f"pool._pool now={[w.name for w in pool._pool]}", flush=True)
    print(f"exitcodes of the first two workers: {[(w.name, w.exitcode) for w in first_two]}", flush=True)
    pool.terminate()
    print(f"after terminate(): pool._state={pool._state!r}", flush=True)
    pool.join()
    print("joined", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["child"]:
        child()
        sys.exit(0)
    cp = subprocess.run([sys.executable, "-u", __file__, "child"],
                        capture_output=True, text=True, timeout=15)
    print(f"child exit status: {cp.returncode}")
    print("child stdout:")
    for line in cp.stdout.splitlines():
        print("  |", line)
    headers = re.findall(r"^Process (\S+):$", cp.stderr, re.M)
    nums = sorted(int(h.rsplit("-", 1)[1]) for h in headers)
    print(f"stderr 'Process ForkPoolWorker-N:' headers: {len(headers)} "
          f"(N from {nums[0] if nums else None} to {nums[-1] if nums else None})")
    print(f"stderr lines 'ValueError: boom': {cp.stderr.count('ValueError: boom')}")
    # one worker's block: from its header to the next header (two workers dying at the same
    # moment may interleave their lines; pick a block whose last line is the ValueError)
    blocks = re.split(r"^(?=Process \S+:$)", cp.stderr, flags=re.M)
    good = [b for b in blocks if b.startswith("Process ") and b.rstrip().endswith("ValueError: boom")
            and b.count("Traceback") == 1 and b.count("ValueError: boom") == 1
            and b.count("_bootstrap") == 1]
    print("one stderr block:")
    for line in (good[0] if good else "").splitlines():
        print("  |", line)
