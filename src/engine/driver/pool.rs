//! Python's `multiprocessing.Pool`: worker upkeep, chunking, feeding, results, lost tasks.
//! It owns pools, calls and per-worker bookkeeping, and reaches processes only via [`Workers`].

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::time::Instant;

use crate::engine::chunk::{ChunkArgs, ChunkResults};
use crate::engine::program::{Items, StartMethod, SubmitKind};
use crate::engine::protocol::{
    EventKind, FromWorker, Job, LostCause, PROGRESS_EVERY_MS, PoolStateName, RESULTS_SHOWN,
    RunningTask, SUMMARY_FROM, TaskDetail, ToWorker,
};
use crate::engine::sys;
use crate::engine::value::Value;
use crate::workload::{Call, Func};

use super::chunks::{ChunkQueue, Chunks};
use super::outbox::Emit;
use super::slots::Slots;

/// A worker process as the pool knows it; ids are never reused.
pub type WorkerId = usize;

/// The processes a pool runs on, as the pool logic sees them.
pub trait Workers: Emit {
    /// Starts a worker for `pool`, named from Python's process counter.
    fn start_worker(&mut self, pool: usize, method: StartMethod, job: Job) -> io::Result<WorkerId>;
    /// Queues a frame for the worker.
    fn send(&mut self, worker: WorkerId, msg: &ToWorker);
    fn signal(&mut self, worker: WorkerId, signal: i32) -> io::Result<()>;
    /// 0 until a fork server has said which PID it forked.
    fn pid(&self, worker: WorkerId) -> i32;
    fn name(&self, worker: WorkerId) -> &str;
    /// The driver is going away: exited workers are not replaced.
    fn shutting_down(&self) -> bool;
}

/// A chunk of one call: `(call, chunk index)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRef {
    pub call: u32,
    pub chunk: u32,
}

impl ChunkRef {
    pub fn encode(self) -> u64 {
        (u64::from(self.call) << 32) | u64::from(self.chunk)
    }

    pub fn decode(v: u64) -> ChunkRef {
        ChunkRef {
            call: (v >> 32) as u32,
            chunk: v as u32,
        }
    }
}

/// Python's default chunksize for map/starmap: `divmod(len, 4 * processes)`, rounded up.
pub fn default_chunksize(len: usize, processes: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let (q, r) = (len / (4 * processes.max(1)), len % (4 * processes.max(1)));
    if r > 0 { q + 1 } else { q }
}

/// Workers dying before they are ready, in a row, that make a respawn storm: CPython
/// replaces them for ever, and nothing submitted to the pool can finish.
const STORM: u32 = 5;

/// Why a call on a pool in a respawn storm raises: Python's would wait for ever.
const STORM_ERROR: &str = "RuntimeError: every worker of this pool dies in its initializer \
(Python would wait forever)";

/// How much queued work one worker should hold: about a millisecond's worth, so fast
/// tasks travel in batches while slow ones stay balanced across workers.
fn window_for(service_secs: f64) -> usize {
    const TARGET_SECS: f64 = 0.001;
    if service_secs <= 0.0 {
        return 1024;
    }
    ((TARGET_SECS / service_secs) as usize).clamp(1, 1024)
}

/// Chunks a pool hands out before results come back, shared among its workers: with
/// 512 workers each holds 128 rather than a millisecond's worth of up to 1024.
const IN_FLIGHT: usize = 65_536;

/// What a pool keeps about one of its workers.
struct Worker {
    id: WorkerId,
    ready: bool,
    /// Chunks handed out and not yet done, oldest first.
    assigned: VecDeque<ChunkRef>,
    /// Toward `maxtasksperchild` (Python counts chunks).
    chunks_taken: u32,
    window: usize,
    /// Told to finish what it holds and exit.
    stop_sent: bool,
    /// Smoothed seconds per chunk.
    service_secs: f64,
    running_task: Option<u64>,
    /// Assigned chunks one of whose items was reported started.
    started: Vec<ChunkRef>,
    /// Items finished since the last progress report (summarised calls).
    unreported: u32,
}

impl Worker {
    fn new(id: WorkerId) -> Worker {
        Worker {
            id,
            ready: false,
            assigned: VecDeque::new(),
            chunks_taken: 0,
            window: 1,
            stop_sent: false,
            service_secs: 0.0,
            running_task: None,
            started: Vec::new(),
            unreported: 0,
        }
    }

    fn has_room(&self, maxtasks: Option<u32>, cap: usize) -> bool {
        self.ready
            && !self.stop_sent
            && self.assigned.len() < self.window.min(cap)
            && maxtasks.is_none_or(|m| self.chunks_taken < m)
    }

    /// A chunk's results came in; it took the worker `busy_us` to run. The worker's own
    /// clock, not the round trip: with hundreds of workers on a few cores, a chunk waits
    /// for a CPU far longer than it runs, and that wait must not shrink the window.
    fn chunk_finished(&mut self, busy_us: u32) {
        let secs = f64::from(busy_us) / 1e6;
        self.service_secs = if self.service_secs == 0.0 {
            secs
        } else {
            0.7 * self.service_secs + 0.3 * secs
        };
        self.window = window_for(self.service_secs);
    }
}

pub struct Pool {
    pub var: String,
    state: PoolStateName,
    processes: usize,
    method: StartMethod,
    initializer: Option<Call>,
    maxtasks: Option<u32>,
    /// Workers not yet reaped, oldest first.
    workers: Vec<Worker>,
    pending: ChunkQueue,
    /// Workers that died before they were ready, in a row (a failing initializer).
    failed_starts: u32,
}

impl Pool {
    pub fn state(&self) -> PoolStateName {
        self.state
    }

    /// The worker at `index` in start order, as `pool._pool[index]`.
    pub fn worker(&self, index: usize) -> Option<WorkerId> {
        self.workers.get(index).map(|w| w.id)
    }

    pub fn has_workers(&self) -> bool {
        !self.workers.is_empty()
    }

    /// The first worker in the middle of a task.
    pub fn busy_worker(&self) -> Option<WorkerId> {
        self.workers
            .iter()
            .find(|w| w.running_task.is_some())
            .map(|w| w.id)
    }

    pub fn has_outstanding_work(&self) -> bool {
        !self.pending.is_empty() || self.workers.iter().any(|w| !w.assigned.is_empty())
    }

    fn worker_mut(&mut self, id: WorkerId) -> Option<&mut Worker> {
        self.workers.iter_mut().find(|w| w.id == id)
    }

    /// Workers told to stop are on their way out and do not count.
    fn staying(&self) -> usize {
        self.workers.iter().filter(|w| !w.stop_sent).count()
    }
}

/// One submitted call (`map`, `apply_async`, ...): its items, chunks and results.
pub struct CallState {
    pool: usize,
    kind: SubmitKind,
    func: Func,
    items: Items,
    pub len: usize,
    task_base: u64,
    chunks: Chunks,
    results: Slots,
    done: usize,
    /// Item indexes in the order their results arrived (kept for `imap_unordered` only).
    order: Vec<u32>,
    /// The first exception to arrive: what `get()` raises ("only store first exception").
    first_error: Option<String>,
    cancelled: Option<String>,
    /// The result once taken; per-item state is released then.
    taken: Option<Result<Value, String>>,
    failed: usize,
    /// Reported as progress rather than task by task (a large call, for the dashboard).
    summary: Option<Progress>,
}

