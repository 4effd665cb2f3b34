//! The driver's table of child processes: starting them by each start method, talking
//! to them, signalling them through pidfds, and reaping them.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::engine::forkserver;
use crate::engine::program::StartMethod;
use crate::engine::protocol::{EventKind, Job, Role, ToForkserver, ToWorker, WorkerInit};
use crate::engine::sys::{self, Forked, PidFd};
use crate::engine::wire::{FrameReader, FrameWriter};
use crate::engine::worker;

use super::Driver;
use super::pool::ChunkRef;

pub type ChildId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Process(usize),
    Pool(usize),
    Forkserver,
}

/// One child process, alive or already reaped (kept so its name stays known).
pub struct Child {
    pub pid: i32,
    pub ppid: i32,
    pub name: String,
    pub role: Role,
    pub owner: Owner,
    pub method: StartMethod,
    pub pidfd: Option<PidFd>,
    pub chan: Option<OwnedFd>,
    pub rx: FrameReader,
    pub tx: FrameWriter,
    pub requested: Instant,
    pub ready: bool,
    /// Milliseconds from the start request to the worker's first word.
    pub ready_ms: f64,
    pub exitcode: Option<i32>,
    pub via_forkserver: bool,
    // Pool worker bookkeeping.
    pub assigned: VecDeque<ChunkRef>,
    pub chunks_taken: u32,
    pub window: usize,
    pub stop_sent: bool,
    pub service_secs: f64,
    pub chunk_started: Option<Instant>,
    pub running_task: Option<u64>,
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
            assigned: VecDeque::new(),
            chunks_taken: 0,
            window: 1,
            stop_sent: false,
            service_secs: 0.0,
            chunk_started: None,
            running_task: None,
        }
    }

    pub fn alive(&self) -> bool {
        self.exitcode.is_none()
    }

    pub fn chan_fd(&self) -> Option<RawFd> {
        self.chan.as_ref().map(std::os::fd::AsRawFd::as_raw_fd)
    }

    /// Sends a signal unless the child is already reaped; a pidfd never hits a recycled PID.
    pub fn signal(&mut self, signal: i32) -> io::Result<()> {
        match &self.pidfd {
            Some(fd) if self.exitcode.is_none() => match fd.send_signal(signal) {
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
                other => other,
            },
            _ => Err(io::Error::from_raw_os_error(libc::ESRCH)),
        }
    }
}

