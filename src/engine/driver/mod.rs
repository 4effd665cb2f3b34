//! The driver: pooltop's `MainProcess`. A single-threaded process (so `fork` is safe)
//! that executes a scenario's Python calls, owns every worker, and reports events.

mod children;
mod interp;
mod pool;

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use crate::engine::capture::CaptureStream;
use crate::engine::program::{Program, RunSettings};
use crate::engine::protocol::{Command, Event, EventKind, FromWorker, Interactive, Stream};
use crate::engine::sys;
use crate::engine::wire::{Fill, FrameReader, FrameWriter};

use children::{Child, ChildId, ForkserverLink};
use interp::Interp;
use pool::{CallState, Pool};

/// How long children get to exit after SIGTERM at shutdown before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// A `multiprocessing.Process` object of the scenario.
pub struct ProcessObj {
    pub name: String,
    pub target: crate::workload::Call,
    pub child: Option<ChildId>,
    pub exitcode: Option<i32>,
    pub method: Option<crate::engine::program::StartMethod>,
}

/// What a poll slot stands for.
#[derive(Clone, Copy)]
enum Source {
    Link,
    Capture,
    Forkserver,
    Channel(ChildId),
    Pidfd(ChildId),
}

pub struct Driver {
    clock: Instant,
    me: i32,
    link_fd: RawFd,
    link_rx: FrameReader,
    link_tx: FrameWriter,
    link_closed: bool,
    capture: [CaptureStream; 2],
    read_buf: Vec<u8>,
    children: Vec<Child>,
    forkserver: Option<ForkserverLink>,
    /// Python's `_process_counter`: names `Process-N` and `ForkPoolWorker-N` share it.
    identity: u32,
    settings: RunSettings,
    task_events: bool,
    program: Option<Program>,
    interp: Interp,
    processes: Vec<ProcessObj>,
    pools: Vec<Pool>,
    calls: Vec<CallState>,
    next_task: u64,
    shutdown_deadline: Option<Instant>,
    killed_stragglers: bool,
    /// Large call state was freed since the last fork.
    heap_dirty: bool,
}

/// Entry point of the hidden `__driver` subcommand: the front end's link is `link`.
pub fn main(link: RawFd) -> i32 {
    match Driver::new(link) {
        Ok(mut driver) => driver.run(),
        Err(e) => {
            eprintln!("pooltop driver: {e}");
            1
        }
    }
}

impl Driver {
    fn new(link: RawFd) -> io::Result<Driver> {
        let capture = [
            CaptureStream::new(Stream::Stdout)?,
            CaptureStream::new(Stream::Stderr)?,
        ];
        // From here on our own stray prints and every child's are captured and attributed.
        sys::dup_onto(capture[0].writer_fd(), 1)?;
        sys::dup_onto(capture[1].writer_fd(), 2)?;
        sys::set_nonblocking(link, true)?;
        Ok(Driver {
            clock: Instant::now(),
            me: std::process::id() as i32,
            link_fd: link,
            link_rx: FrameReader::default(),
            link_tx: FrameWriter::default(),
            link_closed: false,
            capture,
            read_buf: vec![0; 64 * 1024],
            children: Vec::new(),
            forkserver: None,
            identity: 0,
            settings: RunSettings::default(),
            task_events: true,
            program: None,
            interp: Interp::default(),
            processes: Vec::new(),
            pools: Vec::new(),
            calls: Vec::new(),
            next_task: 0,
            shutdown_deadline: None,
            killed_stragglers: false,
            heap_dirty: false,
        })
    }

    pub(super) fn emit(&mut self, kind: EventKind) {
        let event = Event {
            t: self.clock.elapsed().as_secs_f64(),
            kind,
        };
        if self.link_closed {
            return;
        }
        if self.link_tx.push(&event).is_err() {
            self.link_closed = true;
        }
        if self.link_tx.pending() > 256 * 1024 {
            self.flush_link();
        }
    }

    fn flush_link(&mut self) {
        if self.link_closed {
            return;
        }
        if self.link_tx.flush_blocking(self.link_fd).is_err() {
            self.link_closed = true;
            self.begin_shutdown();
        }
    }

    fn run(&mut self) -> i32 {
        loop {
            if self.shutdown_deadline.is_none() {
                self.advance();
                for pool in 0..self.pools.len() {
                    self.dispatch(pool);
                }
            }
            self.flush_children();
            self.flush_link();
            if self.shutdown_deadline.is_some() && self.all_reaped() {
                return 0;
            }
            let timeout = self.poll_timeout();
            self.poll_once(timeout);
            self.check_deadlines();
        }
    }

    fn shutting_down(&self) -> bool {
        self.shutdown_deadline.is_some()
    }

    fn all_reaped(&self) -> bool {
        self.children.iter().all(|c| !c.alive())
    }

