# PARITY 01_pool_worker_count.py
# Case 1: how many worker processes a Pool(2) ever starts for one long task (and for map_async of
# 4 slow items, chunksize=1), then close()+join(). The initializer prints once per worker started.
# Answer: exactly 2 workers, never replaced, both exit with exitcode 0 (they read the None sentinel
# sent by Pool._handle_tasks after close(); pool.py: worker -> 'worker got sentinel -- exiting').
# The name counter is per parent process and keeps counting across pools (ForkPoolWorker-3, -4 for
# the second pool). Which worker takes which task, and the order of the init lines, vary.
#
# Run: timeout 20 python3 -u tests/python/parity/01_pool_worker_count.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   == apply_async(slow, (1,))
#   init ForkPoolWorker-2
#   init ForkPoolWorker-1
#   pool._pool names: ['ForkPoolWorker-1', 'ForkPoolWorker-2']
#   task 1 in ForkPoolWorker-2
#   result: 10
#   workers ever: ['ForkPoolWorker-1', 'ForkPoolWorker-2']
#   count: 2
#   exitcodes: [('ForkPoolWorker-1', 0), ('ForkPoolWorker-2', 0)]
#   active_children after join: []
#   == map_async(slow, range(4), chunksize=1)
#   init ForkPoolWorker-3
#   init ForkPoolWorker-4
#   pool._pool names: ['ForkPoolWorker-3', 'ForkPoolWorker-4']
#   task 0 in ForkPoolWorker-3
#   task 1 in ForkPoolWorker-4
#   task 2 in ForkPoolWorker-3
#   task 3 in ForkPoolWorker-4
#   result: [0, 10, 20, 30]
#   workers ever: ['ForkPoolWorker-3', 'ForkPoolWorker-4']
#   count: 2
#   exitcodes: [('ForkPoolWorker-3', 0), ('ForkPoolWorker-4', 0)]
#   active_children after join: []
# --- stderr
#   (empty)
# --- exit status: 0
#
# 3.12.1 / 3.13.0: same values; only init/task order between the two workers may differ.
import multiprocessing
import os
import time


def say(line):
    os.write(1, (line + "\n").encode())   # one write per line: no mid-line interleaving


def init():
    # Runs once in every worker process the pool ever starts.
    say(f"init {multiprocessing.current_process().name}")


def slow(x):
    say(f"task {x} in {multiprocessing.current_process().name}")
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
