//! Python's `multiprocessing.Pool` inside the driver: worker upkeep, chunking, handing
//! out tasks, collecting results, and what happens when a worker dies mid-task.

use std::collections::VecDeque;
use std::time::Instant;

use crate::engine::program::{Items, StartMethod, SubmitKind};
use crate::engine::protocol::{EventKind, FromWorker, Job, PoolStateName, Role, ToWorker};
use crate::engine::sys;
use crate::engine::value::Value;
use crate::workload::{Call, Func, Raised};

use super::Driver;
use super::children::{ChildId, Owner};

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

pub struct Pool {
    pub var: String,
    pub state: PoolStateName,
    pub processes: usize,
    pub method: StartMethod,
    pub initializer: Option<Call>,
    pub maxtasks: Option<u32>,
    /// Workers not yet reaped.
    pub workers: Vec<ChildId>,
    pub pending: VecDeque<ChunkRef>,
    /// Workers that died before they were ready, in a row (a failing initializer).
    pub failed_starts: u32,
}

pub struct ChunkState {
    pub first: usize,
    pub len: usize,
    pub worker: Option<ChildId>,
    pub started: bool,
    pub done: bool,
}

/// One submitted call (`map`, `apply_async`, ...): its items, chunks and results.
pub struct CallState {
    pub pool: usize,
    pub kind: SubmitKind,
    pub func: Func,
    pub items: Items,
    pub len: usize,
    pub task_base: u64,
    pub chunks: Vec<ChunkState>,
    pub results: Vec<Option<Result<Value, String>>>,
    pub done: usize,
    /// Item indexes in the order their results arrived.
    pub order: Vec<usize>,
    pub cancelled: Option<String>,
    /// The result once taken; per-item state is released then.
    pub taken: Option<Result<Value, String>>,
}

impl CallState {
    pub fn complete(&self) -> bool {
        self.cancelled.is_some() || self.done == self.len
    }

