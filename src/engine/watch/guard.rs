//! The guard: a small process that outlives a killed pooltop just long enough to end the
//! watched command's process group, so a SIGKILL to pooltop leaves nothing running.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};

/// The watcher's end of the guard: writing to it (or closing it by dying) releases it.
pub struct Guard {
    child: Child,
    tx: Option<OwnedFd>,
}

impl Guard {
    /// Starts `pooltop __guard PGID`, reading the watcher's end of a pipe.
    pub fn start(pgid: i32) -> io::Result<Guard> {
        let (rx, tx) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let child = Command::new("/proc/self/exe")
            .arg("__guard")
            .arg(pgid.to_string())
            .stdin(Stdio::from(rx))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Guard {
            child,
            tx: Some(tx),
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The watch ended in order: the guard leaves the group alone and exits.
    pub fn release(&mut self) {
        if let Some(tx) = self.tx.take() {
            let mut pipe = std::fs::File::from(tx);
            let _ = pipe.write_all(b"x");
        }
        let _ = self.child.wait();
    }
}

/// Entry point of `pooltop __guard PGID`: waits on standard input; end of file before a
/// byte means the watcher died, so the command's group is killed.
pub fn main(pgid: &str) -> i32 {
    let Ok(pgid) = pgid.parse::<i32>() else {
        return 2;
    };
    if pgid <= 1 {
        return 2;
    }
    let mut byte = [0u8; 1];
    let released = loop {
        match io::stdin().read(&mut byte) {
            Ok(n) => break n == 1,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break false,
        }
    };
    if !released {
        let group = nix::unistd::Pid::from_raw(pgid);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::SIGKILL);
    }
    0
}
