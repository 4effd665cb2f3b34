//! Watching a real command (`pooltop watch`): this process runs it as its child subreaper
//! and reports its whole tree, each process's output and, from the Python hook, its pools.
//!
//! The kernel is the source for processes, exits, output and signals; the hook only adds
//! what CPython alone knows (names, pools, tasks, the script's line), so without it the
//! tree, CPU, output and signals still work.

pub mod guard;
mod hook;
mod procs;
mod tree;

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command as Spawn, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::engine::capture::CaptureStream;
use crate::engine::driver::outbox::{Emit, Outbox};
use crate::engine::program::StartMethod;
use crate::engine::protocol::{Command, EventKind, Role, Stream, WatchSpec};
use crate::engine::sys;
use crate::engine::wire::{Fill, FrameReader};

use hook::{Conn, HookDir, Translator};
use procs::Procs;

/// How often `/proc` is searched for new descendants.
const SCAN_EVERY: Duration = Duration::from_millis(25);
/// After the command exits, how long its descendants get to exit by themselves (Python's
/// resource tracker and fork server do, once the main process has gone).
const AFTER_ROOT_GRACE: Duration = Duration::from_millis(300);
/// Between SIGTERM and SIGKILL when pooltop ends the tree.
const TERM_GRACE: Duration = Duration::from_millis(500);
/// After SIGKILL, the longest wait for the kernel to report the exits.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// A Python command that has not connected to the hook by then does not load it.
const HOOK_WAIT: Duration = Duration::from_secs(3);
/// The shortest time between two reads of the hook's connections.
const HOOK_READ_EVERY: Duration = Duration::from_millis(2);
/// Output chunks taken per stream before the loop looks at everything else again.
const CHUNKS_PER_TURN: usize = 256;

/// The `--python` default and what names a Python interpreter.
pub const PYTHON: &str = "python3";

/// The interpreter a script runs with when none is named: `python3`, as the interpreter
/// itself says it is (a version manager's `python3` is a shell script that would show as
/// extra processes in the tree; its answer is the real interpreter it runs).
pub fn default_python() -> String {
    let asked = Spawn::new(PYTHON)
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match asked {
        Ok(out) if out.status.success() => {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if path.is_empty() { PYTHON.into() } else { path }
        }
        _ => PYTHON.into(),
    }
}

/// The script a command runs: its first argument ending in `.py` (`python3 -u x.py 3`).
pub fn script_of(argv: &[String]) -> Option<PathBuf> {
    argv.iter()
        .skip(1)
        .find(|a| Path::new(a).extension() == Some(OsStr::new("py")))
        .map(PathBuf::from)
}

/// Whether the command is a Python interpreter (`python3`, `/usr/bin/python3.11`, ...).
pub fn is_python(argv: &[String]) -> bool {
    argv.first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(OsStr::to_str)
        .is_some_and(|n| n.starts_with("python") || n == "pypy3")
}

/// Why the hook cannot load in this command, when its command line says so already. A
/// command that is not Python may still start Python programs, which inherit the hook.
pub fn hook_blocked(argv: &[String]) -> Option<String> {
    if !is_python(argv) {
        return None;
    }
    // Options come before the script (or -c/-m); -I, -E and -S can be combined (`-IS`).
    for arg in argv.iter().skip(1) {
        if !arg.starts_with('-') || arg == "-" || arg == "-c" || arg == "-m" {
            break;
        }
        if arg.starts_with("--") {
            continue;
        }
        for flag in ['I', 'E', 'S'] {
            if arg[1..].contains(flag) {
                return Some(format!("python -{flag} does not load sitecustomize"));
            }
        }
    }
    None
}

/// How the watch ends once the command has exited or pooltop was asked to quit.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ending {
    Running,
    /// The command exited; the rest get a moment to exit by themselves.
    Grace(Instant),
    /// SIGTERM was sent; SIGKILL follows at this instant.
    Term(Instant),
    /// SIGKILL was sent; the exits are awaited until this instant.
    Kill(Instant),
}

