import multiprocessing
import os
import time


def init():
    # Runs once in every worker process the pool ever starts.
    print("init", multiprocessing.current_process().name, flush=True)


def slow(x):
    print("task", x, "in", multiprocessing.current_process().name, flush=True)
    time.sleep(1)
    return x * 10


def scenario(label, submit):
    print("==", label)
    pool = multiprocessing.Pool(2, initializer=init)
    workers = list(pool._pool)          # Process objects of the workers started by Pool()
    print("pool._pool names:", [w.name for w in workers])
    res = submit(pool)
    pool.close()
    pool.join()
    print("result:", res.get(timeout=1))
    # any worker that was ever started is either in `workers` or was added later to pool._pool
    ever = {w.name: w for w in workers}
    for w in pool._pool:
        ever.setdefault(w.name, w)
    print("workers ever:", sorted(ever))
    print("count:", len(ever))
    print("exitcodes:", [(n, w.exitcode) for n, w in sorted(ever.items())])
    print("active_children after join:", [p.name for p in multiprocessing.active_children()])


if __name__ == "__main__":
    scenario("apply_async(slow, (1,))", lambda p: p.apply_async(slow, (1,)))
    scenario("map_async(slow, range(4), chunksize=1)",
             lambda p: p.map_async(slow, range(4), chunksize=1))
