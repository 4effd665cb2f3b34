//! Python's `multiprocessing.Pool`: worker upkeep, chunking, feeding, results, and what
//! a worker's death costs. It owns pools, calls and per-worker bookkeeping; processes only via [`Workers`].

use std::collections::VecDeque;
use std::io;
use std::time::Instant;

use crate::engine::program::{Items, StartMethod, SubmitKind};
use crate::engine::protocol::{EventKind, FromWorker, Job, PoolStateName, ToWorker};
use crate::engine::sys;
use crate::engine::value::Value;
use crate::workload::{Call, Func, Raised};

use super::outbox::Emit;

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

/// How much queued work one worker should hold: about a millisecond's worth, so fast
/// tasks travel in batches while slow ones stay balanced across workers.
fn window_for(service_secs: f64) -> usize {
    const TARGET_SECS: f64 = 0.001;
    if service_secs <= 0.0 {
        return 1024;
    }
    ((TARGET_SECS / service_secs) as usize).clamp(1, 1024)
}

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
    chunk_started: Option<Instant>,
    running_task: Option<u64>,
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
            chunk_started: None,
            running_task: None,
        }
    }

    fn has_room(&self, maxtasks: Option<u32>) -> bool {
        self.ready
            && !self.stop_sent
            && self.assigned.len() < self.window
            && maxtasks.is_none_or(|m| self.chunks_taken < m)
    }

    fn chunk_finished(&mut self) {
        self.running_task = None;
        if let Some(t0) = self.chunk_started.take() {
            let secs = t0.elapsed().as_secs_f64();
            self.service_secs = if self.service_secs == 0.0 {
                secs
            } else {
                0.7 * self.service_secs + 0.3 * secs
            };
            self.window = window_for(self.service_secs);
        }
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
    pending: VecDeque<ChunkRef>,
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

struct ChunkState {
    first: usize,
    len: usize,
    started: bool,
}

/// One submitted call (`map`, `apply_async`, ...): its items, chunks and results.
pub struct CallState {
    pool: usize,
    kind: SubmitKind,
    func: Func,
    items: Items,
    pub len: usize,
    task_base: u64,
    chunks: Vec<ChunkState>,
    results: Vec<Option<Result<Value, String>>>,
    done: usize,
    /// Item indexes in the order their results arrived.
    order: Vec<usize>,
    cancelled: Option<String>,
    /// The result once taken; per-item state is released then.
    taken: Option<Result<Value, String>>,
}

impl CallState {
    pub fn complete(&self) -> bool {
        self.cancelled.is_some() || self.done == self.len
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
    pub fn yielded(&self, n: usize) -> Option<&Result<Value, String>> {
        let index = if self.kind.completion_order() {
            *self.order.get(n)?
        } else {
            n
        };
        self.results.get(index)?.as_ref()
    }

    /// What `get()` returns or raises, computed once; afterwards the per-item state of a
    /// large call is freed, so later forks copy a small driver.
    pub fn take_outcome(&mut self) -> Result<Value, String> {
        if let Some(taken) = &self.taken {
            return taken.clone();
        }
        let outcome = self.outcome();
        self.taken = Some(outcome.clone());
        if self.large() {
            self.results = Vec::new();
            self.chunks = Vec::new();
            self.order = Vec::new();
            self.items = Items::List(Vec::new());
        }
        outcome
    }

    /// The values in submission order, or the first error by position, as Python's
    /// `map` raises it.
    fn outcome(&self) -> Result<Value, String> {
        if let Some(why) = &self.cancelled {
            return Err(why.clone());
        }
        let mut values = Vec::with_capacity(self.results.len());
        for r in &self.results {
            match r {
                Some(Ok(v)) => values.push(v.clone()),
                Some(Err(e)) => return Err(e.clone()),
                None => return Err("RuntimeError: result missing".into()),
            }
        }
        if self.kind.single() {
            return Ok(values.pop().unwrap_or(Value::None));
        }
        Ok(Value::List(values))
    }

    fn task_label(&self, index: usize) -> String {
        let call = Call {
            func: self.func,
            args: self.items.args(index),
        };
        format!("task #{} {call}", self.task_base + index as u64)
    }

    fn chunk(&self, r: ChunkRef) -> Option<&ChunkState> {
        self.chunks.get(r.chunk as usize)
    }

    /// Records one item's result unless it already has one; false when it had.
    fn record(&mut self, index: usize, result: Result<Value, String>) -> bool {
        match self.results.get_mut(index) {
            Some(slot @ None) => *slot = Some(result),
            _ => return false,
        }
        self.done += 1;
        self.order.push(index);
        true
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
    task_events: bool,
}

impl Default for Pools {
    fn default() -> Pools {
        Pools {
            list: Vec::new(),
            calls: Vec::new(),
            next_task: 0,
            task_events: true,
        }
    }
}

impl Pools {
    /// Per-task events are for the dashboard and event logs; the benchmark goes without.
    pub fn set_task_events(&mut self, on: bool) {
        self.task_events = on;
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
            pending: VecDeque::new(),
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
        let mut chunks = Vec::new();
        let mut first = 0;
        while first < total {
            let len = chunksize.max(1).min(total - first);
            chunks.push(ChunkState {
                first,
                len,
                started: false,
            });
            first += len;
        }
        self.list[pool]
            .pending
            .extend((0..chunks.len()).map(|c| ChunkRef {
                call: call as u32,
                chunk: c as u32,
            }));
        if self.task_events {
            queue_events(host, call, task_base, func, &items);
        }
        host.emit(EventKind::CallSubmitted {
            call: call as u32,
            pool,
            method: kind,
            func,
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
            results: vec![None; total],
            done: 0,
            order: Vec::new(),
            cancelled: None,
            taken: None,
        });
        call
    }

    pub fn dispatch_all(&mut self, host: &mut impl Workers) {
        for pool in 0..self.list.len() {
            self.dispatch(host, pool);
        }
    }

    /// Hands queued chunks to workers with room, and sentinels once a closed pool is drained.
    pub fn dispatch(&mut self, host: &mut impl Workers, pool: usize) {
        let p = &mut self.list[pool];
        for w in &mut p.workers {
            while w.has_room(p.maxtasks) {
                let Some(r) = p.pending.pop_front() else {
                    break;
                };
                assign(host, &self.calls[r.call as usize], w, r);
            }
        }
        if p.state != PoolStateName::Close || !p.pending.is_empty() {
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
            FromWorker::ChunkDone { chunk, results } => {
                self.on_chunk_done(host, pool, id, ChunkRef::decode(chunk), results);
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
            call.chunk(*r).is_some_and(|ch| {
                let first = call.task_base + ch.first as u64;
                (first..first + ch.len as u64).contains(&task)
            })
        });
        let Some(r) = found else { return };
        if let Some(chunk) = calls[r.call as usize].chunks.get_mut(r.chunk as usize)
            && !chunk.started
        {
            chunk.started = true;
            w.chunk_started = Some(Instant::now());
        }
        w.running_task = Some(task);
        if self.task_events {
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
        results: Vec<Result<Value, Raised>>,
    ) {
        if let Some(w) = self.list[pool].worker_mut(id) {
            if let Some(pos) = w.assigned.iter().position(|a| *a == r) {
                w.assigned.remove(pos);
            }
            w.chunk_finished();
        }
        let Some(call) = self.calls.get_mut(r.call as usize) else {
            return;
        };
        let Some(first) = call.chunk(r).map(|ch| ch.first) else {
            return;
        };
        for (k, result) in results.into_iter().enumerate() {
            let index = first + k;
            let task = call.task_base + index as u64;
            let event = self.task_events.then(|| match &result {
                Ok(v) => EventKind::TaskDone {
                    task,
                    pid: host.pid(id),
                    name: host.name(id).to_owned(),
                    result: v.clone(),
                },
                Err(e) => EventKind::TaskFailed {
                    task,
                    pid: host.pid(id),
                    name: host.name(id).to_owned(),
                    error: e.0.clone(),
                },
            });
            if call.record(index, result.map_err(|e| e.0))
                && let Some(event) = event
            {
                host.emit(event);
            }
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
        if p.state != PoolStateName::Terminate {
            let mut unstarted = Vec::new();
            for r in worker.assigned {
                let Some(call) = self.calls.get_mut(r.call as usize) else {
                    continue;
                };
                match call.chunk(r).map(|ch| ch.started) {
                    Some(true) => lose_chunk(host, call, r, &death),
                    Some(false) => unstarted.push(r),
                    None => {}
                }
            }
            for r in unstarted.into_iter().rev() {
                p.pending.push_front(r);
            }
        }
        if !worker.ready && exitcode != 0 {
            p.failed_starts += 1;
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
        if p.failed_starts >= 5 {
            let message = format!(
                "RuntimeError: pool '{}' stopped replacing workers: 5 in a row died while starting",
                p.var
            );
            host.emit(EventKind::Error {
                message,
                python: String::new(),
            });
            self.cancel_calls(pool, "RuntimeError: pool workers keep dying while starting");
            self.set_state(host, pool, PoolStateName::Terminate);
            return;
        }
        self.fill_or_report(host, pool);
    }

    /// Python's `Pool.close()`: no new calls; workers exit once the queue is drained.
    pub fn close(&mut self, host: &mut impl Emit, pool: usize) {
        if self.list[pool].state == PoolStateName::Run {
            self.set_state(host, pool, PoolStateName::Close);
        }
    }

    /// Python's `Pool.terminate()`: stop at once, SIGTERM every worker.
    pub fn terminate(&mut self, host: &mut impl Workers, pool: usize) {
        if self.list[pool].state == PoolStateName::Terminate {
            return;
        }
        self.set_state(host, pool, PoolStateName::Terminate);
        self.list[pool].pending.clear();
        self.cancel_calls(
            pool,
            "RuntimeError: the pool was terminated before this result was ready (Python would wait forever)",
        );
        for w in &self.list[pool].workers {
            let _ = host.signal(w.id, libc::SIGTERM);
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
            func,
            args,
        });
    }
}

fn assign(host: &mut impl Workers, call: &CallState, w: &mut Worker, r: ChunkRef) {
    let chunk = &call.chunks[r.chunk as usize];
    let items: Vec<(u64, Vec<Value>)> = (chunk.first..chunk.first + chunk.len)
        .map(|i| (call.task_base + i as u64, call.items.args(i)))
        .collect();
    w.assigned.push_back(r);
    w.chunks_taken += 1;
    host.send(
        w.id,
        &ToWorker::Chunk {
            chunk: r.encode(),
            func: call.func,
            items,
        },
    );
}

/// The tasks of a chunk its worker died in: each fails with `WorkerLostError`.
fn lose_chunk(host: &mut impl Emit, call: &mut CallState, r: ChunkRef, death: &Death) {
    let Some(&ChunkState { first, len, .. }) = call.chunk(r) else {
        return;
    };
    for index in first..first + len {
        let message = format!(
            "WorkerLostError: {} was lost: {} (pid {}) {}",
            call.task_label(index),
            death.name,
            death.pid,
            death.how()
        );
        if call.record(index, Err(message)) {
            host.emit(EventKind::TaskLost {
                task: call.task_base + index as u64,
                pid: death.pid,
                name: death.name.clone(),
                signal: death.signal(),
                exitcode: death.exitcode,
            });
        }
    }
}
