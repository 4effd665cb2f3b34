# pooltop's watch hook: reports to pooltop what only CPython knows about a program's
# multiprocessing pools and processes. The protocol is PROTOCOL.md beside this file.
#
# pooltop puts this file's folder (private, fresh for each session) first on PYTHONPATH
# and sets POOLTOP_HOOK to the path of a Unix stream socket. Without POOLTOP_HOOK, or on
# a Python older than 3.9, the hook does nothing but chain to the sitecustomize it
# shadows. With it, it adds a finder to sys.meta_path and nothing else: the hook proper
# (_SRC below, kept as text so that a process that never imports multiprocessing does
# not even compile it) is loaded at the first import of a multiprocessing module it
# patches, and patches it.
#
# How it patches: a few functions of multiprocessing (Pool.map, ApplyResult.get,
# Process.start, the pool worker's loop, ...) are compiled again from CPython's own
# source with calls to the hook added around their bodies. The new functions keep
# their module, name, qualname, file and line numbers, so a traceback through them
# reads exactly as without the hook, and a spawn or forkserver child that unpickles
# multiprocessing.pool.worker by name gets the patched worker too. The compiled code
# (the hook's and the patched functions') is cached with marshal in __pycache__ beside
# this file, so that each new process of the session loads it instead.
#
# Outside _SRC this file must stay parseable by Python 2.7 and 3.6+ (no f-strings, no
# keyword-only arguments, no nonlocal): on those it only chains. _SRC is 3.9+ only.

import os as _os
import sys as _sys


def _pooltop_chain():
    """Run the sitecustomize this file shadows: the next one on sys.path after our
    own folder. Errors finding it are swallowed; errors running it propagate, so that
    site.py reports them exactly as it would have without us."""
    mod = None
    try:
        here = _os.path.dirname(_os.path.abspath(__file__))

        def same(p):
            try:
                return _os.path.samefile(p or _os.curdir, here)
            except Exception:
                return False

        idx = None
        for i, p in enumerate(_sys.path):
            if same(p):
                idx = i
                break
        if idx is None:
            return
        rest = [p for p in _sys.path[idx + 1:] if not same(p)]
        if _sys.version_info >= (3, 4):
            finder = None
            for f in _sys.meta_path:
                if getattr(f, '__name__', None) == 'PathFinder':
                    finder = f
                    break
            if finder is None:
                return
            spec = finder.find_spec('sitecustomize', rest)
            if spec is None or spec.loader is None:
                return
            bootstrap = _sys.modules.get('_frozen_importlib')
            mod = bootstrap.module_from_spec(spec)
            run = spec.loader.exec_module
        else:
            import imp
            found = imp.find_module('sitecustomize', rest)

            def run(_m, found=found):
                try:
                    imp.load_module('sitecustomize', *found)
                finally:
                    if found[0] is not None:
                        found[0].close()
    except Exception:
        return
    run(mod)
    globals()['_pooltop_chained'] = mod


_WATCH = ('multiprocessing.pool', 'multiprocessing.process', 'multiprocessing.popen_fork',
          'multiprocessing.popen_forkserver', 'multiprocessing.forkserver',
          'multiprocessing.resource_tracker')
_pooltop = {}     # 'ns': the hook's namespace, once loaded


def _pooltop_ns():
    """The hook proper, loaded (from the cache, or compiled from _SRC) on first use."""
    ns = _pooltop.get('ns')
    if ns is not None or 'tried' in _pooltop:
        return ns
    _pooltop['tried'] = True          # a failure is not tried again
    here = _os.path.dirname(_os.path.abspath(__file__))
    path = _os.path.join(here, '__pycache__',
                         'pooltop-hook.%s.bin' % _sys.implementation.cache_tag)
    data = None
    try:
        import marshal
        with open(path, 'rb') as f:
            data = marshal.loads(f.read())
        if data.get('src') != _SRC or data.get('version') != _sys.version:
            data = None
    except Exception:
        data = None
    if data is None:
        code = compile('\n' * (_SRC_LINE - 1) + _SRC, __file__, 'exec', 0, True)
        data = {'src': _SRC, 'version': _sys.version, 'body': code, 'mods': {},
                'dirty': True}
    mod = type(_sys)('_pooltop_hook')
    mod.__file__ = __file__
    exec(data['body'], mod.__dict__)
    mod.__dict__['_setup'](data, path)
    ns = _pooltop['ns'] = mod.__dict__
    return ns


class _PooltopFinder(object):
    """On sys.meta_path: at the import of a multiprocessing module the hook patches,
    loads the hook and lets it wrap the module's loader."""

    def find_spec(self, name, path=None, target=None):
        if name not in _WATCH:
            return None
        try:
            ns = _pooltop_ns()
            return ns['_find_spec'](self, name, path, target) if ns else None
        except Exception:
            return None

    def invalidate_caches(self):
        pass


def _pooltop_call(name):
    ns = _pooltop.get('ns')
    if ns is not None:
        try:
            ns[name]()
        except BaseException:
            pass


def _pooltop_install():
    import atexit
    _os.register_at_fork(
        before=lambda: _pooltop_call('_before_fork'),
        after_in_child=lambda: _pooltop_call('_after_fork_child'))
    atexit.register(_pooltop_call, '_at_exit')
    _sys.meta_path.insert(0, _PooltopFinder())
    if [n for n in _WATCH if n in _sys.modules]:
        _pooltop_ns()


