//! Framing for every pipe the engine speaks over: each message is a little-endian u32
//! length and a postcard body. Readers and writers batch many frames per system call.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use serde::Serialize;
use serde::de::DeserializeOwned;

const MAX_FRAME: usize = 64 << 20;

/// Frames waiting to be written.
#[derive(Default, Debug)]
pub struct FrameWriter {
    buf: Vec<u8>,
    sent: usize,
}

impl FrameWriter {
    pub fn push<T: Serialize>(&mut self, msg: &T) -> io::Result<()> {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let buf = std::mem::take(&mut self.buf);
        self.buf = postcard::to_extend(msg, buf).map_err(io::Error::other)?;
        let len = (self.buf.len() - at - 4) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        Ok(())
    }

    pub fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }

    /// Writes what the socket takes now; `Ok(true)` when nothing is left.
    pub fn flush_nonblocking(&mut self, fd: RawFd) -> io::Result<bool> {
        use nix::errno::Errno;
        use nix::sys::socket::{MsgFlags, send};
        // MSG_NOSIGNAL turns SIGPIPE into EPIPE.
        let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
        while self.pending() > 0 {
            match send(fd, &self.buf[self.sent..], flags) {
                Ok(n) => self.sent += n,
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        self.buf.clear();
        self.sent = 0;
        Ok(true)
    }

    /// Writes everything, waiting for room as needed.
    pub fn flush_blocking(&mut self, fd: RawFd) -> io::Result<()> {
        while !self.flush_nonblocking(fd)? {
            wait_fd(fd, PollFlags::POLLOUT)?;
        }
        Ok(())
    }
}

fn wait_fd(fd: RawFd, events: PollFlags) -> io::Result<()> {
    // SAFETY: the caller owns `fd` and keeps it open across this call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    match poll(&mut [PollFd::new(fd, events)], PollTimeout::NONE) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Bytes read so far, cut into frames on demand.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader {
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
        }
    }
}

pub enum Fill {
    Data,
    WouldBlock,
    Eof,
}

impl FrameReader {
    /// Frees the buffer of a reader that will not read again.
    pub fn release(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
    }

    /// One read of whatever is available.
    pub fn fill(&mut self, fd: RawFd) -> io::Result<Fill> {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.capacity() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.capacity() - self.buf.len() < 16 * 1024 {
            self.buf.reserve(64 * 1024);
        }
        let spare = self.buf.spare_capacity_mut();
        loop {
            // SAFETY: reading into the vector's spare capacity, then growing len by n.
            let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) };
            if n < 0 {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Ok(Fill::WouldBlock),
                    io::ErrorKind::ConnectionReset => return Ok(Fill::Eof),
                    _ => return Err(err),
                }
            }
            if n == 0 {
                return Ok(Fill::Eof);
            }
            let len = self.buf.len() + n as usize;
            // SAFETY: the kernel initialised n more bytes.
            unsafe { self.buf.set_len(len) };
            return Ok(Fill::Data);
        }
    }

    /// The next complete frame, if one is buffered.
    pub fn next_frame<T: DeserializeOwned>(&mut self) -> io::Result<Option<T>> {
        let avail = &self.buf[self.start..];
        if avail.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_le_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "frame too large",
            ));
        }
        if avail.len() < 4 + len {
            return Ok(None);
        }
        let msg = postcard::from_bytes(&avail[4..4 + len])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.start += 4 + len;
        Ok(Some(msg))
    }

    /// Blocks until a whole frame arrives; `Ok(None)` at end of file.
    pub fn recv_blocking<T: DeserializeOwned>(&mut self, fd: RawFd) -> io::Result<Option<T>> {
        loop {
            if let Some(msg) = self.next_frame()? {
                return Ok(Some(msg));
            }
            match self.fill(fd)? {
                Fill::Data => {}
                Fill::Eof => return Ok(None),
                Fill::WouldBlock => wait_fd(fd, PollFlags::POLLIN)?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn frames_cross_a_socket_in_batches() {
        let (a, b) = crate::engine::sys::stream_pair().expect("pair");
        let mut w = FrameWriter::default();
        for i in 0..1000u64 {
            w.push(&(i, format!("item {i}"))).expect("push");
        }
        w.flush_blocking(a.as_raw_fd()).expect("flush");
        drop(a);
        let mut r = FrameReader::default();
        let mut got = 0u64;
        while let Some((i, s)) = r
            .recv_blocking::<(u64, String)>(b.as_raw_fd())
            .expect("recv")
        {
            assert_eq!(i, got);
            assert_eq!(s, format!("item {i}"));
            got += 1;
        }
        assert_eq!(got, 1000);
    }
}
