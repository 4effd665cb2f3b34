//! The scenario interpreter: executes one Python call at a time, and models blocking
//! calls (`join`, `map`, `get`, iterating `imap`) as waits the poll loop can resolve.

use std::time::{Duration, Instant};

use crate::engine::program::{Items, Op, Piece, SignalTarget, Slot, SubmitKind};
use crate::engine::protocol::{EventKind, Job, PoolStateName, Role, Stream};
use crate::engine::sys;
use crate::engine::value::Value;

use super::children::Owner;
use super::pool::default_chunksize;
use super::{Driver, ProcessObj};

/// A scenario variable at run time.
#[derive(Clone, Debug, Default)]
pub enum SlotVal {
    #[default]
    Empty,
    Process(usize),
    Pool(usize),
    Async(usize),
    Iter(usize),
    Value(Value),
}

#[derive(Clone, Copy, Debug, Default)]
enum Budget {
    #[default]
    Paused,
    Steps(usize),
    All,
}

/// A step that is waiting, as the Python call would block.
enum Blocked {
    Join {
        proc: usize,
        deadline: Option<Instant>,
    },
    PidKnown {
        proc: usize,
    },
    Get {
        call: usize,
        deadline: Option<Instant>,
        into: Option<Slot>,
        wait_only: bool,
    },
    Iterate {
        call: usize,
        next: usize,
        print: bool,
        into: Option<Slot>,
        collected: Vec<Value>,
    },
    JoinPool {
        pool: usize,
    },
    Sleep {
        until: Instant,
    },
    BusyWorker {
        pool: usize,
        signal: i32,
    },
}

enum Outcome {
    Done(String),
    Raise(String),
    Block(Blocked),
}

/// The step in progress: its place in the program (None when typed) and its Python.
struct Current {
    index: Option<usize>,
    python: String,
}

#[derive(Default)]
pub struct Interp {
    pc: usize,
    budget: Budget,
    blocked: Option<Blocked>,
    current: Option<Current>,
    /// Calls typed at the keyboard, run before the next scenario step.
    typed: std::collections::VecDeque<(Op, String)>,
    slots: Vec<SlotVal>,
    started: Option<Instant>,
    finished: bool,
    /// A value the current step produced, reported after it is done.
    result: Option<Value>,
}

impl Interp {
    pub fn new(slots: usize) -> Interp {
        Interp {
            slots: vec![SlotVal::Empty; slots],
            ..Interp::default()
        }
    }

    pub fn allow_steps(&mut self, n: usize) {
        self.budget = match self.budget {
            Budget::All => Budget::All,
            Budget::Steps(k) => Budget::Steps(k + n),
            Budget::Paused => Budget::Steps(n),
        };
    }

    pub fn allow_all(&mut self) {
        self.budget = Budget::All;
    }

    fn take_budget(&mut self) -> bool {
        match self.budget {
            Budget::All => true,
            Budget::Paused => false,
            Budget::Steps(n) => {
                self.budget = if n > 1 {
                    Budget::Steps(n - 1)
                } else {
                    Budget::Paused
                };
                true
            }
        }
    }

    /// When the poll loop must wake up for this interpreter (a timeout or a sleep).
    pub fn deadline(&self) -> Option<Instant> {
        match self.blocked.as_ref()? {
            Blocked::Join { deadline, .. } | Blocked::Get { deadline, .. } => *deadline,
            Blocked::Sleep { until } => Some(*until),
            _ => None,
        }
    }

    fn elapsed(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }
}

fn deadline_after(timeout: Option<f64>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + Duration::from_secs_f64(t.max(0.0)))
}

fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// A value shown in the event log, shortened so a 100,000-item list stays one line.
fn short(v: &Value) -> String {
    const LIMIT: usize = 120;
    /// Stops formatting once the limit is reached, so the cost does not grow with the list.
    struct Bounded(String);
    impl std::fmt::Write for Bounded {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.push_str(s);
            if self.0.len() > LIMIT {
                Err(std::fmt::Error)
            } else {
                Ok(())
            }
        }
    }
    let mut out = Bounded(String::new());
    if std::fmt::write(&mut out, format_args!("{v}")).is_ok() {
        return out.0;
    }
    let head: String = out.0.chars().take(LIMIT - 3).collect();
    format!("{head}...")
}

