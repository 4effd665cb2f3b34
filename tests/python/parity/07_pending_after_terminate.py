# PARITY 07_pending_after_terminate.py
# Case 7: AsyncResults still pending when the pool is terminate()d, or when a `with Pool()` block
# is left (Pool.__exit__ calls terminate()). They are never completed: ready() is False forever,
# successful() raises ValueError('<... object at 0x...> not ready'), get(timeout=1) raises
# multiprocessing.TimeoutError (str '' / repr 'TimeoutError()'); get() without timeout hangs forever.
# pool.py: _terminate_pool sets result_handler._state = TERMINATE, and _handle_results then stops
# without touching `cache` (len(pool._cache) stays 2); ApplyResult.get -> `raise TimeoutError`.
# repr(pool) after terminate: '<multiprocessing.pool.Pool state=TERMINATE pool_size=2>'.
#
# Run: timeout 20 python3 -u tests/python/parity/07_pending_after_terminate.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   pool after terminate: <multiprocessing.pool.Pool state=TERMINATE pool_size=2>
#   terminate(): apply_async: ready() = False
#   terminate(): apply_async: successful() raised ValueError: <multiprocessing.pool.ApplyResult object at 0x...> not ready
#   terminate(): apply_async: get(timeout=1) raised multiprocessing.context.TimeoutError str='' repr=TimeoutError() after ~1.0 s
#   terminate(): map_async: ready() = False
#   terminate(): map_async: successful() raised ValueError: <multiprocessing.pool.MapResult object at 0x...> not ready
#   terminate(): map_async: get(timeout=1) raised multiprocessing.context.TimeoutError str='' repr=TimeoutError() after ~1.0 s
#   len(pool._cache) = 2
#   pool2 after with: <multiprocessing.pool.Pool state=TERMINATE pool_size=2>
#   with-exit: apply_async: ready() = False
#   with-exit: apply_async: successful() raised ValueError: <multiprocessing.pool.ApplyResult object at 0x...> not ready
#   with-exit: apply_async: get(timeout=1) raised multiprocessing.context.TimeoutError str='' repr=TimeoutError() after ~1.0 s
#   after waiting 2.5 s more (the task would have finished by now):
#   with-exit: apply_async: ready() = False
#   with-exit: apply_async: successful() raised ValueError: <multiprocessing.pool.ApplyResult object at 0x...> not ready
#   with-exit: apply_async: get(timeout=1) raised multiprocessing.context.TimeoutError str='' repr=TimeoutError() after ~1.0 s
# --- stderr
#   (empty)
# --- exit status: 0
#
# 3.12.1 / 3.13.0: identical output.
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
