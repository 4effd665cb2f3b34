//! What the engine and the sampler reported, as plain data: processes, pools, calls, tasks
//! and their spans, output, the event log, CPU and measurements. Knows nothing of the screen.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use crate::engine::program::{Measure, Op, StartMethod, SubmitKind};
use crate::engine::protocol::{
    Event, EventKind, PoolStateName, RESULTS_SHOWN, Role, RunningTask, Stream,
};
use crate::engine::sys;
use crate::engine::value::Value;
use crate::monitor::{KernelState, Sample};
use crate::scenario::Scenario;

/// Bounds that keep memory and drawing cost flat under an output flood.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
pub const MAX_PROC_LINES: usize = 400;
pub const MAX_LOG: usize = 500;
pub const CPU_HISTORY: usize = 120;
pub const MAX_SPANS: usize = 20_000;
/// Rows of ended processes kept; older ones go (a respawn storm ends hundreds a second).
pub const MAX_ENDED_ROWS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Loaded, nothing run yet.
    Ready,
    Running,
    Paused,
    Finished,
    /// The driver process went away (crashed or killed from outside).
    DriverGone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// A Process object that has not been started: no OS process yet.
    Created,
    Starting,
    Running,
    Sleeping,
    Stopped,
    Zombie,
    Exited,
    Killed,
}

impl ProcState {
    pub fn label(self) -> &'static str {
        match self {
            ProcState::Created => "created",
            ProcState::Starting => "starting",
            ProcState::Running => "running",
            ProcState::Sleeping => "sleeping",
            ProcState::Stopped => "stopped",
            ProcState::Zombie => "zombie",
            ProcState::Exited => "exited",
            ProcState::Killed => "killed",
        }
    }

    pub fn ended(self) -> bool {
        matches!(self, ProcState::Exited | ProcState::Killed)
    }

    /// What the kernel's state says about a live process; `None` keeps what is known.
    fn from_kernel(state: KernelState) -> Option<ProcState> {
        match state {
            KernelState::Running => Some(ProcState::Running),
            KernelState::Sleeping => Some(ProcState::Sleeping),
            KernelState::Stopped => Some(ProcState::Stopped),
            KernelState::Zombie => Some(ProcState::Zombie),
            KernelState::Other => None,
        }
    }
}

/// A row's identity for as long as it is shown: a Process object keeps it when its PID
/// becomes known, and rows are numbered in order of appearance (which also picks colours).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId(pub usize);

/// One row of the processes table.
#[derive(Clone, Debug)]
pub struct ProcRow {
    pub id: RowId,
    pub name: String,
    /// None for a Process object that has not started.
    pub pid: Option<i32>,
    pub ppid: i32,
    pub role: Role,
    pub state: ProcState,
    pub cpu: Option<f32>,
    pub rss_kib: Option<u64>,
    pub core: Option<u32>,
    pub tasks_done: u64,
    pub current: Option<u64>,
    pub exitcode: Option<i32>,
    pub start_ms: Option<f64>,
    pub method: Option<StartMethod>,
}

impl ProcRow {
    /// A live OS process other than the main one: something a signal can reach.
    pub fn signallable(&self) -> bool {
        self.pid.is_some() && !self.state.ended() && self.role != Role::Main
    }
}

/// One task on the timeline: when it ran and on which worker.
#[derive(Clone, Debug)]
pub struct TaskSpan {
    pub task: u64,
    pub pid: i32,
    pub call: u32,
    pub start: f64,
    pub end: Option<f64>,
    /// Finished normally (false: failed or lost).
    pub ok: bool,
}

impl TaskSpan {
    /// A span that began at `start` and has not ended.
    fn begun(task: u64, pid: i32, call: u32, start: f64) -> TaskSpan {
        TaskSpan {
            task,
            pid,
            call,
            start,
            end: None,
            ok: true,
        }
    }
}

#[derive(Clone, Debug)]
pub struct PoolInfo {
    pub name: String,
    pub state: PoolStateName,
    pub processes: usize,
}

/// A map-like call and its results as they fill in.
#[derive(Clone, Debug)]
pub struct CallInfo {
    pub call: u32,
    pub pool: usize,
    pub method: SubmitKind,
    pub func: String,
    pub len: usize,
    pub chunksize: usize,
    /// Result text by submission position (`None` until it arrives); of a summarised
    /// call, only the first positions the screen can show.
    pub results: Vec<Option<String>>,
    /// Positions in the order their results arrived (of a summarised call, the first).
    pub order: Vec<usize>,
    /// Results in so far.
    pub finished: usize,
    /// Reported as progress, not task by task (a large call): what it last said.
    pub summary: Option<CallSummary>,
}

/// The last progress report of a call too large to follow task by task.
#[derive(Clone, Debug, Default)]
pub struct CallSummary {
    /// Tasks waiting.
    pub queued: usize,
    /// The next few waiting, as Python would write them.
    pub next: Vec<String>,
    /// The workers running one of its tasks.
    pub running: Vec<i32>,
}

impl CallInfo {
    pub fn done(&self) -> usize {
        self.finished
    }

    pub fn completion_order(&self) -> bool {
        self.method.completion_order()
    }

    /// Item `index`'s result arrived; false when it already had one.
    fn record(&mut self, index: usize, text: String) -> bool {
        if self.results.len() < self.len {
            self.results.resize(self.len, None);
        }
        match self.results.get_mut(index) {
            Some(slot) if slot.is_none() => {
                *slot = Some(text);
                self.order.push(index);
                self.finished += 1;
                true
            }
            _ => false,
        }
    }

    /// A summarised call's results among the first shown.
    fn record_shown(&mut self, results: Vec<(u32, String)>) {
        let shown = self.len.min(RESULTS_SHOWN);
        if self.results.len() < shown {
            self.results.resize(shown, None);
        }
        for (index, text) in results {
            if let Some(slot) = self.results.get_mut(index as usize) {
                *slot = Some(text);
                self.order.push(index as usize);
            }
        }
    }
}

/// A `call_progress` event's news, as the world takes it in.
struct Progress {
    done: usize,
    running: Vec<RunningTask>,
    next: Vec<String>,
    results: Vec<(u32, String)>,
    finished: Vec<(i32, u32)>,
}

/// A task waiting, running or lost.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    pub call: u32,
    pub index: usize,
    /// The call as Python would write it: `cube(4)`.
    pub label: String,
}