impl Driver {
    /// Runs steps while the budget allows and nothing blocks.
    pub(super) fn advance(&mut self) {
        loop {
            if self.interp.blocked.is_some() {
                match self.try_unblock() {
                    Some(result) => self.finish_step(result),
                    None => return,
                }
            }
            if let Some((op, python)) = self.interp.typed.pop_front() {
                self.begin_step(None, python, op);
                continue;
            }
            let Some(program) = &self.program else { return };
            if self.interp.finished {
                return;
            }
            if self.interp.pc >= program.steps.len() {
                self.interp.finished = true;
                let elapsed = self.interp.elapsed();
                self.emit(EventKind::Finished { elapsed });
                return;
            }
            if !self.interp.take_budget() {
                return;
            }
            let index = self.interp.pc;
            let step = program.steps[index].clone();
            self.interp.pc += 1;
            self.interp.started.get_or_insert_with(Instant::now);
            self.begin_step(Some(index), step.python, step.op);
        }
    }

    fn begin_step(&mut self, index: Option<usize>, python: String, op: Op) {
        self.interp.current = Some(Current {
            index,
            python: python.clone(),
        });
        self.emit(EventKind::Step { index, python });
        match self.exec(op) {
            Outcome::Done(text) => self.finish_step(Ok(text)),
            Outcome::Raise(message) => self.finish_step(Err(message)),
            Outcome::Block(b) => self.interp.blocked = Some(b),
        }
    }

    /// Queues a call typed at the keyboard; Python's main process can make it only when
    /// it is not blocked in another call.
    pub(super) fn interact(&mut self, op: Op, python: String) {
        if let Some(current) = &self.interp.current {
            let message = format!(
                "RuntimeError: the main process is blocked in {}",
                current.python.lines().next().unwrap_or("")
            );
            self.emit(EventKind::Error { message, python });
            return;
        }
        self.interp.typed.push_back((op, python));
    }

    /// The slot holding pool `pool` or the Process whose child is `pid`.
    pub(super) fn slot_of_pool(&self, pool: usize) -> Option<Slot> {
        self.interp
            .slots
            .iter()
            .position(|s| matches!(s, SlotVal::Pool(p) if *p == pool))
    }

    pub(super) fn slot_of_process_name(&self, name: &str) -> Option<Slot> {
        self.interp
            .slots
            .iter()
            .position(|s| matches!(s, SlotVal::Process(p) if self.processes[*p].name == name))
    }

    pub(super) fn slot_of_pid(&self, pid: i32) -> Option<Slot> {
        self.interp.slots.iter().position(|s| match s {
            SlotVal::Process(p) => self.processes[*p]
                .child
                .is_some_and(|c| self.children[c].pid == pid),
            _ => false,
        })
    }

    pub(super) fn pause(&mut self) {
        self.interp.budget = Budget::Paused;
    }

    fn finish_step(&mut self, result: Result<String, String>) {
        self.interp.blocked = None;
        let Some(Current { index, python }) = self.interp.current.take() else {
            return;
        };
        let outcome = match result {
            Ok(text) => text,
            Err(message) => {
                self.emit(EventKind::Error {
                    message: message.clone(),
                    python: python.clone(),
                });
                message
            }
        };
        self.emit(EventKind::StepDone {
            index,
            python: python.clone(),
            outcome,
        });
        if let Some(value) = self.interp.result.take() {
            self.emit(EventKind::Result { value, python });
        }
    }

    fn set_slot(&mut self, slot: Option<Slot>, value: SlotVal) {
        if let Some(s) = slot.and_then(|s| self.interp.slots.get_mut(s)) {
            *s = value;
        }
    }

    /// Binds a value the main process obtained and reports it.
    /// The `result` event follows the step's `step_done`, so the time a step took does not
    /// include reporting a large value.
    fn give(&mut self, into: Option<Slot>, value: Value) -> Outcome {
        let text = short(&value);
        self.interp.result = Some(value.clone());
        self.set_slot(into, SlotVal::Value(value));
        Outcome::Done(text)
    }

    fn slot(&self, slot: Slot) -> &SlotVal {
        self.interp.slots.get(slot).unwrap_or(&SlotVal::Empty)
    }

    fn slot_name(&self, slot: Slot) -> String {
        self.program
            .as_ref()
            .and_then(|p| p.slots.get(slot))
            .cloned()
            .unwrap_or_default()
    }

    fn undefined(&self, slot: Slot) -> Outcome {
        Outcome::Raise(format!(
            "NameError: name '{}' is not defined",
            self.slot_name(slot)
        ))
    }

