"""Checks the watch hook (assets/python/hook/sitecustomize.py) against its protocol.

Runs every script of scripts/ under each start method and each Python found (3.9-3.13
from pyenv, or --python), once with the hook and once without, and asserts:

- stdout is byte-identical and the exit status the same with and without the hook;
- stderr has no line the hook caused (both runs use -W default, so warnings show,
  3.12+'s fork-with-threads DeprecationWarning included); for uncaught.py the traceback
  must read the same;
- every connection starts with `hello`, has only complete, well-formed records, in time
  order; the main process says `main`, pool workers `pool_worker`, each one a PID the
  main process reported in `process_start`;
- each `call`'s job is the job of its workers' `start`/`done` records, every task of a
  call whose result was printed has its `done` (a `done` before the result: `with`
  terminates the workers right after); a task only lacks one where the script kills or
  terminates it; chunk results have one field per item; `items` one per item;
- `step`/`step_done` pair up, each on the script's line that makes that call;
- `reaped` names PIDs the process started; `pool` names the start method used;
- and, per Python: a script that never imports multiprocessing makes no connection;
  `python -I` with the hook's environment runs without it; the sitecustomize the hook
  shadows still runs (chained) exactly once.

    python3 tests/python/hook/check.py [--python PY]... [--method M]... [--script S]...
"""
import collections
import concurrent.futures
import glob
import math
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import listen  # noqa: E402

SCRIPTS = os.path.join(HERE, 'scripts')
METHODS = ('fork', 'spawn', 'forkserver')

# script -> what differs from the default expectations
EXPECT = {
    'with_terminate.py': {'unfinished': 1},      # the sleep(30) task, terminated
    'worker_killed.py': {'unfinished': 1},       # the task whose worker was killed
    'uncaught.py': {'stderr': 'same'},
    'process_target.py': {'pools': 0},
    'plain.py': {'conns': 0},
}

MIN_FIELDS = {'hello': 5, 'pool': 8, 'pool_state': 4, 'call': 8, 'items': 3, 'start': 4,
              'done': 5, 'step': 5, 'step_done': 6, 'process': 7, 'process_start': 4,
              'reaped': 4}

# what the script's line must contain for a step of each label
STEP_TEXT = {
    'Pool()': ['Pool('], 'pool.map': ['.map('], 'pool.apply': ['.apply('],
    'pool.starmap': ['.starmap('], 'pool.close': ['.close('], 'pool.join': ['.join('],
    'pool.terminate': ['.terminate('], 'pool.__exit__': ['with '],
    'r.get': ['.get('], 'r.wait': ['.wait('], 'it.next': ['for ', 'list(', 'sorted('],
    'p.start': ['.start('], 'p.join': ['.join('],
}


def pythons():
    root = os.path.expanduser('~/.pyenv/versions')
    out = []
    for v in ('3.9', '3.10', '3.11', '3.12', '3.13'):
        found = sorted(glob.glob(os.path.join(root, v + '.*', 'bin', 'python3')))
        if found:
            out.append(found[-1])
    return out or [sys.executable]


def version_of(py):
    return os.path.basename(os.path.dirname(os.path.dirname(py))) or py


def norm(text):
    text = text.decode('utf-8', 'replace')
    text = re.sub(r'pid=\d+', 'pid=N', text)
    text = re.sub(r'0x[0-9a-fA-F]+', '0xN', text)
    text = re.sub(r'Process-\d+(:\d+)*', 'Process-N', text)
    return text


