//! The driver: pooltop's `MainProcess`, single-threaded (so `fork` is safe). It owns the
//! poll loop over the front end's link and every child's descriptors, and runs the commands.
//!
//! Imports go one way: `outbox` ← (`children`, `pool`) ← `machine` ← `interp` ← this module.

mod children;
mod chunks;
mod interp;
mod machine;
pub(crate) mod outbox;
mod pool;
mod slots;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::engine::program::Program;
use crate::engine::protocol::{Command, Detail, EventKind, TaskDetail};
use crate::engine::sys;
use crate::engine::wire::{Fill, FrameReader};

use children::{ChildId, Children};
use interp::Interp;
use machine::Machine;
use outbox::Outbox;

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
    link_rx: FrameReader,
    m: Machine,
    interp: Interp,
    /// The last poll's ready descriptors, kept to reuse the allocation.
    ready: Vec<(Source, PollFlags)>,
}

/// Entry point of the hidden `__driver` subcommand: the front end's link is `link`.
pub fn main(link: RawFd) -> i32 {
    report_panics_on(link);
    // `POOLTOP_TEST_DRIVER_PANIC` lets a test check what a panic here looks like.
    assert!(
        std::env::var_os("POOLTOP_TEST_DRIVER_PANIC").is_none(),
        "test panic in the main process"
    );
    // SAFETY: the front end set this descriptor up for us; nothing else here owns it.
    let link = unsafe { OwnedFd::from_raw_fd(link) };
    // The first command says what this process is: a scenario's main process, or the
    // watcher of a real command.
    let mut link_rx = FrameReader::default();
    let Ok(Some(first)) = link_rx.recv_blocking::<Command>(link.as_raw_fd()) else {
        return 0;
    };
    if let Command::Watch(spec) = &first {
        return crate::engine::watch::main(link, link_rx, spec);
    }
    match Driver::new(link, link_rx) {
        Ok(mut driver) => {
            driver.on_command(first);
            // Commands sent right after the first were read with it: take them now, as
            // the poll loop only wakes for bytes still to come.
            while let Ok(Some(cmd)) = driver.link_rx.next_frame::<Command>() {
                driver.on_command(cmd);
            }
            driver.run()
        }
        Err(e) => {
            eprintln!("pooltop driver: {e}");
            1
        }
    }
}

/// A panic of the main process goes to the front end as its last event, never to the
/// process's own stderr: that is a capture socket only this process reads, so the message
/// would never be shown, and a long one (a backtrace) would block writing it for ever.
fn report_panics_on(link: RawFd) {
    std::panic::set_hook(Box::new(move |info| {
        let mut message = format!("the main process failed: {info}");
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            let trace = std::backtrace::Backtrace::force_capture().to_string();
            message.push('\n');
            message.extend(trace.chars().take(8 * 1024));
        }
        let event = crate::engine::protocol::Event {
            t: 0.0,
            kind: EventKind::Fatal { message },
        };
        let mut frame = crate::engine::wire::FrameWriter::default();
        // One try, without waiting: a front end that does not read cannot hold us here.
        if frame.push(&event).is_ok() {
            let _ = frame.flush_nonblocking(link);
        }
        // The children die with us (their parent-death signal).
        sys::exit_now(70);
    }));
}

impl Driver {
    fn new(link: OwnedFd, link_rx: FrameReader) -> io::Result<Driver> {
        let children = Children::new()?;
        sys::set_nonblocking(&link, true)?;
        Ok(Driver {
            link_rx,
            m: Machine::new(children, Outbox::new(link)),
            interp: Interp::default(),
            ready: Vec::new(),
        })
    }

    fn run(&mut self) -> i32 {
        loop {
            self.notice_lost_link();
            if !self.m.children.shutting_down() {
                self.interp.advance(&mut self.m);
                self.m.dispatch_all();
            }
            self.m.children.flush();
            self.m.outbox.flush();
            self.notice_lost_link();
            if self.m.children.shutting_down() && self.m.children.all_reaped() {
                return 0;
            }
            let timeout = self.poll_timeout();
            self.poll_once(timeout);
            self.m.children.check_deadlines();
        }
    }

    /// A write to the front end failed: it has gone, so everything ends.
    fn notice_lost_link(&mut self) {
        if self.m.outbox.failed() {
            self.m.children.begin_shutdown();
        }
    }

