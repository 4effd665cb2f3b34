//! The code a worker process runs, whether forked from the driver, exec'd (spawn) or
//! forked by the fork server: read its job, run targets or chunks, report back, exit.

use std::os::fd::RawFd;
use std::sync::OnceLock;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::engine::protocol::{FromWorker, Job, ToWorker, WorkerInit};
use crate::engine::sys;
use crate::engine::wire::{Fill, FrameReader, FrameWriter};
use crate::workload::{self, Call, Context, Printer, Raised};

/// The descriptor a worker's channel to the driver always has.
pub const CHANNEL_FD: RawFd = 3;

/// Unbuffered prints to the process's real stdout, as `python -u` does.
struct RawStdout;

impl Printer for RawStdout {
    fn print(&mut self, text: &str) {
        let _ = sys::write_all_fd(1, text.as_bytes());
        let _ = sys::write_all_fd(1, b"\n");
    }
}

fn set_comm(name: &str) {
    let short: String = name.chars().take(15).collect();
    if let Ok(c) = std::ffi::CString::new(short) {
        let _ = nix::sys::prctl::set_name(&c);
    }
}

/// Python prints a failed target's traceback to stderr before the process exits 1.
fn print_traceback(process: &str, call: &Call, raised: &Raised) {
    let text = format!(
        "Process {process}:\nTraceback (most recent call last):\n  File \"<pooltop>\", in {}\n{}\n",
        call.func, raised.0
    );
    let _ = sys::write_all_fd(2, text.as_bytes());
}

/// What this process writes when SIGINT raises `KeyboardInterrupt` in it.
static KEYBOARD_INTERRUPT: OnceLock<Vec<u8>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    if let Some(text) = KEYBOARD_INTERRUPT.get() {
        let _ = sys::write_all_fd(2, text);
    }
    sys::exit_now(1);
}

/// Python raises `KeyboardInterrupt` in a child that gets SIGINT; nothing in a Process's
/// target or a pool worker catches it, so the child prints its traceback and exits 1.
fn interrupt_like_python(process: &str, frame: &str) {
    let text = format!(
        "Process {process}:\nTraceback (most recent call last):\n  File \"<pooltop>\", in {frame}\nKeyboardInterrupt\n"
    );
    let _ = KEYBOARD_INTERRUPT.set(text.into_bytes());
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only writes to stderr and exits, both async-signal-safe.
    let _ = unsafe { sigaction(Signal::SIGINT, &action) };
}

/// Runs a worker on `channel` until its job is over; never returns.
pub fn run(channel: RawFd) -> ! {
    let mut rx = FrameReader::default();
    let Ok(Some(ToWorker::Init(init))) = rx.recv_blocking::<ToWorker>(channel) else {
        sys::exit_now(1)
    };
    set_comm(&init.name);
    let frame = match &init.job {
        Job::Target(call) => call.func.name(),
        Job::PoolWorker { .. } => "worker",
    };
    interrupt_like_python(&init.name, frame);
    let code = match init.job.clone() {
        Job::Target(call) => run_target(channel, &init, &call),
        Job::PoolWorker {
            initializer,
            maxtasks,
        } => PoolWorker {
            channel,
            rx,
            tx: FrameWriter::default(),
            init: &init,
            maxtasks,
            fresh_batch: true,
            last_slow: false,
        }
        .run(initializer.as_ref()),
    };
    sys::exit_now(code)
}

fn run_target(channel: RawFd, init: &WorkerInit, call: &Call) -> i32 {
    let mut tx = FrameWriter::default();
    if tx.push(&FromWorker::Ready).is_err() || tx.flush_blocking(channel).is_err() {
        return 1;
    }
    let mut out = RawStdout;
    let mut ctx = Context {
        cost: init.cost,
        out: &mut out,
        process_name: &init.name,
    };
    match workload::run(call, &mut ctx) {
        Ok(_) => 0,
        Err(raised) => {
            print_traceback(&init.name, call, &raised);
            1
        }
    }
}

struct PoolWorker<'a> {
    channel: RawFd,
    rx: FrameReader,
    tx: FrameWriter,
    init: &'a WorkerInit,
    maxtasks: Option<u32>,
    /// Nothing was queued when the last read returned: the next item starts a batch.
    fresh_batch: bool,
    last_slow: bool,
}

impl PoolWorker<'_> {
    fn run(mut self, initializer: Option<&Call>) -> i32 {
        if let Some(call) = initializer {
            let mut out = RawStdout;
            let mut ctx = Context {
                cost: workload::Cost::default(),
                out: &mut out,
                process_name: &self.init.name,
            };
            if let Err(raised) = workload::run(call, &mut ctx) {
                print_traceback(&self.init.name, call, &raised);
                return 1;
            }
        }
        if self.send(&FromWorker::Ready).is_err() || self.flush().is_err() {
            return 1;
        }
        let mut chunks_done = 0u32;
        loop {
            loop {
                let msg = match self.rx.next_frame::<ToWorker>() {
                    Ok(Some(msg)) => msg,
                    Ok(None) => break,
                    Err(_) => return 1,
                };
                match msg {
                    ToWorker::Chunk { chunk, func, items } => {
                        if self.run_chunk(chunk, func, items).is_err() {
                            return 1;
                        }
                        chunks_done += 1;
                        if self.maxtasks.is_some_and(|max| chunks_done >= max) {
                            return i32::from(self.flush().is_err());
                        }
                    }
                    ToWorker::Stop => return i32::from(self.flush().is_err()),
                    ToWorker::Init(_) => return 1,
                }
            }
            // Nothing complete is buffered: report everything before waiting for more.
            if self.flush().is_err() {
                return 1;
            }
            self.fresh_batch = true;
            match self.rx.fill(self.channel) {
                Ok(Fill::Data | Fill::WouldBlock) => {}
                Ok(Fill::Eof) | Err(_) => return 0,
            }
        }
    }

    fn run_chunk(
        &mut self,
        chunk: u64,
        func: workload::Func,
        items: Vec<(u64, Vec<crate::engine::value::Value>)>,
    ) -> std::io::Result<()> {
        let costly = !self.init.cost.per_item.is_zero();
        let mut results = Vec::with_capacity(items.len());
        for (task, args) in items {
            self.send(&FromWorker::Started { task })?;
            // Say so now when the item may be slow (it has a cost, the last one was slow,
            // or it is the first after waiting), so the driver shows it running while it
            // runs; a stream of quick items goes out in batches instead.
            if costly || self.fresh_batch || self.last_slow {
                self.flush()?;
                self.fresh_batch = false;
            }
            let began = std::time::Instant::now();
            let call = Call { func, args };
            let mut out = RawStdout;
            let mut ctx = Context {
                cost: self.init.cost,
                out: &mut out,
                process_name: &self.init.name,
            };
            let result = workload::run(&call, &mut ctx);
            self.last_slow = began.elapsed() > std::time::Duration::from_micros(100);
            let raised = result.is_err();
            results.push(result);
            // Python runs a chunk as `list(map(f, chunk))`: the first exception ends it.
            if raised {
                break;
            }
        }
        self.send(&FromWorker::ChunkDone { chunk, results })?;
        if costly || self.last_slow {
            self.flush()?;
        }
        Ok(())
    }

    fn send(&mut self, msg: &FromWorker) -> std::io::Result<()> {
        self.tx.push(msg)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tx.flush_blocking(self.channel)
    }
}