/// What a summarised call's progress reports have said so far.
#[derive(Default)]
struct Progress {
    /// When the last report went out.
    last: Option<Instant>,
    /// Positions among the first [`RESULTS_SHOWN`] whose results were sent.
    shown: Vec<bool>,
    /// Arrivals sent, for a call in completion order.
    arrivals_sent: usize,
    /// The report of the finished call went out; no more follow.
    closed: bool,
}

impl CallState {
    pub fn complete(&self) -> bool {
        self.cancelled.is_some() || self.done == self.len
    }

    /// `apply`/`apply_async`: one value rather than a list.
    pub fn single(&self) -> bool {
        self.kind.single()
    }

    /// Every result is in (Python's `ready()`); a cancelled call never gets there.
    pub fn all_in(&self) -> bool {
        self.done == self.len
    }

    /// Why the call will never complete, if it was cancelled.
    pub fn cancelled(&self) -> Option<&str> {
        self.cancelled.as_deref()
    }

    /// Whether `take_outcome` releases this call's per-item state.
    pub fn large(&self) -> bool {
        self.len > 1000
    }

    /// The `n`th result an iterator over this call yields, once it is in: by position for
    /// `imap`, in completion order for `imap_unordered`.
    pub fn yielded(&self, n: usize) -> Option<Result<Value, String>> {
        let index = if self.kind.completion_order() {
            *self.order.get(n)? as usize
        } else {
            n
        };
        // An iterator remembers its place, so none reads past results released after
        // its last one was yielded.
        self.results.get(index)
    }

    /// What `get()` returns or raises, computed once; afterwards the per-item state of a
    /// large call is freed, so later forks copy a small driver.
    pub fn take_outcome(&mut self) -> Result<Value, String> {
        if let Some(taken) = &self.taken {
            return taken.clone();
        }
        let outcome = if self.large() && self.outcome_is_list() {
            std::mem::replace(&mut self.results, Slots::new(0)).into_list()
        } else {
            self.outcome()
        };
        self.taken = Some(outcome.clone());
        self.release();
        outcome
    }

    /// The values in submission order, or the first error to arrive, as Python's
    /// `MapResult` keeps it ("only store first exception").
    pub fn outcome(&self) -> Result<Value, String> {
        if let Some(why) = self.cancelled.as_ref().or(self.first_error.as_ref()) {
            return Err(why.clone());
        }
        if self.kind.single() {
            return self.results.get(0).unwrap_or(Ok(Value::None));
        }
        self.results.list()
    }

    /// A large call's per-item state goes once nothing will read it (an iterator has
    /// yielded every result).
    pub fn release(&mut self) {
        if self.large() {
            self.results = Slots::new(0);
            self.chunks = Chunks::new(0, 1);
            self.order = Vec::new();
            self.items = Items::List(Vec::new());
        }
    }

    /// Whether `outcome` is the results list (no error, more than one value).
    fn outcome_is_list(&self) -> bool {
        self.cancelled.is_none() && self.first_error.is_none() && !self.kind.single()
    }

    /// Whether the call raised (`successful()` is its opposite once it is ready).
    pub fn failed(&self) -> bool {
        self.cancelled.is_some() || self.first_error.is_some()
    }

    fn task_label(&self, index: usize) -> String {
        let call = Call {
            func: self.func,
            args: self.items.args(index),
        };
        format!("task #{} {call}", self.task_base + index as u64)
    }

    /// Chunk `r`'s first item and length.
    fn chunk(&self, r: ChunkRef) -> Option<(usize, usize)> {
        self.chunks.get(r.chunk)
    }

    /// A new chunk of this call over items `first..first + len`, not started.
    fn add_chunk(&mut self, call: u32, first: usize, len: usize) -> ChunkRef {
        ChunkRef {
            call,
            chunk: self.chunks.add(first, len),
        }
    }

    /// Item `index` as Python would write the call: `cube(4)`.
    fn call_text(&self, index: usize) -> String {
        Call {
            func: self.func,
            args: self.items.args(index),
        }
        .to_string()
    }

    /// New results among those the screen shows: the first positions of a call in
    /// order, the first arrivals of one in completion order.
    fn new_shown_results(&mut self) -> Vec<(u32, String)> {
        let text = |r: Result<Value, String>| r.map_or_else(|e| e, |v| v.to_string());
        let Some(progress) = self.summary.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.kind.completion_order() {
            let upto = self.order.len().min(RESULTS_SHOWN);
            for &i in self.order.get(progress.arrivals_sent..upto).unwrap_or(&[]) {
                if let Some(r) = self.results.get(i as usize) {
                    out.push((i, text(r)));
                }
            }
            progress.arrivals_sent = progress.arrivals_sent.max(upto);
            return out;
        }
        let upto = self.len.min(RESULTS_SHOWN);
        progress.shown.resize(upto, false);
        for (i, shown) in progress.shown.iter_mut().enumerate() {
            if !*shown && let Some(r) = self.results.get(i) {
                *shown = true;
                out.push((i as u32, text(r)));
            }
        }
        out
    }

    /// The task numbers of a chunk.
    fn tasks_of(&self, r: ChunkRef) -> impl Iterator<Item = u64> + '_ {
        let (first, len) = self.chunk(r).unwrap_or((0, 0));
        (first..first + len).map(|i| self.task_base + i as u64)
    }

    /// Records one item's result unless it already has one; false when it had.
    fn record(&mut self, index: usize, result: Result<Value, String>) -> bool {
        if let Err(e) = &result
            && self.first_error.is_none()
            && !self.results.filled(index)
        {
            self.first_error = Some(e.clone());
        }
        let failed = result.is_err();
        if !self.results.put(index, result) {
            return false;
        }
        self.arrived(index, failed);
        true
    }

    /// Records packed integer results of items `first..`; returns the indexes recorded,
    /// as runs.
    fn record_ints(&mut self, first: usize, ints: &[i128]) -> Vec<Range<usize>> {
        let put = self.results.put_int_runs(first, ints);
        for run in &put {
            self.done += run.len();
            if self.kind.completion_order() {
                self.order.extend(run.clone().map(|i| i as u32));
            }
        }
        put
    }

    fn arrived(&mut self, index: usize, failed: bool) {
        self.done += 1;
        self.failed += usize::from(failed);
        if self.kind.completion_order() {
            self.order.push(index as u32);
        }
    }
}

/// How a worker ended, as `WorkerLostError` words it.
struct Death {
    pid: i32,
    name: String,
    exitcode: i32,
}

impl Death {
    fn signal(&self) -> Option<i32> {
        (self.exitcode < 0).then_some(-self.exitcode)
    }

    fn how(&self) -> String {
        match self.signal() {
            Some(s) => format!("was killed by {}", sys::signal_name(s)),
            None => format!("exited with code {}", self.exitcode),
        }
    }
}

pub struct Pools {
    list: Vec<Pool>,
    calls: Vec<CallState>,
    next_task: u64,
    detail: TaskDetail,
    /// Summarised calls whose last report has not gone out yet.
    summarised: Vec<usize>,
}

impl Default for Pools {
    fn default() -> Pools {
        Pools {
            list: Vec::new(),
            calls: Vec::new(),
            next_task: 0,
            detail: TaskDetail::Every,
            summarised: Vec::new(),
        }
    }
}

impl Pools {
    /// Per-task events are for the dashboard and event logs; the benchmark goes without.
    pub fn set_task_detail(&mut self, detail: TaskDetail) {
        self.detail = detail;
    }

