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
