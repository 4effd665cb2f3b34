//! The scenario interpreter: one Python call at a time; blocking calls (`join`, `map`, `get`,
//! iterating `imap`) are waits the poll loop resolves. It owns the program and its variables.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::engine::program::{
    Callbacks, Items, Op, Piece, Program, RunSettings, SignalTarget, Slot, StartMethod, SubmitKind,
};
use crate::engine::protocol::{EventKind, Interactive, PoolStateName, Stream};
use crate::engine::sys;
use crate::engine::value::{ListBuilder, Value};
use crate::workload::{Call, Func};

use super::children::ChildId;
use super::machine::{Machine, ProcessObj};

/// A scenario variable at run time.
#[derive(Clone, Debug, Default)]
enum SlotVal {
    #[default]
    Empty,
    Process(usize),
    Pool(usize),
    Async(usize),
    /// An imap iterator over a call, and how many results it has yielded.
    Iter {
        call: usize,
        next: usize,
    },
    Value(Value),
}

#[derive(Clone, Copy, Debug, Default)]
enum Budget {
    #[default]
    Paused,
    Steps(usize),
    All,
}

/// `r.get()` or `r.wait()` in progress.
struct Getting {
    call: usize,
    deadline: Option<Instant>,
    into: Option<Slot>,
    wait_only: bool,
}

/// `for r in it:` in progress: what it has yielded so far.
struct Iteration {
    /// The iterator's variable: it remembers where the loop stopped, as Python's does.
    slot: Slot,
    call: usize,
    next: usize,
    print: bool,
    into: Option<Slot>,
    collected: ListBuilder,
}

/// `it.next(timeout)` in progress.
struct NextItem {
    slot: Slot,
    call: usize,
    at: usize,
    deadline: Option<Instant>,
    into: Option<Slot>,
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
    Get(Getting),
    Iterate(Iteration),
    Next(NextItem),
    JoinPool {
        pool: usize,
    },
    Sleep {
        /// None: longer than the clock holds, so for ever.
        until: Option<Instant>,
    },
    BusyWorker {
        pool: usize,
        signal: i32,
    },
    /// The program has ended: multiprocessing's exit handler waits for every child.
    Exiting,
}

/// The line the program's end stands for, when children are still there.
const AT_EXIT: &str = "# end of the program: multiprocessing's exit handler terminates the pools \
and daemonic processes, then joins every other process";

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

/// The arguments of a `pool.map(...)`-like step.
struct Submission {
    kind: SubmitKind,
    func: Func,
    items: Items,
    chunksize: Option<i64>,
    into: Option<Slot>,
    callbacks: Callbacks,
}

#[derive(Default)]
pub struct Interp {
    program: Option<Program>,
    settings: RunSettings,
    pc: usize,
    budget: Budget,
    blocked: Option<Blocked>,
    current: Option<Current>,
    /// Calls typed at the keyboard, run before the next scenario step.
    typed: VecDeque<(Op, String)>,
    slots: Vec<SlotVal>,
    started: Option<Instant>,
    /// The program's end has been reached and its exit handler run.
    exited: bool,
    finished: bool,
    /// A value the current step produced, reported after it is done.
    result: Option<Value>,
    /// Calls whose callbacks have not run yet, in submission order.
    callbacks: Vec<(usize, Callbacks)>,
}