    /// When the next progress report of a summarised call is due.
    pub fn progress_deadline(&self) -> Option<Instant> {
        let every = std::time::Duration::from_millis(PROGRESS_EVERY_MS);
        self.summarised
            .iter()
            .filter_map(|&c| self.calls[c].summary.as_ref())
            .map(|p| p.last.map_or_else(Instant::now, |t| t + every))
            .min()
    }

    /// Reports each summarised call that is due: at most every [`PROGRESS_EVERY_MS`],
    /// and once more as it completes.
    pub fn report_progress(&mut self, host: &mut impl Workers, now: Instant) {
        let every = std::time::Duration::from_millis(PROGRESS_EVERY_MS);
        for at in (0..self.summarised.len()).rev() {
            let call = self.summarised[at];
            let c = &self.calls[call];
            let due = c.summary.as_ref().is_some_and(|p| {
                !p.closed && (c.complete() || p.last.is_none_or(|t| now >= t + every))
            });
            if due {
                self.emit_progress(host, call, now);
            }
        }
    }

    fn emit_progress(&mut self, host: &mut impl Workers, call: usize, now: Instant) {
        let pool = self.calls[call].pool;
        let results = self.calls[call].new_shown_results();
        let c = &self.calls[call];
        let p = &mut self.list[pool];
        let mut running = Vec::new();
        let mut finished = Vec::new();
        for w in &mut p.workers {
            let pid = host.pid(w.id);
            if w.unreported > 0 {
                finished.push((pid, std::mem::take(&mut w.unreported)));
            }
            let Some(r) = w.assigned.front().filter(|r| r.call as usize == call) else {
                continue;
            };
            let first = c
                .chunk(*r)
                .map_or(0, |(first, _)| c.task_base + first as u64);
            let task = w.running_task.unwrap_or(first);
            let index = usize::try_from(task - c.task_base).unwrap_or(0);
            running.push(RunningTask {
                pid,
                task,
                label: c.call_text(index),
            });
        }
        let next = p
            .pending
            .iter()
            .filter(|r| r.call as usize == call)
            .filter_map(|r| c.chunk(r))
            .flat_map(|(first, len)| first..first + len)
            .take(8)
            .map(|i| c.call_text(i))
            .collect();
        host.emit(EventKind::CallProgress {
            call: call as u32,
            done: c.done,
            failed: c.failed,
            running,
            next,
            results,
            finished,
        });
        let complete = c.complete();
        if let Some(progress) = self.calls[call].summary.as_mut() {
            progress.last = Some(now);
            progress.closed = complete;
        }
        if complete {
            self.summarised.retain(|&c| c != call);
        }
    }

    pub fn count(&self) -> usize {
        self.list.len()
    }

    pub fn get(&self, pool: usize) -> &Pool {
        &self.list[pool]
    }

    pub fn call(&self, call: usize) -> &CallState {
        &self.calls[call]
    }

    pub fn call_mut(&mut self, call: usize) -> &mut CallState {
        &mut self.calls[call]
    }

    /// `Pool(processes, initializer, maxtasksperchild)`: the pool exists even when a
    /// worker fails to start (as the error then says).
    pub fn new_pool(
        &mut self,
        host: &mut impl Workers,
        var: String,
        processes: usize,
        initializer: Option<Call>,
        maxtasks: Option<u32>,
        method: StartMethod,
    ) -> io::Result<usize> {
        let idx = self.list.len();
        self.list.push(Pool {
            var,
            state: PoolStateName::Run,
            processes,
            method,
            initializer,
            maxtasks,
            workers: Vec::new(),
            pending: ChunkQueue::default(),
            failed_starts: 0,
        });
        self.emit_state(host, idx);
        self.fill(host, idx)?;
        Ok(idx)
    }

    fn emit_state(&self, host: &mut impl Emit, pool: usize) {
        let p = &self.list[pool];
        host.emit(EventKind::PoolState {
            id: pool,
            processes: p.processes,
            pool: p.var.clone(),
            state: p.state,
        });
    }

    fn set_state(&mut self, host: &mut impl Emit, pool: usize, state: PoolStateName) {
        self.list[pool].state = state;
        self.emit_state(host, pool);
    }

    /// Python's `_repopulate_pool`: start workers until there are `processes` of them.
    fn fill(&mut self, host: &mut impl Workers, pool: usize) -> io::Result<()> {
        let p = &mut self.list[pool];
        while p.staying() < p.processes {
            let job = Job::PoolWorker {
                initializer: p.initializer.clone(),
                maxtasks: p.maxtasks,
            };
            let id = host.start_worker(pool, p.method, job)?;
            p.workers.push(Worker::new(id));
        }
        Ok(())
    }

    fn fill_or_report(&mut self, host: &mut impl Workers, pool: usize) {
        if let Err(e) = self.fill(host, pool) {
            host.emit(EventKind::Error {
                message: format!("OSError: cannot start a pool worker: {e}"),
                python: String::new(),
            });
        }
    }

    /// Queues a map-like call in chunks; without a chunksize, map and starmap use
    /// Python's default and the others 1.
    pub fn submit(
        &mut self,
        host: &mut impl Emit,
        pool: usize,
        kind: SubmitKind,
        func: Func,
        items: Items,
        chunksize: Option<usize>,
    ) -> usize {
        let total = items.len();
        let chunksize = match chunksize {
            Some(c) => c,
            None if kind.uses_default_chunksize_rule() => {
                default_chunksize(total, self.list[pool].processes)
            }
            None => 1,
        };
        let call = self.calls.len();
        let task_base = self.next_task;
        self.next_task += total as u64;
        let chunks = Chunks::new(total, chunksize);
        self.list[pool]
            .pending
            .push_call(call as u32, chunks.regular());
        let per_task = per_task(self.detail, total);
        if per_task {
            queue_events(host, call, task_base, func, &items);
        }
        host.emit(EventKind::CallSubmitted {
            call: call as u32,
            pool,
            method: kind,
            func: func.name().into(),
            len: total,
            chunksize,
        });
        self.calls.push(CallState {
            pool,
            kind,
            func,
            items,
            len: total,
            task_base,
            chunks,
            results: Slots::new(total),
            done: 0,
            order: Vec::new(),
            first_error: None,
            cancelled: None,
            taken: None,
            failed: 0,
            summary: (!per_task && self.detail == TaskDetail::Summary).then(Progress::default),
        });
        if self.calls[call].summary.is_some() {
            self.summarised.push(call);
        }
        if self.list[pool].failed_starts >= STORM {
            self.calls[call].cancelled = Some(STORM_ERROR.into());
        }
        call
    }

    pub fn dispatch_all(&mut self, host: &mut impl Workers) {
        for pool in 0..self.list.len() {
            self.dispatch(host, pool);
        }
    }

    /// Hands queued chunks to workers with room, and sentinels once a closed pool's every
    /// result is in.
    pub fn dispatch(&mut self, host: &mut impl Workers, pool: usize) {
        let p = &mut self.list[pool];
        // Chunks out at once across the pool stay bounded, whatever the pool's size.
        let cap = (IN_FLIGHT / p.workers.len().max(1)).max(1);
        for w in &mut p.workers {
            while w.has_room(p.maxtasks, cap) {
                let Some(r) = p.pending.pop_front() else {
                    break;
                };
                assign(host, &self.calls[r.call as usize], w, r);
            }
        }
        // As Python's `_handle_workers`, a closed pool keeps every worker until every
        // result is in; only then does each get its sentinel.
        if p.state != PoolStateName::Close || p.has_outstanding_work() {
            return;
        }
        for w in &mut p.workers {
            if w.ready && !w.stop_sent && w.assigned.is_empty() {
                w.stop_sent = true;
                host.send(w.id, &ToWorker::Stop);
            }
        }
    }

