//! Thin, safe wrappers over the Linux calls the engine needs and nix does not cover well:
//! pidfds, fork, fd plumbing in a fresh child, and parent-death signals.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::signal::Signal;

/// A handle on one child process that can never signal a recycled PID: the kernel ties
/// the pidfd to the process itself, so once it is reaped every signal fails with ESRCH.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    pub fn open(pid: i32) -> io::Result<PidFd> {
        // SAFETY: plain syscall with integer arguments; the result is a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just handed us this fd and nobody else owns it.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }))
    }

    pub fn from_owned(fd: OwnedFd) -> PidFd {
        PidFd(fd)
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.0.as_fd()
    }

    /// Sends `signal` to the process; `Err(ESRCH)` once it has exited.
    pub fn send_signal(&self, signal: i32) -> io::Result<()> {
        // SAFETY: null siginfo is allowed; arguments are plain integers.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Reaps the child if it has exited; `Ok(None)` while it still runs.
    /// Returns Python's exit code: the status, or `-N` when killed by signal N.
    pub fn try_reap(&self) -> io::Result<Option<i32>> {
        // SAFETY: siginfo_t is plain data; zeroed is a valid initial value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a local siginfo_t; P_PIDFD with our own fd.
        let rc = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                self.0.as_raw_fd() as libc::id_t,
                &raw mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: waitid filled `info`; si_pid is 0 when nothing was reaped.
        let pid = unsafe { info.si_pid() };
        if pid == 0 {
            return Ok(None);
        }
        // SAFETY: as above, the fields are valid after a successful reap.
        let status = unsafe { info.si_status() };
        Ok(Some(exitcode_from_siginfo(info.si_code, status)))
    }
}

/// Python's `exitcode` from waitid's code and status.
pub fn exitcode_from_siginfo(code: i32, status: i32) -> i32 {
    match code {
        libc::CLD_EXITED => status,
        _ => -status,
    }
}

pub enum Forked {
    Parent(i32),
    Child,
}

/// `fork()`; only sound in a single-threaded process, which the driver and fork server are.
pub fn fork() -> io::Result<Forked> {
    use nix::unistd::ForkResult;
    // SAFETY: callers are single-threaded processes, so the child inherits no locked mutexes.
    match unsafe { nix::unistd::fork() }? {
        ForkResult::Child => Ok(Forked::Child),
        ForkResult::Parent { child } => Ok(Forked::Parent(child.as_raw())),
    }
}

/// Makes the calling child die with SIGKILL when its parent thread exits, and closes
/// the race where the parent died before the request was made.
pub fn die_with_parent(expected_parent: i32) {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    if nix::unistd::getppid().as_raw() != expected_parent {
        exit_now(1);
    }
}

/// Ends the process at once, without running destructors or atexit handlers: the right
/// way out of a forked child that shares its parent's heap.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and is async-signal-safe.
    unsafe { libc::_exit(code) }
}

/// Duplicates `from` onto descriptor number `to` (clearing close-on-exec on it).
pub fn dup_onto(from: RawFd, to: RawFd) -> io::Result<()> {
    if from == to {
        return clear_cloexec(to);
    }
    // SAFETY: dup2 on descriptors the caller owns; the target is replaced atomically.
    if unsafe { libc::dup2(from, to) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    // SAFETY: the caller owns `fd` and keeps it open across this call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD)?);
    flags.remove(FdFlag::FD_CLOEXEC);
    fcntl(fd, FcntlArg::F_SETFD(flags))?;
    Ok(())
}

/// Closes every descriptor from `first` up, so a forked child holds no other child's
/// channel open (which would hide that child's end-of-file from the driver).
pub fn close_fds_from(first: RawFd) {
    // SAFETY: close_range only closes descriptors; the caller keeps none above `first`.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
    if rc < 0 {
        for fd in first..1024 {
            // Most of these are not open; EBADF is harmless.
            let _ = nix::unistd::close(fd);
        }
    }
}

pub fn set_nonblocking(fd: impl AsFd, on: bool) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let mut flags = OFlag::from_bits_retain(fcntl(&fd, FcntlArg::F_GETFL)?);
    flags.set(OFlag::O_NONBLOCK, on);
    fcntl(&fd, FcntlArg::F_SETFL(flags))?;
    Ok(())
}

/// Hands freed heap pages back to the kernel, so a fork copies only what is in use.
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Writes all of `buf` to a raw fd, retrying on EINTR; used for unbuffered worker prints.
pub fn write_all_fd(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: buf is a valid slice for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// A connected pair of Unix stream sockets, close-on-exec.
pub fn stream_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io::Error::from)
}

/// Resident memory of a process in KiB, from `/proc/PID/status` (None once it is gone).
pub fn rss_kib(pid: i32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The most resident memory a process has had (the kernel's high-water mark), in KiB.
pub fn peak_rss_kib(pid: i32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

fn status_kib(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Signal number from a name such as `SIGKILL`, `KILL` or `9`.
pub fn parse_signal(name: &str) -> Option<i32> {
    if let Ok(n) = name.parse::<i32>() {
        return Signal::try_from(n).ok().map(|s| s as i32);
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    full.parse::<Signal>().ok().map(|s| s as i32)
}

pub fn signal_name(signal: i32) -> String {
    Signal::try_from(signal).map_or_else(|_| format!("signal {signal}"), |s| s.as_str().to_string())
}