#[derive(Clone, Debug, Default)]
pub struct Tasks {
    pub all: HashMap<u64, TaskInfo>,
    pub pending: BTreeSet<u64>,
    /// The task each worker is running, by PID.
    pub running: BTreeMap<i32, u64>,
    pub done: u64,
    pub lost: u64,
    pub total: u64,
    /// The most recent tasks' spans, for the timeline.
    pub spans: VecDeque<TaskSpan>,
}

/// A chunk of output as it arrived.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub pid: i32,
    pub stream: Stream,
    pub text: String,
}

#[derive(Clone, Debug, Default)]
pub struct Output {
    pub chunks: VecDeque<Chunk>,
    pub bytes: usize,
    /// Each process's own lines, in order; the last may be unfinished.
    pub per_proc: HashMap<i32, VecDeque<String>>,
    /// Chunks dropped from the front to stay within bounds.
    pub dropped: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Call,
    Info,
    Error,
}

#[derive(Clone, Debug)]
pub struct LogLine {
    pub t: f64,
    pub kind: LogKind,
    pub text: String,
}

#[derive(Clone, Debug, Default)]
pub struct Cpu {
    /// Current use per core, 0-100 (100% = one core busy).
    pub cores: Vec<f32>,
    pub history: Vec<VecDeque<u64>>,
}

/// The step the main process is in: its place in the program (None for a call typed at
/// the keyboard) and its Python.
#[derive(Clone, Debug)]
pub struct CurrentStep {
    pub index: Option<usize>,
    pub python: String,
}

/// A labelled step and how long it took.
#[derive(Clone, Debug)]
pub struct Measured {
    pub measure: Measure,
    pub secs: f64,
}

/// The main process's progress through the program.
#[derive(Clone, Debug)]
pub struct Run {
    pub phase: Phase,
    /// Seconds on the driver's clock, advanced by events and ticks.
    pub now: f64,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub main_pid: Option<i32>,
    pub current: Option<CurrentStep>,
    pub steps_done: usize,
    /// When each step began (driver clock).
    step_began: HashMap<usize, f64>,
    /// Labelled step durations, in the order they finished.
    pub measures: Vec<Measured>,
    /// The exception a step raised, shown on its line in the code pane.
    pub step_errors: HashMap<usize, String>,
    /// What each line's call returned last (a watched script's code pane shows it).
    pub step_outcomes: HashMap<usize, String>,
    /// A watched program's Python hook: reporting (`true`) or not, and why not.
    pub hook: Option<(bool, String)>,
    /// A watched command's exit status once it has exited.
    pub status: Option<i32>,
}

impl Run {
    fn new() -> Run {
        Run {
            phase: Phase::Ready,
            now: 0.0,
            started_at: None,
            finished_at: None,
            main_pid: None,
            current: None,
            steps_done: 0,
            step_began: HashMap::new(),
            measures: Vec::new(),
            step_errors: HashMap::new(),
            step_outcomes: HashMap::new(),
            hook: None,
            status: None,
        }
    }

    /// Seconds the scenario has been running (frozen once it finished).
    pub fn elapsed(&self) -> f64 {
        match (self.started_at, self.finished_at) {
            (Some(s), Some(f)) => f - s,
            (Some(s), None) => (self.now - s).max(0.0),
            _ => 0.0,
        }
    }
}

/// Everything the engine has reported about one run of one scenario.
#[derive(Clone, Debug)]
pub struct World {
    pub scenario: Scenario,
    pub run: Run,
    pub procs: Vec<ProcRow>,
    next_row: usize,
    /// Rows of ended processes dropped to stay within `MAX_ENDED_ROWS`.
    pub rows_dropped: usize,
    pub pools: Vec<PoolInfo>,
    pub calls: Vec<CallInfo>,
    pub tasks: Tasks,
    pub output: Output,
    pub log: VecDeque<LogLine>,
    /// Pool workers that exited one after the other with one exit code, told in the last
    /// log line: (exit code, how many).
    exit_run: Option<(i32, usize)>,
    pub cpu: Cpu,
}

impl World {
    pub fn new(scenario: Scenario) -> World {
        World {
            scenario,
            run: Run::new(),
            procs: Vec::new(),
            next_row: 0,
            rows_dropped: 0,
            pools: Vec::new(),
            calls: Vec::new(),
            tasks: Tasks::default(),
            output: Output::default(),
            log: VecDeque::new(),
            exit_run: None,
            cpu: Cpu::default(),
        }
    }

    /// A fresh run of the same program; the CPU history carries on.
    #[must_use]
    pub fn restarted(&self) -> World {
        World {
            cpu: self.cpu.clone(),
            ..World::new(self.scenario.clone())
        }
    }

    pub fn start_method(&self) -> StartMethod {
        self.scenario.program.settings.start_method
    }

    /// The newest row with this PID.
    pub fn proc(&self, pid: i32) -> Option<&ProcRow> {
        self.procs.iter().rev().find(|p| p.pid == Some(pid))
    }

    fn proc_mut(&mut self, pid: i32) -> Option<&mut ProcRow> {
        self.procs.iter_mut().rev().find(|p| p.pid == Some(pid))
    }

    pub fn row(&self, id: RowId) -> Option<&ProcRow> {
        self.procs.iter().find(|p| p.id == id)
    }

    /// Rows of the process table in display order: the main process first.
    pub fn rows(&self) -> impl Iterator<Item = &ProcRow> {
        let main = self.procs.iter().filter(|p| p.role == Role::Main);
        main.chain(self.procs.iter().filter(|p| p.role != Role::Main))
    }

    /// The newest pool, the one keys act on.
    pub fn pool_index(&self) -> Option<usize> {
        self.pools.len().checked_sub(1)
    }

    pub fn newest_pool(&self) -> Option<&PoolInfo> {
        self.pools.last()
    }

    pub fn live_workers(&self) -> impl Iterator<Item = &ProcRow> {
        self.procs
            .iter()
            .filter(|p| p.role == Role::PoolWorker && !p.state.ended())
    }

    /// PIDs worth sampling: every process that has not ended.
    pub fn live_pids(&self) -> Vec<i32> {
        self.procs
            .iter()
            .filter(|p| !p.state.ended())
            .filter_map(|p| p.pid)
            .collect()
    }

