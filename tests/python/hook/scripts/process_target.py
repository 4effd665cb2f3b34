# Process objects: a target function, a subclass overriding run, a Queue between them.
import multiprocessing
import sys
import threading


def work(q, n):
    q.put(n * n)


class Greeter(multiprocessing.Process):
    def run(self):
        print("hello from", self.name, flush=True)


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    print(threading.active_count())
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q, 7), name="squarer")
    p.daemon = True
    p.start()
    print(q.get())
    p.join()
    print(p.exitcode)
    g = Greeter(name="greeter")
    g.start()
    g.join()
    print(g.exitcode)
    print(threading.active_count())