    /// A frame from one of the pool's workers.
    pub fn on_message(
        &mut self,
        host: &mut impl Workers,
        pool: usize,
        id: WorkerId,
        msg: FromWorker,
    ) {
        match msg {
            FromWorker::Ready => self.on_ready(pool, id),
            FromWorker::Started { task } => self.on_task_started(host, pool, id, task),
            FromWorker::ChunkDone {
                chunk,
                results,
                busy_us,
            } => {
                let r = ChunkRef::decode(chunk);
                self.on_chunk_done(host, pool, id, r, &results, busy_us);
            }
        }
    }

    fn on_ready(&mut self, pool: usize, id: WorkerId) {
        let p = &mut self.list[pool];
        p.failed_starts = 0;
        if let Some(w) = p.worker_mut(id) {
            w.ready = true;
        }
    }

    fn on_task_started(&mut self, host: &mut impl Workers, pool: usize, id: WorkerId, task: u64) {
        let Some(w) = self.list[pool].worker_mut(id) else {
            return;
        };
        let calls = &mut self.calls;
        let found = w.assigned.iter().copied().find(|r| {
            let call = &calls[r.call as usize];
            call.chunk(*r).is_some_and(|(first, len)| {
                let first = call.task_base + first as u64;
                (first..first + len as u64).contains(&task)
            })
        });
        let Some(r) = found else { return };
        if !w.started.contains(&r) {
            w.started.push(r);
        }
        w.running_task = Some(task);
        if per_task(self.detail, calls[r.call as usize].len) {
            host.emit(EventKind::TaskStarted {
                task,
                pid: host.pid(id),
                name: host.name(id).to_owned(),
            });
        }
    }

    fn on_chunk_done(
        &mut self,
        host: &mut impl Workers,
        pool: usize,
        id: WorkerId,
        r: ChunkRef,
        results: &ChunkResults,
        busy_us: u32,
    ) {
        if let Some(w) = self.list[pool].worker_mut(id) {
            if let Some(pos) = w.assigned.iter().position(|a| *a == r) {
                w.assigned.remove(pos);
            }
            w.started.retain(|s| *s != r);
            w.chunk_finished(busy_us);
        }
        let Some(call) = self.calls.get_mut(r.call as usize) else {
            return;
        };
        let Some((first, len)) = call.chunk(r) else {
            return;
        };
        // A chunk is one task to Python: when an item raises, that exception is the
        // result of every item of the chunk (the others' values are lost, the rest never ran).
        if let Some(error) = results.raised() {
            let failed = ChunkResults::Values((0..len).map(|_| Err(error.clone())).collect());
            return self.record_chunk(host, id, r, first, &failed);
        }
        self.record_chunk(host, id, r, first, results);
    }

    fn record_chunk(
        &mut self,
        host: &mut impl Workers,
        id: WorkerId,
        r: ChunkRef,
        first: usize,
        results: &ChunkResults,
    ) {
        let Some(call) = self.calls.get_mut(r.call as usize) else {
            return;
        };
        let recorded: Vec<Range<usize>> = match results {
            ChunkResults::Ints(ints) => call.record_ints(first, ints),
            ChunkResults::Values(values) => {
                let mut recorded = Vec::with_capacity(values.len());
                for (k, result) in values.iter().enumerate() {
                    let result = result.clone().map_err(|e| e.0);
                    if call.record(first + k, result) {
                        recorded.push(first + k..first + k + 1);
                    }
                }
                recorded
            }
        };
        let count: usize = recorded.iter().map(ExactSizeIterator::len).sum();
        // The worker is done with the chunk, whoever hears of it: it runs nothing now.
        let summarised = call.summary.is_some();
        let running = self.list[call.pool].worker_mut(id).and_then(|w| {
            if summarised {
                w.unreported += count as u32;
            }
            w.running_task.take()
        });
        if call.summary.is_some() {
            // The finished call's last report goes out before anyone takes its results.
            if call.complete() {
                self.emit_progress(host, r.call as usize, Instant::now());
            }
            return;
        }
        if !per_task(self.detail, call.len) {
            return;
        }
        let (pid, name) = (host.pid(id), host.name(id).to_owned());
        for index in recorded.into_iter().flatten() {
            let task = call.task_base + index as u64;
            // Quick items are not announced as they start: they start here, as they end.
            if running != Some(task) {
                host.emit(EventKind::TaskStarted {
                    task,
                    pid,
                    name: name.clone(),
                });
            }
            let event = match results.get(index - first) {
                Some(Ok(result)) => EventKind::TaskDone {
                    task,
                    pid,
                    name: name.clone(),
                    result,
                },
                Some(Err(e)) => EventKind::TaskFailed {
                    task,
                    pid,
                    name: name.clone(),
                    error: e.0,
                },
                None => continue,
            };
            host.emit(event);
        }
    }

    /// A pool worker ended: report what it was running, put back what it had not
    /// started, and replace it while the pool still needs workers.
    pub fn on_worker_exit(
        &mut self,
        host: &mut impl Workers,
        pool: usize,
        id: WorkerId,
        exitcode: i32,
    ) {
        let p = &mut self.list[pool];
        let Some(pos) = p.workers.iter().position(|w| w.id == id) else {
            return;
        };
        let worker = p.workers.remove(pos);
        let death = Death {
            pid: host.pid(id),
            name: host.name(id).to_owned(),
            exitcode,
        };
        // Workers ended by terminate() or by pooltop's own shutdown lose nothing: their
        // calls are cancelled or nobody waits for them any more.
        if p.state != PoolStateName::Terminate && !host.shutting_down() {
            let mut again = Vec::new();
            for r in worker.assigned {
                let Some(call) = self.calls.get_mut(r.call as usize) else {
                    continue;
                };
                match call.chunk(r).map(|_| worker.started.contains(&r)) {
                    Some(true) => {
                        again.extend(lose_running_task(
                            host,
                            call,
                            r,
                            worker.running_task,
                            &death,
                        ));
                    }
                    Some(false) => again.push(r),
                    None => {}
                }
            }
            let tasks: Vec<u64> = again
                .iter()
                .flat_map(|r| self.calls[r.call as usize].tasks_of(*r))
                .collect();
            if !tasks.is_empty() {
                host.emit(EventKind::Requeued {
                    tasks,
                    pid: death.pid,
                    name: death.name.clone(),
                });
            }
            for r in again.into_iter().rev() {
                p.pending.push_front(r);
            }
        }
        if !worker.ready && exitcode != 0 {
            p.failed_starts = p.failed_starts.saturating_add(1);
        }
        self.maintain(host, pool);
    }

    /// Python's `_maintain_pool`: replace exited workers while running, and while a
    /// closed pool still has tasks to finish.
    fn maintain(&mut self, host: &mut impl Workers, pool: usize) {
        if host.shutting_down() {
            return;
        }
        let p = &self.list[pool];
        let needed = match p.state {
            PoolStateName::Run => true,
            PoolStateName::Close => p.has_outstanding_work(),
            PoolStateName::Terminate => false,
        };
        if !needed {
            return;
        }
        if p.failed_starts == STORM {
            // As CPython, the pool stays RUN and goes on replacing them; only its calls,
            // which would never finish, are told so.
            let message = format!(
                "pool '{}': every new worker dies in its initializer; as in CPython it is \
                 replaced at once, for ever (terminate() ends it); calls on the pool raise \
                 rather than wait forever",
                p.var
            );
            host.emit(EventKind::Error {
                message,
                python: String::new(),
            });
            self.cancel_calls(pool, STORM_ERROR);
        }
        self.fill_or_report(host, pool);
    }