_SRC = r'''
import os as _os
import sys as _sys

_path = None          # the socket's path
_sock = None          # our connection, opened at the first flush
_buf = []             # records waiting to be sent (complete lines)
_lock = None          # guards _sock and sending
_owner = None         # thread id of the flusher (a signal handler re-entering skips)
_last = [0]           # the latest time sent on this connection
_dead = False         # after an error the hook falls silent
_role = 'main'
_tls = None           # per thread: the outermost step, the Pool call being made
_now = None           # time.monotonic_ns
_ident = None         # _thread.get_ident
_NOSIG = 0            # socket.MSG_NOSIGNAL
_pools = [0]          # pool numbers given in this process
_api = None           # what the patched functions call, as `_pooltop_`
_mp = {}              # names from multiprocessing, filled as its modules load
_skip_cache = {}
_MAXREC = 512         # flush when this many records wait
_MAXITEMS = 1000


def _esc(s):
    if '\\' in s or '\t' in s or '\n' in s:
        s = s.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n')
    return s


def _cut(s):
    if len(s) > 60:
        s = s[:57] + '...'
    return s


_reprlib = []


def _short(v):
    """repr(v), at most 60 characters, without ever building a huge repr."""
    t = type(v)
    try:
        if t is int or t is float or t is bool or v is None:
            s = repr(v)
        elif t is str or t is bytes:
            s = repr(v[:64]) if len(v) > 64 else repr(v)
        elif t is list or t is tuple or t is dict or t is set or t is frozenset:
            if not _reprlib:
                import reprlib
                r = reprlib.Repr()
                r.maxlevel = 3
                r.maxtuple = r.maxlist = r.maxarray = r.maxset = r.maxfrozenset = 12
                r.maxdeque = r.maxdict = 8
                r.maxstring = r.maxother = 60
                r.maxlong = 60
                _reprlib.append(r)
            s = _reprlib[0].repr(v)
        else:
            s = repr(v)
        if type(s) is not str:
            return '?'
    except Exception:
        return '?'
    return s if len(s) <= 60 else s[:57] + '...'


def _exc_text(e):
    try:
        if type(e).__name__ == 'ExceptionWithTraceback' and hasattr(e, 'exc'):
            e = e.exc
        return _cut('%s: %s' % (type(e).__name__, e))
    except Exception:
        try:
            return _cut(type(e).__name__)
        except Exception:
            return '?'


def _args_text(args, kwds):
    """The arguments as a tuple's repr, keywords inside it: `(11, 2)`, `(3,)`,
    `(1, x=2)` (pooltop writes `f(11, 2)`, `f(3)`, `f(1, x=2)`)."""
    try:
        if type(args) is not tuple:
            args = tuple(args) if type(args) is list else (args,)
        parts = []
        n = 0
        for a in args:
            s = _short(a)
            parts.append(s)
            n += len(s) + 2
            if n > 62:
                break
        if n <= 62 and kwds:
            for k in kwds:
                s = '%s=%s' % (k, _short(kwds[k]))
                parts.append(s)
                n += len(s) + 2
                if n > 62:
                    break
        if len(args) == 1 and not kwds:
            return _cut('(%s,)' % parts[0])
        return _cut('(%s)' % ', '.join(parts))
    except Exception:
        return '?'


def _qualname(f):
    try:
        q = getattr(f, '__qualname__', None) or getattr(f, '__name__', None)
        if q is None and hasattr(f, 'func'):      # functools.partial
            q = 'partial(%s)' % _qualname(f.func)
        if q is None:
            q = type(f).__qualname__
        return _esc(_cut(str(q)))
    except Exception:
        return '?'


def _rec(line):
    if _dead:
        return
    _buf.append(line)
    if len(_buf) > _MAXREC:
        _flush()


def _hello_line(first):
    try:
        ts = first.split('\t', 2)[1]
    except Exception:
        ts = '%d' % _now()
    name, parent = 'MainProcess', None
    try:
        p = _sys.modules.get('multiprocessing.process')
        if p is not None:
            cp = p.current_process()
            name, parent = cp.name, cp._parent_pid
    except Exception:
        pass
    return 'hello\t%s\t%s\t%s\t%s\n' % (ts, _esc(str(name)), _role,
                                        '-' if parent is None else parent)


def _die():
    global _dead, _sock
    _dead = True
    s, _sock = _sock, None
    del _buf[:]
    if s is not None:
        try:
            s.close()
        except Exception:
            pass


def _flush(hello=False):
    """Send what waits, in one sendall. `hello`: connect even with nothing to send."""
    global _owner, _sock
    if _dead or not (_buf or (hello and _sock is None)):
        return
    me = _ident()
    if _owner == me:       # re-entered from a signal handler: the outer flush sends it
        return
    lock = _lock
    if not lock.acquire(True, 10):
        return
    try:
        _owner = me
        while not _dead and (_buf or (hello and _sock is None)):
            n = len(_buf)
            chunk = _buf[:n]
            del _buf[:n]
            for j, line in enumerate(chunk):
                k, ts, rest = line.split('\t', 2)
                t = int(ts)
                if t < _last[0]:      # made before, queued after another: keep order
                    chunk[j] = '%s\t%d\t%s' % (k, _last[0], rest)
                else:
                    _last[0] = t
            if _sock is None:
                import socket
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(_path)
                except BaseException:
                    s.close()
                    raise
                _sock = s
                chunk.insert(0, _hello_line(chunk[0] if chunk else ''))
            data = chunk[0] if len(chunk) == 1 else ''.join(chunk)
            _sock.sendall(data.encode('utf-8', 'replace'), _NOSIG)
    except Exception:
        _die()
    except BaseException:      # KeyboardInterrupt and the like are the program's
        _die()
        raise
    finally:
        _owner = None
        lock.release()


def _send1(line, t):
    """Send one record (of time t) now: a worker's start and done. The short way when
    nothing else waits, no other thread is sending and time goes on; else through the
    buffer."""
    lock = _lock
    if _buf or _sock is None or _dead or t < _last[0] or not lock.acquire(False):
        _rec(line)
        _flush()
        return
    global _owner
    try:
        _owner = _ident()
        if _buf or t < _last[0]:
            _buf.append(line)
        else:
            _last[0] = t
            _sock.sendall(line.encode('utf-8', 'replace'), _NOSIG)
            return
    except Exception:
        _die()
        return
    except BaseException:
        _die()
        raise
    finally:
        _owner = None
        lock.release()
    _flush()


def _before_fork():
    try:
        _flush()
    except BaseException:
        pass


def _after_fork_child():
    global _sock, _lock, _owner, _tls, _role
    try:
        s, _sock = _sock, None
        if s is not None:
            try:
                _os.close(s.detach())
            except Exception:
                pass
        import _thread
        _lock = _thread.allocate_lock()
        _owner = None
        _last[0] = 0
        del _buf[:]
        _tls = _thread._local()
        _role = 'other'          # until multiprocessing's _bootstrap says what it is
    except BaseException:
        pass


def _at_exit():
    try:
        _flush()
    except BaseException:
        pass


# --- where the program is: the first frame outside multiprocessing, the hook and the
# standard library. A frame of Process._bootstrap or of threading.py ends the search:
# above it there is no caller of the program's (a child's inherited stack, or one of
# multiprocessing's own threads).

_dirs = []


def _skip(code):
    v = _skip_cache.get(code)
    if v is None:
        fn = code.co_filename
        mpdir, stdlib, threading_py, me = _dirs
        if fn.startswith(mpdir):
            v = 2 if code.co_name == '_bootstrap' else 1
        elif fn == threading_py:
            v = 2
        elif fn == me or fn.startswith('<frozen '):
            v = 1
        elif fn.startswith(stdlib) and 'site-packages' not in fn \
                and 'dist-packages' not in fn:
            v = 1
        else:
            v = 0
        _skip_cache[code] = v
    return v


def _with_line39(f):
    """3.9 runs a `with` block's __exit__ on the block's last line: the line of the
    SETUP_WITH whose exit is at f_lasti instead (3.10+ gives it already)."""
    code = f.f_code
    co, lasti = code.co_code, f.f_lasti
    ext = 0
    for off in range(0, len(co) - 1, 2):
        op, arg = co[off], co[off + 1] | ext
        ext = (arg << 8) if op == 144 else 0          # EXTENDED_ARG
        if op == 143 and off + 2 + arg in (lasti, lasti + 6):   # SETUP_WITH
            tab, line, addr = code.co_lnotab, code.co_firstlineno, 0
            for i in range(0, len(tab), 2):
                addr += tab[i]
                if addr > off:
                    break
                inc = tab[i + 1]
                line += inc - 256 if inc >= 128 else inc
            return line
    return None


def _where(f, with_exit=False):
    n = 0
    while f is not None and n < 64:
        s = _skip(f.f_code)
        if s == 0:
            line = f.f_lineno or 0
            if with_exit and _sys.version_info < (3, 10):
                try:
                    line = _with_line39(f) or line
                except Exception:
                    pass
            return '%s\t%d' % (_esc(f.f_code.co_filename), line)
        if s == 2:
            return None
        f = f.f_back
        n += 1
    return None


# --- steps: around blocking multiprocessing calls made by the program

def _step_begin(frame, label, wait=True):
    """A step if this is the outermost call and the program made it. Returns the
    token to end it with, or None."""
    tl = _tls
    if getattr(tl, 'active', None) is not None:
        if wait:
            _flush()
        return None
    if _role in ('pool_worker', 'forkserver', 'resource_tracker'):
        return None
    w = _where(frame.f_back, label == 'pool.__exit__')
    if w is None:
        if wait:
            _flush()
        return None
    tl.active = frame
    _rec('step\t%d\t%s\t%s\n' % (_now(), w, label))
    _flush()
    return [_step_end, w, frame]


def _step_end(t, ok, v):
    w, frame = t[1], t[2]
    tl = _tls
    if getattr(tl, 'active', None) is frame:
        tl.active = None
    if ok:
        out = _esc(_short(v))
    elif type(v) is StopIteration:
        ok, out = True, 'StopIteration'
    else:
        out = _esc(_exc_text(v))
    _rec('step_done\t%d\t%s\t%d\t%s\n' % (_now(), w, 1 if ok else 0, out))
    _flush()


# --- the patched functions call these three (as _pooltop_.e/.r/.x)

def _e(key, args):
    """Entering a patched function. Returns a token for _r/_x, or None."""
    try:
        if _dead:
            return None
        h = _ENTER.get(key)
        if h is None:
            return None
        return h(_sys._getframe(1), args)
    except Exception:
        return None


def _r(t, v):
    if t is not None:
        try:
            t[0](t, True, v)
        except Exception:
            pass
    return v


def _x(t, e):
    if t is not None:
        try:
            t[0](t, False, e)
        except Exception:
            pass


# --- pool worker (in the worker's own loop: `task = get()`, `put((job, i, result))`)

_task = [None, None, None]     # job, i, func of the task this worker runs


def _w_start(task):
    try:
        if task is not None and _role == 'pool_worker' and not _dead:
            job, i = task[0], task[1]
            _task[0], _task[1], _task[2] = job, i, task[2]
            t = _now()
            _send1(f'start\t{t}\t{job:d}\t{i:d}\n', t)
    except Exception:
        pass
    return task


def _w_done(obj):
    try:
        if _role == 'pool_worker' and not _dead:
            job, i, (ok, value) = obj
            if ok:
                f = _task[2] if (_task[0] == job and _task[1] == i) else None
                if type(value) is list and f is not None and \
                        (f is _mp.get('mapstar') or f is _mp.get('starmapstar')):
                    if len(value) <= _MAXITEMS:
                        vals = '\t'.join([_esc(_short(x)) for x in value])
                    else:
                        vals = None
                else:
                    vals = _esc(_short(value))
            else:
                vals = _esc(_exc_text(value))
            t = _now()
            if vals is None:
                _send1(f'done\t{t}\t{job:d}\t{i:d}\t{1 if ok else 0}\n', t)
            else:
                _send1(f'done\t{t}\t{job:d}\t{i:d}\t{1 if ok else 0}\t{vals}\n', t)
    except Exception:
        pass
    return obj


# --- Pool (main side)

def _is_thread_pool(pool):
    tp = _mp.get('ThreadPool')
    return tp is not None and isinstance(pool, tp)


def _pool_no(pool):
    return getattr(pool, '_pooltop_no', None)


def _h_repopulate(frame, args):
    pool = args[0]
    if _pool_no(pool) is not None or _is_thread_pool(pool):
        return None
    _pools[0] += 1
    n = _pools[0]
    pool._pooltop_no = n
    try:
        pool._inqueue._pooltop_no = n
    except Exception:
        pass
    try:
        sm = pool._ctx.get_start_method()
    except Exception:
        sm = '?'
    mt = pool._maxtasksperchild
    w = _where(frame.f_back) or '?\t0'
    _rec('pool\t%d\t%d\t%s\t%s\t%s\t%s\n' % (
        _now(), n, pool._processes, _esc(str(sm)), '-' if mt is None else mt, w))
    return None


def _pool_state(n, state):
    if n is None:
        return
    seen = _mp.setdefault('states', {})
    if seen.get(n) == state:
        return
    seen[n] = state
    _rec('pool_state\t%d\t%d\t%s\n' % (_now(), n, state))
    _flush()


def _end_call(t, ok, v):
    # t: [_end_call, step token or None, ctx set by us]
    if t[2]:
        _tls.call = None
    if t[1] is not None:
        _step_end(t[1], ok, v)
    else:
        _flush()


def _pool_call(method, blocking):
    def h(frame, args):
        pool = args[0]
        if _is_thread_pool(pool):
            return None
        tl = _tls
        mine = False
        if getattr(tl, 'call', None) is None:
            n = _pool_no(pool)
            if n is not None:
                # [pool, method, func, args/iterable, kwds/chunksize, used]
                if method in ('apply', 'apply_async'):
                    a = args[2] if len(args) > 2 else ()
                    k = args[3] if len(args) > 3 else {}
                else:
                    a = args[2]
                    k = args[3] if len(args) > 3 else None
                tl.call = [n, method, args[1], a, k, False]
                mine = True
        st = _step_begin(frame, 'pool.' + method) if blocking else None
        return [_end_call, st, mine]
    return h


def _pool_step(label):
    def h(frame, args):
        if _is_thread_pool(args[0]):
            return None
        return _step_begin(frame, label)
    return h


def _end_close(t, ok, v):
    pool = t[3]
    if ok and getattr(pool, '_state', None) == 'CLOSE':
        _pool_state(_pool_no(pool), 'CLOSE')
    if t[1] is not None:
        _step_end(t[1], ok, v)


def _h_close(frame, args):
    pool = args[0]
    if _is_thread_pool(pool):
        return None
    return [_end_close, _step_begin(frame, 'pool.close'), None, pool]


def _h_terminate(frame, args):
    pool = args[0]
    if _is_thread_pool(pool):
        return None
    _pool_state(_pool_no(pool), 'TERMINATE')
    return _step_begin(frame, 'pool.terminate')


def _h_terminate_pool(frame, args):
    # classmethod (cls, taskqueue, inqueue, ...): run by terminate() and by the
    # pool's finalizer (garbage collection, exit)
    _pool_state(getattr(args[2], '_pooltop_no', None), 'TERMINATE')
    return None


def _h_pool_init(frame, args):
    if _is_thread_pool(args[0]):
        return None
    return _step_begin(frame, 'Pool()')


def _caller_local(name, code_name):
    f = _sys._getframe(2)
    n = 0
    while f is not None and n < 8:
        if f.f_code.co_name == code_name:
            return f.f_locals.get(name)
        f = f.f_back
        n += 1
    return None


_SAFE_ITER = (list, tuple, range, dict, set, frozenset, str, bytes)


def _made_result(kind):
    def h(frame, args):
        if _is_thread_pool(args[1]):
            args[0]._pooltop_off = True       # a ThreadPool's: no steps either
            return None
        return [_end_made, kind, args[0]]
    return h


def _end_made(t, ok, v):
    if not ok:
        return
    kind, res = t[1], t[2]
    if kind == 'apply' and isinstance(res, _mp.get('MapResult', ())):
        return          # MapResult.__init__ calls ApplyResult.__init__ first
    tl = _tls
    c = getattr(tl, 'call', None)
    if c is None or c[5]:
        return
    c[5] = True
    n, method, func, a, k = c[0], c[1], c[2], c[3], c[4]
    items = None
    if kind == 'apply':
        length, cs = 1, 1
        items = [_args_text(a, k)]
    elif kind == 'map':
        length, cs = len(res._value), res._chunksize
        it = _caller_local('iterable', '_map_async')
        if it is not None and length <= _MAXITEMS and type(it) in _SAFE_ITER:
            if method.startswith('starmap'):
                items = [_args_text(x, None) if type(x) in (tuple, list) else _short(x)
                         for x in it]
            else:
                items = [_short(x) for x in it]
    else:        # imap, imap_unordered: the iterable as given
        cs = k if k is not None else 1
        try:
            length = len(a)
        except Exception:
            length = '?'
        if length != '?' and length <= _MAXITEMS and type(a) in _SAFE_ITER:
            items = [_short(x) for x in a]
    job = res._job
    _rec('call\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n' % (
        _now(), n, job, method, _qualname(func), length, cs))
    if items is not None:
        _rec('items\t%d\t%d%s\n' % (
            _now(), job, ''.join(['\t' + _esc(s) for s in items])))


def _h_get(label):
    def h(frame, args):
        res = args[0]
        try:
            if res._event.is_set() or getattr(res, '_pooltop_off', False):
                return None     # returns at once (not a blocking call), or a ThreadPool
        except Exception:
            pass
        return _step_begin(frame, label)
    return h


def _h_next(frame, args):
    it = args[0]
    try:
        if it._items or getattr(it, '_pooltop_off', False):
            return None         # an item is there: returns at once; or a ThreadPool
    except Exception:
        pass
    return _step_begin(frame, 'it.next')


# --- Process

def _start_method_of(p):
    try:
        sm = getattr(p, '_start_method', None)
        if sm:
            return sm
        ctx = _sys.modules['multiprocessing.context']._default_context
        c = ctx._actual_context or ctx._default_context
        return c._name
    except Exception:
        return '?'


def _h_start(frame, args):
    p = args[0]
    try:
        if p._popen is not None or p._parent_pid != _os.getpid():
            raise ValueError    # start() will refuse: no new process to report
        target = getattr(p, '_target', None)
        if target is None:
            run = getattr(type(p), 'run', None)
            bp = _mp.get('BaseProcess')
            if run is not None and bp is not None and run is not bp.run:
                tq = _qualname(run)
            else:
                tq = '?'
        else:
            tq = _qualname(target)
        pool = '-'
        if _is_mp_worker(target):
            try:
                pool = p._args[0]._pooltop_no
            except Exception:
                pass
        _rec('process\t%d\t%s\t%d\t%s\t%s\t%s\n' % (
            _now(), _esc(str(p.name)), 1 if p.daemon else 0,
            _esc(str(_start_method_of(p))), tq, pool))
    except Exception:
        pass
    st = _step_begin(frame, 'p.start')
    if st is None:
        _flush()
    return [_end_start, st, p]


def _end_start(t, ok, v):
    p = t[2]
    if ok:
        try:
            _rec('process_start\t%d\t%s\t%d\n' % (_now(), _esc(str(p.name)), p.pid))
        except Exception:
            pass
    if t[1] is not None:
        _step_end(t[1], ok, v)
    else:
        _flush()


def _is_mp_worker(f):
    return getattr(f, '__module__', None) == 'multiprocessing.pool' and \
        getattr(f, '__qualname__', None) == 'worker'


def _h_bootstrap(frame, args):
    global _role
    p = args[0]
    _role = 'pool_worker' if _is_mp_worker(getattr(p, '_target', None)) else 'process'
    return [_end_bootstrap]


def _end_bootstrap(t, ok, v):
    _flush()


def _h_poll(frame, args):
    po = args[0]
    if getattr(po, 'returncode', 0) is None:
        return [_end_poll, po]
    return None


def _end_poll(t, ok, v):
    if ok and v is not None:
        po = t[1]
        if not getattr(po, '_pooltop_reaped', False):
            po._pooltop_reaped = True
            _rec('reaped\t%d\t%d\t%d\n' % (_now(), po.pid, v))
            _flush()


def _h_role(role):
    def h(frame, args):
        global _role
        _role = role
        _flush(hello=True)
        return None
    return h


_ENTER = {
    'Pool.__init__': _h_pool_init,
    'Pool._repopulate_pool': _h_repopulate,
    'Pool.apply': _pool_call('apply', True),
    'Pool.apply_async': _pool_call('apply_async', False),
    'Pool.map': _pool_call('map', True),
    'Pool.map_async': _pool_call('map_async', False),
    'Pool.starmap': _pool_call('starmap', True),
    'Pool.starmap_async': _pool_call('starmap_async', False),
    'Pool.imap': _pool_call('imap', False),
    'Pool.imap_unordered': _pool_call('imap_unordered', False),
    'Pool.close': _h_close,
    'Pool.terminate': _h_terminate,
    'Pool.join': _pool_step('pool.join'),
    'Pool.__exit__': _pool_step('pool.__exit__'),
    'Pool._terminate_pool': _h_terminate_pool,
    'ApplyResult.__init__': _made_result('apply'),
    'MapResult.__init__': _made_result('map'),
    'IMapIterator.__init__': _made_result('imap'),
    'ApplyResult.get': _h_get('r.get'),
    'ApplyResult.wait': _h_get('r.wait'),
    'IMapIterator.next': _h_next,
    'BaseProcess.start': _h_start,
    'BaseProcess.join': _pool_step('p.join'),
    'BaseProcess._bootstrap': _h_bootstrap,
    'Popen.poll': _h_poll,
    'forkserver.main': _h_role('forkserver'),
    'resource_tracker.main': _h_role('resource_tracker'),
}

# module -> [(class or None, function, key)]
_PLAN = {
    'multiprocessing.pool': [
        (None, 'worker', 'worker'),
        ('Pool', '__init__', 'Pool.__init__'),
        ('Pool', '_repopulate_pool', 'Pool._repopulate_pool'),
        ('Pool', 'apply', 'Pool.apply'),
        ('Pool', 'apply_async', 'Pool.apply_async'),
        ('Pool', 'map', 'Pool.map'),
        ('Pool', 'map_async', 'Pool.map_async'),
        ('Pool', 'starmap', 'Pool.starmap'),
        ('Pool', 'starmap_async', 'Pool.starmap_async'),
        ('Pool', 'imap', 'Pool.imap'),
        ('Pool', 'imap_unordered', 'Pool.imap_unordered'),
        ('Pool', 'close', 'Pool.close'),
        ('Pool', 'terminate', 'Pool.terminate'),
        ('Pool', 'join', 'Pool.join'),
        ('Pool', '__exit__', 'Pool.__exit__'),
        ('Pool', '_terminate_pool', 'Pool._terminate_pool'),
        ('ApplyResult', '__init__', 'ApplyResult.__init__'),
        ('ApplyResult', 'get', 'ApplyResult.get'),
        ('ApplyResult', 'wait', 'ApplyResult.wait'),
        ('MapResult', '__init__', 'MapResult.__init__'),
        ('IMapIterator', '__init__', 'IMapIterator.__init__'),
        ('IMapIterator', 'next', 'IMapIterator.next'),
    ],
    'multiprocessing.process': [
        ('BaseProcess', 'start', 'BaseProcess.start'),
        ('BaseProcess', 'join', 'BaseProcess.join'),
        ('BaseProcess', '_bootstrap', 'BaseProcess._bootstrap'),
    ],
    'multiprocessing.popen_fork': [('Popen', 'poll', 'Popen.poll')],
    'multiprocessing.popen_forkserver': [('Popen', 'poll', 'Popen.poll')],
    'multiprocessing.forkserver': [(None, 'main', 'forkserver.main')],
    'multiprocessing.resource_tracker': [(None, 'main', 'resource_tracker.main')],
}


# --- compiling patched functions from CPython's source

def _code_lines(code, out):
    try:
        for _s, _e2, line in code.co_lines():
            if line is not None:
                out.append(line)
    except AttributeError:            # 3.9: co_lnotab
        line = code.co_firstlineno
        out.append(line)
        tab = code.co_lnotab
        for i in range(1, len(tab), 2):
            inc = tab[i]
            if inc >= 128:
                inc -= 256
            line += inc
            out.append(line)
    for c in code.co_consts:
        if hasattr(c, 'co_code'):
            _code_lines(c, out)


def _indent(line):
    return len(line) - len(line.lstrip(' \t'))


def _locate(n, ref):
    """Give the new nodes under n (those without a position) ref's position; nodes from
    CPython's source keep theirs, and are not walked."""
    import _ast
    stack = [n]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(x)
            continue
        if not isinstance(x, _ast.AST):
            continue
        if 'lineno' in x._attributes:
            if hasattr(x, 'lineno'):
                continue
            for a in ('lineno', 'col_offset', 'end_lineno', 'end_col_offset'):
                if hasattr(ref, a):
                    setattr(x, a, getattr(ref, a))
        for f in x._fields:
            stack.append(getattr(x, f, None))
    return n


def _hook_call(A, ref, name, args):
    return _locate(A.Call(
        func=A.Attribute(value=A.Name(id='_pooltop_', ctx=A.Load()), attr=name,
                         ctx=A.Load()),
        args=args, keywords=[]), ref)


def _rewrite_returns(A, stmts):
    # `return X` -> `return _pooltop_.r(_pooltop_t, X)`, not inside nested defs
    for i, s in enumerate(stmts):
        if isinstance(s, A.Return):
            val = s.value if s.value is not None else _locate(
                A.Constant(value=None, kind=None), s)
            s.value = _hook_call(A, s, 'r', [
                _locate(A.Name(id='_pooltop_t', ctx=A.Load()), s), val])
            continue
        if isinstance(s, (A.FunctionDef, A.AsyncFunctionDef, A.ClassDef)):
            continue
        for f in s._fields:
            v = getattr(s, f, None)
            if isinstance(v, list):
                sub = [x for x in v if isinstance(x, A.stmt)]
                if sub:
                    _rewrite_returns(A, v)
                for x in v:
                    if isinstance(x, (A.excepthandler,)) or \
                            type(x).__name__ == 'match_case':
                        _rewrite_returns(A, x.body)


def _wrap_body(A, fdef, key):
    body = fdef.body
    doc = []
    if body and isinstance(body[0], A.Expr) and \
            isinstance(body[0].value, A.Constant) and \
            isinstance(body[0].value.value, str):
        doc, body = [body[0]], body[1:]
    if not body:
        return False
    first, last = body[0], body[-1]
    _rewrite_returns(A, body)
    a = fdef.args
    names = [x.arg for x in getattr(a, 'posonlyargs', [])] + [x.arg for x in a.args]
    if a.vararg is not None:
        names.append(a.vararg.arg)
    names += [x.arg for x in a.kwonlyargs]
    if a.kwarg is not None:
        names.append(a.kwarg.arg)
    params = A.Tuple(elts=[A.Name(id=n, ctx=A.Load()) for n in names], ctx=A.Load())
    t_store = A.Name(id='_pooltop_t', ctx=A.Store())
    pre = _locate(A.Assign(targets=[A.Name(id='_pooltop_t', ctx=A.Store())],
                           value=A.Constant(value=None, kind=None),
                           type_comment=None), first)
    enter = _locate(A.Assign(
        targets=[t_store],
        value=_hook_call(A, first, 'e', [A.Constant(value=key, kind=None), params]),
        type_comment=None), first)
    handler = _locate(A.ExceptHandler(
        type=A.Name(id='BaseException', ctx=A.Load()), name='_pooltop_x',
        body=[A.Expr(value=_hook_call(A, last, 'x', [
            A.Name(id='_pooltop_t', ctx=A.Load()),
            A.Name(id='_pooltop_x', ctx=A.Load())])),
            A.Raise(exc=None, cause=None)]), last)
    tryst = _locate(A.Try(body=[enter] + body, handlers=[handler], orelse=[],
                          finalbody=[]), first)
    tail = _locate(A.Expr(value=_hook_call(A, last, 'r', [
        A.Name(id='_pooltop_t', ctx=A.Load()), A.Constant(value=None, kind=None)])),
        last)
    fdef.body = doc + [pre, tryst, tail]
    return True


def _wrap_worker(A, fdef):
    # in the worker's own frame: task = _pooltop_.ws(get()); put(_pooltop_.wd(...))
    found = [0, 0]

    def visit(node):
        if isinstance(node, (A.FunctionDef, A.AsyncFunctionDef, A.ClassDef, A.Lambda)):
            return
        for f in node._fields:
            v = getattr(node, f, None)
            if isinstance(v, list):
                for j, x in enumerate(v):
                    if isinstance(x, A.AST):
                        nx = fix(x)
                        if nx is not x:
                            v[j] = nx
                        else:
                            visit(x)
            elif isinstance(v, A.AST):
                nv = fix(v)
                if nv is not v:
                    setattr(node, f, nv)
                else:
                    visit(v)

    def fix(x):
        if isinstance(x, A.Call) and isinstance(x.func, A.Name):
            if x.func.id == 'get' and not x.args and not x.keywords:
                found[0] += 1
                return _hook_call(A, x, 'ws', [x])
            if x.func.id == 'put' and len(x.args) == 1 and not x.keywords:
                found[1] += 1
                visit(x)
                x.args[0] = _hook_call(A, x.args[0], 'wd', [x.args[0]])
                return x
        return x

    for s in fdef.body:
        visit(s)
    return found[0] >= 1 and found[1] >= 1


def _find_code(code, name, line):
    for c in code.co_consts:
        if hasattr(c, 'co_code'):
            if c.co_name == name and c.co_firstlineno == line:
                return c
            r = _find_code(c, name, line)
            if r is not None:
                return r
    return None


def _compile_patched(module, lines, filename, clsname, fname, key):
    """The code of CPython's function `fname` (of class `clsname`) with the hook's
    calls added, compiled from its source lines; None where that cannot be done."""
    import _ast as A
    owner = module if clsname is None else module.__dict__.get(clsname)
    if owner is None:
        return None
    raw = owner.__dict__.get(fname)
    fn = getattr(raw, '__func__', raw)
    code = getattr(fn, '__code__', None)
    if code is None or code.co_flags & 0x2a0 or code.co_freevars:
        return None     # generators, coroutines, closures: leave alone
    start = code.co_firstlineno
    seen = []
    _code_lines(code, seen)
    end = max(seen + [start])
    d = start - 1
    while d < len(lines) and not lines[d].lstrip().startswith('def '):
        d += 1
    if d >= len(lines):
        return None
    ind = _indent(lines[d])
    while end < len(lines):
        ln = lines[end]
        st = ln.strip()
        if st and not st.startswith('#') and _indent(ln) <= ind:
            break
        end += 1
    block = ''.join(lines[start - 1:end])
    if clsname is None:
        if ind != 0:
            return None
        text = '\n' * (start - 1) + block
    else:
        if start < 2 or ind == 0:
            return None
        text = '\n' * (start - 2) + 'class %s:\n' % clsname + block
    tree = compile(text, filename, 'exec', A.PyCF_ONLY_AST, True)
    fdef = tree.body[0] if clsname is None else tree.body[0].body[0]
    if not isinstance(fdef, A.FunctionDef) or fdef.name != fname:
        return None
    if key == 'worker':
        ok = _wrap_worker(A, fdef)
    else:
        ok = _wrap_body(A, fdef, key)
    if not ok:
        return None
    new = _find_code(compile(tree, filename, 'exec', 0, True), fname, start)
    if new is None or new.co_freevars or new.co_argcount != code.co_argcount:
        return None
    return new


def _install_patched(module, clsname, fname, newcode):
    """Replace the function by one running newcode, alike in all else."""
    owner = module if clsname is None else module.__dict__.get(clsname)
    raw = owner.__dict__.get(fname)
    fn = getattr(raw, '__func__', raw)
    new = type(fn)(newcode, module.__dict__, fname, fn.__defaults__, None)
    new.__kwdefaults__ = fn.__kwdefaults__
    new.__qualname__ = fn.__qualname__
    new.__doc__ = fn.__doc__
    new.__module__ = fn.__module__
    new.__dict__.update(fn.__dict__)
    try:
        new.__annotations__ = fn.__annotations__
    except Exception:
        pass
    if raw is not fn:
        new_raw = type(raw)(new)            # staticmethod / classmethod
    else:
        new_raw = new
    for k, v in list(owner.__dict__.items()):
        if v is raw:                        # also aliases such as __next__ = next
            setattr(owner, k, new_raw)


# --- the cache: this body's code and the patched functions' code, marshalled beside
# the hook (in pooltop's private folder), so that each new process (a spawned worker)
# loads them instead of compiling them again

_cache = {}
_cache_path = [None]


def _save_cache():
    path = _cache_path[0]
    if not path or not _cache.get('dirty'):
        return
    try:
        import marshal
        data = dict((k, v) for k, v in _cache.items() if k != 'dirty')
        d = _os.path.dirname(path)
        if not _os.path.isdir(d):
            _os.mkdir(d, 0o700)
        tmp = '%s.%d.tmp' % (path, _os.getpid())
        with open(tmp, 'wb') as f:
            f.write(marshal.dumps(data))
        _os.replace(tmp, path)
        _cache['dirty'] = False
    except Exception:
        pass


def _patch(name, module):
    plan = _PLAN.get(name)
    if not plan or getattr(module, '_pooltop_', None) is not None:
        return
    try:
        if not _dirs:
            import threading
            mp = _sys.modules['multiprocessing']
            _dirs.extend([
                _os.path.dirname(mp.__file__) + _os.sep,
                _os.path.dirname(_os.__file__) + _os.sep,
                threading.__file__,
                __file__[:-1] if __file__.endswith('.pyc') else __file__,
            ])
        filename = module.__file__
        st = _os.stat(filename)
        stamp = (filename, st.st_mtime_ns, st.st_size)
        mods = _cache.setdefault('mods', {})
        known = mods.get(name)
        if known is not None and known[0] == stamp:
            codes = known[1]
        else:
            src = module.__loader__.get_source(name)
            if not src:
                return
            lines = src.splitlines(True)
            codes = {}
            for clsname, fname, key in plan:
                try:
                    codes[(clsname or '', fname)] = _compile_patched(
                        module, lines, filename, clsname, fname, key)
                except Exception:
                    codes[(clsname or '', fname)] = None
            mods[name] = (stamp, codes)
            _cache['dirty'] = True
        module._pooltop_ = _api
        for clsname, fname, key in plan:
            code = codes.get((clsname or '', fname))
            if code is not None:
                try:
                    _install_patched(module, clsname, fname, code)
                except Exception:
                    pass
        if name == 'multiprocessing.pool':
            for n in ('mapstar', 'starmapstar', 'ThreadPool', 'MapResult'):
                if hasattr(module, n):
                    _mp[n] = getattr(module, n)
        elif name == 'multiprocessing.process':
            _mp['BaseProcess'] = getattr(module, 'BaseProcess', None)
        _save_cache()
    except Exception:
        pass


class _Loader(object):
    """Wraps a multiprocessing module's loader: runs it, then patches the module."""

    def __init__(self, inner, name):
        self._inner = inner
        self._name = name

    def create_module(self, spec):
        f = getattr(self._inner, 'create_module', None)
        return f(spec) if f is not None else None

    def exec_module(self, module):
        try:
            module.__loader__ = self._inner
            if module.__spec__ is not None:
                module.__spec__.loader = self._inner
        except Exception:
            pass
        self._inner.exec_module(module)
        _patch(self._name, module)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _find_spec(finder, name, path, target):
    """The spec the other finders give, its loader wrapped to patch the module."""
    if name not in _PLAN:
        return None
    for f in _sys.meta_path:
        if f is finder or isinstance(f, type(finder)):
            continue
        find = getattr(f, 'find_spec', None)
        if find is None:
            continue
        spec = find(name, path, target)
        if spec is None:
            continue
        if spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return None
        spec.loader = _Loader(spec.loader, name)
        return spec
    return None


class _Api(object):
    pass


def _setup(cache, cache_path):
    global _path, _lock, _tls, _now, _ident, _NOSIG, _api
    import time
    import _thread
    _path = _os.environ['POOLTOP_HOOK']
    _lock = _thread.allocate_lock()
    _tls = _thread._local()
    _now = time.monotonic_ns
    _ident = _thread.get_ident
    _NOSIG = 0x4000 if _sys.platform.startswith('linux') else 0   # MSG_NOSIGNAL
    api = _Api()
    api.e, api.r, api.x, api.ws, api.wd = _e, _r, _x, _w_start, _w_done
    _api = api
    _cache.update(cache)
    _cache_path[0] = cache_path
    for n in _PLAN:
        if n in _sys.modules:
            _patch(n, _sys.modules[n])
    _save_cache()
'''
_SRC_LINE = _sys._getframe().f_lineno - _SRC.count('\n') - 1


try:
    if _os.environ.get('POOLTOP_HOOK') and _sys.version_info >= (3, 9) and \
            _os.name == 'posix' and hasattr(_os, 'register_at_fork'):
        _pooltop_install()
except Exception:
    pass

_pooltop_chain()
