# Which start method a Pool uses when the program sets none, and what its workers are
# called: `multiprocessing.get_start_method()` and `pool._pool[0].name`.
# tests/python_versions.rs runs this under every CPython found on the machine and checks
# pooltop's choice for that version (`pooltop run --python-version X.Y`) against it.
#
# Run: python3 tests/python/versions/default_start_method.py
#
# Printed on this machine (Linux, x86_64):
#   3.8.18  fork ForkPoolWorker-1
#   3.9.18  fork ForkPoolWorker-1
#   3.10.13 fork ForkPoolWorker-1
#   3.11.7  fork ForkPoolWorker-1
#   3.12.1  fork ForkPoolWorker-1
#   3.13.0  fork ForkPoolWorker-1
# CPython 3.14 is not installed here; its Lib/multiprocessing/context.py makes forkserver
# the default where HAVE_SEND_HANDLE and the platform is not macOS ("gh-84559: We changed
# everyones default to a thread safeish one in 3.14"), so it would print
#   3.14.x  forkserver ForkServerPoolWorker-1
import multiprocessing
import sys


def square(n):
    return n * n


if __name__ == "__main__":
    with multiprocessing.Pool(1) as pool:
        pool.apply(square, (2,))
        name = pool._pool[0].name
    version = ".".join(str(n) for n in sys.version_info[:3])
    print(version, multiprocessing.get_start_method(), name)
