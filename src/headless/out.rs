//! Standard output and error of `pooltop run`, written in order on a thread of their own:
//! a reader that does not read holds that thread, never the loop, which still hears signals.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Lines waiting for the writer, at most: past that the loop waits, and so (through the
/// bounded feed) do the driver and the workers' prints, as behind a full pipe.
const QUEUE: usize = 256;

/// Text for one of the two streams, in the order it was made.
pub enum Line {
    Out(String),
    Err(String),
}

/// What became of a line handed to the writer.
pub enum Sent {
    Yes,
    /// Standard output's reader has gone: nothing more can be written.
    Closed,
    /// A signal came while the writer was behind; the line was dropped.
    Signal(i32),
}

pub struct Writer {
    tx: flume::Sender<Line>,
    closed: Arc<AtomicBool>,
    done: flume::Receiver<()>,
}

impl Writer {
    pub fn start() -> io::Result<Writer> {
        let (tx, rx) = flume::bounded(QUEUE);
        let closed = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = flume::bounded(1);
        let seen = closed.clone();
        std::thread::Builder::new()
            .name("output".into())
            .spawn(move || {
                write_lines(&rx, &seen);
                let _ = done_tx.send(());
            })?;
        Ok(Writer { tx, closed, done })
    }

    /// Queues a line, waiting for room unless a signal comes first.
    pub fn send_or_signal(&self, line: Line, signals: &flume::Receiver<i32>) -> Sent {
        flume::Selector::new()
            .send(&self.tx, line, |sent| {
                if sent.is_ok() {
                    Sent::Yes
                } else {
                    Sent::Closed
                }
            })
            .recv(signals, |signal| signal.map_or(Sent::Yes, Sent::Signal))
            .wait()
    }

    /// Queues a line if there is room, else drops it (the run is ending anyway).
    pub fn offer(&self, line: Line) {
        let _ = self.tx.try_send(line);
    }

    pub fn closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Lets the writer finish what is queued, for at most `grace`.
    pub fn finish(self, grace: Duration) {
        let Writer { tx, done, .. } = self;
        drop(tx);
        let _ = done.recv_timeout(grace);
    }
}

/// Writes each line to its stream; standard output is flushed before anything goes to
/// standard error, and whenever nothing more is waiting, so a terminal shows both in order.
fn write_lines(rx: &flume::Receiver<Line>, closed: &AtomicBool) {
    let mut out = io::stdout().lock();
    for line in rx {
        let written = match line {
            Line::Out(text) => out.write_all(text.as_bytes()),
            Line::Err(text) => out
                .flush()
                .map(|()| drop(io::stderr().lock().write_all(text.as_bytes()))),
        };
        let flushed = written.and_then(|()| if rx.is_empty() { out.flush() } else { Ok(()) });
        if flushed.is_err() {
            // Its reader has gone (EPIPE): as a Unix tool, stop writing, and say nothing.
            closed.store(true, Ordering::Relaxed);
            return;
        }
    }
    let _ = out.flush();
}