    /// Tasks waiting, those reported one by one and those of summarised calls.
    pub fn queued(&self) -> usize {
        let summarised: usize = self
            .calls
            .iter()
            .filter_map(|c| c.summary.as_ref())
            .map(|s| s.queued)
            .sum();
        self.tasks.pending.len() + summarised
    }

    /// The next tasks waiting, as Python would write them, oldest first.
    pub fn next_labels(&self, n: usize) -> Vec<String> {
        let t = &self.tasks;
        let mut labels: Vec<String> = t
            .pending
            .iter()
            .filter_map(|k| t.all.get(k))
            .take(n)
            .map(|i| i.label.clone())
            .collect();
        let summarised = self.calls.iter().filter_map(|c| c.summary.as_ref());
        for s in summarised {
            labels.extend(s.next.iter().take(n.saturating_sub(labels.len())).cloned());
        }
        labels
    }

    /// The newest call that still waits for results.
    pub fn waiting_call(&self) -> Option<&CallInfo> {
        self.calls.iter().rev().find(|c| c.done() < c.len)
    }

    /// The pool size the program will use when it has not started yet.
    pub fn planned_workers(&self) -> usize {
        let program = &self.scenario.program;
        if let Some(w) = program.settings.workers {
            return w;
        }
        program
            .steps
            .iter()
            .find_map(|s| match &s.op {
                Op::NewPool { processes, .. } => {
                    Some(processes.map_or_else(crate::engine::cpu_count, |p| p.max(1) as usize))
                }
                _ => None,
            })
            .unwrap_or_else(crate::engine::cpu_count)
    }

    /// What the main process is doing, in Python's words.
    pub fn main_doing(&self) -> String {
        if self.scenario.watch.is_some() {
            return self.watched_doing();
        }
        match (&self.run.current, self.run.phase) {
            (_, Phase::Ready) => "ready: press s to start, n to step".into(),
            (_, Phase::DriverGone) => "the main process is gone".into(),
            (Some(step), _) => {
                let line = step.python.lines().next().unwrap_or("").trim();
                match self.waiting_call() {
                    Some(c) => format!(
                        "waiting for {} results {}/{} in {line}",
                        c.method.method(),
                        c.done(),
                        c.len
                    ),
                    None => format!("blocked in {line}"),
                }
            }
            (None, Phase::Finished) => format!("finished in {:.2}s", self.run.elapsed()),
            (None, Phase::Paused) => format!("paused before line {}", self.run.steps_done + 1),
            (None, _) => "running".into(),
        }
    }

    /// What a watched program's main process is doing, as far as pooltop can tell.
    fn watched_doing(&self) -> String {
        if let Some((false, reason)) = &self.run.hook {
            let status = match (self.run.phase, self.run.status) {
                (Phase::Finished, Some(code)) => format!(" · exited with status {code}"),
                _ => String::new(),
            };
            return format!("no Python hook: processes and output only ({reason}){status}");
        }
        match (&self.run.current, self.run.phase) {
            (_, Phase::Ready) => "starting".into(),
            (_, Phase::DriverGone) => "pooltop's watcher is gone".into(),
            (_, Phase::Finished) => match self.run.status {
                Some(code) => format!("exited with status {code} after {:.2}s", self.run.elapsed()),
                None => format!("ended after {:.2}s", self.run.elapsed()),
            },
            (Some(step), _) => {
                let line = step.python.lines().next().unwrap_or("").trim();
                match self.waiting_call() {
                    Some(c) => format!(
                        "in {line} · {} results {}/{}",
                        c.method.method(),
                        c.done(),
                        c.len
                    ),
                    None => format!("in {line}"),
                }
            }
            (None, Phase::Paused) => "stopped (SIGSTOP): space continues".into(),
            (None, _) => "running its own code".into(),
        }
    }

    pub fn log(&mut self, kind: LogKind, text: String) {
        self.exit_run = None;
        self.log.push_back(LogLine {
            t: self.run.now,
            kind,
            text,
        });
        while self.log.len() > MAX_LOG {
            self.log.pop_front();
        }
    }

    /// The clock moves on between events.
    pub fn tick(&mut self, now: f64) {
        self.run.now = self.run.now.max(now);
    }

    /// The driver's link closed: every process and pool it had is gone with it.
    pub fn driver_gone(&mut self) {
        // A watcher leaves once its command has exited and been reported.
        if self.scenario.watch.is_some() && self.run.phase == Phase::Finished {
            return;
        }
        self.run.phase = Phase::DriverGone;
        for p in self.procs.iter_mut().filter(|p| !p.state.ended()) {
            p.state = ProcState::Killed;
            p.current = None;
            p.cpu = None;
        }
        for pool in &mut self.pools {
            pool.state = PoolStateName::Terminate;
        }
        self.tasks.running.clear();
        self.log(
            LogKind::Error,
            "the main process (driver) went away; r restarts".into(),
        );
    }

    /// Drops the rows of processes that have ended; returns how many.
    pub fn clear_ended(&mut self) -> usize {
        let before = self.procs.len();
        self.procs.retain(|p| !p.state.ended());
        before - self.procs.len()
    }

    pub fn apply(&mut self, event: Event) {
        self.tick(event.t);
        let t = event.t;
        match event.kind {
            EventKind::Output {
                pid, stream, text, ..
            } => self.output.push(pid, stream, text),
            kind @ (EventKind::Loaded { .. }
            | EventKind::ProcessObject { .. }
            | EventKind::Created { .. }
            | EventKind::Spawned { .. }
            | EventKind::Named { .. }
            | EventKind::Exited { .. }) => self.on_process(kind),
            kind @ (EventKind::Step { .. }
            | EventKind::StepDone { .. }
            | EventKind::Error { .. }
            | EventKind::Finished { .. }
            | EventKind::Fatal { .. }
            | EventKind::Result { .. }) => self.on_step(t, kind),
            kind @ (EventKind::CallSubmitted { .. }
            | EventKind::TaskQueued { .. }
            | EventKind::TaskStarted { .. }
            | EventKind::TaskDone { .. }
            | EventKind::TaskFailed { .. }
            | EventKind::TaskLost { .. }
            | EventKind::Requeued { .. }) => self.on_task(t, kind),
            EventKind::CallProgress {
                call,
                done,
                running,
                next,
                results,
                finished,
                ..
            } => self.on_progress(
                t,
                call,
                Progress {
                    done,
                    running,
                    next,
                    results,
                    finished,
                },
            ),
            EventKind::Ended {
                pid,
                name,
                signal,
                reason,
            } => {
                let sig = sys::signal_name(signal);
                self.log(
                    LogKind::Info,
                    format!("pooltop sent {sig} to {name} (pid {pid}): {reason}"),
                );
            }
            EventKind::Hook { connected, reason } => self.run.hook = Some((connected, reason)),
            EventKind::PoolState {
                id,
                processes,
                pool,
                state,
            } => self.on_pool_state(
                id,
                PoolInfo {
                    name: pool,
                    state,
                    processes,
                },
            ),
        }
    }

