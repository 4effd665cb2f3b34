"""A stand-in for pooltop's side of the watch hook (assets/python/hook/PROTOCOL.md).

Binds a Unix stream socket in a fresh temporary directory holding a copy of the hook,
runs a command with POOLTOP_HOOK set to the socket and that folder first on PYTHONPATH
(as pooltop does), and collects the
records of every connection, with the PID the kernel gives for its peer (SO_PEERCRED).

    python3 tests/python/hook/listen.py [--python PY] [--timeout S] -- script.py [args]

prints the records, connection by connection, then the command's output. As a module,
run() returns them (check.py uses it).
"""
import os
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HOOK_DIR = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'assets', 'python', 'hook'))


def unescape(field):
    out = []
    it = iter(field)
    for c in it:
        if c != '\\':
            out.append(c)
            continue
        n = next(it, None)
        out.append({'t': '\t', 'n': '\n', None: '\\'}.get(n, n))
    return ''.join(out)


def private_hook_dir():
    """A fresh 0700 folder holding a copy of the hook, as pooltop makes one for each
    session (the hook caches its compiled code there)."""
    tmp = tempfile.mkdtemp(prefix='pooltop-hook-test-')
    shutil.copy(os.path.join(HOOK_DIR, 'sitecustomize.py'), tmp)
    return tmp


class Conn(object):
    def __init__(self, sock):
        self.sock = sock
        cred = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize('3i'))
        self.pid, self.uid, self.gid = struct.unpack('3i', cred)
        self.data = bytearray()
        self.open = True

    @property
    def lines(self):
        text = bytes(self.data).decode('utf-8', 'replace')
        return text.split('\n')

    @property
    def records(self):
        """Complete records, each a list of unescaped fields."""
        lines = self.lines
        return [[unescape(f) for f in ln.split('\t')] for ln in lines[:-1]]

    @property
    def unterminated(self):
        return self.lines[-1]

    @property
    def hello(self):
        r = self.records
        return r[0] if r and r[0][0] == 'hello' else None


class Run(object):
    """What a command did: returncode, stdout, stderr (bytes), conns, elapsed."""


def run(argv, python=None, timeout=60.0, hook=True, env=None, cwd=None, grace=3.0,
        drain=True, pythonpath_after=None, close_conns=False, tick=0.0):
    """Run `[python] + argv` (python defaults to sys.executable) with the hook.

    hook=False runs the same command without POOLTOP_HOOK (unless env has it) and without
    the hook's folder on PYTHONPATH (the reference run). pythonpath_after: folders after the hook's on
    PYTHONPATH (in both runs). tick: sleep this long between reads (a reader polling
    on a timer lets the kernel batch writes, rather than waking at each). close_conns: close each connection at once (a pooltop
    gone away). drain=False accepts connections but discards
    what they send (a do-nothing listener, for timings)."""
    python = python or sys.executable
    tmp = private_hook_dir()
    path = os.path.join(tmp, 'hook.sock')
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(path)
    lst.listen(128)
    lst.setblocking(False)
    e = dict(os.environ if env is None else env)
    for k in ('POOLTOP_HOOK', 'PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP'):
        if env is None or k != 'POOLTOP_HOOK':
            e.pop(k, None)
    e['PYTHONUNBUFFERED'] = '1'
    path_dirs = list(pythonpath_after or [])
    if hook:
        e['POOLTOP_HOOK'] = path
        path_dirs.insert(0, tmp)
    if path_dirs:
        e['PYTHONPATH'] = os.pathsep.join(path_dirs)
    sel = selectors.DefaultSelector()
    sel.register(lst, selectors.EVENT_READ, None)
    conns = []
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    t0 = time.monotonic()
    proc = subprocess.Popen([python] + list(argv), stdin=subprocess.DEVNULL, stdout=out_w,
                            stderr=err_w, env=e, cwd=cwd)
    os.close(out_w)
    os.close(err_w)
    outs = {out_r: bytearray(), err_r: bytearray()}
    for fd in outs:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, 'pipe')
    open_pipes = 2
    pipes_open = set(outs)
    ended = None
    timed_out = False
    while True:
        now = time.monotonic()
        if ended is None and proc.poll() is not None:
            ended = now
        if ended is None and now - t0 > timeout:
            timed_out = True
            proc.kill()
            proc.wait()
            ended = now
        live = [c for c in conns if c.open]
        if ended is not None and open_pipes == 0 and (not live or now - ended > grace):
            break
        if ended is not None and now - ended > grace + 5:
            break
        if tick:
            time.sleep(tick)
        for key, _ in sel.select(0.05):
            if key.fileobj is lst:
                while True:
                    try:
                        s, _a = lst.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    s.setblocking(False)
                    c = Conn(s)
                    conns.append(c)
                    if close_conns:
                        c.open = False
                        s.close()
                        continue
                    sel.register(s, selectors.EVENT_READ, c)
            elif key.data == 'pipe':
                fd = key.fileobj
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if chunk:
                    outs[fd] += chunk
                else:
                    sel.unregister(fd)
                    os.close(fd)
                    pipes_open.discard(fd)
                    open_pipes -= 1
            else:
                c = key.data
                try:
                    chunk = c.sock.recv(262144)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b''
                if chunk:
                    if drain:
                        c.data += chunk
                else:
                    c.open = False
                    sel.unregister(c.sock)
                    c.sock.close()
    for c in conns:
        if c.open:
            try:
                sel.unregister(c.sock)
            except Exception:
                pass
            c.sock.close()
    for fd in pipes_open:
        os.close(fd)
    lst.close()
    shutil.rmtree(tmp, ignore_errors=True)
    r = Run()
    r.returncode = proc.returncode
    r.stdout = bytes(outs[out_r])
    r.stderr = bytes(outs[err_r])
    r.conns = conns
    r.timed_out = timed_out
    r.elapsed = (ended or time.monotonic()) - t0
    r.main_pid = proc.pid
    return r


def main():
    args = sys.argv[1:]
    python = None
    timeout = 60.0
    while args and args[0] != '--':
        a = args.pop(0)
        if a == '--python':
            python = args.pop(0)
        elif a == '--timeout':
            timeout = float(args.pop(0))
        elif a == '--no-hook':
            pass
        else:
            sys.exit('unknown option %s' % a)
    if args and args[0] == '--':
        args.pop(0)
    if not args:
        sys.exit(__doc__)
    r = run(args, python=python, timeout=timeout)
    for c in r.conns:
        print('== pid %d%s' % (c.pid, ' (main)' if c.pid == r.main_pid else ''))
        for rec in c.records:
            print('   ' + ' | '.join(rec))
        if c.unterminated:
            print('   (unterminated) %r' % c.unterminated)
    print('== exit %s%s' % (r.returncode, ' (timed out)' if r.timed_out else ''))
    sys.stdout.write('== stdout\n' + r.stdout.decode('utf-8', 'replace'))
    sys.stdout.write('== stderr\n' + r.stderr.decode('utf-8', 'replace'))


if __name__ == '__main__':
    main()