    fn poll_timeout(&self) -> PollTimeout {
        let deadline = [
            self.interp.deadline(),
            self.m.children.shutdown_deadline(),
            self.m.pools.progress_deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
        match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let ms = d.saturating_duration_since(Instant::now()).as_micros();
                PollTimeout::try_from(ms.div_ceil(1000)).unwrap_or(PollTimeout::MAX)
            }
        }
    }

    /// Waits for the descriptors, then handles what is ready.
    fn poll_once(&mut self, timeout: PollTimeout) {
        let mut ready = std::mem::take(&mut self.ready);
        self.wait(timeout, &mut ready);
        // Channels and output first, exits last: an exit then finds everything the child
        // sent before it died already taken in.
        for &(src, flags) in &ready {
            match src {
                Source::Link => self.on_link_readable(),
                Source::Capture => self.m.drain_output(),
                Source::Forkserver => self.m.on_forkserver_readable(),
                Source::Channel(id)
                    if flags.intersects(
                        PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR,
                    ) =>
                {
                    self.m.read_channel(id);
                }
                Source::Channel(_) | Source::Pidfd(_) => {}
            }
        }
        for &(src, _) in &ready {
            if let Source::Pidfd(id) = src {
                self.m.on_pidfd_readable(id);
            }
        }
        ready.clear();
        self.ready = ready;
    }

    /// One `poll` over every descriptor the driver watches; fills `ready` with those that
    /// have something, in watch order.
    fn wait(&self, timeout: PollTimeout, ready: &mut Vec<(Source, PollFlags)>) {
        let mut fds = Vec::with_capacity(4 + self.m.children.watches().len() * 2);
        let mut add = |fd, events, src| {
            fds.push(PollFd::new(fd, events));
            ready.push((src, PollFlags::empty()));
        };
        if !self.m.outbox.closed() {
            add(self.m.outbox.fd(), PollFlags::POLLIN, Source::Link);
        }
        for fd in self.m.children.capture_fds() {
            add(fd, PollFlags::POLLIN, Source::Capture);
        }
        if let Some(fd) = self.m.children.forkserver_fd() {
            add(fd, PollFlags::POLLIN, Source::Forkserver);
        }
        for w in self.m.children.watches() {
            if let Some(fd) = w.channel {
                let mut events = PollFlags::POLLIN;
                if w.wants_write {
                    events |= PollFlags::POLLOUT;
                }
                add(fd, events, Source::Channel(w.id));
            }
            if let Some(fd) = w.pidfd {
                add(fd, PollFlags::POLLIN, Source::Pidfd(w.id));
            }
        }
        if !poll(&mut fds, timeout).is_ok_and(|n| n > 0) {
            ready.clear();
            return;
        }
        for (slot, fd) in ready.iter_mut().zip(&fds) {
            // Flags nix does not know still mean something happened: look.
            slot.1 = fd.revents().unwrap_or(PollFlags::all());
        }
        ready.retain(|(_, flags)| !flags.is_empty());
    }

    fn on_link_readable(&mut self) {
        loop {
            let fill = self.link_rx.fill(self.m.outbox.fd().as_raw_fd());
            loop {
                match self.link_rx.next_frame::<Command>() {
                    Ok(Some(cmd)) => self.on_command(cmd),
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

    /// The front end hung up or sent garbage: nobody is listening any more.
    fn link_gone(&mut self) {
        self.m.outbox.close();
        self.m.children.begin_shutdown();
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Load { program, detail } => self.load(program, detail),
            Command::Step => self.interp.allow_steps(1),
            Command::Continue => self.interp.allow_all(),
            Command::Pause => self.interp.pause(),
            Command::Interact(call) => self.interp.on_interactive(&mut self.m, call),
            Command::Signal { pid, signal } => self.m.signal_pid(pid, signal),
            Command::Shutdown => self.m.children.begin_shutdown(),
            // Served by the watcher, which a first `Watch` command makes of this process.
            Command::Watch(_) | Command::SignalTree { .. } => {}
        }
    }

    fn load(&mut self, program: Program, detail: Detail) {
        let per_task = detail.tasks != TaskDetail::Off;
        self.m.children.configure(program.settings.cost, per_task);
        self.m.pools.set_task_detail(detail.tasks);
        self.m.report_values = detail.values;
        let kind = EventKind::Loaded {
            scenario: program.name.clone(),
            pid: self.m.children.me(),
            ppid: nix::unistd::getppid().as_raw(),
            steps: program.steps.len(),
            start_method: program.settings.start_method,
        };
        self.interp = Interp::new(program);
        self.m.emit(kind);
    }
}
