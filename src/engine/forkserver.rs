//! Python's `forkserver` start method: a small single-threaded server, started fresh,
//! that forks workers on request, hands back their pidfds, and reaps and reports them.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};

use crate::engine::protocol::{FromForkserver, ToForkserver};
use crate::engine::sys::{self, Forked, PidFd};
use crate::engine::worker;

/// The control socket's number in the fork server process.
pub const CONTROL_FD: RawFd = 3;

/// A datagram-preserving pair, so each message travels with its own descriptor.
pub fn control_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(io::Error::from)
}

/// Sends one message, with at most one descriptor riding along.
pub fn send_packet<T: serde::Serialize>(sock: RawFd, msg: &T, fd: Option<RawFd>) -> io::Result<()> {
    let body = postcard::to_stdvec(msg).map_err(io::Error::other)?;
    let iov = [IoSlice::new(&body)];
    let fds: Vec<RawFd> = fd.into_iter().collect();
    let cmsgs: Vec<ControlMessage> = if fds.is_empty() {
        vec![]
    } else {
        vec![ControlMessage::ScmRights(&fds)]
    };
    loop {
        match sendmsg::<()>(sock, &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives one message and the descriptor that came with it. `Ok(None)` at EOF,
/// `Err(WouldBlock)` when nothing is waiting on a non-blocking socket.
pub fn recv_packet<T: serde::de::DeserializeOwned>(
    sock: RawFd,
    flags: MsgFlags,
) -> io::Result<Option<(T, Option<OwnedFd>)>> {
    let mut buf = [0u8; 512];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let (n, fd) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = loop {
            match recvmsg::<()>(
                sock,
                &mut iov,
                Some(&mut cmsg),
                flags | MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => break m,
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        };
        let mut fd = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    // SAFETY: the kernel installed these descriptors for us alone.
                    fd = fds.first().map(|&raw| unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
        }
        (msg.bytes, fd)
    };
    if n == 0 {
        return Ok(None);
    }
    let msg = postcard::from_bytes(&buf[..n])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(Some((msg, fd)))
}

struct Child {
    pid: i32,
    pidfd: PidFd,
}

/// The fork server's loop; returns when the driver goes away.
pub fn serve(control: RawFd) -> io::Result<()> {
    let me = std::process::id() as i32;
    let mut children: Vec<Child> = Vec::new();
    // SAFETY: the control socket is ours for the whole life of this process.
    let control_fd = unsafe { BorrowedFd::borrow_raw(control) };
    loop {
        let mut fds = vec![PollFd::new(control_fd, PollFlags::POLLIN)];
        fds.extend(
            children
                .iter()
                .map(|c| PollFd::new(c.pidfd.as_fd(), PollFlags::POLLIN)),
        );
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let control_ready = fds[0].any().unwrap_or(true);
        drop(fds);
        reap_exited(control, &mut children)?;
        if control_ready {
            match recv_packet::<ToForkserver>(control, MsgFlags::empty())? {
                None => return Ok(()),
                Some((ToForkserver::Fork { token }, Some(channel))) => {
                    if let Some(child) = fork_worker(me, channel, control)? {
                        send_packet(
                            control,
                            &FromForkserver::Forked {
                                token,
                                pid: child.pid,
                            },
                            Some(child.pidfd.as_fd().as_raw_fd()),
                        )?;
                        children.push(child);
                    }
                }
                Some((ToForkserver::Fork { .. }, None)) => {}
            }
        }
    }
}

fn reap_exited(control: RawFd, children: &mut Vec<Child>) -> io::Result<()> {
    let mut i = 0;
    while i < children.len() {
        if let Some(exitcode) = children[i].pidfd.try_reap()? {
            let pid = children[i].pid;
            children.swap_remove(i);
            send_packet(control, &FromForkserver::Exited { pid, exitcode }, None)?;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn fork_worker(me: i32, channel: OwnedFd, _control: RawFd) -> io::Result<Option<Child>> {
    match sys::fork()? {
        Forked::Child => {
            if sys::dup_onto(channel.as_raw_fd(), worker::CHANNEL_FD).is_err() {
                sys::exit_now(1);
            }
            sys::close_fds_from(worker::CHANNEL_FD + 1);
            sys::die_with_parent(me);
            worker::run(worker::CHANNEL_FD)
        }
        Forked::Parent(pid) => {
            drop(channel);
            let pidfd = PidFd::open(pid)?;
            Ok(Some(Child { pid, pidfd }))
        }
    }
}