    /// Python's `Pool.close()`: no new calls; workers exit once the queue is drained.
    pub fn close(&mut self, host: &mut impl Emit, pool: usize) {
        if self.list[pool].state == PoolStateName::Run {
            self.set_state(host, pool, PoolStateName::Close);
        }
    }

    /// Python's `Pool.terminate()`: stop at once. An idle worker takes the sentinel and
    /// exits 0 (as in Python, where it usually reads it before `terminate()` reaches it);
    /// a busy or starting one gets SIGTERM.
    pub fn terminate(&mut self, host: &mut impl Workers, pool: usize) {
        if self.list[pool].state == PoolStateName::Terminate {
            return;
        }
        self.set_state(host, pool, PoolStateName::Terminate);
        // Tasks still queued would have gone to any ready worker: none of them is idle.
        let queued = !self.list[pool].pending.is_empty();
        self.list[pool].pending.clear();
        self.cancel_calls(
            pool,
            "RuntimeError: the pool was terminated before this result was ready (Python would wait forever)",
        );
        for w in &mut self.list[pool].workers {
            let idle = w.ready && w.assigned.is_empty() && w.running_task.is_none() && !queued;
            if idle && !w.stop_sent {
                w.stop_sent = true;
                host.send(w.id, &ToWorker::Stop);
            } else if !idle {
                let _ = host.signal(w.id, libc::SIGTERM);
            }
        }
    }

    /// Signals every worker the pool still has (the end of the program ends them all).
    pub fn signal_workers(&self, host: &mut impl Workers, pool: usize, signal: i32) {
        for w in &self.list[pool].workers {
            let _ = host.signal(w.id, signal);
        }
    }

    fn cancel_calls(&mut self, pool: usize, why: &str) {
        for call in self
            .calls
            .iter_mut()
            .filter(|c| c.pool == pool && !c.complete())
        {
            call.cancelled = Some(why.to_string());
        }
    }

    /// Sets how many workers a pool keeps: new ones start at once, surplus ones finish
    /// what they hold and exit.
    pub fn resize(&mut self, host: &mut impl Workers, pool: usize, processes: usize) {
        let p = &mut self.list[pool];
        if p.state == PoolStateName::Terminate || processes == 0 {
            return;
        }
        p.processes = processes;
        let mut active: Vec<usize> = (0..p.workers.len())
            .filter(|&i| !p.workers[i].stop_sent)
            .collect();
        // Idle workers retire first.
        active.sort_by_key(|&i| p.workers[i].assigned.len());
        let surplus = active.len().saturating_sub(processes);
        for &i in &active[..surplus] {
            let w = &mut p.workers[i];
            w.stop_sent = true;
            host.send(w.id, &ToWorker::Stop);
        }
        self.fill_or_report(host, pool);
        self.emit_state(host, pool);
    }
}

/// One `task_queued` event per item, before the call is announced.
/// Whether the tasks of a call of `len` items are reported one by one.
fn per_task(detail: TaskDetail, len: usize) -> bool {
    match detail {
        TaskDetail::Off => false,
        TaskDetail::Summary => len <= SUMMARY_FROM,
        TaskDetail::Every => true,
    }
}

fn queue_events(host: &mut impl Emit, call: usize, task_base: u64, func: Func, items: &Items) {
    for index in 0..items.len() {
        let mut args = items.args(index);
        let args = if args.len() == 1 {
            args.remove(0)
        } else {
            Value::Tuple(args)
        };
        host.emit(EventKind::TaskQueued {
            task: task_base + index as u64,
            call: call as u32,
            index,
            func: func.name().into(),
            args,
        });
    }
}

fn assign(host: &mut impl Workers, call: &CallState, w: &mut Worker, r: ChunkRef) {
    let Some((first, len)) = call.chunk(r) else {
        return;
    };
    let args = match &call.items {
        Items::Range { start, .. } => ChunkArgs::Range {
            start: i128::from(*start) + first as i128,
            len: u32::try_from(len).unwrap_or(u32::MAX),
        },
        items @ Items::List(_) => ChunkArgs::pack(len, |k| items.args(first + k)),
    };
    w.assigned.push_back(r);
    w.chunks_taken += 1;
    host.send(
        w.id,
        &ToWorker::Chunk {
            chunk: r.encode(),
            func: call.func,
            first_task: call.task_base + first as u64,
            args,
        },
    );
}

