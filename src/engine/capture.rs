//! Output capture with exact attribution: every child's stdout and stderr are one shared
//! Unix stream socket each, read with `SO_PASSCRED` so every chunk names the PID that wrote it.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};

use crate::engine::protocol::Stream;
use crate::engine::sys;

/// One captured stream: the end every child writes to and the end the driver reads.
pub struct CaptureStream {
    pub stream: Stream,
    reader: OwnedFd,
    writer: OwnedFd,
}

/// A chunk of bytes, all from one writer.
pub struct Chunk {
    pub pid: i32,
    pub stream: Stream,
    pub bytes: Vec<u8>,
}

impl CaptureStream {
    pub fn new(stream: Stream) -> io::Result<CaptureStream> {
        let (reader, writer) = sys::stream_pair()?;
        setsockopt(&reader, sockopt::PassCred, &true).map_err(io::Error::from)?;
        sys::set_nonblocking(&reader, true)?;
        // Writers block when the reader falls behind, as a real pipe would.
        Ok(CaptureStream {
            stream,
            reader,
            writer,
        })
    }

    pub fn reader(&self) -> BorrowedFd<'_> {
        self.reader.as_fd()
    }

    pub fn writer_fd(&self) -> RawFd {
        self.writer.as_raw_fd()
    }

    /// Reads one chunk if any is waiting. The kernel never merges bytes from two
    /// different writers into one read when credentials are passed.
    pub fn read_chunk(&self, buf: &mut [u8]) -> io::Result<Option<Chunk>> {
        let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
        let fd = self.reader.as_raw_fd();
        let (n, pid) = {
            let mut iov = [IoSliceMut::new(buf)];
            let msg = loop {
                match recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_DONTWAIT) {
                    Ok(msg) => break msg,
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
            };
            let mut pid = 0;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    if let ControlMessageOwned::ScmCredentials(cred) = c {
                        pid = cred.pid();
                    }
                }
            }
            (msg.bytes, pid)
        };
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(Chunk {
            pid,
            stream: self.stream,
            bytes: buf[..n].to_vec(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_chunk_names_its_writer() {
        let cap = CaptureStream::new(Stream::Stdout).expect("capture");
        sys::write_all_fd(cap.writer_fd(), b"hello").expect("write");
        let mut buf = vec![0u8; 1024];
        let chunk = cap.read_chunk(&mut buf).expect("read").expect("chunk");
        assert_eq!(chunk.pid, std::process::id() as i32);
        assert_eq!(chunk.bytes, b"hello");
        assert!(cap.read_chunk(&mut buf).expect("read").is_none());
    }
}
