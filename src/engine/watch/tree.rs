//! What /proc says about a watched tree: a process's children, parent and command line,
//! and reaping the children the kernel hands to pooltop as their subreaper.

use std::fs;

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::engine::protocol::Role;

/// The longest command line shown as a process's name.
const NAME_CHARS: usize = 60;

/// The PIDs `pid`'s threads have forked and not yet lost (Linux's `children` files).
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for task in tasks.flatten() {
        let path = task.path().join("children");
        if let Ok(text) = fs::read_to_string(path) {
            found.extend(
                text.split_whitespace()
                    .filter_map(|c| c.parse::<i32>().ok()),
            );
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The parent's PID, from `/proc/PID/stat` (after the command name, which may hold spaces).
pub fn ppid_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The command line as one line (`python3 -c from multiprocessing...`); for a zombie,
/// which has none left, its command name in brackets (`[bash]`), as `ps` shows it.
pub fn cmdline(pid: i32) -> Option<String> {
    full_cmdline(pid).or_else(|| {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        Some(format!("[{}]", comm.trim_end()))
    })
}

fn full_cmdline(pid: i32) -> Option<String> {
    let bytes = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let args: Vec<&str> = text.split('\0').filter(|a| !a.is_empty()).collect();
    (!args.is_empty()).then(|| program_name(&args))
}

/// A command line with its program by file name, as `ps -o comm` shows it: `python3 x.py`,
/// not the interpreter's whole path.
pub fn program_name<S: AsRef<str>>(argv: &[S]) -> String {
    let mut words = argv.iter().map(AsRef::as_ref);
    let Some(program) = words.next() else {
        return String::new();
    };
    let program = program.rsplit('/').next().unwrap_or(program);
    std::iter::once(program)
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command line short enough to name a process in the table.
pub fn short(text: &str) -> String {
    if text.chars().count() <= NAME_CHARS {
        return text.to_string();
    }
    let short: String = text.chars().take(NAME_CHARS - 3).collect();
    format!("{short}...")
}

/// Python's exit code of a zombie (it has exited; its parent has not reaped it yet), from
/// the `exit_code` field of `/proc/PID/stat`, in `waitpid`'s encoding.
pub fn zombie_exitcode(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields are numbered from 1 and `state` is field 3: `exit_code` (52) is index 49.
    if fields.first() != Some(&"Z") {
        return None;
    }
    let status: i32 = fields.get(49)?.parse().ok()?;
    let signal = status & 0x7f;
    Some(if signal == 0 {
        (status >> 8) & 0xff
    } else {
        -signal
    })
}

/// What a Python process is, from the command line `multiprocessing` gives the processes it
/// starts with `spawn` and `forkserver` (a forked one looks like its parent).
pub fn python_role(cmdline: &str) -> Role {
    if cmdline.contains("multiprocessing.resource_tracker") {
        Role::ResourceTracker
    } else if cmdline.contains("multiprocessing.forkserver") {
        Role::Forkserver
    } else {
        Role::Other
    }
}

/// One child of pooltop that ended, and Python's exit code for it.
pub struct Reaped {
    pub pid: i32,
    pub exitcode: i32,
}

/// Reaps every child that has ended (the command, and orphans handed to pooltop as their
/// subreaper), without waiting.
pub fn reap_ended() -> Vec<Reaped> {
    let mut ended = Vec::new();
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => ended.push(Reaped {
                pid: pid.as_raw(),
                exitcode: code,
            }),
            Ok(WaitStatus::Signaled(pid, signal, _)) => ended.push(Reaped {
                pid: pid.as_raw(),
                exitcode: -(signal as i32),
            }),
            Ok(WaitStatus::StillAlive) | Err(_) => return ended,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_zombies_exit_code() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .expect("sh");
        let pid = child.id() as i32;
        let fd = crate::engine::sys::PidFd::open(pid).expect("pidfd");
        let mut fds = [nix::poll::PollFd::new(
            fd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(10_000u16)).expect("poll");
        assert_eq!(zombie_exitcode(pid), Some(3));
        let _ = child.wait();
        assert_eq!(zombie_exitcode(pid), None, "reaped: no longer a zombie");
    }

    #[test]
    fn reads_this_process() {
        let me = std::process::id() as i32;
        assert_eq!(ppid_of(me), Some(nix::unistd::getppid().as_raw()));
        assert!(cmdline(me).is_some());
        let child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("sleep");
        let pid = child.id() as i32;
        assert!(children_of(me).contains(&pid));
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::SIGKILL);
        let mut child = child;
        let _ = child.wait();
    }
}