/// A worker died inside chunk `r`: the task it was running fails with `WorkerLostError`;
/// the chunk's other items (finished with their results unsent, or not begun) become new
/// chunks to run again, which are returned.
fn lose_running_task(
    host: &mut impl Emit,
    call: &mut CallState,
    r: ChunkRef,
    running: Option<u64>,
    death: &Death,
) -> Vec<ChunkRef> {
    let Some((first, len)) = call.chunk(r) else {
        return Vec::new();
    };
    let end = first + len;
    let lost = running
        .and_then(|t| usize::try_from(t.checked_sub(call.task_base)?).ok())
        .filter(|i| (first..end).contains(i))
        .unwrap_or(first);
    let message = format!(
        "WorkerLostError: {} was lost: {} (pid {}) {}",
        call.task_label(lost),
        death.name,
        death.pid,
        death.how()
    );
    if call.record(lost, Err(message)) {
        host.emit(EventKind::TaskLost {
            task: call.task_base + lost as u64,
            pid: death.pid,
            name: death.name.clone(),
            signal: death.signal(),
            exitcode: Some(death.exitcode),
            cause: if death.signal().is_some() {
                LostCause::Killed
            } else {
                LostCause::Exited
            },
        });
    }
    [(first, lost), (lost + 1, end)]
        .into_iter()
        .filter(|(a, z)| a < z)
        .map(|(a, z)| call.add_chunk(r.call, a, z - a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set of children that only records what the pool asks of it.
    #[derive(Default)]
    struct Fake {
        events: Vec<EventKind>,
        names: Vec<String>,
        sent: Vec<(WorkerId, ToWorker)>,
        signals: Vec<(WorkerId, i32)>,
        refuse_starts: bool,
        shutting_down: bool,
    }

    impl Emit for Fake {
        fn emit(&mut self, kind: EventKind) {
            self.events.emit(kind);
        }
    }

    impl Workers for Fake {
        fn start_worker(&mut self, _: usize, method: StartMethod, _: Job) -> io::Result<WorkerId> {
            if self.refuse_starts {
                return Err(io::Error::other("out of processes"));
            }
            let id = self.names.len();
            self.names
                .push(format!("{}-{}", method.pool_worker_prefix(), id + 1));
            Ok(id)
        }

        fn send(&mut self, worker: WorkerId, msg: &ToWorker) {
            self.sent.push((worker, msg.clone()));
        }

        fn signal(&mut self, worker: WorkerId, signal: i32) -> io::Result<()> {
            self.signals.push((worker, signal));
            Ok(())
        }

        fn pid(&self, worker: WorkerId) -> i32 {
            1000 + worker as i32
        }

        fn name(&self, worker: WorkerId) -> &str {
            &self.names[worker]
        }

        fn shutting_down(&self) -> bool {
            self.shutting_down
        }
    }

    impl Fake {
        /// The chunks sent to `w` so far, with their task numbers.
        fn chunks_to(&self, w: WorkerId) -> Vec<(ChunkRef, Vec<u64>)> {
            self.sent
                .iter()
                .filter_map(|(to, msg)| match msg {
                    ToWorker::Chunk {
                        chunk,
                        first_task,
                        args,
                        ..
                    } if *to == w => Some((
                        ChunkRef::decode(*chunk),
                        (0..args.len() as u64).map(|k| first_task + k).collect(),
                    )),
                    _ => None,
                })
                .collect()
        }

        fn stops(&self) -> Vec<WorkerId> {
            self.sent
                .iter()
                .filter(|(_, msg)| matches!(msg, ToWorker::Stop))
                .map(|(to, _)| *to)
                .collect()
        }

        fn lost(&self) -> Vec<(u64, i32, String, Option<i32>, i32)> {
            self.events
                .iter()
                .filter_map(|e| match e {
                    EventKind::TaskLost {
                        task,
                        pid,
                        name,
                        signal,
                        exitcode: Some(exitcode),
                        ..
                    } => Some((*task, *pid, name.clone(), *signal, *exitcode)),
                    _ => None,
                })
                .collect()
        }

        fn errors(&self) -> Vec<&str> {
            self.events
                .iter()
                .filter_map(|e| match e {
                    EventKind::Error { message, .. } => Some(message.as_str()),
                    _ => None,
                })
                .collect()
        }

        fn pool_states(&self) -> Vec<(usize, PoolStateName)> {
            self.events
                .iter()
                .filter_map(|e| match e {
                    EventKind::PoolState {
                        processes, state, ..
                    } => Some((*processes, *state)),
                    _ => None,
                })
                .collect()
        }
    }

    fn pool_of(processes: usize, maxtasks: Option<u32>) -> (Pools, Fake) {
        let mut pools = Pools::default();
        let mut fake = Fake::default();
        let pool = pools
            .new_pool(
                &mut fake,
                "pool".into(),
                processes,
                None,
                maxtasks,
                StartMethod::Fork,
            )
            .expect("the fake starts workers");
        assert_eq!(pool, 0);
        (pools, fake)
    }

    fn range(n: i64) -> Items {
        Items::Range { start: 0, stop: n }
    }

    fn ready(pools: &mut Pools, fake: &mut Fake, w: WorkerId) {
        pools.on_message(fake, 0, w, FromWorker::Ready);
    }

    /// Worker `w` starts every task of chunk `r`, then returns `task * 10` for each.
    fn run_chunk(pools: &mut Pools, fake: &mut Fake, w: WorkerId, r: ChunkRef) {
        let (_, tasks) = fake
            .chunks_to(w)
            .into_iter()
            .find(|(c, _)| *c == r)
            .expect("the chunk was sent to this worker");
        for &task in &tasks {
            pools.on_message(fake, 0, w, FromWorker::Started { task });
        }
        let results = ChunkResults::Ints(tasks.iter().map(|&t| i128::from(t) * 10).collect());
        let chunk = r.encode();
        pools.on_message(
            fake,
            0,
            w,
            FromWorker::ChunkDone {
                chunk,
                results,
                busy_us: 0,
            },
        );
    }

    fn chunk(call: u32, chunk: u32) -> ChunkRef {
        ChunkRef { call, chunk }
    }

    /// The dashboard hears of a call over `SUMMARY_FROM` tasks by progress reports: no
    /// task events, counts that add up, the first results by position, a last report.
    #[test]
    fn a_large_call_is_summarised_for_the_dashboard() {
        let (mut pools, mut fake) = pool_of(1, None);
        pools.set_task_detail(TaskDetail::Summary);
        let len = SUMMARY_FROM + 1000;
        let call = pools.submit(
            &mut fake,
            0,
            SubmitKind::Map,
            Func::Square,
            range(len as i64),
            Some(1000),
        );
        ready(&mut pools, &mut fake, 0);
        pools.dispatch(&mut fake, 0);
        pools.report_progress(&mut fake, Instant::now());
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 0));
        let progress = |fake: &Fake| -> Vec<(usize, usize, usize)> {
            fake.events
                .iter()
                .filter_map(|e| match e {
                    EventKind::CallProgress {
                        done,
                        results,
                        running,
                        ..
                    } => Some((*done, results.len(), running.len())),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(progress(&fake), [(0, 0, 1)], "reports wait their turn");
        for c in 1..3 {
            pools.dispatch(&mut fake, 0);
            run_chunk(&mut pools, &mut fake, 0, chunk(0, c));
        }
        // The last chunk's results bring the last report at once.
        assert_eq!(
            progress(&fake),
            [(0, 0, 1), (len, RESULTS_SHOWN, 0)],
            "the finished call's report has every count and the shown results"
        );
        assert!(pools.call(call).complete());
        assert!(
            !fake.events.iter().any(|e| matches!(
                e,
                EventKind::TaskQueued { .. }
                    | EventKind::TaskStarted { .. }
                    | EventKind::TaskDone { .. }
            )),
            "no task events for a summarised call"
        );
        let finished: u32 = fake
            .events
            .iter()
            .filter_map(|e| match e {
                EventKind::CallProgress { finished, .. } => {
                    Some(finished.iter().map(|f| f.1).sum::<u32>())
                }
                _ => None,
            })
            .sum();
        assert_eq!(
            finished as usize, len,
            "every item is counted to its worker once"
        );
        assert!(
            pools.progress_deadline().is_none(),
            "nothing more to report"
        );
    }

    #[test]
    fn default_chunksize_follows_python() {
        assert_eq!(default_chunksize(6, 10), 1);
        assert_eq!(default_chunksize(100, 2), 13);
        assert_eq!(default_chunksize(100_000, 2), 12_500);
        assert_eq!(default_chunksize(0, 4), 0);
    }

    #[test]
    fn window_keeps_about_a_millisecond_queued() {
        assert_eq!(window_for(0.0), 1024);
        assert_eq!(window_for(0.020), 1);
        assert_eq!(window_for(0.0001), 10);
    }

    #[test]
    fn map_is_cut_into_chunks_of_pythons_default_size() {
        let (mut pools, mut fake) = pool_of(2, None);
        let call = pools.submit(
            &mut fake,
            0,
            SubmitKind::Map,
            Func::Square,
            range(100),
            None,
        );
        let lens = pools.call(call).chunks.lens();
        assert_eq!(lens, [13, 13, 13, 13, 13, 13, 13, 9]);
        assert!(fake.events.iter().any(|e| matches!(
            e,
            EventKind::CallSubmitted {
                len: 100,
                chunksize: 13,
                ..
            }
        )));
        let imap = pools.submit(&mut fake, 0, SubmitKind::Imap, Func::Square, range(5), None);
        assert_eq!(
            pools.call(imap).chunks.lens().len(),
            5,
            "imap defaults to 1"
        );
        let given = pools.submit(
            &mut fake,
            0,
            SubmitKind::Map,
            Func::Square,
            range(70),
            Some(30),
        );
        let lens = pools.call(given).chunks.lens();
        assert_eq!(lens, [30, 30, 10]);
    }

    #[test]
    fn only_ready_workers_with_room_are_fed() {
        let (mut pools, mut fake) = pool_of(2, None);
        pools.submit(
            &mut fake,
            0,
            SubmitKind::Map,
            Func::Square,
            range(40),
            Some(10),
        );
        pools.dispatch(&mut fake, 0);
        assert!(fake.sent.is_empty(), "no worker is ready yet");
        ready(&mut pools, &mut fake, 0);
        pools.dispatch(&mut fake, 0);
        pools.dispatch(&mut fake, 0);
        // A new worker's window is one chunk.
        assert_eq!(fake.chunks_to(0), [(chunk(0, 0), (0..10).collect())]);
        assert!(fake.chunks_to(1).is_empty());
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 0));
        assert_eq!(pools.call(0).done, 10);
        pools.dispatch(&mut fake, 0);
        assert_eq!(fake.chunks_to(0)[1].0, chunk(0, 1));
        let done = fake.events.iter().find_map(|e| match e {
            EventKind::TaskDone {
                task: 3,
                pid,
                name,
                result,
            } => Some((*pid, name.clone(), result.clone())),
            _ => None,
        });
        assert_eq!(
            done,
            Some((1000, "ForkPoolWorker-1".into(), Value::Int(30)))
        );
    }

    #[test]
    fn a_dead_worker_loses_its_started_chunk_and_requeues_the_rest_first() {
        let (mut pools, mut fake) = pool_of(1, None);
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(3),
            Some(1),
        );
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(1),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        pools.list[0].workers[0].window = 3;
        pools.dispatch(&mut fake, 0);
        assert_eq!(fake.chunks_to(0).len(), 3);
        pools.on_message(&mut fake, 0, 0, FromWorker::Started { task: 0 });

        pools.on_worker_exit(&mut fake, 0, 0, -libc::SIGKILL);

        let worker = "ForkPoolWorker-1".to_string();
        assert_eq!(fake.lost(), [(0, 1000, worker, Some(libc::SIGKILL), -9)]);
        assert_eq!(
            pools.call(0).results.get(0),
            Some(Err(
                "WorkerLostError: task #0 square(0) was lost: ForkPoolWorker-1 (pid 1000) was killed by SIGKILL".into()
            ))
        );
        let pending: Vec<ChunkRef> = pools.list[0].pending.iter().collect();
        assert_eq!(pending, [chunk(0, 1), chunk(0, 2), chunk(1, 0)]);
        assert_eq!(fake.names.len(), 2, "a replacement was started");
        assert_eq!(pools.get(0).worker(0), Some(1));
    }

    #[test]
    fn a_worker_dying_mid_chunk_loses_only_the_running_task() {
        let (mut pools, mut fake) = pool_of(1, None);
        let call = pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(4),
            Some(4),
        );
        ready(&mut pools, &mut fake, 0);
        pools.dispatch(&mut fake, 0);
        // Item 0 finished (its result not sent yet), item 1 is running.
        pools.on_message(&mut fake, 0, 0, FromWorker::Started { task: 0 });
        pools.on_message(&mut fake, 0, 0, FromWorker::Started { task: 1 });

        pools.on_worker_exit(&mut fake, 0, 0, -libc::SIGKILL);

        let lost: Vec<u64> = fake.lost().iter().map(|l| l.0).collect();
        assert_eq!(lost, [1]);
        let requeued: Vec<&Vec<u64>> = fake
            .events
            .iter()
            .filter_map(|e| match e {
                EventKind::Requeued { tasks, .. } => Some(tasks),
                _ => None,
            })
            .collect();
        assert_eq!(requeued, [&vec![0, 2, 3]]);
        let pending: Vec<ChunkRef> = pools.list[0].pending.iter().collect();
        assert_eq!(pending, [chunk(0, 1), chunk(0, 2)]);
        ready(&mut pools, &mut fake, 1);
        pools.list[0].workers[0].window = 2;
        pools.dispatch(&mut fake, 0);
        let again: Vec<Vec<u64>> = fake.chunks_to(1).into_iter().map(|c| c.1).collect();
        assert_eq!(again, [vec![0], vec![2, 3]], "run again on the new worker");
        assert!(!pools.call(call).complete());
    }

    #[test]
    fn a_lost_task_says_how_its_worker_exited() {
        let (mut pools, mut fake) = pool_of(1, None);
        let items = Items::List(vec![vec![Value::Int(7)]]);
        let call = pools.submit(
            &mut fake,
            0,
            SubmitKind::ApplyAsync,
            Func::Cube,
            items,
            None,
        );
        ready(&mut pools, &mut fake, 0);
        pools.dispatch(&mut fake, 0);
        pools.on_message(&mut fake, 0, 0, FromWorker::Started { task: 0 });
        pools.on_worker_exit(&mut fake, 0, 0, 1);
        assert_eq!(fake.lost()[0].3, None);
        assert!(pools.call(call).complete());
        assert_eq!(
            pools.call_mut(call).take_outcome(),
            Err(
                "WorkerLostError: task #0 cube(7) was lost: ForkPoolWorker-1 (pid 1000) exited with code 1"
                    .into()
            )
        );
    }

    #[test]
    fn maxtasksperchild_stops_feeding_then_the_worker_is_replaced() {
        let (mut pools, mut fake) = pool_of(1, Some(2));
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(4),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        pools.list[0].workers[0].window = 10;
        pools.dispatch(&mut fake, 0);
        assert_eq!(fake.chunks_to(0).len(), 2);
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 0));
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 1));
        pools.dispatch(&mut fake, 0);
        assert_eq!(
            fake.chunks_to(0).len(),
            2,
            "a worker takes maxtasks chunks, no more"
        );

        pools.on_worker_exit(&mut fake, 0, 0, 0);

        assert!(fake.lost().is_empty());
        assert_eq!(fake.names.len(), 2);
        ready(&mut pools, &mut fake, 1);
        pools.dispatch(&mut fake, 0);
        assert_eq!(fake.chunks_to(1)[0].0, chunk(0, 2));
    }

    #[test]
    fn terminate_cancels_pending_calls_and_signals_every_worker() {
        let (mut pools, mut fake) = pool_of(2, None);
        let call = pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(10),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        ready(&mut pools, &mut fake, 1);
        pools.dispatch(&mut fake, 0);
        pools.on_message(&mut fake, 0, 0, FromWorker::Started { task: 0 });

        pools.terminate(&mut fake, 0);

        assert_eq!(pools.get(0).state(), PoolStateName::Terminate);
        assert_eq!(
            fake.pool_states().last(),
            Some(&(2, PoolStateName::Terminate))
        );
        assert_eq!(
            pools.call(call).cancelled(),
            Some(
                "RuntimeError: the pool was terminated before this result was ready (Python would wait forever)"
            )
        );
        assert_eq!(fake.signals, [(0, libc::SIGTERM), (1, libc::SIGTERM)]);
        assert!(pools.list[0].pending.is_empty());
        pools.on_worker_exit(&mut fake, 0, 0, -libc::SIGTERM);
        assert!(
            fake.lost().is_empty(),
            "a terminated pool loses nothing more"
        );
        assert_eq!(fake.names.len(), 2, "and replaces nobody");
    }

    #[test]
    fn terminate_stops_an_idle_worker_and_sigterms_a_busy_one() {
        let (mut pools, mut fake) = pool_of(3, None);
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(1),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        ready(&mut pools, &mut fake, 1);
        pools.dispatch(&mut fake, 0);
        // Worker 0 holds the chunk, worker 1 is idle, worker 2 is still starting.
        pools.terminate(&mut fake, 0);
        assert_eq!(fake.stops(), [1]);
        assert_eq!(fake.signals, [(0, libc::SIGTERM), (2, libc::SIGTERM)]);
    }

    #[test]
    fn close_waits_for_every_result_then_sends_each_worker_one_stop() {
        let (mut pools, mut fake) = pool_of(2, None);
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(2),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        ready(&mut pools, &mut fake, 1);
        pools.dispatch(&mut fake, 0);
        pools.close(&mut fake, 0);
        assert_eq!(fake.pool_states().last(), Some(&(2, PoolStateName::Close)));
        pools.dispatch(&mut fake, 0);
        assert!(fake.stops().is_empty(), "both workers are busy");
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 0));
        pools.dispatch(&mut fake, 0);
        pools.dispatch(&mut fake, 0);
        assert!(
            fake.stops().is_empty(),
            "an idle worker stays while another still works (CPython: no churn)"
        );
        run_chunk(&mut pools, &mut fake, 1, chunk(0, 1));
        pools.dispatch(&mut fake, 0);
        assert_eq!(fake.stops(), [0, 1]);
        pools.on_worker_exit(&mut fake, 0, 0, 0);
        pools.on_worker_exit(&mut fake, 0, 1, 0);
        assert_eq!(fake.names.len(), 2, "a drained closed pool replaces nobody");
        assert!(!pools.get(0).has_workers());
    }

    #[test]
    fn a_closed_pool_sends_no_stop_while_chunks_wait() {
        // The worker is idle only because it has taken its maxtasksperchild.
        let (mut pools, mut fake) = pool_of(1, Some(1));
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(2),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        pools.dispatch(&mut fake, 0);
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 0));
        pools.close(&mut fake, 0);
        pools.dispatch(&mut fake, 0);
        assert!(fake.stops().is_empty());
    }

    #[test]
    fn a_closed_pool_replaces_a_worker_while_tasks_remain() {
        let (mut pools, mut fake) = pool_of(1, None);
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(2),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        pools.dispatch(&mut fake, 0);
        pools.close(&mut fake, 0);
        pools.on_worker_exit(&mut fake, 0, 0, 0);
        assert_eq!(fake.names.len(), 2);
    }

    #[test]
    fn resize_retires_idle_workers_first() {
        let (mut pools, mut fake) = pool_of(3, None);
        pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(3),
            Some(1),
        );
        ready(&mut pools, &mut fake, 0);
        ready(&mut pools, &mut fake, 2);
        pools.list[0].workers[2].window = 2;
        pools.dispatch(&mut fake, 0);
        // Worker 0 holds one chunk, worker 1 (not ready) none, worker 2 two.

        pools.resize(&mut fake, 0, 1);

        assert_eq!(fake.stops(), [1, 0]);
        assert_eq!(fake.pool_states().last(), Some(&(1, PoolStateName::Run)));
        pools.resize(&mut fake, 0, 3);
        assert_eq!(fake.names.len(), 5, "stopping workers do not count");
        assert_eq!(fake.pool_states().last(), Some(&(3, PoolStateName::Run)));
    }

    #[test]
    fn a_respawn_storm_keeps_the_pool_running_and_fails_its_calls() {
        let (mut pools, mut fake) = pool_of(1, None);
        let call = pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(1),
            None,
        );
        for w in 0..8 {
            assert_eq!(pools.get(0).worker(0), Some(w));
            pools.on_worker_exit(&mut fake, 0, w, 1);
        }
        assert_eq!(fake.names.len(), 9, "every one is replaced, as in CPython");
        assert_eq!(fake.errors().len(), 1, "said once");
        assert!(fake.errors()[0].starts_with("pool 'pool': every new worker dies"));
        assert_eq!(pools.call(call).cancelled(), Some(STORM_ERROR));
        let later = pools.submit(
            &mut fake,
            0,
            SubmitKind::ApplyAsync,
            Func::Square,
            range(1),
            None,
        );
        assert_eq!(pools.call(later).cancelled(), Some(STORM_ERROR));
        assert_eq!(pools.get(0).state(), PoolStateName::Run);
    }

    #[test]
    fn only_deaths_before_ready_count_as_failed_starts() {
        let (mut pools, mut fake) = pool_of(1, None);
        for w in 0..4 {
            pools.on_worker_exit(&mut fake, 0, w, 1);
        }
        ready(&mut pools, &mut fake, 4);
        // A worker that got ready and then died started fine; the count starts over.
        pools.on_worker_exit(&mut fake, 0, 4, 1);
        for w in 5..9 {
            pools.on_worker_exit(&mut fake, 0, w, 1);
        }
        assert!(fake.errors().is_empty());
        assert_eq!(fake.names.len(), 10);
    }

    #[test]
    fn nothing_is_replaced_while_the_driver_shuts_down() {
        let (mut pools, mut fake) = pool_of(1, None);
        fake.shutting_down = true;
        pools.on_worker_exit(&mut fake, 0, 0, -libc::SIGTERM);
        assert_eq!(fake.names.len(), 1);
    }

    #[test]
    fn a_worker_that_cannot_start_is_an_oserror() {
        let (mut pools, mut fake) = pool_of(1, None);
        fake.refuse_starts = true;
        pools.on_worker_exit(&mut fake, 0, 0, 0);
        assert_eq!(
            fake.errors(),
            ["OSError: cannot start a pool worker: out of processes"]
        );
    }

    #[test]
    fn imap_yields_by_position_and_imap_unordered_by_completion() {
        let (mut pools, mut fake) = pool_of(1, None);
        let imap = pools.submit(&mut fake, 0, SubmitKind::Imap, Func::Square, range(3), None);
        let unordered = pools.submit(
            &mut fake,
            0,
            SubmitKind::ImapUnordered,
            Func::Square,
            range(3),
            None,
        );
        ready(&mut pools, &mut fake, 0);
        pools.list[0].workers[0].window = 6;
        pools.dispatch(&mut fake, 0);
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 2));
        run_chunk(&mut pools, &mut fake, 0, chunk(1, 2));
        assert_eq!(
            pools.call(imap).yielded(0),
            None,
            "imap waits for the first item"
        );
        assert_eq!(
            pools.call(unordered).yielded(0),
            Some(Ok(Value::Int(50))),
            "task 5 finished first"
        );
        run_chunk(&mut pools, &mut fake, 0, chunk(0, 0));
        assert_eq!(pools.call(imap).yielded(0), Some(Ok(Value::Int(0))));
        assert_eq!(pools.call(imap).yielded(1), None);
    }

    #[test]
    fn get_raises_the_first_error_by_position() {
        let (mut pools, mut fake) = pool_of(1, None);
        let call = pools.submit(
            &mut fake,
            0,
            SubmitKind::MapAsync,
            Func::Square,
            range(3),
            Some(3),
        );
        ready(&mut pools, &mut fake, 0);
        pools.dispatch(&mut fake, 0);
        let results = ChunkResults::Values(vec![
            Ok(Value::Int(0)),
            Err(crate::workload::Raised("ValueError: one".into())),
            Err(crate::workload::Raised("ValueError: two".into())),
        ]);
        let done = FromWorker::ChunkDone {
            chunk: chunk(0, 0).encode(),
            results,
            busy_us: 0,
        };
        pools.on_message(&mut fake, 0, 0, done);
        assert_eq!(
            pools.call_mut(call).take_outcome(),
            Err("ValueError: one".into())
        );
    }
}
