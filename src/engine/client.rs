//! The front end's side of the driver: starts the driver process, sends it commands,
//! and turns its events into messages on a flume channel for one message loop.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::engine::protocol::{Command as DriverCommand, Event};
use crate::engine::sys;
use crate::engine::wire::{FrameReader, FrameWriter};

/// A running driver and the write half of its link.
pub struct DriverLink {
    child: Child,
    fd: OwnedFd,
    tx: FrameWriter,
}

impl DriverLink {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Starts the driver; every event it sends arrives on `events` wrapped by `wrap`,
    /// and `wrap(None)` arrives once when the driver has gone.
    pub fn spawn<M: Send + 'static>(
        events: flume::Sender<M>,
        wrap: fn(Option<Event>) -> M,
    ) -> io::Result<DriverLink> {
        let (ours, theirs) = sys::stream_pair()?;
        let theirs_raw = theirs.as_raw_fd();
        let parent = std::process::id() as i32;
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg0("pooltop")
            .arg("__driver")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                sys::dup_onto(theirs_raw, 3)?;
                // Its own process group: a terminal's Ctrl-C reaches pooltop alone, which
                // then shuts the pool down in order.
                nix::unistd::setpgid(nix::unistd::Pid::from_raw(0), nix::unistd::Pid::from_raw(0))?;
                sys::die_with_parent(parent);
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        drop(theirs);
        let reader = ours.try_clone()?;
        std::thread::Builder::new()
            .name("driver-link".into())
            .spawn(move || read_events(&reader, &events, wrap))?;
        Ok(DriverLink {
            child,
            fd: ours,
            tx: FrameWriter::default(),
        })
    }

    pub fn send(&mut self, cmd: &DriverCommand) -> io::Result<()> {
        self.tx.push(cmd)?;
        self.tx.flush_blocking(self.fd.as_raw_fd())
    }

    /// Asks the driver to end every child and exit, and waits for it (bounded);
    /// a driver that does not comply is killed. Returns its exit status.
    pub fn shutdown(&mut self, grace: Duration) -> Option<i32> {
        let _ = self.send(&DriverCommand::Shutdown);
        self.wait_or_kill(grace)
    }

    pub fn wait_or_kill(&mut self, grace: Duration) -> Option<i32> {
        let deadline = Instant::now() + grace;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => {
                    let _ = self.child.kill();
                    return self.child.wait().ok().and_then(|s| s.code());
                }
            }
        }
    }
}

impl Drop for DriverLink {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_events<M>(fd: &OwnedFd, events: &flume::Sender<M>, wrap: fn(Option<Event>) -> M) {
    let mut rx = FrameReader::default();
    while let Ok(Some(event)) = rx.recv_blocking::<Event>(fd.as_raw_fd()) {
        if events.send(wrap(Some(event))).is_err() {
            return;
        }
    }
    let _ = events.send(wrap(None));
}
