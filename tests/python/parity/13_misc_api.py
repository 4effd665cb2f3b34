# PARITY 13_misc_api.py
# Case 13, assorted API facts:
#   Process(daemon=True).daemon -> True; Process().daemon -> False (settable before start).
#   current_process().name: 'MainProcess' in main, 'ForkPoolWorker-N' in a worker.
#   active_children() while 2 Processes run -> their names; after join -> [].
#   apply_async callback / error_callback run in the MAIN process, in the pool's result-handler
#     thread 'Thread-N (_handle_results)' (pool.py: ApplyResult._set calls the callback BEFORE
#     self._event.set()), so the callback line always precedes get() returning.
#   successful() before ready -> ValueError: <multiprocessing.pool.ApplyResult object at 0x...> not ready
#     (ApplyResult.successful); after success True, after failure False.
#   map_async error_callback gets the FIRST failure stored (MapResult._set 'only store first
#     exception'), called once after all chunks are done.
#   it = pool.imap(slow, [3, 1]); it.next(timeout=0.1) -> multiprocessing.context.TimeoutError,
#     str '' and repr 'TimeoutError()'; it is multiprocessing.TimeoutError (context.py:
#     class TimeoutError(ProcessError)), NOT the builtin TimeoutError. Results stay in order:
#     then 3, 1, then StopIteration (IMapIterator.next).
#
# Run: timeout 20 python3 -u tests/python/parity/13_misc_api.py > out 2> err; echo $?
#
# CPython 3.11.7 (Linux, start method fork) printed
# (<stdlib> = .../lib/python3.11, <dir> = this directory; PIDs/addresses replaced):
# --- stdout
#   == daemon flag
#   Process(daemon=True).daemon = True; Process().daemon = False
#   after q.daemon = True: True
#   == current_process().name
#   main: 'MainProcess'
#   in a pool worker: 'ForkPoolWorker-3'
#   parent_process() in main: None
#   == active_children() while 2 Processes run
#   names: ['Process-4', 'Process-5']
#   after join: []
#   == apply_async with callback (success)
#   successful() before ready: ValueError: <multiprocessing.pool.ApplyResult object at 0x...> not ready
#   ready() before: False
#   callback(9) runs in MainProcess, same pid as main: True, thread 'Thread-6 (_handle_results)'
#   get() -> 9
#   successful() after success: True
#   == apply_async with error_callback (failure)
#   error_callback(ValueError('no 4')) runs in MainProcess, same pid as main: True, thread 'Thread-6 (_handle_results)'
#   get() raised ValueError: no 4
#   successful() after failure: False
#   == map_async callbacks
#   callback([1, 4]) runs in MainProcess, same pid as main: True, thread 'Thread-6 (_handle_results)'
#   map_async get() -> [1, 4]
#   error_callback(ValueError('no 1')) runs in MainProcess, same pid as main: True, thread 'Thread-6 (_handle_results)'
#   map_async get() raised ValueError: no 1
#   == imap next(timeout)
#   it.next(timeout=0.1) raised multiprocessing.context.TimeoutError; str=''; repr=TimeoutError()
#   isinstance(e, multiprocessing.TimeoutError) = True; isinstance(e, builtins TimeoutError) = False; MRO = ['TimeoutError', 'ProcessError', 'Exception', 'BaseException', 'object']
#   then it.next(timeout=5) -> 3, next(it) -> 1
#   exhausted: StopIteration StopIteration()
# --- stderr
#   (empty)
# --- exit status: 0
#
# 'Thread-6' is the 6th threading.Thread of the process (2nd pool); the number depends on history.
# 3.12.1 / 3.13.0: identical output.
import multiprocessing
import os
import re
import threading
import time


def say(line):
    os.write(1, (line + "\n").encode())   # one write per line: no mid-line interleaving


def square(x):
    time.sleep(0.2)
    return x * x