struct Watcher {
    outbox: Outbox,
    link_rx: FrameReader,
    captures: [CaptureStream; 2],
    read_buf: Vec<u8>,
    hook: Option<HookDir>,
    conns: Vec<Conn>,
    translator: Translator,
    procs: Procs,
    guard: guard::Guard,
    started: Instant,
    next_scan: Instant,
    /// When the hook's connections are read next (see `HOOK_READ_EVERY`).
    conns_due: Instant,
    ending: Ending,
    /// Why pooltop ends the processes still running (what it says about each).
    end_reason: &'static str,
    /// Whether the hook's state was reported: `Some(true)` once a process connected.
    hook_reported: Option<bool>,
    link_lost: bool,
    /// The tree did not end after SIGKILL: what is left is reported and the watch ends.
    give_up: bool,
}

/// Entry point: the front end's link is `link` (with `link_rx` holding what was read of
/// it), and `spec` the command to watch. Returns the exit status of this process.
pub fn main(link: OwnedFd, link_rx: FrameReader, spec: &WatchSpec) -> i32 {
    let ready = sys::set_nonblocking(&link, true)
        .map_err(|e| format!("cannot set up the link: {e}"))
        // Orphans of the tree come to this process, so it can reap them and end them.
        .and_then(|()| {
            nix::sys::prctl::set_child_subreaper(true)
                .map_err(|e| format!("cannot become a subreaper: {e}"))
        })
        .and_then(|()| Started::start(spec));
    let mut outbox = Outbox::new(link);
    match ready {
        Ok(started) => Watcher::new(outbox, link_rx, started, spec).run(),
        Err(message) => {
            outbox.emit(EventKind::Fatal { message });
            outbox.emit(EventKind::Finished {
                elapsed: 0.0,
                status: Some(127),
            });
            outbox.flush();
            1
        }
    }
}

/// The command, started with its output captured and the hook in place.
struct Started {
    captures: [CaptureStream; 2],
    hook: Option<HookDir>,
    blocked: Option<String>,
    root: i32,
    guard: guard::Guard,
}

impl Started {
    fn start(spec: &WatchSpec) -> Result<Started, String> {
        let argv = &spec.argv;
        let Some(program) = argv.first() else {
            return Err("no command to watch".into());
        };
        let captures = [
            CaptureStream::new(Stream::Stdout).map_err(|e| format!("capture: {e}"))?,
            CaptureStream::new(Stream::Stderr).map_err(|e| format!("capture: {e}"))?,
        ];
        let blocked = if spec.hook {
            hook_blocked(argv)
        } else {
            Some("the hook is off (--no-hook)".into())
        };
        let hook = match blocked {
            Some(_) => None,
            None => Some(HookDir::create().map_err(|e| format!("cannot set up the hook: {e}"))?),
        };
        let mut cmd = Spawn::new(program);
        cmd.args(&argv[1..]).env("PYTHONUNBUFFERED", "1");
        if let Some(h) = &hook {
            let mut path = h.path().as_os_str().to_owned();
            if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
                path.push(":");
                path.push(old);
            }
            cmd.env("PYTHONPATH", path).env("POOLTOP_HOOK", h.socket());
        }
        cmd.stdin(Stdio::null())
            .stdout(stdio_of(captures[0].writer_fd())?)
            .stderr(stdio_of(captures[1].writer_fd())?);
        let me = std::process::id() as i32;
        // SAFETY: only async-signal-safe calls run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Its own process group: what the guard ends if pooltop is killed.
                nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))?;
                sys::die_with_parent(me);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        // The child is reaped through its pidfd, not through `Child`.
        let root = child.id() as i32;
        drop(child);
        let guard =
            guard::Guard::start(root).map_err(|e| format!("cannot start the guard: {e}"))?;
        Ok(Started {
            captures,
            hook,
            blocked,
            root,
            guard,
        })
    }
}