def check_records(r, script, method, errors):
    exp = EXPECT.get(script, {})
    path = os.path.join(SCRIPTS, script)
    src = open(path).read().split('\n')
    if exp.get('conns') == 0:
        if r.conns:
            errors.append('%d connections from a script without multiprocessing'
                          % len(r.conns))
        return
    by_pid = {}
    for c in r.conns:
        if c.pid in by_pid:
            errors.append('two connections from pid %d' % c.pid)
        by_pid[c.pid] = c
        recs = c.records
        if c.unterminated:
            errors.append('pid %d: unterminated record %r' % (c.pid, c.unterminated[:80]))
        if not recs or recs[0][0] != 'hello':
            errors.append('pid %d: first record is not hello' % c.pid)
            continue
        last = 0
        for rec in recs:
            k = rec[0]
            if k not in MIN_FIELDS:
                errors.append('pid %d: unknown record %r' % (c.pid, rec[:3]))
                continue
            if len(rec) < MIN_FIELDS[k]:
                errors.append('pid %d: short record %r' % (c.pid, rec))
                continue
            ts = int(rec[1])
            if ts < last:
                errors.append('pid %d: time goes back at %r' % (c.pid, rec[:3]))
            last = ts
    main = by_pid.get(r.main_pid)
    if main is None:
        errors.append('no connection from the main process')
        return
    if main.hello and main.hello[3] != 'main':
        errors.append('main says role %r' % main.hello[3])
    mrec = main.records
    started = set(int(x[3]) for x in mrec if x[0] == 'process_start')
    pools = [x for x in mrec if x[0] == 'pool']
    if len(pools) == 0 and exp.get('pools', 1):
        errors.append('no pool record')
    for p in pools:
        if p[4] != method:
            errors.append('pool start method %r, not %r' % (p[4], method))
    for x in mrec:
        if x[0] == 'reaped' and int(x[2]) not in started:
            errors.append('reaped %s, not a process it started' % x[2])
    roles = collections.Counter()
    for c in r.conns:
        if c.hello is None:
            continue
        role = c.hello[3]
        roles[role] += 1
        if role == 'pool_worker' and c.pid not in started:
            errors.append('pool worker %d is no process_start of main' % c.pid)
        if role == 'pool_worker' and (len(c.hello) < 5 or c.hello[4] != str(r.main_pid)):
            errors.append('pool worker %d names parent %r' % (c.pid, c.hello[4:]))
        if role not in ('main', 'pool_worker', 'process', 'forkserver', 'resource_tracker',
                        'other'):
            errors.append('unknown role %r' % role)
        if role != 'main' and c is not main and role == 'main':
            errors.append('a second main')
    if method == 'forkserver' and pools and roles['forkserver'] != 1:
        errors.append('%d forkserver hellos' % roles['forkserver'])
    if method != 'fork' and pools and roles['resource_tracker'] < 1:
        errors.append('no resource_tracker hello')
    # calls and tasks
    calls = {}
    for x in mrec:
        if x[0] == 'call':
            job = int(x[3])
            if job in calls:
                errors.append('job %d called twice' % job)
            calls[job] = {'method': x[4], 'len': x[6], 'cs': x[7], 'items': None}
        elif x[0] == 'items':
            job = int(x[2])
            if job not in calls:
                errors.append('items before call for job %d' % job)
            else:
                calls[job]['items'] = x[3:]
    for job, c in calls.items():
        if c['items'] is not None and c['len'] != '?' and len(c['items']) != int(c['len']):
            errors.append('job %d: %d items for len %s' % (job, len(c['items']), c['len']))
    starts = collections.defaultdict(set)
    dones = collections.defaultdict(list)
    for conn in r.conns:
        if conn.hello is None or conn.hello[3] != 'pool_worker':
            continue
        running = None
        for x in conn.records:
            if x[0] == 'start':
                job, i = int(x[2]), int(x[3])
                starts[job].add(i)
                running = (job, i)
            elif x[0] == 'done':
                job, i = int(x[2]), int(x[3])
                if running != (job, i):
                    errors.append('done %d/%d without its start' % (job, i))
                dones[(job, i)].append(x)
    for job in set(starts) | set(j for j, _ in dones):
        if job not in calls:
            errors.append('worker job %d is no call of main' % job)
    unfinished = 0
    for job, c in calls.items():
        single = c['method'] in ('apply', 'apply_async')
        n, cs = c['len'], int(c['cs'])
        if single:
            expected = 1
        elif n == '?':
            expected = None
        else:
            expected = int(math.ceil(int(n) / float(cs))) if cs else 0
        done_i = set(i for (j, i) in dones if j == job)
        if expected is None:
            unfinished += len(starts[job] - done_i)
        else:
            unfinished += expected - len(done_i)
            if done_i and max(done_i) >= expected:
                errors.append('job %d: task %d of %d' % (job, max(done_i), expected))
        for i in done_i:
            recs = dones[(job, i)]
            for extra in recs[:-1]:
                pass
            if len(recs) > 1 and recs[-1][4] != '0':
                errors.append('job %d/%d: repeated done not an error' % (job, i))
            d = recs[-1]
            if d[4] == '1' and not single and n != '?':
                want = min(cs, int(n) - i * cs)
                if len(d) - 5 != want:
                    errors.append('job %d/%d: %d results for %d items'
                                  % (job, i, len(d) - 5, want))
            if d[4] == '0' and len(d) != 6:
                errors.append('job %d/%d: failure has %d fields' % (job, i, len(d) - 5))
    if unfinished != exp.get('unfinished', 0):
        errors.append('%d tasks without done (want %d)' % (unfinished,
                                                          exp.get('unfinished', 0)))
    # steps
    open_step = None
    for x in mrec:
        if x[0] == 'step':
            if open_step is not None:
                errors.append('step inside step: %r' % x[2:])
            open_step = x
            f, line, label = x[2], int(x[3]), x[4]
            if os.path.realpath(f) != os.path.realpath(path):
                errors.append('step %s in %s' % (label, f))
                continue
            text = src[line - 1] if 0 < line <= len(src) else ''
            if not any(t in text for t in STEP_TEXT.get(label, ['?'])):
                errors.append('step %s on line %d: %r' % (label, line, text.strip()))
        elif x[0] == 'step_done':
            if open_step is None or open_step[2:4] != x[2:4]:
                errors.append('step_done without its step: %r' % x[2:4])
            open_step = None
    if open_step is not None:
        errors.append('step never done: %r' % open_step[2:])