    fn on_process(&mut self, kind: EventKind) {
        match kind {
            EventKind::Loaded { pid, ppid, .. } => {
                // A watched command's clock starts with it (a scenario's at its first line).
                if self.scenario.watch.is_some() {
                    self.run.started_at.get_or_insert(self.run.now);
                }
                self.add_proc("MainProcess".into(), pid, ppid, Role::Main);
                if let Some(p) = self.proc_mut(pid) {
                    p.state = ProcState::Running;
                }
                self.run.main_pid = Some(pid);
            }
            EventKind::ProcessObject { name, .. } => self.add_process_object(name),
            EventKind::Created {
                name,
                pid,
                ppid,
                role,
            } => self.add_proc(name, pid, ppid, role),
            EventKind::Spawned {
                pid,
                start_ms,
                start_method,
                rss_kib,
                name,
                ppid,
                role,
            } => {
                // A watched tree's processes are first seen here.
                if self.proc(pid).is_none_or(|p| p.state.ended()) {
                    self.add_proc(name, pid, ppid, role);
                }
                if let Some(p) = self.proc_mut(pid) {
                    p.start_ms = start_ms;
                    p.method = start_method;
                    p.rss_kib = p.rss_kib.or(rss_kib);
                    if p.state == ProcState::Starting {
                        p.state = ProcState::Running;
                    }
                }
            }
            EventKind::Exited {
                name,
                pid,
                exitcode,
            } => self.on_exited(&name, pid, exitcode),
            EventKind::Named { pid, name, role } => self.rename(pid, name, role),
            _ => {}
        }
    }

    fn push_row(&mut self, name: String, pid: Option<i32>, ppid: i32, role: Role) {
        let id = RowId(self.next_row);
        self.next_row += 1;
        self.procs.push(ProcRow {
            id,
            name,
            pid,
            ppid,
            role,
            state: ProcState::Starting,
            cpu: None,
            rss_kib: None,
            core: None,
            tasks_done: 0,
            current: None,
            exitcode: None,
            start_ms: None,
            method: None,
        });
    }

    /// The main process exists before it loads the program: its row shows from the start,
    /// waiting (sleeping) until it runs a line.
    pub fn main_process(&mut self, pid: i32, ppid: i32) {
        if self.scenario.watch.is_some() || self.run.main_pid.is_some() {
            return;
        }
        self.add_proc("MainProcess".into(), pid, ppid, Role::Main);
        if let Some(p) = self.proc_mut(pid) {
            p.state = ProcState::Sleeping;
        }
        self.run.main_pid = Some(pid);
    }

    fn add_proc(&mut self, name: String, pid: i32, ppid: i32, role: Role) {
        if self.proc(pid).is_some_and(|p| !p.state.ended()) {
            return;
        }
        // A Process object shown since its creation gets its PID now.
        if role == Role::Process
            && let Some(p) = self
                .procs
                .iter_mut()
                .find(|p| p.state == ProcState::Created && p.name == name)
        {
            p.pid = Some(pid);
            p.ppid = ppid;
            p.state = ProcState::Starting;
            return;
        }
        self.push_row(name, Some(pid), ppid, role);
    }

    /// A process learns its Python name; a `Process` shown since its creation (a row
    /// without a PID) takes over the process's row, keeping its place.
    fn rename(&mut self, pid: i32, name: String, role: Role) {
        let placeholder = (role == Role::Process)
            .then(|| {
                self.procs
                    .iter()
                    .position(|p| p.state == ProcState::Created && p.name == name)
            })
            .flatten();
        let Some(at) = self.procs.iter().rposition(|p| p.pid == Some(pid)) else {
            return;
        };
        if let Some(keep) = placeholder {
            let row = self.procs.remove(at);
            let keep = if keep > at { keep - 1 } else { keep };
            let p = &mut self.procs[keep];
            let id = p.id;
            *p = ProcRow { id, ..row };
        }
        if let Some(p) = self.proc_mut(pid) {
            p.name = name;
            p.role = role;
        }
    }

    /// A Process that exists in Python but has no OS process yet.
    fn add_process_object(&mut self, name: String) {
        let ppid = self.run.main_pid.unwrap_or(0);
        self.push_row(name, None, ppid, Role::Process);
        if let Some(p) = self.procs.last_mut() {
            p.state = ProcState::Created;
        }
    }

    fn on_exited(&mut self, name: &str, pid: i32, exitcode: Option<i32>) {
        if let Some(p) = self.proc_mut(pid) {
            p.state = if exitcode.is_some_and(|c| c < 0) {
                ProcState::Killed
            } else {
                ProcState::Exited
            };
            p.exitcode = exitcode;
            p.current = None;
            p.cpu = None;
        }
        self.tasks.running.remove(&pid);
        let worker = self.proc(pid).is_some_and(|p| p.role == Role::PoolWorker);
        self.log_exit(worker, name, pid, exitcode);
        self.drop_oldest_ended();
    }

    /// Logs an exit; pool workers exiting in a row with one code (a respawn storm, a pool
    /// winding down) share one line, so what else happened stays in view.
    fn log_exit(&mut self, worker: bool, name: &str, pid: i32, exitcode: Option<i32>) {
        let Some(exitcode) = exitcode else {
            self.log(LogKind::Info, format!("{name} (pid {pid}) exited"));
            return;
        };
        let one = format!("{name} (pid {pid}) exited, exitcode {exitcode}");
        match self.exit_run {
            Some((code, count)) if worker && code == exitcode => {
                let text = format!(
                    "{} pool workers exited, exitcode {exitcode} (the last: {name}, pid {pid})",
                    count + 1
                );
                if let Some(line) = self.log.back_mut() {
                    line.text = text;
                    line.t = self.run.now;
                }
                self.exit_run = Some((code, count + 1));
            }
            _ => {
                self.log(LogKind::Info, one);
                self.exit_run = worker.then_some((exitcode, 1));
            }
        }
    }