impl Watcher {
    fn new(outbox: Outbox, link_rx: FrameReader, started: Started, spec: &WatchSpec) -> Watcher {
        let Started {
            captures,
            hook,
            blocked,
            root,
            guard,
        } = started;
        let now = Instant::now();
        let mut w = Watcher {
            outbox,
            link_rx,
            captures,
            read_buf: vec![0; 64 * 1024],
            hook,
            conns: Vec::new(),
            translator: Translator::for_script(script_of(&spec.argv)),
            procs: Procs::new(root, guard.pid()),
            guard,
            started: now,
            next_scan: now,
            conns_due: now,
            ending: Ending::Running,
            end_reason: "",
            hook_reported: None,
            link_lost: false,
            give_up: false,
        };
        let name = tree::short(&tree::program_name(&spec.argv));
        w.outbox.emit(EventKind::Loaded {
            scenario: spec.argv.join(" "),
            pid: root,
            ppid: std::process::id() as i32,
            steps: 0,
            start_method: StartMethod::default(),
        });
        w.procs
            .add(&mut w.outbox, root, Some(name.clone()), Some(Role::Main));
        // `loaded` names the main process `MainProcess`, as Python would: until the hook
        // says so, it is its command line.
        w.outbox.emit(EventKind::Named {
            pid: root,
            name,
            role: Role::Main,
        });
        if let Some(reason) = blocked {
            w.report_hook(false, reason);
        }
        // Commands sent right after `Watch` were read with it.
        while let Ok(Some(cmd)) = w.link_rx.next_frame::<Command>() {
            w.on_command(&cmd);
        }
        w
    }

    fn report_hook(&mut self, connected: bool, reason: String) {
        if self.hook_reported == Some(true) || self.hook_reported == Some(connected) {
            return;
        }
        self.hook_reported = Some(connected);
        self.outbox.emit(EventKind::Hook { connected, reason });
    }

    fn run(&mut self) -> i32 {
        loop {
            self.outbox.flush();
            if self.outbox.failed() && !self.link_lost {
                self.link_lost = true;
                self.begin_end(libc::SIGTERM, "pooltop's front end has gone");
            }
            if self.finished() {
                self.finish();
                return 0;
            }
            let timeout = self.poll_timeout();
            self.poll_once(timeout);
            self.on_time();
        }
    }

    /// Everything seen has exited and been reported, the command included.
    fn finished(&self) -> bool {
        (self.procs.root_code.is_some() || self.give_up) && self.procs.all_reported()
    }

    fn finish(&mut self) {
        self.procs.kill_unseen_children();
        self.guard.release();
        self.drain_everything();
        let status = self
            .procs
            .root_code
            .map(|c| if c < 0 { 128 - c } else { c });
        self.outbox.emit(EventKind::Finished {
            elapsed: self.started.elapsed().as_secs_f64(),
            status,
        });
        self.outbox.flush();
    }

    fn poll_timeout(&self) -> PollTimeout {
        let mut next = self.next_scan;
        if !self.conns.is_empty() && self.conns_due > Instant::now() {
            next = next.min(self.conns_due);
        }
        if let Some(d) = self.procs.next_exit_deadline() {
            next = next.min(d);
        }
        match self.ending {
            Ending::Running => {}
            Ending::Grace(t) | Ending::Term(t) | Ending::Kill(t) => next = next.min(t),
        }
        let ms = next
            .saturating_duration_since(Instant::now())
            .as_micros()
            .div_ceil(1000);
        PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
    }