    fn exec(&mut self, op: Op) -> Outcome {
        match op {
            Op::NewProcess {
                slot,
                target,
                name,
                method,
            } => self.new_process(slot, target, name, method),
            Op::Start { slot } => self.with_process(slot, super::Driver::start_process),
            Op::Join { slot, timeout } => {
                self.with_process(slot, |d, p| d.join_process(p, timeout))
            }
            Op::Terminate { slot } => {
                self.with_process(slot, |d, p| d.signal_process(p, libc::SIGTERM, "terminate"))
            }
            Op::Kill { slot } => {
                self.with_process(slot, |d, p| d.signal_process(p, libc::SIGKILL, "kill"))
            }
            Op::IsAlive { slot, into } => self.with_process(slot, |d, p| {
                let alive = d.process_alive(p);
                d.give(into, Value::Bool(alive))
            }),
            Op::ExitCode { slot, into } => self.with_process(slot, |d, p| {
                let code = d.process_exitcode(p);
                d.give(
                    into,
                    code.map_or(Value::None, |c| Value::Int(i128::from(c))),
                )
            }),
            Op::NewPool {
                slot,
                processes,
                initializer,
                maxtasksperchild,
                method,
            } => self.new_pool_step(slot, processes, initializer, maxtasksperchild, method),
            Op::Submit {
                pool,
                kind,
                func,
                items,
                chunksize,
                into,
            } => self.with_pool(pool, |d, p| {
                d.submit_step(p, kind, func, items, chunksize, into)
            }),
            Op::Get {
                slot,
                timeout,
                into,
            } => self.with_async(slot, |_, call| {
                Outcome::Block(Blocked::Get {
                    call,
                    deadline: deadline_after(timeout),
                    into,
                    wait_only: false,
                })
            }),
            Op::Wait { slot, timeout } => self.with_async(slot, |_, call| {
                Outcome::Block(Blocked::Get {
                    call,
                    deadline: deadline_after(timeout),
                    into: None,
                    wait_only: true,
                })
            }),
            Op::Ready { slot, into } => self.with_async(slot, |d, call| {
                let ready = d.calls[call].complete();
                d.give(into, Value::Bool(ready))
            }),
            Op::Iterate { slot, print, into } => match self.slot(slot).clone() {
                SlotVal::Iter(call) => Outcome::Block(Blocked::Iterate {
                    call,
                    next: 0,
                    print,
                    into,
                    collected: vec![],
                }),
                SlotVal::Empty => self.undefined(slot),
                _ => Outcome::Raise(format!(
                    "TypeError: '{}' is not iterable",
                    self.slot_name(slot)
                )),
            },
            Op::Close { slot } => self.with_pool(slot, |d, p| {
                if d.pools[p].state == PoolStateName::Run {
                    d.set_pool_state(p, PoolStateName::Close);
                }
                Outcome::Done("None".into())
            }),
            Op::JoinPool { slot } => self.with_pool(slot, |d, p| match d.pools[p].state {
                PoolStateName::Run => Outcome::Raise("ValueError: Pool is still running".into()),
                _ => Outcome::Block(Blocked::JoinPool { pool: p }),
            }),
            Op::TerminatePool { slot } | Op::WithExit { slot } => self.with_pool(slot, |d, p| {
                d.terminate_pool(p);
                Outcome::Done("None".into())
            }),
            Op::Print { pieces } => {
                let text = self.render(&pieces);
                self.print_main(&text);
                Outcome::Done(String::new())
            }
            Op::Clock => {
                self.interp.started = Some(Instant::now());
                Outcome::Done(String::new())
            }
            Op::Note => Outcome::Done(String::new()),
            Op::Sleep { seconds } => Outcome::Block(Blocked::Sleep {
                until: Instant::now() + Duration::from_secs_f64(seconds.max(0.0)),
            }),
            Op::Signal { target, signal } => self.signal_step(target, signal),
        }
    }

    fn with_process(
        &mut self,
        slot: Slot,
        f: impl FnOnce(&mut Driver, usize) -> Outcome,
    ) -> Outcome {
        match self.slot(slot).clone() {
            SlotVal::Process(p) => f(self, p),
            SlotVal::Empty => self.undefined(slot),
            _ => Outcome::Raise(format!(
                "TypeError: '{}' is not a Process",
                self.slot_name(slot)
            )),
        }
    }