    fn flush_children(&mut self) {
        let mut dead = Vec::new();
        for (id, c) in self.children.iter_mut().enumerate() {
            let Some(fd) = c.chan_fd() else { continue };
            if c.tx.pending() == 0 {
                continue;
            }
            if c.tx.flush_nonblocking(fd).is_err() {
                dead.push(id);
            }
        }
        for id in dead {
            // The worker closed its end: it is exiting; its pidfd will report how.
            self.children[id].tx = FrameWriter::default();
        }
    }

    fn poll_timeout(&self) -> i32 {
        let now = Instant::now();
        let mut deadline = self.interp.deadline();
        if let Some(d) = self.shutdown_deadline {
            deadline = Some(deadline.map_or(d, |x| x.min(d)));
        }
        match deadline {
            None => -1,
            Some(d) => {
                let ms = d.saturating_duration_since(now).as_micros().div_ceil(1000);
                ms.min(i32::MAX as u128) as i32
            }
        }
    }

    fn poll_once(&mut self, timeout_ms: i32) {
        let mut fds = Vec::with_capacity(8 + self.children.len() * 2);
        let mut sources = Vec::with_capacity(fds.capacity());
        let mut add = |fd: RawFd, events: libc::c_short, src: Source| {
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            sources.push(src);
        };
        if !self.link_closed {
            add(self.link_fd, libc::POLLIN, Source::Link);
        }
        for cap in &self.capture {
            add(cap.reader_fd(), libc::POLLIN, Source::Capture);
        }
        if let Some(fs) = &self.forkserver {
            add(fs.control.as_raw_fd(), libc::POLLIN, Source::Forkserver);
        }
        for id in 0..self.children.len() {
            let c = &self.children[id];
            if let Some(fd) = c.chan_fd() {
                let mut events = libc::POLLIN;
                if c.tx.pending() > 0 {
                    events |= libc::POLLOUT;
                }
                add(fd, events, Source::Channel(id));
            }
            if self.watch_pidfd(id)
                && let Some(p) = &self.children[id].pidfd
            {
                add(p.as_fd().as_raw_fd(), libc::POLLIN, Source::Pidfd(id));
            }
        }
        // SAFETY: fds is a valid array of pollfd for its length.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if rc <= 0 {
            return;
        }
        // Channels and output first, exits last: an exit then finds everything the child
        // sent before it died already taken in.
        for pass in 0..2 {
            for (pfd, src) in fds.iter().zip(sources.iter()) {
                if pfd.revents == 0 {
                    continue;
                }
                match (*src, pass) {
                    (Source::Link, 0) => self.on_link_readable(),
                    (Source::Capture, 0) => self.drain_capture(),
                    (Source::Forkserver, 0) => self.on_forkserver_readable(),
                    (Source::Channel(id), 0)
                        if pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 =>
                    {
                        self.read_channel(id);
                    }
                    (Source::Pidfd(id), 1) => self.on_pidfd_readable(id),
                    _ => {}
                }
            }
        }
    }

    /// Takes everything children have written so far and reports it, chunk by chunk.
    pub(super) fn drain_capture(&mut self) {
        for i in 0..self.capture.len() {
            while let Ok(Some(chunk)) = self.capture[i].read_chunk(&mut self.read_buf) {
                let name = self.name_of_pid(chunk.pid);
                let text = String::from_utf8_lossy(&chunk.bytes).into_owned();
                self.emit(EventKind::Output {
                    pid: chunk.pid,
                    name,
                    stream: chunk.stream,
                    text,
                });
            }
        }
    }

    /// Reads and handles every frame a child has sent.
    pub(super) fn read_channel(&mut self, id: ChildId) {
        loop {
            let Some(fd) = self.children[id].chan_fd() else {
                return;
            };
            let fill = self.children[id].rx.fill(fd);
            // Output written before these frames is already queued: report it first.
            self.drain_capture();
            loop {
                match self.children[id].rx.next_frame::<FromWorker>() {
                    Ok(Some(msg)) => self.on_worker_message(id, msg),
                    Ok(None) => break,
                    Err(_) => {
                        self.children[id].chan = None;
                        return;
                    }
                }
            }
            match fill {
                Ok(Fill::Data) => continue,
                Ok(Fill::WouldBlock) => return,
                Ok(Fill::Eof) | Err(_) => {
                    // The worker is exiting; keep the pidfd to learn how.
                    self.children[id].chan = None;
                    return;
                }
            }
        }
    }

    fn on_link_readable(&mut self) {
        loop {
            let fill = self.link_rx.fill(self.link_fd);
            loop {
                match self.link_rx.next_frame::<Command>() {
                    Ok(Some(cmd)) => self.on_command(cmd),
                    Ok(None) => break,
                    Err(_) => {
                        self.link_closed = true;
                        self.begin_shutdown();
                        return;
                    }
                }
            }
            match fill {
                Ok(Fill::Data) => continue,
                Ok(Fill::WouldBlock) => return,
                Ok(Fill::Eof) | Err(_) => {
                    self.link_closed = true;
                    self.begin_shutdown();
                    return;
                }
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Load {
                program,
                task_events,
            } => self.load(program, task_events),
            Command::Step => self.interp.allow_steps(1),
            Command::Continue => self.interp.allow_all(),
            Command::Pause => self.pause(),
            Command::Interact(call) => self.on_interactive(call),
            Command::Signal { pid, signal } => self.signal_pid(pid, signal),
            Command::Shutdown => self.begin_shutdown(),
        }
    }

    fn load(&mut self, program: Program, task_events: bool) {
        self.settings = program.settings.clone();
        self.task_events = task_events;
        self.interp = Interp::new(program.slots.len());
        let kind = EventKind::Loaded {
            scenario: program.name.clone(),
            pid: self.me,
            ppid: nix::unistd::getppid().as_raw(),
            steps: program.steps.len(),
            start_method: self.settings.start_method,
        };
        self.program = Some(program);
        self.emit(kind);
    }

    fn on_interactive(&mut self, call: Interactive) {
        use crate::engine::program::Op;
        let pool_call = |d: &Driver, pool: usize, make: fn(usize) -> Op, method: &str| {
            let slot = d.slot_of_pool(pool)?;
            let python = format!("{}.{method}()", d.pools[pool].var);
            Some((make(slot), python))
        };
        let typed = match call {
            Interactive::Resize { pool, processes } => {
                if pool < self.pools.len() {
                    self.resize_pool(pool, processes);
                }
                return;
            }
            Interactive::StartProcess { name } => self.slot_of_process_name(&name).map(|slot| {
                let var = self
                    .program
                    .as_ref()
                    .and_then(|p| p.slots.get(slot))
                    .cloned()
                    .unwrap_or_default();
                (Op::Start { slot }, format!("{var}.start()"))
            }),
            Interactive::JoinProcess { pid } => self.slot_of_pid(pid).map(|slot| {
                let name = self
                    .program
                    .as_ref()
                    .and_then(|p| p.slots.get(slot))
                    .cloned()
                    .unwrap_or_default();
                (
                    Op::Join {
                        slot,
                        timeout: None,
                    },
                    format!("{name}.join()"),
                )
            }),
            Interactive::ClosePool { pool } => {
                pool_call(self, pool, |slot| Op::Close { slot }, "close")
            }
            Interactive::JoinPool { pool } => {
                pool_call(self, pool, |slot| Op::JoinPool { slot }, "join")
            }
            Interactive::TerminatePool { pool } => {
                pool_call(self, pool, |slot| Op::TerminatePool { slot }, "terminate")
            }
        };
        match typed {
            Some((op, python)) => self.interact(op, python),
            None => self.emit(EventKind::Error {
                message: "NameError: no such Process or Pool in this scenario".into(),
                python: String::new(),
            }),
        }
    }

    fn signal_pid(&mut self, pid: i32, signal: i32) {
        let result = match self.live_child_by_pid(pid) {
            Some(id) => self.children[id].signal(signal).map_err(|e| e.to_string()),
            None => Err("[Errno 3] No such process".into()),
        };
        if let Err(e) = result {
            let message = format!("ProcessLookupError: {e}");
            let python = format!("os.kill({pid}, {})", sys::signal_name(signal));
            self.emit(EventKind::Error { message, python });
        }
    }

    /// Stop executing, SIGTERM every child, and exit once all are reaped.
    fn begin_shutdown(&mut self) {
        if self.shutdown_deadline.is_some() {
            return;
        }
        self.shutdown_deadline = Some(Instant::now() + SHUTDOWN_GRACE);
        for c in self
            .children
            .iter_mut()
            .filter(|c| c.alive() && c.pidfd.is_some())
        {
            let _ = c.signal(libc::SIGTERM);
        }
    }

    fn check_deadlines(&mut self) {
        let now = Instant::now();
        if let Some(deadline) = self.shutdown_deadline {
            if now >= deadline && !self.killed_stragglers {
                self.killed_stragglers = true;
                self.shutdown_deadline = Some(now + SHUTDOWN_GRACE);
                for c in self.children.iter_mut().filter(|c| c.alive()) {
                    let _ = c.signal(libc::SIGKILL);
                }
            } else if now >= deadline {
                // Nothing we can still signal is alive; give up on the rest.
                for c in self.children.iter_mut().filter(|c| c.alive()) {
                    c.exitcode = Some(-libc::SIGKILL);
                }
            }
        }
    }
}