    /// Keeps at most `MAX_ENDED_ROWS` rows of ended processes, and their own output.
    fn drop_oldest_ended(&mut self) {
        let ended = self.procs.iter().filter(|p| p.state.ended()).count();
        let mut excess = ended.saturating_sub(MAX_ENDED_ROWS);
        if excess == 0 {
            return;
        }
        let mut gone = Vec::new();
        self.procs.retain(|p| {
            let drop = excess > 0 && p.state.ended();
            if drop {
                excess -= 1;
                gone.extend(p.pid);
            }
            !drop
        });
        self.rows_dropped += gone.len();
        for pid in gone {
            self.output.per_proc.remove(&pid);
        }
    }

    fn on_step(&mut self, t: f64, kind: EventKind) {
        match kind {
            EventKind::Step { index, python } => {
                self.run.started_at.get_or_insert(t);
                if let Some(i) = index {
                    self.run.step_began.insert(i, t);
                }
                self.run.current = Some(CurrentStep { index, python });
            }
            EventKind::StepDone {
                index,
                python,
                outcome,
            } => self.on_step_done(t, index, &python, &outcome),
            EventKind::Error { message, .. } => {
                if let Some(CurrentStep { index: Some(i), .. }) = &self.run.current {
                    self.run.step_errors.insert(*i, message.clone());
                }
                self.log(LogKind::Error, message);
            }
            EventKind::Finished { status, .. } => {
                self.run.phase = Phase::Finished;
                self.run.finished_at = Some(t);
                self.run.status = status;
                let elapsed = self.run.elapsed();
                let text = match (&self.scenario.watch, status) {
                    (Some(_), Some(code)) => format!(
                        "{} exited with status {code} after {elapsed:.3}s",
                        self.scenario.title
                    ),
                    (Some(_), None) => format!("{} ended after {elapsed:.3}s", self.scenario.title),
                    (None, _) => format!("scenario finished in {elapsed:.3}s"),
                };
                self.log(LogKind::Info, text);
            }
            EventKind::Fatal { message } => self.log(LogKind::Error, message),
            _ => {}
        }
    }

    fn on_step_done(&mut self, t: f64, index: Option<usize>, python: &str, outcome: &str) {
        self.run.current = None;
        if let Some(i) = index {
            self.run.steps_done = i + 1;
            let measure = self
                .scenario
                .program
                .steps
                .get(i)
                .and_then(|s| s.measure.clone());
            if let (Some(measure), Some(began)) = (measure, self.run.step_began.get(&i)) {
                let secs = t - began;
                self.run.measures.push(Measured { measure, secs });
            }
        }
        if let Some(i) = index {
            self.run.step_outcomes.insert(i, outcome.to_string());
        }
        let line = python.lines().next().unwrap_or("").trim().to_string();
        let text = if outcome.is_empty() {
            line
        } else {
            format!("{line} -> {outcome}")
        };
        self.log(LogKind::Call, text);
    }

    fn on_task(&mut self, t: f64, kind: EventKind) {
        match kind {
            EventKind::CallSubmitted {
                call,
                pool,
                method,
                func,
                len,
                chunksize,
            } => {
                self.forget_old_results();
                self.calls.push(CallInfo {
                    call,
                    pool,
                    method,
                    func,
                    len,
                    chunksize,
                    results: vec![None; len.min(RESULTS_SHOWN)],
                    order: Vec::new(),
                    finished: 0,
                    summary: None,
                });
            }
            EventKind::TaskQueued {
                task,
                call,
                index,
                func,
                args,
            } => {
                let label = match &args {
                    Value::Tuple(items) => {
                        let parts: Vec<String> = items.iter().map(Value::to_string).collect();
                        format!("{func}({})", parts.join(", "))
                    }
                    v => format!("{func}({v})"),
                };
                self.tasks.all.insert(task, TaskInfo { call, index, label });
                self.tasks.pending.insert(task);
                self.tasks.total += 1;
            }
            EventKind::TaskStarted { task, pid, .. } => self.on_task_started(t, task, pid),
            EventKind::TaskDone {
                task, pid, result, ..
            } => {
                self.end_span(task, t, true);
                self.finish_task(task, pid, result.to_string());
            }
            EventKind::TaskFailed {
                task, pid, error, ..
            } => {
                self.end_span(task, t, false);
                self.finish_task(task, pid, error);
            }
            EventKind::TaskLost {
                task,
                pid,
                name,
                signal,
                exitcode,
                cause,
            } => {
                let watched = self.scenario.watch.is_some();
                let text = cause.describe(task, &name, signal, exitcode, watched);
                self.on_task_lost(t, task, pid, text);
            }
            EventKind::Requeued { tasks, pid, name } => self.on_requeued(t, &tasks, pid, &name),
            _ => {}
        }
    }

    /// A summarised call's report: counts move, the running tasks and the timeline's
    /// busy spans follow its workers, and the results on screen fill in.
    fn on_progress(&mut self, t: f64, call: u32, progress: Progress) {
        let Some(at) = self.calls.iter().position(|c| c.call == call) else {
            return;
        };
        let info = &mut self.calls[at];
        let first_report = info.summary.is_none();
        let before = std::mem::take(&mut info.summary).unwrap_or_default();
        let delta = progress.done.saturating_sub(info.finished);
        info.finished = progress.done.max(info.finished);
        info.record_shown(progress.results);
        let running_now: Vec<i32> = progress.running.iter().map(|r| r.pid).collect();
        let left = info.len.saturating_sub(info.finished);
        info.summary = Some(CallSummary {
            queued: left.saturating_sub(running_now.len()),
            next: progress.next,
            running: running_now.clone(),
        });
        let complete = info.finished >= info.len;
        if first_report {
            self.tasks.total += info.len as u64;
        }
        self.tasks.done += delta as u64;
        for (pid, count) in progress.finished {
            if let Some(p) = self.proc_mut(pid) {
                p.tasks_done += u64::from(count);
            }
        }
        for pid in before.running.iter().filter(|p| !running_now.contains(p)) {
            self.stop_summary_run(t, *pid);
        }
        for RunningTask { pid, task, label } in progress.running {
            if complete {
                self.stop_summary_run(t, pid);
                continue;
            }
            if let Some(old) = self.tasks.running.insert(pid, task)
                && old != task
            {
                self.tasks.all.remove(&old);
            }
            // Its result is never reported alone, so its position is not needed.
            let index = 0;
            self.tasks.all.insert(task, TaskInfo { call, index, label });
            if let Some(p) = self.proc_mut(pid) {
                p.current = Some(task);
            }
            let open = self
                .tasks
                .spans
                .iter()
                .rev()
                .find(|s| s.pid == pid)
                .is_some_and(|s| s.end.is_none() && s.call == call);
            if !open {
                self.push_span(TaskSpan::begun(task, pid, call, t));
            }
        }
    }