    fn with_pool(&mut self, slot: Slot, f: impl FnOnce(&mut Driver, usize) -> Outcome) -> Outcome {
        match self.slot(slot).clone() {
            SlotVal::Pool(p) => f(self, p),
            SlotVal::Empty => self.undefined(slot),
            _ => Outcome::Raise(format!(
                "TypeError: '{}' is not a Pool",
                self.slot_name(slot)
            )),
        }
    }

    fn with_async(&mut self, slot: Slot, f: impl FnOnce(&mut Driver, usize) -> Outcome) -> Outcome {
        match self.slot(slot).clone() {
            SlotVal::Async(call) => f(self, call),
            SlotVal::Empty => self.undefined(slot),
            _ => Outcome::Raise(format!(
                "TypeError: '{}' is not an AsyncResult",
                self.slot_name(slot)
            )),
        }
    }

    fn new_process(
        &mut self,
        slot: Slot,
        target: crate::workload::Call,
        name: Option<String>,
        method: Option<crate::engine::program::StartMethod>,
    ) -> Outcome {
        self.identity += 1;
        let name = name.unwrap_or_else(|| format!("Process-{}", self.identity));
        let repr = format!("<Process name='{name}' parent={} initial>", self.me);
        self.emit(EventKind::ProcessObject {
            name: name.clone(),
            start_method: method.unwrap_or(self.settings.start_method),
        });
        self.processes.push(ProcessObj {
            name,
            target,
            child: None,
            exitcode: None,
            method,
        });
        let idx = self.processes.len() - 1;
        self.set_slot(Some(slot), SlotVal::Process(idx));
        Outcome::Done(repr)
    }

    fn start_process(&mut self, p: usize) -> Outcome {
        if self.processes[p].child.is_some() {
            return Outcome::Raise("AssertionError: cannot start a process twice".into());
        }
        let proc = &self.processes[p];
        let (name, job) = (proc.name.clone(), Job::Target(proc.target.clone()));
        let method = proc.method.unwrap_or(self.settings.start_method);
        match self.spawn_child(name, Role::Process, Owner::Process(p), method, job) {
            Ok(id) => {
                self.processes[p].child = Some(id);
                Outcome::Block(Blocked::PidKnown { proc: p })
            }
            Err(e) => Outcome::Raise(format!("OSError: cannot start process: {e}")),
        }
    }

    fn join_process(&mut self, p: usize, timeout: Option<f64>) -> Outcome {
        if self.processes[p].child.is_none() {
            return Outcome::Raise("AssertionError: can only join a started process".into());
        }
        Outcome::Block(Blocked::Join {
            proc: p,
            deadline: deadline_after(timeout),
        })
    }

    fn signal_process(&mut self, p: usize, signal: i32, method: &str) -> Outcome {
        let Some(id) = self.processes[p].child else {
            return Outcome::Raise(format!(
                "AttributeError: 'NoneType' object has no attribute '{method}'"
            ));
        };
        let c = &mut self.children[id];
        if !c.alive() {
            return Outcome::Done("None (already exited)".into());
        }
        let _ = c.signal(signal);
        Outcome::Done(format!(
            "None ({} sent to pid {})",
            sys::signal_name(signal),
            c.pid
        ))
    }

    fn process_alive(&mut self, p: usize) -> bool {
        let Some(id) = self.processes[p].child else {
            return false;
        };
        self.poll_exit(id);
        self.children[id].alive()
    }

    fn process_exitcode(&mut self, p: usize) -> Option<i32> {
        let id = self.processes[p].child?;
        self.poll_exit(id);
        self.children[id].exitcode
    }

    fn new_pool_step(
        &mut self,
        slot: Slot,
        processes: Option<i64>,
        initializer: Option<crate::workload::Call>,
        maxtasks: Option<i64>,
        method: Option<crate::engine::program::StartMethod>,
    ) -> Outcome {
        let processes = match self.settings.workers {
            Some(w) => w as i64,
            None => processes.unwrap_or_else(|| crate::engine::cpu_count() as i64),
        };
        if processes < 1 {
            return Outcome::Raise("ValueError: Number of processes must be at least 1".into());
        }
        let maxtasks = self.settings.maxtasksperchild.map(i64::from).or(maxtasks);
        if maxtasks.is_some_and(|m| m < 1) {
            return Outcome::Raise(
                "ValueError: maxtasksperchild must be a positive int or None".into(),
            );
        }
        let var = self.slot_name(slot);
        let maxtasks = maxtasks.map(|m| m.min(i64::from(u32::MAX)) as u32);
        let method = method.unwrap_or(self.settings.start_method);
        match self.new_pool(var, processes as usize, initializer, maxtasks, method) {
            Ok(p) => {
                self.set_slot(Some(slot), SlotVal::Pool(p));
                Outcome::Done(format!(
                    "<multiprocessing.pool.Pool state=RUN pool_size={processes}>"
                ))
            }
            Err(e) => Outcome::Raise(format!("OSError: cannot start the pool: {e}")),
        }
    }