/// Starts `pooltop <subcommand>` with `fd` as its descriptor 3.
pub fn exec_self(subcommand: &str, fd: RawFd, parent: i32) -> io::Result<i32> {
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

pub struct ForkserverLink {
    pub child: ChildId,
    pub control: OwnedFd,
}

impl Driver {
    /// Creates a worker process with the given job; the PID is known at once for fork
    /// and spawn, and when the fork server answers for forkserver.
    pub(super) fn spawn_child(
        &mut self,
        name: String,
        role: Role,
        owner: Owner,
        method: StartMethod,
        job: Job,
    ) -> io::Result<ChildId> {
        let (ours, theirs) = sys::stream_pair()?;
        sys::set_nonblocking(ours.as_raw_fd(), true)?;
        let mut child = Child::new(name.clone(), role, owner, method);
        child.tx.push(&ToWorker::Init(WorkerInit {
            name,
            cost: self.settings.cost,
            job,
        }))?;
        child.ppid = self.me;
        match method {
            StartMethod::Fork => {
                let pid = self.fork_worker(theirs)?;
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
                let fs = self.ensure_forkserver()?;
                let token = self.children.len() as u64;
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
        let id = self.children.len();
        self.children.push(child);
        if self.children[id].pid != 0 {
            self.announce_created(id);
        }
        Ok(id)
    }

    fn fork_worker(&mut self, theirs: OwnedFd) -> io::Result<i32> {
        if std::mem::take(&mut self.heap_dirty) {
            super::pool::trim_heap();
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

    pub(super) fn announce_created(&mut self, id: ChildId) {
        let c = &self.children[id];
        let kind = EventKind::Created {
            name: c.name.clone(),
            pid: c.pid,
            ppid: c.ppid,
            role: c.role,
        };
        self.emit(kind);
    }

    /// The fork server's control socket, starting the server on first use.
    fn ensure_forkserver(&mut self) -> io::Result<RawFd> {
        if let Some(fs) = &self.forkserver
            && self.children[fs.child].alive()
        {
            return Ok(fs.control.as_raw_fd());
        }
        let (ours, theirs) = forkserver::control_pair()?;
        let started = Instant::now();
        let pid = exec_self("__forkserver", theirs.as_raw_fd(), self.me)?;
        drop(theirs);
        sys::set_nonblocking(ours.as_raw_fd(), true)?;
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
        let id = self.children.len();
        self.children.push(child);
        self.announce_created(id);
        let fd = ours.as_raw_fd();
        self.forkserver = Some(ForkserverLink {
            child: id,
            control: ours,
        });
        Ok(fd)
    }

    /// Reads the fork server's reports: PIDs of new workers and exits it reaped.
    pub(super) fn on_forkserver_readable(&mut self) {
        use crate::engine::protocol::FromForkserver;
        loop {
            let Some(fs) = &self.forkserver else { return };
            let fd = fs.control.as_raw_fd();
            match forkserver::recv_packet::<FromForkserver>(
                fd,
                nix::sys::socket::MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(Some((FromForkserver::Forked { token, pid }, pidfd))) => {
                    let id = token as usize;
                    let fs_pid = self.children[self.forkserver_child()].pid;
                    if let Some(c) = self.children.get_mut(id) {
                        c.pid = pid;
                        c.ppid = fs_pid;
                        c.pidfd = pidfd.map(PidFd::from_owned);
                    }
                    self.announce_created(id);
                    if self.children.get(id).is_some_and(|c| c.ready) {
                        self.announce_spawned(id);
                    }
                }
                Ok(Some((FromForkserver::Exited { pid, exitcode }, _))) => {
                    if let Some(id) = self.live_child_by_pid(pid) {
                        self.on_exit(id, exitcode);
                    }
                }
                Ok(None) => {
                    self.forkserver_gone();
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    self.forkserver_gone();
                    return;
                }
            }
        }
    }

    fn forkserver_child(&self) -> ChildId {
        self.forkserver.as_ref().map_or(0, |f| f.child)
    }

    /// Without its server, a forkserver worker's exit can only be seen on its pidfd.
    fn forkserver_gone(&mut self) {
        self.forkserver = None;
    }

    pub(super) fn live_child_by_pid(&self, pid: i32) -> Option<ChildId> {
        if pid == 0 {
            return None;
        }
        self.children
            .iter()
            .rposition(|c| c.pid == pid && c.alive())
    }

    pub(super) fn name_of_pid(&self, pid: i32) -> String {
        if pid == self.me {
            return "MainProcess".into();
        }
        self.children
            .iter()
            .rev()
            .find(|c| c.pid == pid)
            .map_or_else(|| format!("pid {pid}"), |c| c.name.clone())
    }

    /// Whether this child's exit must be noticed on its pidfd (rather than reported).
    pub(super) fn watch_pidfd(&self, id: ChildId) -> bool {
        let c = &self.children[id];
        c.alive() && c.pidfd.is_some() && (!c.via_forkserver || self.forkserver.is_none())
    }

    /// Reaps a child whose pidfd became readable.
    pub(super) fn on_pidfd_readable(&mut self, id: ChildId) {
        let c = &self.children[id];
        let Some(pidfd) = &c.pidfd else { return };
        if c.via_forkserver {
            // Not our child: it is dead but only its server could say how it ended.
            self.on_exit(id, -libc::SIGKILL);
            return;
        }
        match pidfd.try_reap() {
            Ok(Some(code)) => self.on_exit(id, code),
            Ok(None) => {}
            Err(_) => self.on_exit(id, -libc::SIGKILL),
        }
    }

    /// Checks a child right now (as Python's `is_alive()` polls `waitpid`).
    pub(super) fn poll_exit(&mut self, id: ChildId) {
        if self.watch_pidfd(id) {
            let readable = self.children[id].pidfd.as_ref().is_some_and(|fd| {
                let mut p = libc::pollfd {
                    fd: fd.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, zero timeout.
                unsafe { libc::poll(&raw mut p, 1, 0) > 0 }
            });
            if readable {
                self.on_pidfd_readable(id);
            }
        } else if self.children[id].via_forkserver {
            self.on_forkserver_readable();
        }
    }

    /// Bookkeeping shared by every way a child can end.
    pub(super) fn on_exit(&mut self, id: ChildId, exitcode: i32) {
        if !self.children[id].alive() {
            return;
        }
        // Whatever the child wrote before dying is already queued: take it first, so
        // its output and last results come before its exit.
        self.drain_capture();
        self.read_channel(id);
        let c = &mut self.children[id];
        c.exitcode = Some(exitcode);
        c.pidfd = None;
        c.chan = None;
        let kind = EventKind::Exited {
            name: c.name.clone(),
            pid: c.pid,
            exitcode,
        };
        let owner = c.owner;
        self.emit(kind);
        match owner {
            Owner::Process(p) => self.processes[p].exitcode = Some(exitcode),
            Owner::Pool(pool) => self.on_worker_exit(pool, id, exitcode),
            Owner::Forkserver => self.forkserver_gone(),
        }
    }
}