    /// What `get()` returns or raises, computed once; afterwards the per-item state of a
    /// large call is freed, so later forks copy a small driver.
    pub fn take_outcome(&mut self) -> Result<Value, String> {
        if let Some(taken) = &self.taken {
            return taken.clone();
        }
        let outcome = self.outcome();
        self.taken = Some(outcome.clone());
        if self.len > 1000 {
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
}

/// Hands freed heap pages back to the kernel, so a fork copies only what is in use.
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
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

impl Driver {
    pub(super) fn new_pool(
        &mut self,
        var: String,
        processes: usize,
        initializer: Option<Call>,
        maxtasks: Option<u32>,
        method: StartMethod,
    ) -> std::io::Result<usize> {
        let idx = self.pools.len();
        self.pools.push(Pool {
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
        self.emit_pool_state(idx);
        self.fill_pool(idx)?;
        Ok(idx)
    }

    fn emit_pool_state(&mut self, pool: usize) {
        let p = &self.pools[pool];
        let kind = EventKind::PoolState {
            id: pool,
            processes: p.processes,
            pool: p.var.clone(),
            state: p.state,
        };
        self.emit(kind);
    }

    pub(super) fn set_pool_state(&mut self, pool: usize, state: PoolStateName) {
        self.pools[pool].state = state;
        self.emit_pool_state(pool);
    }

    /// Python's `_repopulate_pool`: start workers until there are `processes` of them.
    fn fill_pool(&mut self, pool: usize) -> std::io::Result<()> {
        // Workers told to stop are on their way out and do not count.
        let staying = |d: &Driver| {
            d.pools[pool]
                .workers
                .iter()
                .filter(|w| !d.children[**w].stop_sent)
                .count()
        };
        while staying(self) < self.pools[pool].processes {
            let p = &self.pools[pool];
            self.identity += 1;
            let name = format!("{}-{}", p.method.pool_worker_prefix(), self.identity);
            let job = Job::PoolWorker {
                initializer: p.initializer.clone(),
                maxtasks: p.maxtasks,
            };
            let method = p.method;
            let id = self.spawn_child(name, Role::PoolWorker, Owner::Pool(pool), method, job)?;
            self.pools[pool].workers.push(id);
        }
        Ok(())
    }

    pub(super) fn submit(
        &mut self,
        pool: usize,
        kind: SubmitKind,
        func: Func,
        items: Items,
        chunksize: usize,
    ) -> usize {
        let call = self.calls.len();
        let task_base = self.next_task;
        let total = items.len();
        self.next_task += total as u64;
        let mut chunks = Vec::new();
        let mut first = 0;
        while first < total {
            let len = chunksize.max(1).min(total - first);
            chunks.push(ChunkState {
                first,
                len,
                worker: None,
                started: false,
                done: false,
            });
            first += len;
        }
        for c in 0..chunks.len() {
            self.pools[pool].pending.push_back(ChunkRef {
                call: call as u32,
                chunk: c as u32,
            });
        }
        if self.task_events {
            for index in 0..total {
                let mut args = items.args(index);
                let args = if args.len() == 1 {
                    args.remove(0)
                } else {
                    Value::Tuple(args)
                };
                let kind = EventKind::TaskQueued {
                    task: task_base + index as u64,
                    call: call as u32,
                    index,
                    func,
                    args,
                };
                self.emit(kind);
            }
        }
        let submitted = EventKind::CallSubmitted {
            call: call as u32,
            pool,
            method: kind,
            func,
            len: total,
            chunksize,
        };
        self.emit(submitted);
        let results = vec![None; total];
        self.calls.push(CallState {
            pool,
            kind,
            func,
            items,
            len: total,
            task_base,
            chunks,
            results,
            done: 0,
            order: Vec::new(),
            cancelled: None,
            taken: None,
        });
        call
    }

    /// Hands queued chunks to workers with room, and sentinels once a closed pool is drained.
    pub(super) fn dispatch(&mut self, pool: usize) {
        for wi in 0..self.pools[pool].workers.len() {
            let id = self.pools[pool].workers[wi];
            self.feed_worker(pool, id);
        }
        let p = &self.pools[pool];
        if p.state != PoolStateName::Close || !p.pending.is_empty() {
            return;
        }
        for wi in 0..self.pools[pool].workers.len() {
            let id = self.pools[pool].workers[wi];
            let c = &mut self.children[id];
            if c.ready && c.alive() && !c.stop_sent && c.assigned.is_empty() {
                c.stop_sent = true;
                let _ = c.tx.push(&ToWorker::Stop);
            }
        }
    }

    fn feed_worker(&mut self, pool: usize, id: ChildId) {
        let maxtasks = self.pools[pool].maxtasks;
        loop {
            let c = &self.children[id];
            let has_room = c.ready && c.alive() && !c.stop_sent && c.assigned.len() < c.window;
            let under_max = maxtasks.is_none_or(|m| c.chunks_taken < m);
            if !has_room || !under_max {
                return;
            }
            let Some(chunk) = self.pools[pool].pending.pop_front() else {
                return;
            };
            self.assign(id, chunk);
        }
    }

    fn assign(&mut self, id: ChildId, r: ChunkRef) {
        let call = &mut self.calls[r.call as usize];
        let chunk = &mut call.chunks[r.chunk as usize];
        chunk.worker = Some(id);
        let items: Vec<(u64, Vec<Value>)> = (chunk.first..chunk.first + chunk.len)
            .map(|i| (call.task_base + i as u64, call.items.args(i)))
            .collect();
        let msg = ToWorker::Chunk {
            chunk: r.encode(),
            func: call.func,
            items,
        };
        let c = &mut self.children[id];
        c.assigned.push_back(r);
        c.chunks_taken += 1;
        let _ = c.tx.push(&msg);
    }

    pub(super) fn on_worker_message(&mut self, id: ChildId, msg: FromWorker) {
        match msg {
            FromWorker::Ready => self.on_ready(id),
            FromWorker::Started { task } => self.on_task_started(id, task),
            FromWorker::ChunkDone { chunk, results } => {
                self.on_chunk_done(id, ChunkRef::decode(chunk), results);
            }
        }
    }

    fn on_ready(&mut self, id: ChildId) {
        let c = &mut self.children[id];
        c.ready = true;
        c.ready_ms = c.requested.elapsed().as_secs_f64() * 1e3;
        if let Owner::Pool(pool) = c.owner {
            self.pools[pool].failed_starts = 0;
        }
        // A forkserver worker can say it is ready before its server has told us its PID;
        // then `spawned` waits for the PID.
        if c.pid != 0 {
            self.announce_spawned(id);
        }
    }

    pub(super) fn announce_spawned(&mut self, id: ChildId) {
        let c = &self.children[id];
        // Memory right after start tells the start methods apart; only the dashboard and
        // event logs want it, so the benchmark does not pay for the read.
        let rss_kib = if self.task_events {
            crate::engine::sys::rss_kib(c.pid)
        } else {
            None
        };
        let kind = EventKind::Spawned {
            name: c.name.clone(),
            pid: c.pid,
            ppid: c.ppid,
            role: c.role,
            start_method: c.method,
            start_ms: c.ready_ms,
            rss_kib,
        };
        self.emit(kind);
    }

    fn on_task_started(&mut self, id: ChildId, task: u64) {
        let c = &mut self.children[id];
        let found = c.assigned.iter().copied().find(|r| {
            let call = &self.calls[r.call as usize];
            let ch = &call.chunks[r.chunk as usize];
            let first = call.task_base + ch.first as u64;
            (first..first + ch.len as u64).contains(&task)
        });
        let Some(r) = found else { return };
        let chunk = &mut self.calls[r.call as usize].chunks[r.chunk as usize];
        if !chunk.started {
            chunk.started = true;
            c.chunk_started = Some(Instant::now());
        }
        c.running_task = Some(task);
        if self.task_events {
            let kind = EventKind::TaskStarted {
                task,
                pid: c.pid,
                name: c.name.clone(),
            };
            self.emit(kind);
        }
    }

    fn on_chunk_done(&mut self, id: ChildId, r: ChunkRef, results: Vec<Result<Value, Raised>>) {
        let c = &mut self.children[id];
        if let Some(pos) = c.assigned.iter().position(|a| *a == r) {
            c.assigned.remove(pos);
        }
        c.running_task = None;
        if let Some(t0) = c.chunk_started.take() {
            let secs = t0.elapsed().as_secs_f64();
            c.service_secs = if c.service_secs == 0.0 {
                secs
            } else {
                0.7 * c.service_secs + 0.3 * secs
            };
            c.window = window_for(c.service_secs);
        }
        let (pid, name) = (c.pid, c.name.clone());
        let Some(call) = self.calls.get_mut(r.call as usize) else {
            return;
        };
        let Some(chunk) = call.chunks.get_mut(r.chunk as usize) else {
            return;
        };
        chunk.done = true;
        let first = chunk.first;
        let mut events = Vec::new();
        for (k, result) in results.into_iter().enumerate() {
            let index = first + k;
            if index >= call.results.len() || call.results[index].is_some() {
                continue;
            }
            if self.task_events {
                let task = call.task_base + index as u64;
                events.push(match &result {
                    Ok(v) => EventKind::TaskDone {
                        task,
                        pid,
                        name: name.clone(),
                        result: v.clone(),
                    },
                    Err(e) => EventKind::TaskFailed {
                        task,
                        pid,
                        name: name.clone(),
                        error: e.0.clone(),
                    },
                });
            }
            call.results[index] = Some(result.map_err(|e| e.0));
            call.done += 1;
            call.order.push(index);
        }
        for event in events {
            self.emit(event);
        }
    }

    /// A pool worker ended: report what it was running, put back what it had not
    /// started, and replace it while the pool still needs workers.
    pub(super) fn on_worker_exit(&mut self, pool: usize, id: ChildId, exitcode: i32) {
        self.pools[pool].workers.retain(|w| *w != id);
        let assigned: Vec<ChunkRef> = self.children[id].assigned.drain(..).collect();
        let terminating = self.pools[pool].state == PoolStateName::Terminate;
        let mut requeue = Vec::new();
        for r in assigned {
            let Some(chunk) = self
                .calls
                .get(r.call as usize)
                .and_then(|c| c.chunks.get(r.chunk as usize))
            else {
                continue;
            };
            let started = chunk.started;
            if terminating {
                continue;
            }
            if started {
                self.lose_chunk(id, r, exitcode);
            } else {
                self.calls[r.call as usize].chunks[r.chunk as usize].worker = None;
                requeue.push(r);
            }
        }
        for r in requeue.into_iter().rev() {
            self.pools[pool].pending.push_front(r);
        }
        if !self.children[id].ready && exitcode != 0 {
            self.pools[pool].failed_starts += 1;
        }
        self.maintain_pool(pool);
    }

    fn lose_chunk(&mut self, id: ChildId, r: ChunkRef, exitcode: i32) {
        let c = &self.children[id];
        let (pid, name) = (c.pid, c.name.clone());
        let signal = (exitcode < 0).then_some(-exitcode);
        let how = match signal {
            Some(s) => format!("was killed by {}", sys::signal_name(s)),
            None => format!("exited with code {exitcode}"),
        };
        let call = &mut self.calls[r.call as usize];
        let chunk = &call.chunks[r.chunk as usize];
        let mut events = Vec::new();
        for index in chunk.first..chunk.first + chunk.len {
            if call.results[index].is_some() {
                continue;
            }
            let task = call.task_base + index as u64;
            let message = format!(
                "WorkerLostError: {} was lost: {name} (pid {pid}) {how}",
                call.task_label(index)
            );
            call.results[index] = Some(Err(message));
            call.done += 1;
            call.order.push(index);
            events.push(EventKind::TaskLost {
                task,
                pid,
                name: name.clone(),
                signal,
                exitcode,
            });
        }
        for e in events {
            self.emit(e);
        }
    }

    pub(super) fn has_outstanding_work(&self, pool: usize) -> bool {
        let p = &self.pools[pool];
        !p.pending.is_empty()
            || p.workers
                .iter()
                .any(|w| !self.children[*w].assigned.is_empty())
    }

    /// Python's `_maintain_pool`: replace exited workers while running, and while a
    /// closed pool still has tasks to finish.
    pub(super) fn maintain_pool(&mut self, pool: usize) {
        if self.shutting_down() {
            return;
        }
        let p = &self.pools[pool];
        let needed = match p.state {
            PoolStateName::Run => true,
            PoolStateName::Close => self.has_outstanding_work(pool),
            PoolStateName::Terminate => false,
        };
        if !needed {
            return;
        }
        if self.pools[pool].failed_starts >= 5 {
            let message = format!(
                "RuntimeError: pool '{}' stopped replacing workers: 5 in a row died while starting",
                self.pools[pool].var
            );
            self.emit(EventKind::Error {
                message,
                python: String::new(),
            });
            self.cancel_pool_calls(pool, "RuntimeError: pool workers keep dying while starting");
            self.pools[pool].state = PoolStateName::Terminate;
            self.emit_pool_state(pool);
            return;
        }
        if let Err(e) = self.fill_pool(pool) {
            let message = format!("OSError: cannot start a pool worker: {e}");
            self.emit(EventKind::Error {
                message,
                python: String::new(),
            });
        }
    }

    /// Python's `Pool.terminate()`: stop at once, SIGTERM every worker.
    pub(super) fn terminate_pool(&mut self, pool: usize) {
        if self.pools[pool].state == PoolStateName::Terminate {
            return;
        }
        self.set_pool_state(pool, PoolStateName::Terminate);
        self.pools[pool].pending.clear();
        self.cancel_pool_calls(
            pool,
            "RuntimeError: the pool was terminated before this result was ready (Python would wait forever)",
        );
        for wi in 0..self.pools[pool].workers.len() {
            let id = self.pools[pool].workers[wi];
            let _ = self.children[id].signal(libc::SIGTERM);
        }
    }

    fn cancel_pool_calls(&mut self, pool: usize, why: &str) {
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
    pub(super) fn resize_pool(&mut self, pool: usize, processes: usize) {
        if self.pools[pool].state == PoolStateName::Terminate || processes == 0 {
            return;
        }
        self.pools[pool].processes = processes;
        let mut active: Vec<ChildId> = self.pools[pool]
            .workers
            .iter()
            .copied()
            .filter(|w| !self.children[*w].stop_sent)
            .collect();
        // Idle workers retire first.
        active.sort_by_key(|w| self.children[*w].assigned.len());
        for id in active
            .iter()
            .copied()
            .take(active.len().saturating_sub(processes))
        {
            let c = &mut self.children[id];
            c.stop_sent = true;
            let _ = c.tx.push(&ToWorker::Stop);
        }
        if let Err(e) = self.fill_pool(pool) {
            let message = format!("OSError: cannot start a pool worker: {e}");
            self.emit(EventKind::Error {
                message,
                python: String::new(),
            });
        }
        self.emit_pool_state(pool);
    }

    /// The first worker of a pool that is in the middle of a task.
    pub(super) fn busy_worker(&self, pool: usize) -> Option<ChildId> {
        self.pools[pool].workers.iter().copied().find(|w| {
            let c = &self.children[*w];
            c.alive() && c.running_task.is_some()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