    fn submit_step(
        &mut self,
        pool: usize,
        kind: SubmitKind,
        func: crate::workload::Func,
        items: Items,
        chunksize: Option<i64>,
        into: Option<Slot>,
    ) -> Outcome {
        if self.pools[pool].state != PoolStateName::Run {
            return Outcome::Raise("ValueError: Pool not running".into());
        }
        let chunksize = match self.settings.chunksize.map(|c| c as i64).or(chunksize) {
            Some(c) if c < 1 => {
                return Outcome::Raise(format!("ValueError: Chunksize must be 1+, not {c}"));
            }
            Some(c) => c as usize,
            None if kind.uses_default_chunksize_rule() => {
                default_chunksize(items.len(), self.pools[pool].processes)
            }
            None => 1,
        };
        let call = self.submit(pool, kind, func, items, chunksize);
        if kind.blocks() {
            return Outcome::Block(Blocked::Get {
                call,
                deadline: None,
                into,
                wait_only: false,
            });
        }
        if kind.is_iterator() {
            self.set_slot(into, SlotVal::Iter(call));
            let class = if kind == SubmitKind::Imap {
                "IMapIterator"
            } else {
                "IMapUnorderedIterator"
            };
            return Outcome::Done(format!("<multiprocessing.pool.{class} object>"));
        }
        self.set_slot(into, SlotVal::Async(call));
        let class = if kind.single() {
            "ApplyResult"
        } else {
            "MapResult"
        };
        Outcome::Done(format!("<multiprocessing.pool.{class} object>"))
    }

    fn signal_step(&mut self, target: SignalTarget, signal: i32) -> Outcome {
        match target {
            SignalTarget::Process(slot) => {
                self.with_process(slot, |d, p| d.signal_process(p, signal, "kill"))
            }
            SignalTarget::PoolWorker { pool, busy, index } => self.with_pool(pool, |d, p| {
                if busy {
                    return Outcome::Block(Blocked::BusyWorker { pool: p, signal });
                }
                match d.pools[p].workers.get(index).copied() {
                    Some(id) => d.signal_child(id, signal),
                    None => Outcome::Raise(format!("IndexError: pool has no worker {index}")),
                }
            }),
        }
    }

    fn signal_child(&mut self, id: usize, signal: i32) -> Outcome {
        let c = &mut self.children[id];
        match c.signal(signal) {
            Ok(()) => Outcome::Done(format!(
                "None ({} sent to {} pid {})",
                sys::signal_name(signal),
                c.name,
                c.pid
            )),
            Err(e) => Outcome::Raise(format!("ProcessLookupError: {e}")),
        }
    }