    /// A worker no longer runs a summarised call's task: its busy span ends.
    fn stop_summary_run(&mut self, t: f64, pid: i32) {
        if let Some(task) = self.tasks.running.remove(&pid) {
            self.tasks.all.remove(&task);
        }
        if let Some(p) = self.proc_mut(pid) {
            p.current = None;
        }
        if let Some(span) = self.tasks.spans.iter_mut().rev().find(|s| s.pid == pid)
            && span.end.is_none()
        {
            span.end = Some(t);
        }
    }

    fn push_span(&mut self, span: TaskSpan) {
        let spans = &mut self.tasks.spans;
        spans.push_back(span);
        while spans.len() > MAX_SPANS {
            spans.pop_front();
        }
    }

    /// Only the newest calls' results can be on screen; older ones keep their counts.
    fn forget_old_results(&mut self) {
        const KEPT: usize = 8;
        let old = self.calls.len().saturating_sub(KEPT);
        for c in self.calls.iter_mut().take(old) {
            c.results = Vec::new();
            c.order = Vec::new();
        }
    }

    /// Tasks whose worker died before reporting them wait in the queue again.
    fn on_requeued(&mut self, t: f64, tasks: &[u64], pid: i32, name: &str) {
        for &task in tasks {
            if self
                .tasks
                .spans
                .iter()
                .any(|s| s.task == task && s.end.is_none())
            {
                self.end_span(task, t, false);
            }
            self.tasks.pending.insert(task);
        }
        if self
            .tasks
            .running
            .get(&pid)
            .is_some_and(|r| tasks.contains(r))
        {
            self.tasks.running.remove(&pid);
        }
        let shown: Vec<String> = tasks.iter().take(8).map(|t| format!("#{t}")).collect();
        let more = if tasks.len() > 8 { ", …" } else { "" };
        let text = format!(
            "{name} died: tasks {}{more} go back to the queue",
            shown.join(", ")
        );
        self.log(LogKind::Info, text);
    }

    fn on_task_started(&mut self, t: f64, task: u64, pid: i32) {
        let call = self.tasks.all.get(&task).map_or(0, |i| i.call);
        self.push_span(TaskSpan::begun(task, pid, call, t));
        self.tasks.pending.remove(&task);
        self.tasks.running.insert(pid, task);
        if let Some(p) = self.proc_mut(pid) {
            p.current = Some(task);
        }
    }

    /// A task died with its worker; `text` says how (see [`LostCause::describe`]).
    fn on_task_lost(&mut self, t: f64, task: u64, pid: i32, text: String) {
        self.tasks.lost += 1;
        self.end_span(task, t, false);
        let before = self.tasks.done;
        self.finish_task(task, pid, "lost".into());
        // A lost task is counted as lost, not done.
        self.tasks.done = before;
        self.log(LogKind::Error, text);
    }

    fn end_span(&mut self, task: u64, t: f64, ok: bool) {
        if let Some(span) = self.tasks.spans.iter_mut().rev().find(|s| s.task == task) {
            span.end = Some(t);
            span.ok = ok;
        }
    }

    /// A task ends once; its result fills its place in its call.
    fn finish_task(&mut self, task: u64, pid: i32, text: String) {
        self.tasks.pending.remove(&task);
        if self.tasks.running.get(&pid) == Some(&task) {
            self.tasks.running.remove(&pid);
        }
        if let Some(p) = self.proc_mut(pid)
            && p.current == Some(task)
        {
            p.current = None;
        }
        // A task's label is kept while it waits or runs, and no longer: a task with
        // none has ended already.
        let Some(info) = self.tasks.all.remove(&task) else {
            return;
        };
        if let Some(call) = self.calls.iter_mut().find(|c| c.call == info.call)
            && !call.record(info.index, text)
        {
            return;
        }
        self.tasks.done += 1;
        if let Some(p) = self.proc_mut(pid) {
            p.tasks_done += 1;
        }
    }

    fn on_pool_state(&mut self, id: usize, info: PoolInfo) {
        match self.pools.get(id) {
            Some(p) if p.state != info.state => {
                let text = format!("{}: state {}", info.name, info.state.as_str());
                self.log(LogKind::Info, text);
                self.pools[id] = info;
            }
            Some(_) => self.pools[id] = info,
            None => self.pools.push(info),
        }
    }

    /// The user asked the newest pool for a new size before the driver confirms it.
    pub fn expect_pool_size(&mut self, pool: usize, processes: usize) {
        if let Some(p) = self.pools.get_mut(pool) {
            p.processes = processes;
        }
    }

    pub fn apply_sample(&mut self, sample: Sample) {
        if self.cpu.history.len() != sample.cores.len() {
            self.cpu.history = vec![VecDeque::default(); sample.cores.len()];
        }
        for (hist, use_pct) in self.cpu.history.iter_mut().zip(&sample.cores) {
            hist.push_back(use_pct.round().clamp(0.0, 100.0) as u64);
            while hist.len() > CPU_HISTORY {
                hist.pop_front();
            }
        }
        self.cpu.cores = sample.cores;
        for s in sample.procs {
            let Some(p) = self.proc_mut(s.pid) else {
                continue;
            };
            if p.state.ended() {
                continue;
            }
            p.cpu = Some(s.cpu);
            p.rss_kib = Some(s.rss_kib);
            p.core = s.core;
            if let Some(state) = ProcState::from_kernel(s.state) {
                p.state = state;
            }
        }
    }
}

