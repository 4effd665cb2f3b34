# What CPython says about a Process object before start(): its repr names it and says
# "initial"; there is no PID yet. pooltop reports the same moment as `process_object`.
# Run: python3 tests/python/process_object.py
# CPython 3.11 printed:
#   <Process name='process1' parent=PID initial>
#   None
#   fork
import multiprocessing


def squares():
    pass


if __name__ == "__main__":
    p = multiprocessing.Process(target=squares, name="process1")
    print(repr(p).replace(str(p._parent_pid), "PID"))
    print(p.pid)
    print(multiprocessing.get_start_method())