/// When a wait of `timeout` seconds ends; `None` for no timeout, and for one too long to
/// be a moment (infinite or beyond what the clock holds), which waits as long.
fn deadline_after(timeout: Option<f64>) -> Option<Instant> {
    let wait = Duration::try_from_secs_f64(timeout?.max(0.0)).ok()?;
    Instant::now().checked_add(wait)
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

impl Interp {
    pub fn new(program: Program) -> Interp {
        Interp {
            slots: vec![SlotVal::Empty; program.slots.len()],
            settings: program.settings.clone(),
            program: Some(program),
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

    pub fn pause(&mut self) {
        self.budget = Budget::Paused;
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
            Blocked::Join { deadline, .. } | Blocked::Get(Getting { deadline, .. }) => *deadline,
            Blocked::Sleep { until } => *until,
            _ => None,
        }
    }

    fn elapsed(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    /// Runs steps while the budget allows and nothing blocks.
    pub fn advance(&mut self, m: &mut Machine) {
        loop {
            // Python runs a callback in the main process as the result comes in, before
            // a `get()` waiting for it returns.
            self.run_callbacks(m);
            if self.blocked.is_some() {
                match self.try_unblock(m) {
                    Some(result) => self.finish_step(m, result),
                    None => return,
                }
            }
            if let Some((op, python)) = self.typed.pop_front() {
                self.begin_step(m, None, python, Some(op));
                continue;
            }
            let Some(steps) = self.program.as_ref().map(|p| p.steps.len()) else {
                return;
            };
            if self.finished {
                return;
            }
            if self.pc >= steps && !self.exited {
                self.exited = true;
                if children_remain(m) {
                    self.begin_step(m, Some(steps), AT_EXIT.into(), None);
                    continue;
                }
            }
            if self.pc >= steps {
                self.finished = true;
                m.emit(EventKind::Finished {
                    status: None,
                    elapsed: self.elapsed(),
                });
                return;
            }
            if !self.take_budget() {
                return;
            }
            let index = self.pc;
            let Some(step) = self.program.as_ref().and_then(|p| p.steps.get(index)) else {
                return;
            };
            let (python, op) = (step.python.clone(), step.op.clone());
            self.pc += 1;
            self.started.get_or_insert_with(Instant::now);
            self.begin_step(m, Some(index), python, Some(op));
        }
    }

    /// Runs `op`; without one, the program's end (Python's exit handler).
    fn begin_step(
        &mut self,
        m: &mut Machine,
        index: Option<usize>,
        python: String,
        op: Option<Op>,
    ) {
        self.current = Some(Current {
            index,
            python: python.clone(),
        });
        m.emit(EventKind::Step { index, python });
        let outcome = match op {
            Some(op) => self.exec(m, op),
            None => at_exit(m),
        };
        match outcome {
            Outcome::Done(text) => self.finish_step(m, Ok(text)),
            Outcome::Raise(message) => self.finish_step(m, Err(message)),
            Outcome::Block(b) => self.blocked = Some(b),
        }
    }

    fn finish_step(&mut self, m: &mut Machine, result: Result<String, String>) {
        self.blocked = None;
        let Some(Current { index, python }) = self.current.take() else {
            return;
        };
        let outcome = match result {
            Ok(text) => text,
            Err(message) => {
                m.emit(EventKind::Error {
                    message: message.clone(),
                    python: python.clone(),
                });
                message
            }
        };
        m.emit(EventKind::StepDone {
            index,
            python: python.clone(),
            outcome,
        });
        if let Some(value) = self.result.take()
            && m.report_values
        {
            m.emit(EventKind::Result { value, python });
        }
    }

    /// A call the dashboard makes on the scenario's objects, as if typed.
    pub fn on_interactive(&mut self, m: &mut Machine, call: Interactive) {
        let pool_call = |i: &Interp, pool: usize, make: fn(Slot) -> Op, method: &str| {
            let slot = i.slot_of_pool(pool)?;
            Some((make(slot), format!("{}.{method}()", m.pools.get(pool).var)))
        };
        let typed = match call {
            Interactive::Resize { pool, processes } => {
                if pool < m.pools.count() {
                    let (pools, mut hands) = m.split();
                    pools.resize(&mut hands, pool, processes);
                }
                return;
            }
            Interactive::StartProcess { name } => self.slot_of_process_name(m, &name).map(|slot| {
                (
                    Op::Start { slot },
                    format!("{}.start()", self.slot_name(slot)),
                )
            }),
            Interactive::JoinProcess { pid } => self.slot_of_pid(m, pid).map(|slot| {
                let op = Op::Join {
                    slot,
                    timeout: None,
                };
                (op, format!("{}.join()", self.slot_name(slot)))
            }),
            Interactive::ClosePool { pool } => {
                pool_call(self, pool, |slot| Op::Close { slot }, "close")
            }
            Interactive::JoinPool { pool } => {
                let join = |slot| Op::JoinPool {
                    slot,
                    timeout: None,
                };
                pool_call(self, pool, join, "join")
            }
            Interactive::TerminatePool { pool } => {
                pool_call(self, pool, |slot| Op::TerminatePool { slot }, "terminate")
            }
        };
        match typed {
            Some((op, python)) => self.interact(m, op, python),
            None => m.emit(EventKind::Error {
                message: "NameError: no such Process or Pool in this scenario".into(),
                python: String::new(),
            }),
        }
    }

    /// Queues a call typed at the keyboard; Python's main process can make it only when
    /// it is not blocked in another call.
    fn interact(&mut self, m: &mut Machine, op: Op, python: String) {
        if let Some(current) = &self.current {
            let message = format!(
                "RuntimeError: the main process is blocked in {}",
                current.python.lines().next().unwrap_or("")
            );
            m.emit(EventKind::Error { message, python });
            return;
        }
        self.typed.push_back((op, python));
    }

    fn slot_of_pool(&self, pool: usize) -> Option<Slot> {
        self.slots
            .iter()
            .position(|s| matches!(s, SlotVal::Pool(p) if *p == pool))
    }

    fn slot_of_process_name(&self, m: &Machine, name: &str) -> Option<Slot> {
        self.slots
            .iter()
            .position(|s| matches!(s, SlotVal::Process(p) if m.processes[*p].name == name))
    }

    fn slot_of_pid(&self, m: &Machine, pid: i32) -> Option<Slot> {
        self.slots.iter().position(|s| match s {
            SlotVal::Process(p) => m.processes[*p]
                .child
                .is_some_and(|c| m.children.get(c).pid() == pid),
            _ => false,
        })
    }

    fn set_slot(&mut self, slot: Option<Slot>, value: SlotVal) {
        if let Some(s) = slot.and_then(|s| self.slots.get_mut(s)) {
            *s = value;
        }
    }

    /// Binds a value the main process obtained and reports it.
    /// The `result` event follows the step's `step_done`, so the time a step took does not
    /// include reporting a large value.
    fn give(&mut self, into: Option<Slot>, value: Value) -> Outcome {
        let text = short(&value);
        self.result = Some(value.clone());
        self.set_slot(into, SlotVal::Value(value));
        Outcome::Done(text)
    }

    fn slot(&self, slot: Slot) -> &SlotVal {
        self.slots.get(slot).unwrap_or(&SlotVal::Empty)
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

    fn not_a(&self, slot: Slot, what: &str) -> Outcome {
        Outcome::Raise(format!("TypeError: '{}' {what}", self.slot_name(slot)))
    }

    fn exec(&mut self, m: &mut Machine, op: Op) -> Outcome {
        match op {
            Op::NewProcess {
                slot,
                target,
                name,
                method,
                daemon,
            } => {
                let n = m.children.next_identity();
                let class = method.map_or("Process", StartMethod::process_class);
                let object = ProcessObj {
                    name: name.unwrap_or_else(|| format!("{class}-{n}")),
                    target,
                    child: None,
                    exitcode: None,
                    method,
                    daemon,
                };
                self.new_process(m, slot, object)
            }
            Op::Start { slot } => self.with_process(m, slot, Interp::start_process),
            Op::Join { slot, timeout } => {
                self.with_process(m, slot, |_, m, p| join_process(m, p, timeout))
            }
            Op::Terminate { slot } => self.signal_process(m, slot, libc::SIGTERM, "terminate"),
            Op::Kill { slot } => self.signal_process(m, slot, libc::SIGKILL, "kill"),
            Op::IsAlive { slot, into } => self.is_alive(m, slot, into),
            Op::ExitCode { slot, into } => self.exitcode(m, slot, into),
            Op::NewPool {
                slot,
                processes,
                initializer,
                maxtasksperchild,
                method,
            } => self.new_pool(m, slot, processes, initializer, maxtasksperchild, method),
            Op::Submit {
                pool,
                kind,
                func,
                items,
                chunksize,
                into,
                callbacks,
            } => {
                let call = Submission {
                    kind,
                    func,
                    items,
                    chunksize,
                    into,
                    callbacks,
                };
                self.with_pool(m, pool, |i, m, p| i.submit(m, p, call))
            }
            Op::Get {
                slot,
                timeout,
                into,
            } => self.wait_for(m, slot, timeout, into, false),
            Op::Wait { slot, timeout } => self.wait_for(m, slot, timeout, None, true),
            Op::Ready { slot, into } => self.ready(m, slot, into),
            Op::Successful { slot, into } => self.successful(m, slot, into),
            Op::Next {
                slot,
                timeout,
                into,
            } => self.next_of(slot, timeout, into),
            Op::Iterate { slot, print, into } => self.iterate_over(slot, print, into),
            Op::Close { slot } => self.with_pool(m, slot, |_, m, p| close_pool(m, p)),
            Op::JoinPool { slot, timeout } => {
                self.with_pool(m, slot, |_, m, p| join_pool(m, p, timeout))
            }
            Op::TerminatePool { slot } | Op::WithExit { slot } => {
                self.with_pool(m, slot, |_, m, p| terminate_pool(m, p))
            }
            Op::Print { pieces } => self.print(m, &pieces),
            Op::Clock => {
                self.started = Some(Instant::now());
                Outcome::Done(String::new())
            }
            Op::Note => Outcome::Done(String::new()),
            Op::Sleep { seconds } => Outcome::Block(Blocked::Sleep {
                until: deadline_after(Some(seconds)),
            }),
            Op::Signal { target, signal } => self.signal_step(m, &target, signal),
        }
    }

    /// `p.terminate()`, `p.kill()`, `os.kill(p.pid, signal)`.
    fn signal_process(
        &mut self,
        m: &mut Machine,
        slot: Slot,
        signal: i32,
        method: &str,
    ) -> Outcome {
        self.with_process(m, slot, |_, m, p| signal_process(m, p, signal, method))
    }

    fn is_alive(&mut self, m: &mut Machine, slot: Slot, into: Option<Slot>) -> Outcome {
        self.with_process(m, slot, |i, m, p| {
            let alive = process_alive(m, p);
            i.give(into, Value::Bool(alive))
        })
    }

    fn exitcode(&mut self, m: &mut Machine, slot: Slot, into: Option<Slot>) -> Outcome {
        self.with_process(m, slot, |i, m, p| {
            let code = process_exitcode(m, p);
            i.give(
                into,
                code.map_or(Value::None, |c| Value::Int(i128::from(c))),
            )
        })
    }

    /// `r.ready()`.
    fn ready(&mut self, m: &mut Machine, slot: Slot, into: Option<Slot>) -> Outcome {
        self.with_async(m, slot, |i, m, call| {
            // A call cut short by terminate() never becomes ready, as in Python (whose
            // get() would then wait forever, where pooltop's raises).
            let ready = m.pools.call(call).all_in();
            i.give(into, Value::Bool(ready))
        })
    }

    fn print(&mut self, m: &mut Machine, pieces: &[Piece]) -> Outcome {
        let text = self.render(m, pieces);
        print_main(m, &text);
        Outcome::Done(String::new())
    }

    fn with_process(
        &mut self,
        m: &mut Machine,
        slot: Slot,
        f: impl FnOnce(&mut Interp, &mut Machine, usize) -> Outcome,
    ) -> Outcome {
        match self.slot(slot).clone() {
            SlotVal::Process(p) => f(self, m, p),
            SlotVal::Empty => self.undefined(slot),
            _ => self.not_a(slot, "is not a Process"),
        }
    }

    fn with_pool(
        &mut self,
        m: &mut Machine,
        slot: Slot,
        f: impl FnOnce(&mut Interp, &mut Machine, usize) -> Outcome,
    ) -> Outcome {
        match self.slot(slot).clone() {
            SlotVal::Pool(p) => f(self, m, p),
            SlotVal::Empty => self.undefined(slot),
            _ => self.not_a(slot, "is not a Pool"),
        }
    }

    fn with_async(
        &mut self,
        m: &mut Machine,
        slot: Slot,
        f: impl FnOnce(&mut Interp, &mut Machine, usize) -> Outcome,
    ) -> Outcome {
        match self.slot(slot).clone() {
            SlotVal::Async(call) => f(self, m, call),
            SlotVal::Empty => self.undefined(slot),
            _ => self.not_a(slot, "is not an AsyncResult"),
        }
    }

    /// `p = Process(...)`: an object in Python's state `initial`, no OS process yet.
    fn new_process(&mut self, m: &mut Machine, slot: Slot, object: ProcessObj) -> Outcome {
        let daemon = if object.daemon { " daemon" } else { "" };
        let repr = format!(
            "<{} name='{}' parent={} initial{daemon}>",
            object.class(),
            object.name,
            m.children.me()
        );
        m.emit(EventKind::ProcessObject {
            name: object.name.clone(),
            start_method: object.method.unwrap_or(self.settings.start_method),
            daemon: object.daemon,
        });
        m.processes.push(object);
        self.set_slot(Some(slot), SlotVal::Process(m.processes.len() - 1));
        Outcome::Done(repr)
    }

    fn start_process(&mut self, m: &mut Machine, p: usize) -> Outcome {
        let proc = &m.processes[p];
        if proc.child.is_some() {
            return Outcome::Raise("AssertionError: cannot start a process twice".into());
        }
        let method = proc.method.unwrap_or(self.settings.start_method);
        match m.start_process(p, method) {
            Ok(_) => Outcome::Block(Blocked::PidKnown { proc: p }),
            Err(e) => Outcome::Raise(format!("OSError: cannot start process: {e}")),
        }
    }

    fn new_pool(
        &mut self,
        m: &mut Machine,
        slot: Slot,
        processes: Option<i64>,
        initializer: Option<Call>,
        maxtasks: Option<i64>,
        method: Option<StartMethod>,
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
        let (pools, mut hands) = m.split();
        match pools.new_pool(
            &mut hands,
            var,
            processes as usize,
            initializer,
            maxtasks,
            method,
        ) {
            Ok(p) => {
                self.set_slot(Some(slot), SlotVal::Pool(p));
                Outcome::Done(format!(
                    "<multiprocessing.pool.Pool state=RUN pool_size={processes}>"
                ))
            }
            Err(e) => Outcome::Raise(format!("OSError: cannot start the pool: {e}")),
        }
    }

    fn submit(&mut self, m: &mut Machine, pool: usize, s: Submission) -> Outcome {
        if m.pools.get(pool).state() != PoolStateName::Run {
            return Outcome::Raise("ValueError: Pool not running".into());
        }
        let chunksize = match self.settings.chunksize.map(|c| c as i64).or(s.chunksize) {
            Some(c) if c < 1 => {
                return Outcome::Raise(format!("ValueError: Chunksize must be 1+, not {c}"));
            }
            other => other.map(|c| c as usize),
        };
        let call = m
            .pools
            .submit(&mut m.outbox, pool, s.kind, s.func, s.items, chunksize);
        if s.kind.blocks() {
            return Outcome::Block(Blocked::Get(Getting {
                call,
                deadline: None,
                into: s.into,
                wait_only: false,
            }));
        }
        if s.callbacks != Callbacks::default() {
            self.callbacks.push((call, s.callbacks));
        }
        if s.kind.is_iterator() {
            self.set_slot(s.into, SlotVal::Iter { call, next: 0 });
            let class = if s.kind == SubmitKind::Imap {
                "IMapIterator"
            } else {
                "IMapUnorderedIterator"
            };
            return Outcome::Done(format!("<multiprocessing.pool.{class} object>"));
        }
        self.set_slot(s.into, SlotVal::Async(call));
        let class = if s.kind.single() {
            "ApplyResult"
        } else {
            "MapResult"
        };
        Outcome::Done(format!("<multiprocessing.pool.{class} object>"))
    }

    /// `r.get(timeout)` or `r.wait(timeout)`: blocks until the call is complete.
    fn wait_for(
        &mut self,
        m: &mut Machine,
        slot: Slot,
        timeout: Option<f64>,
        into: Option<Slot>,
        wait_only: bool,
    ) -> Outcome {
        self.with_async(m, slot, |_, _, call| {
            Outcome::Block(Blocked::Get(Getting {
                call,
                deadline: deadline_after(timeout),
                into,
                wait_only,
            }))
        })
    }

    fn iterate_over(&self, slot: Slot, print: bool, into: Option<Slot>) -> Outcome {
        match *self.slot(slot) {
            SlotVal::Iter { call, next } => Outcome::Block(Blocked::Iterate(Iteration {
                slot,
                call,
                next,
                print,
                into,
                collected: ListBuilder::default(),
            })),
            SlotVal::Empty => self.undefined(slot),
            _ => self.not_a(slot, "is not iterable"),
        }
    }

    fn next_of(&self, slot: Slot, timeout: Option<f64>, into: Option<Slot>) -> Outcome {
        match *self.slot(slot) {
            SlotVal::Iter { call, next } => Outcome::Block(Blocked::Next(NextItem {
                slot,
                call,
                at: next,
                deadline: deadline_after(timeout),
                into,
            })),
            SlotVal::Empty => self.undefined(slot),
            _ => self.not_a(slot, "is not an iterator"),
        }
    }

    /// The iterator in `slot` has yielded `next` results.
    fn moved_to(&mut self, slot: Slot, next: usize) {
        if let Some(SlotVal::Iter { next: at, .. }) = self.slots.get_mut(slot) {
            *at = next;
        }
    }

    /// `r.successful()`: Python's `ValueError` while the result is not ready.
    fn successful(&mut self, m: &mut Machine, slot: Slot, into: Option<Slot>) -> Outcome {
        self.with_async(m, slot, |i, m, call| {
            let c = m.pools.call(call);
            if !c.all_in() {
                let class = if c.single() {
                    "ApplyResult"
                } else {
                    "MapResult"
                };
                // Python's repr holds the object's address; this one stands for it.
                let address = 0x7f3a_1c00_0000_u64 + call as u64 * 0x50;
                return Outcome::Raise(format!(
                    "ValueError: <multiprocessing.pool.{class} object at {address:#x}> not ready"
                ));
            }
            let succeeded = !c.failed();
            i.give(into, Value::Bool(succeeded))
        })
    }

    /// Runs the callbacks of calls whose every result is in; a call cut short by
    /// `terminate()` never calls back.
    fn run_callbacks(&mut self, m: &mut Machine) {
        let mut i = 0;
        while let Some(&(call, callbacks)) = self.callbacks.get(i) {
            let c = m.pools.call(call);
            if c.cancelled().is_some() {
                self.callbacks.remove(i);
                continue;
            }
            if !c.all_in() {
                i += 1;
                continue;
            }
            self.callbacks.remove(i);
            let text = match c.outcome() {
                Ok(value) => callbacks.on_result.map(|_| value.to_string()),
                // print(exc) writes the message alone, without the exception's type.
                Err(e) => callbacks
                    .on_error
                    .map(|_| e.split_once(": ").map_or(e.as_str(), |(_, m)| m).to_owned()),
            };
            if let Some(text) = text {
                print_main(m, &text);
            }
        }
    }

    fn signal_step(&mut self, m: &mut Machine, target: &SignalTarget, signal: i32) -> Outcome {
        match *target {
            SignalTarget::Process(slot) => self.signal_process(m, slot, signal, "kill"),
            SignalTarget::PoolWorker { pool, busy, index } => self.with_pool(m, pool, |_, m, p| {
                if busy {
                    return Outcome::Block(Blocked::BusyWorker { pool: p, signal });
                }
                match m.pools.get(p).worker(index) {
                    Some(id) => signal_child(m, id, signal),
                    None => Outcome::Raise(format!("IndexError: pool has no worker {index}")),
                }
            }),
        }
    }

    fn render(&self, m: &mut Machine, pieces: &[Piece]) -> String {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Elapsed => out.push_str(&self.elapsed().to_string()),
                Piece::Pid => out.push_str(&m.children.me().to_string()),
                Piece::CpuCount => out.push_str(&crate::engine::cpu_count().to_string()),
                Piece::Var(slot) => out.push_str(&self.slot_text(m, *slot)),
                Piece::ProcessName => out.push_str("MainProcess"),
                Piece::ActiveCount => out.push_str(&m.active_children().len().to_string()),
                Piece::ActiveChildren => {
                    out.push('[');
                    out.push_str(&m.active_children().join(", "));
                    out.push(']');
                }
            }
        }
        out
    }

    fn slot_text(&self, m: &Machine, slot: Slot) -> String {
        match self.slot(slot) {
            SlotVal::Empty => "None".into(),
            SlotVal::Value(v) => v.to_string(),
            SlotVal::Process(p) => format!("<Process name='{}'>", m.processes[*p].name),
            SlotVal::Pool(_) => "<multiprocessing.pool.Pool>".into(),
            SlotVal::Async(_) => "<multiprocessing.pool.AsyncResult>".into(),
            SlotVal::Iter { .. } => "<multiprocessing.pool.IMapIterator>".into(),
        }
    }

    fn try_unblock(&mut self, m: &mut Machine) -> Option<Result<String, String>> {
        let blocked = self.blocked.take()?;
        match self.check_blocked(m, blocked) {
            Outcome::Done(text) => Some(Ok(text)),
            Outcome::Raise(message) => Some(Err(message)),
            Outcome::Block(still) => {
                self.blocked = Some(still);
                None
            }
        }
    }

    /// Whether a blocked call can return now; `Block` when it still waits.
    fn check_blocked(&mut self, m: &mut Machine, blocked: Blocked) -> Outcome {
        match blocked {
            Blocked::PidKnown { proc } => {
                let pid = m.processes[proc]
                    .child
                    .map_or(0, |id| m.children.get(id).pid());
                if pid == 0 {
                    return Outcome::Block(blocked);
                }
                Outcome::Done(format!("None (pid {pid})"))
            }
            Blocked::Join { proc, deadline } => match m.processes[proc].exitcode {
                Some(code) => Outcome::Done(format!("None (exitcode {code})")),
                None if past(deadline) => Outcome::Done("None (timed out; still running)".into()),
                None => Outcome::Block(blocked),
            },
            Blocked::Get(get) => self.get(m, get),
            Blocked::Iterate(it) => self.iterate(m, it),
            Blocked::Next(next) => self.next_item(m, next),
            Blocked::JoinPool { pool } if m.pools.get(pool).has_workers() => {
                Outcome::Block(blocked)
            }
            Blocked::Sleep { until } if !past(until) => Outcome::Block(blocked),
            Blocked::Exiting if children_remain(m) => Outcome::Block(blocked),
            Blocked::JoinPool { .. } | Blocked::Sleep { .. } | Blocked::Exiting => {
                Outcome::Done("None".into())
            }
            Blocked::BusyWorker { pool, signal } => signal_busy_worker(m, pool, signal),
        }
    }

    fn get(&mut self, m: &mut Machine, get: Getting) -> Outcome {
        let call = m.pools.call_mut(get.call);
        if call.complete() {
            if get.wait_only {
                return Outcome::Done("None".into());
            }
            let large = call.large();
            let outcome = call.take_outcome();
            if large {
                m.children.note_heap_freed();
            }
            return match outcome {
                Ok(v) => self.give(get.into, v),
                Err(e) => Outcome::Raise(e),
            };
        }
        if past(get.deadline) {
            return if get.wait_only {
                Outcome::Done("None".into())
            } else {
                Outcome::Raise("multiprocessing.context.TimeoutError".into())
            };
        }
        Outcome::Block(Blocked::Get(get))
    }

    /// `for r in it: print(r)`: yields results as they become available, in submission
    /// order for `imap` and in completion order for `imap_unordered`.
    fn iterate(&mut self, m: &mut Machine, mut it: Iteration) -> Outcome {
        loop {
            let call = m.pools.call(it.call);
            if it.next == call.len {
                if call.large() {
                    m.children.note_heap_freed();
                }
                // The values are in `collected`: the per-item state goes.
                m.pools.call_mut(it.call).release();
                self.moved_to(it.slot, it.next);
                return self.give(it.into, it.collected.finish());
            }
            match call.yielded(it.next) {
                Some(Ok(v)) => {
                    if it.print {
                        print_main(m, &v.to_string());
                    }
                    it.collected.push(v);
                    it.next += 1;
                }
                // The exception is consumed: the next loop carries on after it.
                Some(Err(e)) => {
                    self.moved_to(it.slot, it.next + 1);
                    return Outcome::Raise(e);
                }
                None => {
                    return match call.cancelled() {
                        Some(why) => Outcome::Raise(why.to_owned()),
                        None => Outcome::Block(Blocked::Iterate(it)),
                    };
                }
            }
        }
    }
}

impl Interp {
    /// `it.next(timeout)`: the next result once it is in, `StopIteration` past the end,
    /// Python's `TimeoutError` when the timeout passes first.
    fn next_item(&mut self, m: &mut Machine, next: NextItem) -> Outcome {
        let call = m.pools.call(next.call);
        if next.at == call.len {
            return Outcome::Raise("StopIteration".into());
        }
        match call.yielded(next.at) {
            Some(result) => {
                self.moved_to(next.slot, next.at + 1);
                match result {
                    Ok(v) => self.give(next.into, v),
                    Err(e) => Outcome::Raise(e),
                }
            }
            None => match call.cancelled() {
                Some(why) => Outcome::Raise(why.to_owned()),
                None if past(next.deadline) => {
                    Outcome::Raise("multiprocessing.context.TimeoutError".into())
                }
                None => Outcome::Block(Blocked::Next(next)),
            },
        }
    }
}

/// Processes or pools the program leaves behind (the fork server does not count: it is
/// not a child Python's `active_children()` would list).
fn children_remain(m: &Machine) -> bool {
    let pools = (0..m.pools.count()).any(|p| m.pools.get(p).has_workers());
    pools
        || m.processes
            .iter()
            .any(|p| p.child.is_some() && p.exitcode.is_none())
}

/// `multiprocessing.util._exit_function`: pools are terminated (their finalizers), daemonic
/// Processes terminated, and every child then joined.
fn at_exit(m: &mut Machine) -> Outcome {
    // A joined pool has nothing left to end: its finalizer changes nothing one can see.
    for pool in 0..m.pools.count() {
        let p = m.pools.get(pool);
        if !p.has_workers() {
            continue;
        }
        let terminated = p.state() == PoolStateName::Terminate;
        let (pools, mut hands) = m.split();
        if terminated {
            pools.signal_workers(&mut hands, pool, libc::SIGTERM);
        } else {
            pools.terminate(&mut hands, pool);
        }
    }
    let daemons: Vec<ChildId> = m
        .processes
        .iter()
        .filter(|p| p.daemon && p.exitcode.is_none())
        .filter_map(|p| p.child)
        .collect();
    for id in daemons {
        let _ = m.children.signal(id, libc::SIGTERM);
    }
    Outcome::Block(Blocked::Exiting)
}

/// The main process's own `print`: after everything children wrote before it.
fn print_main(m: &mut Machine, text: &str) {
    m.drain_output();
    m.emit(EventKind::Output {
        pid: m.children.me(),
        name: "MainProcess".into(),
        stream: Stream::Stdout,
        text: format!("{text}\n"),
    });
}

fn join_process(m: &Machine, p: usize, timeout: Option<f64>) -> Outcome {
    if m.processes[p].child.is_none() {
        return Outcome::Raise("AssertionError: can only join a started process".into());
    }
    Outcome::Block(Blocked::Join {
        proc: p,
        deadline: deadline_after(timeout),
    })
}

fn signal_process(m: &mut Machine, p: usize, signal: i32, method: &str) -> Outcome {
    let Some(id) = m.processes[p].child else {
        return Outcome::Raise(format!(
            "AttributeError: 'NoneType' object has no attribute '{method}'"
        ));
    };
    let c = m.children.get(id);
    if !c.alive() {
        return Outcome::Done("None (already exited)".into());
    }
    let pid = c.pid();
    let _ = m.children.signal(id, signal);
    Outcome::Done(format!(
        "None ({} sent to pid {pid})",
        sys::signal_name(signal)
    ))
}

fn process_alive(m: &mut Machine, p: usize) -> bool {
    let Some(id) = m.processes[p].child else {
        return false;
    };
    m.poll_exit(id);
    m.children.get(id).alive()
}

fn process_exitcode(m: &mut Machine, p: usize) -> Option<i32> {
    let id = m.processes[p].child?;
    m.poll_exit(id);
    m.children.get(id).exitcode()
}

fn close_pool(m: &mut Machine, p: usize) -> Outcome {
    m.pools.close(&mut m.outbox, p);
    Outcome::Done("None".into())
}

fn join_pool(m: &Machine, p: usize, timeout: Option<f64>) -> Outcome {
    if timeout.is_some() {
        let message = "TypeError: Pool.join() got an unexpected keyword argument 'timeout'";
        return Outcome::Raise(message.into());
    }
    match m.pools.get(p).state() {
        PoolStateName::Run => Outcome::Raise("ValueError: Pool is still running".into()),
        _ => Outcome::Block(Blocked::JoinPool { pool: p }),
    }
}

/// Python's `terminate()` returns once every worker has exited (`_terminate_pool` joins
/// them).
fn terminate_pool(m: &mut Machine, p: usize) -> Outcome {
    let (pools, mut hands) = m.split();
    pools.terminate(&mut hands, p);
    Outcome::Block(Blocked::JoinPool { pool: p })
}

fn signal_child(m: &mut Machine, id: ChildId, signal: i32) -> Outcome {
    let c = m.children.get(id);
    let said = format!(
        "None ({} sent to {} pid {})",
        sys::signal_name(signal),
        c.name(),
        c.pid()
    );
    match m.children.signal(id, signal) {
        Ok(()) => Outcome::Done(said),
        Err(e) => Outcome::Raise(format!("ProcessLookupError: {e}")),
    }
}

/// `os.kill(<a busy worker>, signal)`: waits for a worker to be in the middle of a task.
fn signal_busy_worker(m: &mut Machine, pool: usize, signal: i32) -> Outcome {
    let p = m.pools.get(pool);
    if let Some(id) = p.busy_worker() {
        return signal_child(m, id, signal);
    }
    if !p.has_outstanding_work() || p.state() == PoolStateName::Terminate {
        return Outcome::Raise("RuntimeError: no worker is busy and no task is queued".into());
    }
    Outcome::Block(Blocked::BusyWorker { pool, signal })
}
