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