def fail(x):
    time.sleep(0.1 * x)   # fail(1) finishes before fail(2): the first error is deterministic
    raise ValueError(f"no {x}")


def slow(x):
    time.sleep(x)
    return x


def sleeper(secs):
    time.sleep(secs)


def cb(value):
    say(f"callback({value!r}) runs in {multiprocessing.current_process().name}, "
        f"same pid as main: {os.getpid() == MAIN_PID}, thread {threading.current_thread().name!r}")


def ecb(exc):
    say(f"error_callback({exc!r}) runs in {multiprocessing.current_process().name}, "
        f"same pid as main: {os.getpid() == MAIN_PID}, thread {threading.current_thread().name!r}")


def whoami():
    return multiprocessing.current_process().name


def addr(s):
    return re.sub(r"0x[0-9a-f]+", "0x...", s)


MAIN_PID = os.getpid()

if __name__ == "__main__":
    say("== daemon flag")
    p = multiprocessing.Process(target=sleeper, args=(0,), daemon=True)
    q = multiprocessing.Process(target=sleeper, args=(0,))
    say(f"Process(daemon=True).daemon = {p.daemon!r}; Process().daemon = {q.daemon!r}")
    q.daemon = True
    say(f"after q.daemon = True: {q.daemon!r}")

    say("== current_process().name")
    say(f"main: {multiprocessing.current_process().name!r}")
    with multiprocessing.Pool(1) as pool:
        say(f"in a pool worker: {pool.apply(whoami)!r}")
        say(f"parent_process() in main: {multiprocessing.parent_process()!r}")

    say("== active_children() while 2 Processes run")
    a = multiprocessing.Process(target=sleeper, args=(1,))
    b = multiprocessing.Process(target=sleeper, args=(1,))
    a.start(); b.start()
    say(f"names: {sorted(c.name for c in multiprocessing.active_children())}")
    a.join(); b.join()
    say(f"after join: {[c.name for c in multiprocessing.active_children()]}")

    with multiprocessing.Pool(2) as pool:
        say("== apply_async with callback (success)")
        r = pool.apply_async(square, (3,), callback=cb, error_callback=ecb)
        try:
            r.successful()
        except Exception as e:
            say(f"successful() before ready: {type(e).__name__}: {addr(str(e))}")
        say(f"ready() before: {r.ready()}")
        say(f"get() -> {r.get()!r}")           # callback line is printed BEFORE this line
        say(f"successful() after success: {r.successful()!r}")

        say("== apply_async with error_callback (failure)")
        r = pool.apply_async(fail, (4,), callback=cb, error_callback=ecb)
        try:
            r.get()
        except Exception as e:
            say(f"get() raised {type(e).__name__}: {e}")
        say(f"successful() after failure: {r.successful()!r}")

        say("== map_async callbacks")
        m = pool.map_async(square, [1, 2], callback=cb, error_callback=ecb)
        say(f"map_async get() -> {m.get()!r}")
        m = pool.map_async(fail, [1, 2], callback=cb, error_callback=ecb)
        try:
            m.get()
        except Exception as e:
            say(f"map_async get() raised {type(e).__name__}: {e}")

        say("== imap next(timeout)")
        it = pool.imap(slow, [3, 1])
        try:
            it.next(timeout=0.1)
        except Exception as e:
            say(f"it.next(timeout=0.1) raised {type(e).__module__}.{type(e).__qualname__}; "
                f"str={str(e)!r}; repr={e!r}")
            say(f"isinstance(e, multiprocessing.TimeoutError) = {isinstance(e, multiprocessing.TimeoutError)}; "
                f"isinstance(e, builtins TimeoutError) = {isinstance(e, TimeoutError)}; "
                f"MRO = {[c.__name__ for c in type(e).__mro__]}")
        say(f"then it.next(timeout=5) -> {it.next(timeout=5)!r}, next(it) -> {next(it)!r}")
        try:
            next(it)
        except StopIteration as e:
            say(f"exhausted: StopIteration {e!r}")
