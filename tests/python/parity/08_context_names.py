# PARITY 08_context_names.py
# Case 8: Process names per start-method context, and the shared name counter.
# Name = type(self).__name__ + '-' + counter (process.py: BaseProcess.__init__, one global
# itertools.count per process, _process_counter); so SpawnProcess-N / ForkProcess-N /
# ForkServerProcess-N (context.py classes) and plain multiprocessing.Process() -> 'Process-N'
# (class multiprocessing.context.Process, even though the start method is fork). Pool workers:
# pool.py: _repopulate_pool_static renames `w.name.replace('Process', 'PoolWorker')` ->
# ForkPoolWorker-N / SpawnPoolWorker-N / ForkServerPoolWorker-N; Pool() with the default context
# gives ForkPoolWorker on Linux. ONE counter for all of them, in creation order; a Process given
# name='custom' still consumes a number (Process-16 is skipped). Names do not change on start().
# repr: '<SpawnProcess name='SpawnProcess-1' parent=PPID initial>' before start,
# '... pid=PID parent=PPID started>' after, '... stopped exitcode=0>' after join;
# daemon processes get a trailing ' daemon'.
#
# Run: timeout 30 python3 -u tests/python/parity/08_context_names.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   main process: MainProcess
#   default start method: fork
#   spawn: type multiprocessing.context.SpawnProcess
#   spawn: before start name='SpawnProcess-1' repr=<SpawnProcess name='SpawnProcess-1' parent=PPID initial>
#   spawn: after start  name='SpawnProcess-1' repr=<SpawnProcess name='SpawnProcess-1' pid=PID parent=PPID started>
#   spawn: after join   repr=<SpawnProcess name='SpawnProcess-1' pid=PID parent=PPID stopped exitcode=0>
#   fork: type multiprocessing.context.ForkProcess
#   fork: before start name='ForkProcess-2' repr=<ForkProcess name='ForkProcess-2' parent=PPID initial>
#   fork: after start  name='ForkProcess-2' repr=<ForkProcess name='ForkProcess-2' pid=PID parent=PPID started>
#   fork: after join   repr=<ForkProcess name='ForkProcess-2' pid=PID parent=PPID stopped exitcode=0>
#   forkserver: type multiprocessing.context.ForkServerProcess
#   forkserver: before start name='ForkServerProcess-3' repr=<ForkServerProcess name='ForkServerProcess-3' parent=PPID initial>
#   forkserver: after start  name='ForkServerProcess-3' repr=<ForkServerProcess name='ForkServerProcess-3' pid=PID parent=PPID started>
#   forkserver: after join   repr=<ForkServerProcess name='ForkServerProcess-3' pid=PID parent=PPID stopped exitcode=0>
#   -- shared counter, in creation order:
#     Process-4
#     ForkProcess-5
#     SpawnProcess-6
#     ForkPoolWorker-7
#     ForkPoolWorker-8
#     SpawnPoolWorker-9
#     SpawnPoolWorker-10
#     ForkServerPoolWorker-11
#     ForkServerPoolWorker-12
#     ForkPoolWorker-13
#     ForkPoolWorker-14
#     Process-15
#     custom
#     Process-17
#   plain multiprocessing.Process: type multiprocessing.context.Process name='Process-18' repr=<Process name='Process-18' parent=PPID initial>
#   daemon=True: repr=<Process name='Process-19' parent=PPID initial daemon>
# --- stderr
#   (empty)
# --- exit status: 0
#
# 3.12.1 / 3.13.0: identical output.
import multiprocessing
import os
import re


def f():
    pass


def clean(r, p=None):
    r = r.replace(f"parent={os.getpid()}", "parent=PPID")
    if p is not None and p.pid is not None:
        r = r.replace(f"pid={p.pid}", "pid=PID")
    return r


def names_of_pool(pool):
    return [w.name for w in pool._pool]


if __name__ == "__main__":
    print("main process:", multiprocessing.current_process().name)
    print("default start method:", multiprocessing.get_start_method())
    for method in ("spawn", "fork", "forkserver"):
        ctx = multiprocessing.get_context(method)
        p = ctx.Process(target=f)
        print(f"{method}: type {type(p).__module__}.{type(p).__qualname__}")
        print(f"{method}: before start name={p.name!r} repr={clean(repr(p))}")
        p.start()
        print(f"{method}: after start  name={p.name!r} repr={clean(repr(p), p)}")
        p.join()
        print(f"{method}: after join   repr={clean(repr(p), p)}")

    print("-- shared counter, in creation order:")
    order = []
    a = multiprocessing.Process(target=f); order.append(a.name)
    b = multiprocessing.get_context("fork").Process(target=f); order.append(b.name)
    c = multiprocessing.get_context("spawn").Process(target=f); order.append(c.name)
    for q in (a, b, c):
        q.start()
    for q in (a, b, c):
        q.join()
    for method in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            order.extend(names_of_pool(pool))
    with multiprocessing.Pool(2) as pool:       # default context
        order.extend(names_of_pool(pool))
    d = multiprocessing.Process(target=f); order.append(d.name)
    d2 = multiprocessing.Process(target=f, name="custom"); order.append(d2.name)
    e = multiprocessing.Process(target=f); order.append(e.name)
    for name in order:
        print(" ", name)
    p0 = multiprocessing.Process(target=f)
    print(f"plain multiprocessing.Process: type {type(p0).__module__}.{type(p0).__qualname__} "
          f"name={p0.name!r} repr={clean(repr(p0))}")
    pd = multiprocessing.Process(target=f, daemon=True)
    print(f"daemon=True: repr={clean(repr(pd))}")
