//! The OS-process table: starting children (fork, spawn, fork server), their channels, their
//! captured output, pidfd signals, reaping and shutdown. Exits are returned, never routed.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::engine::capture::CaptureStream;
use crate::engine::forkserver;
use crate::engine::program::StartMethod;
use crate::engine::protocol::{
    EventKind, FromForkserver, FromWorker, Job, Role, Stream, ToForkserver, ToWorker, WorkerInit,
};
use crate::engine::sys::{self, Forked, PidFd};
use crate::engine::wire::{Fill, FrameReader, FrameWriter};
use crate::engine::worker;
use crate::workload::Cost;

use super::outbox::Emit;

/// How long children get to exit after SIGTERM at shutdown before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Index into the table; children are never removed, so an id is never reused.
pub type ChildId = usize;

/// Who a child belongs to, handed back with its exit so the caller can route it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Process(usize),
    Pool(usize),
    Forkserver,
}

/// One child process, alive or already reaped (kept so its name stays known).
pub struct Child {
    pid: i32,
    ppid: i32,
    name: String,
    role: Role,
    owner: Owner,
    method: StartMethod,
    pidfd: Option<PidFd>,
    chan: Option<OwnedFd>,
    rx: FrameReader,
    tx: FrameWriter,
    requested: Instant,
    ready: bool,
    /// Milliseconds from the start request to the worker's first word.
    ready_ms: f64,
    exitcode: Option<i32>,
    via_forkserver: bool,
    /// A signal sent before a fork server said which PID it forked: delivered the moment
    /// the PID (and its pidfd) arrives, so a worker of a terminated pool cannot linger.
    pending_signal: Option<i32>,
}

impl Child {
    fn new(name: String, role: Role, owner: Owner, method: StartMethod) -> Child {
        Child {
            pid: 0,
            ppid: 0,
            name,
            role,
            owner,
            method,
            pidfd: None,
            chan: None,
            rx: FrameReader::default(),
            tx: FrameWriter::default(),
            requested: Instant::now(),
            ready: false,
            ready_ms: 0.0,
            exitcode: None,
            via_forkserver: false,
            pending_signal: None,
        }
    }

    /// 0 while a fork server has not yet said which PID it forked.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn owner(&self) -> Owner {
        self.owner
    }

    pub fn method(&self) -> StartMethod {
        self.method
    }

    pub fn exitcode(&self) -> Option<i32> {
        self.exitcode
    }

    pub fn alive(&self) -> bool {
        self.exitcode.is_none()
    }

    fn chan_fd(&self) -> Option<RawFd> {
        self.chan.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Frames wait until the child's PID is known: a fork server's child then cannot read
    /// its job, and so cannot print, before its output can be put under its name.
    fn may_write(&self) -> bool {
        self.pid != 0 && self.tx.pending() > 0
    }

    /// Sends a signal unless the child is already reaped; a pidfd never hits a recycled PID.
    /// A child whose PID is not known yet gets it as soon as it is.
    fn signal(&mut self, signal: i32) -> io::Result<()> {
        match &self.pidfd {
            Some(fd) if self.exitcode.is_none() => match fd.send_signal(signal) {
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
                other => other,
            },
            None if self.exitcode.is_none() && self.pid == 0 => {
                // SIGKILL outranks anything sent before it.
                if self.pending_signal != Some(libc::SIGKILL) {
                    self.pending_signal = Some(signal);
                }
                Ok(())
            }
            _ => Err(io::Error::from_raw_os_error(libc::ESRCH)),
        }
    }
}

/// What to start: the child's name, what it is, whose it is, how, and its job.
pub struct Start {
    pub name: String,
    pub role: Role,
    pub owner: Owner,
    pub method: StartMethod,
    pub job: Job,
}

/// One report read from the fork server.
pub enum ServerNews {
    /// A PID arrived (or an exit of a child we no longer track): read on.
    More,
    /// This child exited; the caller finishes the exit.
    Exit(ChildId, i32),
    /// Nothing more for now, or the server is gone.
    Done,
}

/// What checking a child right now found.
pub enum Check {
    Running,
    Exited(i32),
    /// Only the fork server can tell: read its reports.
    AskServer,
}

