# Never imports multiprocessing: the hook must not touch it (no connection at all).
import sys
print(sorted(m for m in sys.modules if m.startswith("multiprocessing")))
print(sum(range(10)))
