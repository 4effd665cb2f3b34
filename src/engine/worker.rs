//! The code a worker process runs, whether forked from the driver, exec'd (spawn) or
//! forked by the fork server: read its job, run targets or chunks, report back, exit.

use std::os::fd::RawFd;
use std::sync::OnceLock;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::engine::chunk::{ChunkArgs, ChunkResults};
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

/// Items of a chunk timed one by one before its quick items are timed in blocks.
const FIRST_TIMED: usize = 4;
/// Quick items timed together, so reading the clock costs little per item.
const BLOCK: u32 = 64;
/// An item slower than this is announced as it starts.
const SLOW: std::time::Duration = std::time::Duration::from_micros(100);

/// Whether items are slow, from one item's time or a block of quick items' average.
struct ItemClock {
    block_start: std::time::Instant,
    in_block: u32,
}

impl Default for ItemClock {
    fn default() -> ItemClock {
        ItemClock {
            block_start: std::time::Instant::now(),
            in_block: 0,
        }
    }
}

impl ItemClock {
    /// Whether the item (or the block it closes) was slow; `None` while a block fills.
    fn end(&mut self, began: Option<std::time::Instant>) -> Option<bool> {
        if let Some(t0) = began {
            let now = std::time::Instant::now();
            self.block_start = now;
            self.in_block = 0;
            return Some(now.duration_since(t0) > SLOW);
        }
        self.end_many(1)
    }

    /// `items` quick items ended; whether the block they close was slow on average.
    fn end_many(&mut self, items: u32) -> Option<bool> {
        self.in_block += items;
        if self.in_block < BLOCK {
            return None;
        }
        let now = std::time::Instant::now();
        let average = now.duration_since(self.block_start) / self.in_block;
        self.block_start = now;
        self.in_block = 0;
        Some(average > SLOW)
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
                    ToWorker::Chunk {
                        chunk,
                        func,
                        first_task,
                        args,
                    } => {
                        if self.run_chunk(chunk, func, first_task, &args).is_err() {
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
        first_task: u64,
        args: &ChunkArgs,
    ) -> std::io::Result<()> {
        let began = std::time::Instant::now();
        let costly = !self.init.cost.per_item.is_zero();
        let mut results = ChunkResults::with_capacity(args.len());
        let mut clock = ItemClock::default();
        let pure = workload::pure_power(func).filter(|_| !costly);
        let mut k = 0;
        while k < args.len() {
            // Quick pure items after the first few run in blocks, with no value built.
            if let Some(exp) = pure.filter(|_| k >= FIRST_TIMED && !self.last_slow) {
                let end = (k + BLOCK as usize).min(args.len());
                let done = results.extend_powers(args, k..end, exp);
                if done > 0 {
                    if let Some(slow) = clock.end_many(done as u32) {
                        self.last_slow = slow;
                    }
                    k += done;
                    continue;
                }
            }
            // Say an item started when it may be slow (it has a cost, the last one was
            // slow, or it is the first after waiting), so the driver shows it running
            // while it runs; quick items are reported only by their chunk's results.
            if costly || self.fresh_batch || self.last_slow {
                self.send(&FromWorker::Started {
                    task: first_task + k as u64,
                })?;
                self.flush()?;
                self.fresh_batch = false;
            }
            // Time one item alone while items may be slow, else count it into a block.
            let single = costly || self.last_slow || k < FIRST_TIMED;
            let timed = single.then(std::time::Instant::now);
            let result = self.run_item(func, args, k);
            if let Some(slow) = clock.end(timed) {
                self.last_slow = slow;
            }
            let raised = result.is_err();
            results.push(result);
            // Python runs a chunk as `list(map(f, chunk))`: the first exception ends it.
            if raised {
                break;
            }
            k += 1;
        }
        let busy_us = u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.send(&FromWorker::ChunkDone {
            chunk,
            results,
            busy_us,
        })?;
        if costly || self.last_slow {
            self.flush()?;
        }
        Ok(())
    }

    fn run_item(
        &self,
        func: workload::Func,
        args: &ChunkArgs,
        k: usize,
    ) -> Result<crate::engine::value::Value, Raised> {
        let mut out = RawStdout;
        let mut ctx = Context {
            cost: self.init.cost,
            out: &mut out,
            process_name: &self.init.name,
        };
        match args.int(k) {
            Some(n) => workload::run_int(func, n, &mut ctx),
            None => workload::run(
                &Call {
                    func,
                    args: args.args(k),
                },
                &mut ctx,
            ),
        }
    }

    fn send(&mut self, msg: &FromWorker) -> std::io::Result<()> {
        self.tx.push(msg)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tx.flush_blocking(self.channel)
    }
}