impl Output {
    fn push(&mut self, pid: i32, stream: Stream, text: String) {
        let lines = self.per_proc.entry(pid).or_default();
        let mut parts = text.split('\n');
        if let Some(first) = parts.next() {
            match lines.back_mut() {
                Some(last) => last.push_str(first),
                None => lines.push_back(first.to_string()),
            }
        }
        for part in parts {
            lines.push_back(part.to_string());
        }
        while lines.len() > MAX_PROC_LINES {
            lines.pop_front();
        }
        self.bytes += text.len();
        self.chunks.push_back(Chunk { pid, stream, text });
        while self.bytes > MAX_OUTPUT_BYTES {
            match self.chunks.pop_front() {
                Some(c) => {
                    self.bytes -= c.text.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ProcSample;
    use crate::scenario::{Overrides, Source, load};

    fn world(name: &str) -> World {
        let source = Source::builtin(name)
            .or_else(|_| Source::lesson(name))
            .expect("scenario");
        World::new(load(&source, &Overrides::default()).expect("load"))
    }

    fn at(world: &mut World, t: f64, kind: EventKind) {
        world.apply(Event { t, kind });
    }

    fn worker(world: &mut World, pid: i32) {
        let name = format!("ForkPoolWorker-{pid}");
        let role = Role::PoolWorker;
        at(
            world,
            0.0,
            EventKind::Created {
                name,
                pid,
                ppid: 1,
                role,
            },
        );
    }

    fn submit(world: &mut World, method: SubmitKind, args: &[i128]) {
        let len = args.len();
        let kind = EventKind::CallSubmitted {
            call: 0,
            pool: 0,
            method,
            func: "cube".into(),
            len,
            chunksize: 1,
        };
        at(world, 0.0, kind);
        for (index, n) in args.iter().enumerate() {
            let kind = EventKind::TaskQueued {
                task: index as u64,
                call: 0,
                index,
                func: "cube".into(),
                args: Value::Int(*n),
            };
            at(world, 0.0, kind);
        }
    }

    fn done(world: &mut World, t: f64, task: u64, pid: i32, result: i128) {
        let name = String::new();
        let result = Value::Int(result);
        at(
            world,
            t,
            EventKind::TaskDone {
                task,
                pid,
                name,
                result,
            },
        );
    }

    #[test]
    fn a_process_object_keeps_its_row_when_it_starts() {
        let mut w = world("squares-cubes");
        let name = "process1".to_string();
        let start_method = StartMethod::Fork;
        let kind = EventKind::ProcessObject {
            name,
            start_method,
            daemon: false,
        };
        at(&mut w, 0.1, kind);
        let row = w.procs[0].id;
        assert_eq!(
            (w.procs[0].pid, w.procs[0].state),
            (None, ProcState::Created)
        );
        let name = "process1".to_string();
        let role = Role::Process;
        at(
            &mut w,
            0.2,
            EventKind::Created {
                name,
                pid: 77,
                ppid: 1,
                role,
            },
        );
        assert_eq!(w.procs.len(), 1);
        assert_eq!(
            w.proc(77).map(|p| (p.id, p.state)),
            Some((row, ProcState::Starting))
        );
    }

    #[test]
    fn a_summarised_call_moves_counts_running_tasks_spans_and_shown_results() {
        let mut w = world("pool-map");
        worker(&mut w, 10);
        worker(&mut w, 11);
        let call = EventKind::CallSubmitted {
            call: 0,
            pool: 0,
            method: SubmitKind::Map,
            func: "cube".into(),
            len: 5000,
            chunksize: 1,
        };
        at(&mut w, 0.0, call);
        let running = |pid, task: u64| RunningTask {
            pid,
            task,
            label: format!("cube({task})"),
        };
        let progress =
            |done, running: Vec<RunningTask>, results, finished| EventKind::CallProgress {
                call: 0,
                done,
                failed: 0,
                running,
                next: vec!["cube(7)".into()],
                results,
                finished,
            };
        at(
            &mut w,
            0.1,
            progress(
                2,
                vec![running(10, 5), running(11, 6)],
                vec![(1, "1".into())],
                vec![(10, 2)],
            ),
        );
        assert_eq!((w.tasks.done, w.tasks.total, w.queued()), (2, 5000, 4996));
        assert_eq!(w.tasks.running.get(&11), Some(&6));
        assert_eq!(w.next_labels(4), ["cube(7)"]);
        assert_eq!(
            w.proc(10).map(|p| (p.tasks_done, p.current)),
            Some((2, Some(5)))
        );
        assert_eq!(
            w.calls[0].results.len(),
            RESULTS_SHOWN,
            "only the shown positions"
        );
        assert_eq!(w.calls[0].results[1], Some("1".into()));
        assert_eq!(w.tasks.spans.len(), 2);
        // Worker 11 goes quiet; worker 10 carries on in the same busy span.
        at(
            &mut w,
            0.2,
            progress(
                3000,
                vec![running(10, 3001)],
                Vec::new(),
                vec![(10, 1500), (11, 1498)],
            ),
        );
        assert_eq!(w.tasks.spans.len(), 2, "a busy worker's span carries on");
        assert!(
            w.tasks
                .spans
                .iter()
                .any(|s| s.pid == 11 && s.end == Some(0.2))
        );
        assert_eq!(w.proc(11).and_then(|p| p.current), None);
        at(
            &mut w,
            0.3,
            progress(5000, Vec::new(), Vec::new(), vec![(10, 2000)]),
        );
        assert_eq!((w.tasks.done, w.queued()), (5000, 0));
        assert!(
            w.tasks.running.is_empty() && w.tasks.all.is_empty(),
            "nothing kept per task"
        );
        assert!(w.tasks.spans.iter().all(|s| s.end.is_some()));
        assert_eq!(w.proc(10).map(|p| p.tasks_done), Some(3502));
    }

    #[test]
    fn results_fill_their_positions_once_in_completion_order() {
        let mut w = world("pool-map");
        worker(&mut w, 10);
        submit(&mut w, SubmitKind::ImapUnordered, &[5, 1, 4]);
        at(
            &mut w,
            0.1,
            EventKind::TaskStarted {
                task: 1,
                pid: 10,
                name: String::new(),
            },
        );
        assert_eq!(w.tasks.running.get(&10), Some(&1));
        done(&mut w, 0.2, 1, 10, 1);
        done(&mut w, 0.3, 1, 10, 1);
        done(&mut w, 0.4, 0, 10, 125);
        let call = &w.calls[0];
        assert_eq!(call.results, [Some("125".into()), Some("1".into()), None]);
        assert_eq!(call.order, [1, 0]);
        assert_eq!((w.tasks.done, w.tasks.pending.len()), (2, 1));
        assert_eq!(w.proc(10).map(|p| p.tasks_done), Some(2));
        assert!(w.tasks.running.is_empty());
    }

    #[test]
    fn a_lost_task_counts_as_lost_and_says_who_died() {
        let mut w = world("pool-map");
        worker(&mut w, 10);
        submit(&mut w, SubmitKind::Map, &[4]);
        let lost = EventKind::TaskLost {
            task: 0,
            pid: 10,
            name: "ForkPoolWorker-10".into(),
            signal: Some(9),
            exitcode: Some(-9),
            cause: crate::engine::protocol::LostCause::Killed,
        };
        at(&mut w, 0.5, lost);
        at(
            &mut w,
            0.5,
            EventKind::Exited {
                name: "ForkPoolWorker-10".into(),
                pid: 10,
                exitcode: Some(-9),
            },
        );
        assert_eq!((w.tasks.done, w.tasks.lost), (0, 1));
        assert_eq!(w.proc(10).map(|p| p.state), Some(ProcState::Killed));
        let texts: Vec<&str> = w.log.iter().map(|l| l.text.as_str()).collect();
        assert!(texts.contains(
            &"task #0 lost: ForkPoolWorker-10 killed by SIGKILL; pooltop's pool fails it with WorkerLostError (CPython's would wait forever)"
        ));
    }

    #[test]
    fn output_keeps_each_writers_lines_and_stays_bounded() {
        let mut w = world("squares-cubes");
        let out = |w: &mut World, pid: i32, text: &str| {
            let (name, stream, text) = (String::new(), Stream::Stdout, text.to_string());
            at(
                w,
                0.0,
                EventKind::Output {
                    pid,
                    name,
                    stream,
                    text,
                },
            );
        };
        out(&mut w, 1, "The square of 11 is ");
        out(&mut w, 2, "The cube of 3 is 27\n");
        out(&mut w, 1, "121\n");
        let lines: Vec<&String> = w.output.per_proc[&1].iter().collect();
        assert_eq!(lines, ["The square of 11 is 121", ""]);
        for _ in 0..(MAX_OUTPUT_BYTES / 10) {
            out(&mut w, 2, "0123456789abcdef\n");
        }
        assert!(w.output.bytes <= MAX_OUTPUT_BYTES && w.output.dropped > 0);
        assert!(w.output.per_proc[&2].len() <= MAX_PROC_LINES);
    }

    #[test]
    fn samples_set_live_states_and_leave_ended_rows_alone() {
        let mut w = world("pool-map");
        worker(&mut w, 10);
        worker(&mut w, 11);
        at(
            &mut w,
            0.1,
            EventKind::Exited {
                name: String::new(),
                pid: 11,
                exitcode: Some(0),
            },
        );
        let sample = |pid, state| ProcSample {
            pid,
            cpu: 50.0,
            rss_kib: 2000,
            core: Some(1),
            state,
        };
        w.apply_sample(Sample {
            cores: vec![40.0, 60.0],
            procs: vec![
                sample(10, KernelState::Stopped),
                sample(11, KernelState::Running),
            ],
        });
        assert_eq!(w.proc(10).map(|p| p.state), Some(ProcState::Stopped));
        assert_eq!(
            w.proc(11).map(|p| (p.state, p.cpu)),
            Some((ProcState::Exited, None))
        );
        assert_eq!(w.cpu.history[1].back(), Some(&60));
        assert_eq!(w.live_pids(), [10]);
    }

    #[test]
    fn a_measured_step_records_its_wall_time_and_workers() {
        let mut w = world("speedup");
        let (i, python) = w
            .scenario
            .program
            .steps
            .iter()
            .enumerate()
            .find(|(_, s)| s.measure.is_some())
            .map(|(i, s)| (i, s.python.clone()))
            .expect("a measured step");
        let index = Some(i);
        at(
            &mut w,
            1.0,
            EventKind::Step {
                index,
                python: python.clone(),
            },
        );
        let outcome = String::new();
        at(
            &mut w,
            2.5,
            EventKind::StepDone {
                index,
                python,
                outcome,
            },
        );
        let m = &w.run.measures[0];
        assert_eq!((m.measure.workers, m.secs), (Some(1), 1.5));
        assert_eq!(w.run.steps_done, i + 1);
    }

    #[test]
    fn a_storm_of_ended_workers_keeps_only_the_newest_rows() {
        let mut w = world("pool-map");
        worker(&mut w, 1);
        for pid in 100..400 {
            worker(&mut w, pid);
            let name = format!("ForkPoolWorker-{pid}");
            let (stream, text) = (Stream::Stderr, "Traceback\n".to_string());
            let output = EventKind::Output {
                pid,
                name: name.clone(),
                stream,
                text,
            };
            at(&mut w, 0.1, output);
            at(
                &mut w,
                0.1,
                EventKind::Exited {
                    name,
                    pid,
                    exitcode: Some(1),
                },
            );
        }
        assert_eq!(w.procs.len(), MAX_ENDED_ROWS + 1, "the live worker stays");
        assert_eq!(w.rows_dropped, 300 - MAX_ENDED_ROWS);
        assert!(w.proc(1).is_some() && w.proc(399).is_some() && w.proc(100).is_none());
        assert_eq!(w.output.per_proc.len(), MAX_ENDED_ROWS);
        let last = w.log.back().map(|l| l.text.as_str());
        let told = "300 pool workers exited, exitcode 1 (the last: ForkPoolWorker-399, pid 399)";
        assert_eq!(last, Some(told), "one line for the whole run");
    }

    #[test]
    fn a_vanished_driver_ends_every_row() {
        let mut w = world("pool-map");
        worker(&mut w, 10);
        w.driver_gone();
        assert_eq!(w.run.phase, Phase::DriverGone);
        assert_eq!(w.proc(10).map(|p| p.state), Some(ProcState::Killed));
        assert_eq!(w.restarted().procs.len(), 0);
    }
}