/// The descriptors of one child the poll loop watches.
pub struct Watch<'a> {
    pub id: ChildId,
    pub channel: Option<BorrowedFd<'a>>,
    /// Frames are queued for the child.
    pub wants_write: bool,
    /// Its exit must be noticed on its pidfd (no fork server reports it).
    pub pidfd: Option<BorrowedFd<'a>>,
}

struct ForkserverLink {
    child: ChildId,
    control: OwnedFd,
}

pub struct Children {
    me: i32,
    list: Vec<Child>,
    forkserver: Option<ForkserverLink>,
    capture: [CaptureStream; 2],
    read_buf: Vec<u8>,
    /// Python's `_process_counter`: names `Process-N` and `ForkPoolWorker-N` share it.
    identity: u32,
    cost: Cost,
    /// Spawned events carry the child's memory (only the dashboard and event logs want it).
    task_events: bool,
    /// Large call state was freed since the last fork.
    heap_dirty: bool,
    shutdown: Option<Shutdown>,
}

/// Shutdown in progress: when the current phase ends, and whether SIGKILL went out yet.
struct Shutdown {
    deadline: Instant,
    killed: bool,
}

/// Starts `pooltop <subcommand>` with `fd` as its descriptor 3.
fn exec_self(subcommand: &str, fd: RawFd, parent: i32) -> io::Result<i32> {
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("pooltop").arg(subcommand).stdin(Stdio::null());
    // SAFETY: only async-signal-safe calls (dup2, fcntl, prctl, getppid) run in the child.
    unsafe {
        cmd.pre_exec(move || {
            sys::dup_onto(fd, worker::CHANNEL_FD)?;
            sys::die_with_parent(parent);
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok(child.id() as i32)
}

impl Children {
    /// Sets up output capture; from then on every print of ours and of every child is
    /// captured and attributed.
    pub fn new() -> io::Result<Children> {
        let capture = [
            CaptureStream::new(Stream::Stdout)?,
            CaptureStream::new(Stream::Stderr)?,
        ];
        sys::dup_onto(capture[0].writer_fd(), 1)?;
        sys::dup_onto(capture[1].writer_fd(), 2)?;
        Ok(Children {
            me: std::process::id() as i32,
            list: Vec::new(),
            forkserver: None,
            capture,
            read_buf: vec![0; 64 * 1024],
            identity: 0,
            cost: Cost::default(),
            task_events: true,
            heap_dirty: false,
            shutdown: None,
        })
    }

    /// Our own PID: the parent of every child we start.
    pub fn me(&self) -> i32 {
        self.me
    }

    pub fn configure(&mut self, cost: Cost, task_events: bool) {
        self.cost = cost;
        self.task_events = task_events;
    }

    /// The next number of Python's process counter.
    pub fn next_identity(&mut self) -> u32 {
        self.identity += 1;
        self.identity
    }

    pub fn get(&self, id: ChildId) -> &Child {
        &self.list[id]
    }

    /// Freed memory can go back to the kernel before the next fork.
    pub fn note_heap_freed(&mut self) {
        self.heap_dirty = true;
    }

    /// Creates a child with the given job; the PID is known at once for fork and spawn,
    /// and when the fork server answers for forkserver.
    pub fn start(&mut self, out: &mut impl Emit, start: Start) -> io::Result<ChildId> {
        let (ours, theirs) = sys::stream_pair()?;
        sys::set_nonblocking(&ours, true)?;
        let mut child = Child::new(start.name.clone(), start.role, start.owner, start.method);
        child.tx.push(&ToWorker::Init(WorkerInit {
            name: start.name,
            cost: self.cost,
            job: start.job,
        }))?;
        child.ppid = self.me;
        match start.method {
            StartMethod::Fork => {
                let pid = self.fork_worker(&theirs)?;
                child.pid = pid;
                child.pidfd = Some(PidFd::open(pid)?);
            }
            StartMethod::Spawn => {
                let pid = exec_self("__worker", theirs.as_raw_fd(), self.me)?;
                drop(theirs);
                child.pid = pid;
                child.pidfd = Some(PidFd::open(pid)?);
            }
            StartMethod::Forkserver => {
                let fs = self.ensure_forkserver(out)?;
                let token = self.list.len() as u64;
                forkserver::send_packet(
                    fs,
                    &ToForkserver::Fork { token },
                    Some(theirs.as_raw_fd()),
                )?;
                drop(theirs);
                child.via_forkserver = true;
            }
        }
        child.chan = Some(ours);
        let id = self.list.len();
        self.list.push(child);
        if self.list[id].pid != 0 {
            self.announce_created(out, id);
        }
        Ok(id)
    }

    fn fork_worker(&mut self, theirs: &OwnedFd) -> io::Result<i32> {
        if std::mem::take(&mut self.heap_dirty) {
            sys::trim_heap();
        }
        match sys::fork()? {
            Forked::Child => {
                if sys::dup_onto(theirs.as_raw_fd(), worker::CHANNEL_FD).is_err() {
                    sys::exit_now(1);
                }
                sys::close_fds_from(worker::CHANNEL_FD + 1);
                sys::die_with_parent(self.me);
                worker::run(worker::CHANNEL_FD)
            }
            Forked::Parent(pid) => Ok(pid),
        }
    }

    fn announce_created(&self, out: &mut impl Emit, id: ChildId) {
        let c = &self.list[id];
        out.emit(EventKind::Created {
            name: c.name.clone(),
            pid: c.pid,
            ppid: c.ppid,
            role: c.role,
        });
    }

    fn announce_spawned(&self, out: &mut impl Emit, id: ChildId) {
        let c = &self.list[id];
        // Memory right after start tells the start methods apart; the benchmark does not
        // pay for the read.
        let rss_kib = if self.task_events {
            sys::rss_kib(c.pid)
        } else {
            None
        };
        out.emit(EventKind::Spawned {
            name: c.name.clone(),
            pid: c.pid,
            ppid: c.ppid,
            role: c.role,
            start_method: Some(c.method),
            start_ms: Some(c.ready_ms),
            rss_kib,
        });
    }

    /// The child said its first word: it has started.
    pub fn on_ready(&mut self, out: &mut impl Emit, id: ChildId) {
        let c = &mut self.list[id];
        c.ready = true;
        c.ready_ms = c.requested.elapsed().as_secs_f64() * 1e3;
        // Its PID is known: it could not read its job before (`may_write`).
        self.announce_spawned(out, id);
    }

    /// The fork server's control socket, starting the server on first use.
    fn ensure_forkserver(&mut self, out: &mut impl Emit) -> io::Result<RawFd> {
        if let Some(fs) = &self.forkserver
            && self.list[fs.child].alive()
        {
            return Ok(fs.control.as_raw_fd());
        }
        let (ours, theirs) = forkserver::control_pair()?;
        let started = Instant::now();
        let pid = exec_self("__forkserver", theirs.as_raw_fd(), self.me)?;
        drop(theirs);
        sys::set_nonblocking(&ours, true)?;
        let mut child = Child::new(
            "ForkServer".into(),
            Role::Forkserver,
            Owner::Forkserver,
            StartMethod::Spawn,
        );
        child.pid = pid;
        child.ppid = self.me;
        child.pidfd = Some(PidFd::open(pid)?);
        child.ready = true;
        child.requested = started;
        let id = self.list.len();
        self.list.push(child);
        self.announce_created(out, id);
        let fd = ours.as_raw_fd();
        self.forkserver = Some(ForkserverLink {
            child: id,
            control: ours,
        });
        Ok(fd)
    }

    /// Reads one report of the fork server: the PID of a new worker, or an exit it reaped.
    pub fn forkserver_news(&mut self, out: &mut impl Emit) -> ServerNews {
        let Some(fs) = &self.forkserver else {
            return ServerNews::Done;
        };
        let server_pid = self.list[fs.child].pid;
        let packet = forkserver::recv_packet::<FromForkserver>(
            fs.control.as_raw_fd(),
            nix::sys::socket::MsgFlags::MSG_DONTWAIT,
        );
        match packet {
            Ok(Some((FromForkserver::Forked { token, pid }, pidfd))) => {
                let id = token as usize;
                if let Some(c) = self.list.get_mut(id) {
                    c.pid = pid;
                    c.ppid = server_pid;
                    c.pidfd = pidfd.map(PidFd::from_owned);
                    if let Some(signal) = c.pending_signal.take() {
                        let _ = c.signal(signal);
                    }
                    self.announce_created(out, id);
                }
                ServerNews::More
            }
            Ok(Some((FromForkserver::Exited { pid, exitcode }, _))) => {
                match self.live_by_pid(pid) {
                    Some(id) => ServerNews::Exit(id, exitcode),
                    None => ServerNews::More,
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ServerNews::Done,
            // End of file or a broken socket: without its server, a forkserver worker's
            // exit can only be seen on its pidfd.
            Ok(None) | Err(_) => {
                self.forkserver = None;
                ServerNews::Done
            }
        }
    }

    /// Children not yet reaped, oldest first.
    pub fn live(&self) -> impl Iterator<Item = ChildId> + '_ {
        self.list
            .iter()
            .enumerate()
            .filter(|(_, c)| c.alive())
            .map(|(id, _)| id)
    }

    pub fn live_by_pid(&self, pid: i32) -> Option<ChildId> {
        if pid == 0 {
            return None;
        }
        self.list.iter().rposition(|c| c.pid == pid && c.alive())
    }

    pub fn name_of_pid(&self, pid: i32) -> String {
        if pid == self.me {
            return "MainProcess".into();
        }
        self.list
            .iter()
            .rev()
            .find(|c| c.pid == pid)
            .map_or_else(|| format!("pid {pid}"), |c| c.name.clone())
    }

    /// Whether this child's exit must be noticed on its pidfd (rather than reported).
    fn watch_pidfd(&self, c: &Child) -> bool {
        c.alive() && c.pidfd.is_some() && (!c.via_forkserver || self.forkserver.is_none())
    }

    /// How a child whose pidfd became readable ended, once it is reaped.
    pub fn pidfd_exit(&self, id: ChildId) -> Option<i32> {
        let c = &self.list[id];
        let pidfd = c.pidfd.as_ref()?;
        if c.via_forkserver {
            // Not our child: it is dead but only its server could say how it ended.
            return Some(-libc::SIGKILL);
        }
        match pidfd.try_reap() {
            Ok(code) => code,
            Err(_) => Some(-libc::SIGKILL),
        }
    }

    /// Checks a child right now (as Python's `is_alive()` polls `waitpid`).
    pub fn check_now(&self, id: ChildId) -> Check {
        let c = &self.list[id];
        if self.watch_pidfd(c) {
            let readable = c.pidfd.as_ref().is_some_and(|fd| {
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
            });
            // A fork server's child cannot be reaped here: only its readable pidfd says it
            // has ended.
            match readable.then(|| self.pidfd_exit(id)).flatten() {
                Some(code) => Check::Exited(code),
                None => Check::Running,
            }
        } else if c.via_forkserver {
            Check::AskServer
        } else {
            Check::Running
        }
    }

    /// Records an exit and reports it; returns the owner to route it to, or None when
    /// the child was already reaped.
    pub fn mark_exited(
        &mut self,
        out: &mut impl Emit,
        id: ChildId,
        exitcode: i32,
    ) -> Option<Owner> {
        let c = &mut self.list[id];
        if !c.alive() {
            return None;
        }
        c.exitcode = Some(exitcode);
        c.pidfd = None;
        c.chan = None;
        // An ended child is kept for its name only: its buffers go, so a respawn storm
        // costs a few bytes a worker.
        c.rx.release();
        c.tx = FrameWriter::default();
        let owner = c.owner;
        out.emit(EventKind::Exited {
            name: c.name.clone(),
            pid: c.pid,
            exitcode: Some(exitcode),
        });
        if owner == Owner::Forkserver {
            self.forkserver = None;
        }
        Some(owner)
    }

    /// Reports everything children have written so far, chunk by chunk.
    pub fn drain_output(&mut self, out: &mut impl Emit) {
        for i in 0..self.capture.len() {
            while let Ok(Some(chunk)) = self.capture[i].read_chunk(&mut self.read_buf) {
                let name = self.name_of_pid(chunk.pid);
                let text = String::from_utf8_lossy(&chunk.bytes).into_owned();
                out.emit(EventKind::Output {
                    pid: chunk.pid,
                    name,
                    stream: chunk.stream,
                    text,
                });
            }
        }
    }

    /// One read from the child's channel; None once the channel is closed.
    pub fn fill(&mut self, id: ChildId) -> Option<io::Result<Fill>> {
        let c = &mut self.list[id];
        let fd = c.chan_fd()?;
        Some(c.rx.fill(fd))
    }

    /// The next complete frame the child sent, if one is buffered.
    pub fn next_frame(&mut self, id: ChildId) -> io::Result<Option<FromWorker>> {
        self.list[id].rx.next_frame()
    }

    /// The child is exiting or talks garbage; its pidfd will say how it ended.
    pub fn close_channel(&mut self, id: ChildId) {
        self.list[id].chan = None;
    }

    /// Queues a frame; it goes out with the next [`Children::flush`].
    pub fn send(&mut self, id: ChildId, msg: &ToWorker) {
        // Only serialisation can fail here, and our own messages always serialise.
        let _ = self.list[id].tx.push(msg);
    }

    pub fn signal(&mut self, id: ChildId, signal: i32) -> io::Result<()> {
        self.list[id].signal(signal)
    }

    /// Writes what each child's socket takes now.
    pub fn flush(&mut self) {
        for c in &mut self.list {
            let Some(fd) = c.chan_fd() else { continue };
            if c.may_write() && c.tx.flush_nonblocking(fd).is_err() {
                // The worker closed its end: it is exiting; its pidfd will report how.
                c.tx = FrameWriter::default();
            }
        }
    }

    pub fn capture_fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.capture.iter().map(CaptureStream::reader)
    }

    pub fn forkserver_fd(&self) -> Option<BorrowedFd<'_>> {
        self.forkserver.as_ref().map(|fs| fs.control.as_fd())
    }

    /// Every descriptor of every child the poll loop must watch, in table order.
    pub fn watches(&self) -> impl ExactSizeIterator<Item = Watch<'_>> {
        self.list.iter().enumerate().map(|(id, c)| Watch {
            id,
            channel: c.chan.as_ref().map(AsFd::as_fd),
            wants_write: c.may_write(),
            pidfd: c
                .pidfd
                .as_ref()
                .filter(|_| self.watch_pidfd(c))
                .map(PidFd::as_fd),
        })
    }

    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    pub fn shutdown_deadline(&self) -> Option<Instant> {
        self.shutdown.as_ref().map(|s| s.deadline)
    }

    pub fn all_reaped(&self) -> bool {
        self.list.iter().all(|c| !c.alive())
    }

    /// SIGTERM every child; those still alive after the grace get SIGKILL.
    pub fn begin_shutdown(&mut self) {
        if self.shutdown.is_some() {
            return;
        }
        self.shutdown = Some(Shutdown {
            deadline: Instant::now() + SHUTDOWN_GRACE,
            killed: false,
        });
        for c in self
            .list
            .iter_mut()
            .filter(|c| c.alive() && c.pidfd.is_some())
        {
            let _ = c.signal(libc::SIGTERM);
        }
    }

    /// Past the grace, SIGKILL the stragglers; past a second grace, give up on the rest.
    pub fn check_deadlines(&mut self) {
        let now = Instant::now();
        let Some(shutdown) = &mut self.shutdown else {
            return;
        };
        if now < shutdown.deadline {
            return;
        }
        if shutdown.killed {
            // Nothing we can still signal is alive; give up on the rest.
            for c in self.list.iter_mut().filter(|c| c.alive()) {
                c.exitcode = Some(-libc::SIGKILL);
            }
            return;
        }
        shutdown.killed = true;
        shutdown.deadline = now + SHUTDOWN_GRACE;
        for c in self.list.iter_mut().filter(|c| c.alive()) {
            let _ = c.signal(libc::SIGKILL);
        }
    }
}
