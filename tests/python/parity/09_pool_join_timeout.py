# PARITY 09_pool_join_timeout.py
# Case 9: Pool.join takes no timeout (pool.py: Pool.join(self)). Exact messages:
#   pool.join(timeout=1) -> TypeError: Pool.join() got an unexpected keyword argument 'timeout'
#   pool.join(1)         -> TypeError: Pool.join() takes 1 positional argument but 2 were given
#   join() while running -> ValueError: Pool is still running
#   apply_async after close() -> ValueError: Pool not running  (Pool._check_running)
#
# Run: timeout 20 python3 -u tests/python/parity/09_pool_join_timeout.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   join() while running: ValueError: Pool is still running
#   join(timeout=1) after close(): TypeError: Pool.join() got an unexpected keyword argument 'timeout'
#   join(1) after close(): TypeError: Pool.join() takes 1 positional argument but 2 were given
#   join() after close(): returned
#   child
#   Process.join(timeout=1): returned
#   apply_async after close(): ValueError: Pool not running
# --- stderr
#   (empty)
# --- exit status: 0
#
# 3.12.1 / 3.13.0: identical output.
import multiprocessing


def run(label, call):
    try:
        call()
        print(f"{label}: returned")
    except Exception as e:
        print(f"{label}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    pool = multiprocessing.Pool(2)
    run("join() while running", pool.join)
    pool.close()
    run("join(timeout=1) after close()", lambda: pool.join(timeout=1))
    run("join(1) after close()", lambda: pool.join(1))
    run("join() after close()", pool.join)
    # For comparison: Process.join does take a timeout
    p = multiprocessing.Process(target=print, args=("child",))
    p.start()
    run("Process.join(timeout=1)", lambda: p.join(timeout=1))
    run("apply_async after close()", lambda: pool.apply_async(print))