FORK_WARNING = 'is multi-threaded, use of fork() may lead to deadlocks'


def fork_warning_only(extra):
    """3.12+ counts the OS's threads when it forks: a pool thread that has been joined
    but not yet gone makes CPython warn, with or without the hook (a race of its own)."""
    return all(FORK_WARNING in line or line.strip() == 'self.pid = os.fork()'
               for line in extra)


def run_one(py, script, method, tries=4):
    exp = EXPECT.get(script, {})
    argv = ['-W', 'default', os.path.join(SCRIPTS, script), method]
    for attempt in range(tries):
        h = listen.run(argv, python=py, hook=True, timeout=120)
        n = listen.run(argv, python=py, hook=False, timeout=120)
        extra = collections.Counter(norm(h.stderr).splitlines()) - \
            collections.Counter(norm(n.stderr).splitlines())
        if not extra or not fork_warning_only(extra):
            break
    errors = []
    if h.timed_out or n.timed_out:
        errors.append('timed out')
    if h.returncode != n.returncode:
        errors.append('exit %s with the hook, %s without' % (h.returncode, n.returncode))
    if h.stdout != n.stdout:
        errors.append('stdout differs: %r vs %r' % (h.stdout[-200:], n.stdout[-200:]))
    hs, ns = norm(h.stderr), norm(n.stderr)
    if exp.get('stderr') == 'same':
        if hs != ns:
            errors.append('stderr differs:\n%s\n-- without the hook:\n%s' % (hs, ns))
    else:
        extra = collections.Counter(hs.splitlines()) - collections.Counter(ns.splitlines())
        if extra:
            errors.append('stderr lines only with the hook: %r' % list(extra)[:5])
    try:
        check_records(h, script, method, errors)
    except Exception as e:
        errors.append('checker crashed: %r' % e)
    return errors


