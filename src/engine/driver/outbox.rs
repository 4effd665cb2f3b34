//! The driver's events on their way to the front end: the driver's clock, the link's write
//! side and whether the front end is gone. It owns the link descriptor; [`Emit`] is its face.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use crate::engine::protocol::{Event, EventKind};
use crate::engine::wire::FrameWriter;

/// Whatever reports events; the pool logic and the child table only ever see this.
pub trait Emit {
    fn emit(&mut self, kind: EventKind);
}

/// Tests record what would have been reported.
impl Emit for Vec<EventKind> {
    fn emit(&mut self, kind: EventKind) {
        self.push(kind);
    }
}

/// Bytes queued beyond which an event is written out at once, so a call with many task
/// events does not hold them all in memory.
const FLUSH_AT: usize = 256 * 1024;

pub struct Outbox {
    clock: Instant,
    fd: OwnedFd,
    tx: FrameWriter,
    closed: bool,
    /// A write failed: the front end has gone and the driver must shut down.
    failed: bool,
}

impl Outbox {
    pub fn new(fd: OwnedFd) -> Outbox {
        Outbox {
            clock: Instant::now(),
            fd,
            tx: FrameWriter::default(),
            closed: false,
            failed: false,
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    pub fn closed(&self) -> bool {
        self.closed
    }

    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Nothing more goes out (the front end hung up or sent garbage).
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Writes everything queued, waiting for the front end to take it.
    pub fn flush(&mut self) {
        if self.closed {
            return;
        }
        if self.tx.flush_blocking(self.fd.as_raw_fd()).is_err() {
            self.closed = true;
            self.failed = true;
        }
    }
}

impl Emit for Outbox {
    fn emit(&mut self, kind: EventKind) {
        if self.closed {
            return;
        }
        let event = Event {
            t: self.clock.elapsed().as_secs_f64(),
            kind,
        };
        if self.tx.push(&event).is_err() {
            self.closed = true;
        }
        if self.tx.pending() > FLUSH_AT {
            self.flush();
        }
    }
}
