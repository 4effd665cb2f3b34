import multiprocessing
import re
import time


def slow(x):
    time.sleep(2)
    return x


def show(label, r):
    print(f"{label}: ready() = {r.ready()}")
    try:
        r.successful()
        print(f"{label}: successful() returned")
    except Exception as e:
        print(f"{label}: successful() raised {type(e).__name__}: {re.sub('0x[0-9a-f]+', '0x...', str(e))}")
    t0 = time.monotonic()
    try:
        print(f"{label}: get(timeout=1) returned {r.get(timeout=1)!r}")
    except Exception as e:
        print(f"{label}: get(timeout=1) raised {type(e).__module__}.{type(e).__qualname__} "
              f"str={str(e)!r} repr={e!r} after ~{time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    pool = multiprocessing.Pool(2)
    r = pool.apply_async(slow, (1,))
    m = pool.map_async(slow, [1, 2])
    time.sleep(0.3)
    pool.terminate()
    pool.join()
    print(f"pool after terminate: {pool!r}")
    show("terminate(): apply_async", r)
    show("terminate(): map_async", m)
    print(f"len(pool._cache) = {len(pool._cache)}")

    with multiprocessing.Pool(2) as pool2:
        r2 = pool2.apply_async(slow, (1,))
        time.sleep(0.3)
    print(f"pool2 after with: {pool2!r}")
    show("with-exit: apply_async", r2)
    time.sleep(2.5)
    print("after waiting 2.5 s more (the task would have finished by now):")
    show("with-exit: apply_async", r2)