def run_extra(py):
    """-I, plain and chaining checks for one Python."""
    out = {}
    q5 = os.path.join(SCRIPTS, 'q5_pool_map.py')
    ref = listen.run([q5, 'spawn'], python=py, hook=False)
    e = []
    hook_dir = listen.private_hook_dir()
    env = dict(os.environ, POOLTOP_HOOK='/nonexistent/hook.sock')
    gone = listen.run([q5, 'spawn'], python=py, hook=False, env=env,
                      pythonpath_after=[hook_dir])
    shutil.rmtree(hook_dir, ignore_errors=True)
    if (gone.returncode, gone.stdout, gone.stderr) != (0, ref.stdout, b''):
        e.append('without a listener: rc %s, stdout %r, stderr %r'
                 % (gone.returncode, gone.stdout, gone.stderr[-300:]))
    sigpipe = os.path.join(SCRIPTS, 'sigpipe.py')
    ref = listen.run([sigpipe, 'fork'], python=py, hook=False)
    closed = listen.run([sigpipe, 'fork'], python=py, hook=True, close_conns=True)
    if (closed.returncode, closed.stdout, closed.stderr) != (0, ref.stdout, b''):
        e.append('listener closing: rc %s, stdout %r, stderr %r'
                 % (closed.returncode, closed.stdout, closed.stderr[-300:]))
    out['no listener'] = e
    h = listen.run(['-I', q5, 'fork'], python=py, hook=True, grace=0.5)
    n = listen.run(['-I', q5, 'fork'], python=py, hook=False, grace=0.5)
    e = []
    if h.returncode != 0 or h.stdout != n.stdout or h.stderr:
        e.append('-I run: rc %s, stdout %r, stderr %r' % (h.returncode, h.stdout, h.stderr))
    if h.conns:
        e.append('-I run connected')
    out['-I'] = e
    tmp = tempfile.mkdtemp(prefix='pooltop-chain-')
    try:
        with open(os.path.join(tmp, 'sitecustomize.py'), 'w') as fh:
            fh.write('import sys\nsys.stderr.write("chained sitecustomize ran\\n")\n')
        e = []
        h = listen.run([os.path.join(SCRIPTS, 'plain.py')], python=py, hook=True,
                       pythonpath_after=[tmp], grace=0.5)
        n = listen.run([os.path.join(SCRIPTS, 'plain.py')], python=py, hook=False,
                       pythonpath_after=[tmp], grace=0.5)
        if h.stderr != n.stderr or h.stderr.count(b'chained sitecustomize ran') != 1:
            e.append('chain: stderr %r vs %r' % (h.stderr, n.stderr))
        if h.stdout != n.stdout:
            e.append('chain: stdout %r vs %r' % (h.stdout, n.stdout))
        if h.conns:
            e.append('plain script connected')
        out['chain'] = e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main():
    args = sys.argv[1:]
    pys, methods, scripts = [], [], []
    while args:
        a = args.pop(0)
        if a == '--python':
            pys.append(args.pop(0))
        elif a == '--method':
            methods.append(args.pop(0))
        elif a == '--script':
            scripts.append(args.pop(0))
        else:
            sys.exit(__doc__)
    pys = pys or pythons()
    methods = methods or list(METHODS)
    scripts = scripts or sorted(os.path.basename(p) for p in
                                glob.glob(os.path.join(SCRIPTS, '*.py')))
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        for py in pys:
            for s in scripts:
                for m in methods:
                    if s == 'plain.py' and m != 'fork':
                        continue
                    jobs[(py, s, m)] = ex.submit(run_one, py, s, m)
            jobs[(py, 'extra', '')] = ex.submit(run_extra, py)
    passed = failed = 0
    details = []
    w = max(len(s) for s in scripts + ['-I, chain, no listener']) + 2
    print('%s%s' % (''.ljust(w), ' '.join(version_of(py).ljust(24) for py in pys)))
    print('%s%s' % (''.ljust(w), ' '.join('/'.join(methods).ljust(24) for py in pys)))
    for s in scripts:
        row = s.ljust(w)
        for py in pys:
            cells = []
            for m in methods:
                f = jobs.get((py, s, m))
                if f is None:
                    cells.append('-')
                    continue
                errs = f.result()
                if errs:
                    failed += 1
                    cells.append('FAIL')
                    details.append('%s %s %s:\n  %s' % (version_of(py), m, s,
                                                        '\n  '.join(errs)))
                else:
                    passed += 1
                    cells.append('ok')
            row += '/'.join(cells).ljust(25)
        print(row)
    row = '-I, chain, no listener'.ljust(w)
    for py in pys:
        res = jobs[(py, 'extra', '')].result()
        cells = []
        for name, errs in sorted(res.items()):
            if errs:
                failed += 1
                cells.append('FAIL')
                details.append('%s %s:\n  %s' % (version_of(py), name, '\n  '.join(errs)))
            else:
                passed += 1
                cells.append('ok')
        row += '/'.join(cells).ljust(25)
    print(row)
    for d in details:
        print(d)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