    fn poll_once(&mut self, timeout: PollTimeout) {
        #[derive(Clone, Copy)]
        enum Src {
            Link,
            Capture,
            Listener,
            Conn(usize),
            Exit(i32),
        }
        let mut slots: Vec<(Src, BorrowedFd<'_>)> = Vec::new();
        if !self.outbox.closed() {
            slots.push((Src::Link, self.outbox.fd()));
        }
        for c in &self.captures {
            slots.push((Src::Capture, c.reader()));
        }
        if let Some(h) = &self.hook {
            slots.push((Src::Listener, h.listener_fd()));
        }
        // Hook connections are read at most every `HOOK_READ_EVERY`: the records of many
        // tasks then come in one read, and the program's workers are woken less.
        if Instant::now() >= self.conns_due {
            for (i, c) in self.conns.iter().enumerate() {
                slots.push((Src::Conn(i), c.fd()));
            }
        }
        for (pid, fd) in self.procs.pidfds() {
            slots.push((Src::Exit(pid), fd.as_fd()));
        }
        let mut fds: Vec<PollFd> = slots
            .iter()
            .map(|(_, fd)| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        let ready: Vec<Src> = match poll(&mut fds, timeout) {
            Ok(n) if n > 0 => slots
                .iter()
                .zip(&fds)
                .filter(|(_, fd)| fd.revents().is_none_or(|r| !r.is_empty()))
                .map(|((src, _), _)| *src)
                .collect(),
            _ => Vec::new(),
        };
        drop(fds);
        drop(slots);
        let mut exits = Vec::new();
        let mut conns_ready = Vec::new();
        for src in ready {
            match src {
                Src::Link => self.on_link(),
                Src::Capture => {}
                Src::Listener => self.accept(),
                Src::Conn(i) => conns_ready.push(i),
                Src::Exit(pid) => exits.push(pid),
            }
        }
        // Records, then output, exits last: output then finds its writer named, and an
        // exit finds everything the process wrote and reported before it died taken in.
        if !conns_ready.is_empty() {
            self.read_conns(&conns_ready);
            self.conns_due = Instant::now() + HOOK_READ_EVERY;
        }
        self.drain_output();
        if !exits.is_empty() {
            self.drain_everything();
            for pid in exits {
                self.procs.on_exit(pid);
            }
        }
    }

    /// All output and hook records waiting now.
    fn drain_everything(&mut self) {
        self.accept();
        let all: Vec<usize> = (0..self.conns.len()).collect();
        self.read_conns(&all);
        self.drain_output();
    }

    fn on_time(&mut self) {
        let now = Instant::now();
        if now >= self.next_scan {
            self.procs.scan(&mut self.outbox);
            self.next_scan = now + SCAN_EVERY;
        }
        self.procs.reap_children();
        self.report_exits(now);
        self.check_hook(now);
        self.advance_ending(now);
    }

    fn check_hook(&mut self, now: Instant) {
        if self.hook_reported.is_some() || self.hook.is_none() {
            return;
        }
        let root_gone = self.procs.root_code.is_some();
        if root_gone || now.saturating_duration_since(self.started) >= HOOK_WAIT {
            let reason = "the command did not load pooltop's hook (sitecustomize)".to_string();
            self.report_hook(false, reason);
        }
    }

    fn report_exits(&mut self, now: Instant) {
        for exit in self.procs.ready_exits(now) {
            let signal = exit.exitcode.filter(|c| *c < 0).map(|c| -c);
            let terminated = self.procs.table.get(&exit.pid).and_then(|p| p.ended_by);
            for lost in self.translator.lost(
                exit.pid,
                &exit.name,
                signal,
                exit.exitcode,
                terminated.is_some(),
            ) {
                self.outbox.emit(lost);
            }
            self.outbox.emit(EventKind::Exited {
                name: exit.name,
                pid: exit.pid,
                exitcode: exit.exitcode,
            });
            if exit.pid == self.procs.root && self.ending == Ending::Running {
                self.ending = Ending::Grace(now + AFTER_ROOT_GRACE);
                self.end_reason = "still running when the command exited";
            }
            let _ = exit.role;
        }
    }

    fn advance_ending(&mut self, now: Instant) {
        match self.ending {
            Ending::Grace(t) if now >= t => {
                self.term_all(self.end_reason);
            }
            Ending::Term(t) if now >= t => {
                self.announce(libc::SIGKILL, self.end_reason);
                self.ending = Ending::Kill(now + KILL_WAIT);
            }
            Ending::Kill(t) if now >= t => {
                // Whatever the kernel has not reported by now is reported with no exit
                // code: none is invented.
                for p in self.procs.table.values_mut() {
                    p.exited_at.get_or_insert(t);
                }
                self.report_exits(now + procs::EXIT_CODE_WAIT);
                self.give_up = true;
            }
            _ => {}
        }
    }

    /// Ends the tree now (pooltop quits, or its front end went away).
    fn begin_end(&mut self, signal: i32, reason: &'static str) {
        if matches!(self.ending, Ending::Term(_) | Ending::Kill(_)) {
            return;
        }
        self.end_reason = reason;
        if signal == libc::SIGKILL {
            self.announce(libc::SIGKILL, reason);
            self.ending = Ending::Kill(Instant::now() + KILL_WAIT);
        } else {
            self.term_all(reason);
        }
    }

    fn term_all(&mut self, reason: &'static str) {
        self.announce(libc::SIGTERM, reason);
        self.ending = Ending::Term(Instant::now() + TERM_GRACE);
    }

    /// Signals every live process and reports each one reached.
    fn announce(&mut self, signal: i32, reason: &str) {
        for (pid, name) in self.procs.signal_all(signal, true) {
            self.outbox.emit(EventKind::Ended {
                pid,
                name,
                signal,
                reason: reason.to_string(),
            });
        }
    }

    fn on_link(&mut self) {
        loop {
            let fill = self.link_rx.fill(self.outbox.fd().as_raw_fd());
            loop {
                match self.link_rx.next_frame::<Command>() {
                    Ok(Some(cmd)) => self.on_command(&cmd),
                    Ok(None) => break,
                    Err(_) => return self.link_gone(),
                }
            }
            match fill {
                Ok(Fill::Data) => {}
                Ok(Fill::WouldBlock) => return,
                Ok(Fill::Eof) | Err(_) => return self.link_gone(),
            }
        }
    }

    fn link_gone(&mut self) {
        self.outbox.close();
        self.begin_end(libc::SIGTERM, "pooltop's front end has gone");
    }

    fn on_command(&mut self, cmd: &Command) {
        match *cmd {
            Command::Shutdown => self.begin_end(libc::SIGTERM, "pooltop quit"),
            Command::Signal { pid, signal } => {
                self.procs.signal(pid, signal);
            }
            Command::SignalTree { signal } => {
                self.procs.signal_all(signal, false);
            }
            // Pausing a real program is stopping its whole tree, as Ctrl-Z would.
            Command::Pause => {
                self.procs.signal_all(libc::SIGSTOP, false);
            }
            Command::Continue => {
                self.procs.signal_all(libc::SIGCONT, false);
            }
            Command::Load { .. } | Command::Step | Command::Interact(_) | Command::Watch(_) => {}
        }
    }

    fn drain_output(&mut self) {
        for i in 0..self.captures.len() {
            for _ in 0..CHUNKS_PER_TURN {
                let Ok(Some(chunk)) = self.captures[i].read_chunk(&mut self.read_buf) else {
                    break;
                };
                self.know(chunk.pid, None);
                self.outbox.emit(EventKind::Output {
                    pid: chunk.pid,
                    name: self.procs.name_of(chunk.pid),
                    stream: chunk.stream,
                    text: String::from_utf8_lossy(&chunk.bytes).into_owned(),
                });
            }
        }
    }

    /// Makes sure `pid` is in the table before an event names it (the scan may not have
    /// seen it yet). Only the tree holds the capture sockets and knows the hook's private
    /// socket, so a writer or a caller is one of its processes, even one already gone
    /// (then the hook's records, read first, may name it).
    fn know(&mut self, pid: i32, name: Option<String>) {
        if pid <= 0 || self.procs.table.contains_key(&pid) {
            return;
        }
        if !self.conns.is_empty() {
            let all: Vec<usize> = (0..self.conns.len()).collect();
            self.read_conns(&all);
        }
        if !self.procs.table.contains_key(&pid) {
            self.procs.add(&mut self.outbox, pid, name, None);
        }
    }

    fn accept(&mut self) {
        let Some(h) = &self.hook else { return };
        for (pid, stream) in h.accept() {
            self.conns.push(Conn::new(pid, stream));
            self.know(pid, None);
            self.report_hook(true, String::new());
        }
    }

    fn read_conns(&mut self, which: &[usize]) {
        let mut closed = Vec::new();
        let mut batch: Vec<(u64, i32, Vec<String>)> = Vec::new();
        for &i in which {
            let Some(conn) = self.conns.get_mut(i) else {
                continue;
            };
            let pid = conn.pid;
            match conn.read() {
                Some(records) => batch.extend(records.into_iter().map(|fields| {
                    let t = fields.get(1).and_then(|t| t.parse().ok()).unwrap_or(0);
                    (t, pid, fields)
                })),
                None => closed.push(i),
            }
        }
        // Records of several processes, in the order they happened (their monotonic
        // clock); each process's own stay in its order.
        batch.sort_by_key(|(t, _, _)| *t);
        for (_, pid, fields) in batch {
            self.on_record(pid, &fields);
        }
        closed.sort_unstable();
        for i in closed.into_iter().rev() {
            self.conns.swap_remove(i);
        }
    }

    fn on_record(&mut self, pid: i32, fields: &[String]) {
        if let Some((child, code)) = Translator::reaped(fields) {
            self.procs.hook_reaped(child, code);
            return;
        }
        if let Some((name, child)) = Translator::process_start(fields) {
            let role = if hook::is_pool_worker(&name) {
                Role::PoolWorker
            } else {
                Role::Process
            };
            // The sender is of the tree, so is the child it started (gone already, maybe).
            if self.procs.table.contains_key(&child) {
                self.rename(child, name, role);
            } else {
                self.procs
                    .add(&mut self.outbox, child, Some(name), Some(role));
            }
            return;
        }
        let procs = &self.procs;
        let events = self
            .translator
            .translate(pid, fields, &|p| procs.name_of(p));
        for event in events {
            if let EventKind::Named { pid, name, role } = event {
                self.rename(pid, name, role);
            } else {
                self.outbox.emit(event);
            }
        }
    }

    fn rename(&mut self, pid: i32, name: String, role: Role) {
        if let Some(p) = self.procs.table.get_mut(&pid) {
            if p.name == name && p.role == role {
                return;
            }
            p.name.clone_from(&name);
            p.role = role;
        }
        self.outbox.emit(EventKind::Named { pid, name, role });
    }
}

/// A `Stdio` writing to a copy of `fd`.
fn stdio_of(fd: std::os::fd::RawFd) -> Result<Stdio, String> {
    // SAFETY: `fd` is a capture socket's writer, open for as long as the watcher lives.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let owned = borrowed
        .try_clone_to_owned()
        .map_err(|e| format!("capture: {e}"))?;
    Ok(Stdio::from(owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_script_and_the_interpreter_are_read_from_the_command() {
        assert_eq!(
            script_of(&argv("python3 -u q5.py 3")),
            Some(PathBuf::from("q5.py"))
        );
        assert!(is_python(&argv("/usr/bin/python3.11 x.py")));
        assert!(!is_python(&argv("bash -c true")));
        assert_eq!(hook_blocked(&argv("python3 x.py")), None);
        assert!(hook_blocked(&argv("python3 -IS x.py")).is_some());
        assert!(hook_blocked(&argv("python3 -E x.py")).is_some());
        assert_eq!(
            hook_blocked(&argv("python3 x.py -I")),
            None,
            "the script's own option"
        );
        assert_eq!(
            hook_blocked(&argv("sh -c true")),
            None,
            "its Python children may load it"
        );
    }
}