    fn render(&self, pieces: &[Piece]) -> String {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Elapsed => out.push_str(&self.interp.elapsed().to_string()),
                Piece::Pid => out.push_str(&self.me.to_string()),
                Piece::CpuCount => out.push_str(&crate::engine::cpu_count().to_string()),
                Piece::Var(slot) => out.push_str(&self.slot_text(*slot)),
            }
        }
        out
    }

    fn slot_text(&self, slot: Slot) -> String {
        match self.slot(slot) {
            SlotVal::Empty => "None".into(),
            SlotVal::Value(v) => v.to_string(),
            SlotVal::Process(p) => format!("<Process name='{}'>", self.processes[*p].name),
            SlotVal::Pool(_) => "<multiprocessing.pool.Pool>".into(),
            SlotVal::Async(_) => "<multiprocessing.pool.AsyncResult>".into(),
            SlotVal::Iter(_) => "<multiprocessing.pool.IMapIterator>".into(),
        }
    }

    /// The main process's own `print`: after everything children wrote before it.
    fn print_main(&mut self, text: &str) {
        self.drain_capture();
        let kind = EventKind::Output {
            pid: self.me,
            name: "MainProcess".into(),
            stream: Stream::Stdout,
            text: format!("{text}\n"),
        };
        self.emit(kind);
    }

    fn try_unblock(&mut self) -> Option<Result<String, String>> {
        let blocked = self.interp.blocked.take()?;
        let (result, keep) = self.check_blocked(blocked);
        self.interp.blocked = keep;
        result
    }

    fn check_blocked(
        &mut self,
        blocked: Blocked,
    ) -> (Option<Result<String, String>>, Option<Blocked>) {
        match blocked {
            Blocked::PidKnown { proc } => {
                let pid = self.processes[proc]
                    .child
                    .map_or(0, |id| self.children[id].pid);
                if pid != 0 {
                    return (Some(Ok(format!("None (pid {pid})"))), None);
                }
                (None, Some(Blocked::PidKnown { proc }))
            }
            Blocked::Join { proc, deadline } => match self.processes[proc].exitcode {
                Some(code) => (Some(Ok(format!("None (exitcode {code})"))), None),
                None if past(deadline) => {
                    (Some(Ok("None (timed out; still running)".into())), None)
                }
                None => (None, Some(Blocked::Join { proc, deadline })),
            },
            Blocked::Get {
                call,
                deadline,
                into,
                wait_only,
            } => {
                if self.calls[call].complete() {
                    if wait_only {
                        return (Some(Ok("None".into())), None);
                    }
                    self.heap_dirty |= self.calls[call].len > 1000;
                    let result = match self.calls[call].take_outcome() {
                        Ok(v) => match self.give(into, v) {
                            Outcome::Done(text) => Ok(text),
                            _ => Ok(String::new()),
                        },
                        Err(e) => Err(e),
                    };
                    return (Some(result), None);
                }
                if past(deadline) {
                    let r = if wait_only {
                        Ok("None".into())
                    } else {
                        Err("multiprocessing.context.TimeoutError".into())
                    };
                    return (Some(r), None);
                }
                (
                    None,
                    Some(Blocked::Get {
                        call,
                        deadline,
                        into,
                        wait_only,
                    }),
                )
            }
            Blocked::Iterate {
                call,
                next,
                print,
                into,
                collected,
            } => self.iterate(call, next, print, into, collected),
            Blocked::JoinPool { pool } => {
                if self.pools[pool].workers.is_empty() {
                    return (Some(Ok("None".into())), None);
                }
                (None, Some(Blocked::JoinPool { pool }))
            }
            Blocked::Sleep { until } => {
                if Instant::now() >= until {
                    return (Some(Ok("None".into())), None);
                }
                (None, Some(Blocked::Sleep { until }))
            }
            Blocked::BusyWorker { pool, signal } => {
                if let Some(id) = self.busy_worker(pool) {
                    return match self.signal_child(id, signal) {
                        Outcome::Done(t) => (Some(Ok(t)), None),
                        Outcome::Raise(e) => (Some(Err(e)), None),
                        Outcome::Block(_) => (None, None),
                    };
                }
                if !self.has_outstanding_work(pool)
                    || self.pools[pool].state == PoolStateName::Terminate
                {
                    return (
                        Some(Err(
                            "RuntimeError: no worker is busy and no task is queued".into()
                        )),
                        None,
                    );
                }
                (None, Some(Blocked::BusyWorker { pool, signal }))
            }
        }
    }

    /// `for r in it: print(r)`: yields results as they become available, in submission
    /// order for `imap` and in completion order for `imap_unordered`.
    fn iterate(
        &mut self,
        call: usize,
        mut next: usize,
        print: bool,
        into: Option<Slot>,
        mut collected: Vec<Value>,
    ) -> (Option<Result<String, String>>, Option<Blocked>) {
        loop {
            let c = &self.calls[call];
            if next == c.len {
                self.heap_dirty |= c.len > 1000;
                self.calls[call].take_outcome().ok();
                let result = match self.give(into, Value::List(collected)) {
                    Outcome::Done(text) => Ok(text),
                    _ => Ok(String::new()),
                };
                return (Some(result), None);
            }
            let index = match c.kind {
                SubmitKind::ImapUnordered => c.order.get(next).copied(),
                _ => c.results[next].as_ref().map(|_| next),
            };
            match index.and_then(|i| c.results[i].clone()) {
                Some(Ok(v)) => {
                    if print {
                        self.print_main(&v.to_string());
                    }
                    collected.push(v);
                    next += 1;
                }
                Some(Err(e)) => return (Some(Err(e)), None),
                None => {
                    if let Some(why) = &c.cancelled {
                        return (Some(Err(why.clone())), None);
                    }
                    let waiting = Blocked::Iterate {
                        call,
                        next,
                        print,
                        into,
                        collected,
                    };
                    return (None, Some(waiting));
                }
            }
        }
    }
}
