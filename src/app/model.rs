//! The dashboard's state as plain data: processes, pools, tasks, results, output, the
//! event log, CPU history, and what the user has selected and opened.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::engine::program::{Measure, Program, StartMethod, SubmitKind};
use crate::engine::protocol::{PoolStateName, Role, Stream};

/// Bounds that keep memory and drawing cost flat under an output flood.
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
pub const MAX_PROC_LINES: usize = 400;
pub const MAX_LOG: usize = 500;
pub const CPU_HISTORY: usize = 120;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Loaded, nothing run yet: `s` starts.
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
}

/// One row of the processes table.
#[derive(Clone, Debug)]
pub struct ProcRow {
    pub name: String,
    pub pid: i32,
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
    /// Which colour of the palette its output gets.
    pub color: usize,
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

/// The pane beside the code (lessons) or below the process table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Output,
    Tasks,
    Timeline,
    Measurements,
    StartMethods,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Output,
        View::Tasks,
        View::Timeline,
        View::Measurements,
        View::StartMethods,
    ];

    pub fn label(self) -> &'static str {
        match self {
            View::Output => "output",
            View::Tasks => "tasks",
            View::Timeline => "timeline",
            View::Measurements => "measurements",
            View::StartMethods => "start methods",
        }
    }
}

pub const MAX_SPANS: usize = 20_000;

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
    /// Result text by submission position (`None` until it arrives).
    pub results: Vec<Option<String>>,
    /// Positions in the order their results arrived.
    pub order: Vec<usize>,
}

impl CallInfo {
    pub fn done(&self) -> usize {
        self.order.len()
    }

    /// `imap_unordered` yields in completion order; everything else by position.
    pub fn completion_order(&self) -> bool {
        self.method.completion_order()
    }
}

/// A task waiting, running or lost.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    pub call: u32,
    pub index: usize,
    pub label: String,
}

#[derive(Clone, Debug, Default)]
pub struct Tasks {
    pub all: HashMap<u64, TaskInfo>,
    pub pending: BTreeMap<u64, ()>,
    pub running: BTreeMap<i32, u64>,
    pub done: u64,
    pub lost: u64,
    pub total: u64,
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

/// What the process table selection points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every worker of the newest pool.
    AllWorkers,
    Proc(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    Interleaved,
    PerProcess,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// Signal menu with the highlighted entry.
    Signals(usize),
    /// Lesson picker with the highlighted lesson.
    Lessons(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Processes,
    Output,
}

/// Signals offered in the menu, most useful first.
pub const SIGNALS: &[(i32, &str, &str)] = &[
    (
        libc::SIGTERM,
        "SIGTERM",
        "terminate (what terminate() sends)",
    ),
    (libc::SIGKILL, "SIGKILL", "kill, cannot be caught (kill())"),
    (libc::SIGINT, "SIGINT", "interrupt, as Ctrl-C"),
    (libc::SIGHUP, "SIGHUP", "hang up"),
    (libc::SIGQUIT, "SIGQUIT", "quit"),
    (libc::SIGSTOP, "SIGSTOP", "pause, cannot be caught"),
    (libc::SIGCONT, "SIGCONT", "resume a paused process"),
    (libc::SIGUSR1, "SIGUSR1", "user signal 1 (ends a worker)"),
    (libc::SIGUSR2, "SIGUSR2", "user signal 2 (ends a worker)"),
    (libc::SIGABRT, "SIGABRT", "abort"),
];

/// Everything the dashboard shows.
#[derive(Clone, Debug)]
pub struct App {
    pub scenario: String,
    pub title: String,
    pub about: String,
    pub program: Program,
    pub phase: Phase,
    /// Seconds on the driver's clock, advanced by events and ticks.
    pub now: f64,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub main_pid: Option<i32>,
    /// The step in progress (its index, None for a typed call) and its Python.
    pub current: Option<(Option<usize>, String)>,
    pub steps_done: usize,
    pub procs: Vec<ProcRow>,
    pub pools: Vec<PoolInfo>,
    pub calls: Vec<CallInfo>,
    pub tasks: Tasks,
    pub output: Output,
    pub log: VecDeque<LogLine>,
    pub cpu: Cpu,
    pub selection: Selection,
    pub output_mode: OutputMode,
    pub overlay: Overlay,
    pub focus: Focus,
    /// Lines scrolled up from the bottom of the output.
    pub output_scroll: usize,
    pub color: bool,
    pub size: (u16, u16),
    /// A short note for the footer (what a key did, or why it did nothing).
    pub status: Option<String>,
    pub next_color: usize,
    pub quitting: bool,
    pub lesson: Option<crate::scenario::LessonMeta>,
    pub view: View,
    pub spans: VecDeque<TaskSpan>,
    /// When each scenario step began (driver clock).
    pub step_began: HashMap<usize, f64>,
    /// Labelled step durations, in the order they finished.
    pub measures: Vec<(Measure, f64)>,
    /// The exception a step raised, shown on its line in the code pane.
    pub step_errors: HashMap<usize, String>,
}

impl App {
    pub fn new(scenario: &crate::scenario::Scenario, color: bool) -> App {
        App {
            scenario: scenario.name.clone(),
            title: scenario.title.clone(),
            about: scenario.about.clone(),
            program: scenario.program.clone(),
            phase: Phase::Ready,
            now: 0.0,
            started_at: None,
            finished_at: None,
            main_pid: None,
            current: None,
            steps_done: 0,
            procs: Vec::new(),
            pools: Vec::new(),
            calls: Vec::new(),
            tasks: Tasks::default(),
            output: Output::default(),
            log: VecDeque::new(),
            cpu: Cpu::default(),
            selection: Selection::AllWorkers,
            output_mode: OutputMode::Both,
            overlay: Overlay::None,
            focus: Focus::Processes,
            output_scroll: 0,
            color,
            size: (120, 40),
            status: None,
            next_color: 0,
            quitting: false,
            lesson: scenario.lesson.clone(),
            view: View::Output,
            spans: VecDeque::new(),
            step_began: HashMap::new(),
            measures: Vec::new(),
            step_errors: HashMap::new(),
        }
    }

    /// A fresh run of the same program, keeping the user's view settings.
    pub fn restarted(&self) -> App {
        App {
            selection: Selection::AllWorkers,
            output_mode: self.output_mode,
            color: self.color,
            size: self.size,
            cpu: self.cpu.clone(),
            program: self.program.clone(),
            view: self.view,
            ..App::new(
                &crate::scenario::Scenario {
                    name: self.scenario.clone(),
                    title: self.title.clone(),
                    about: self.about.clone(),
                    program: self.program.clone(),
                    lesson: self.lesson.clone(),
                },
                self.color,
            )
        }
    }

    pub fn start_method(&self) -> StartMethod {
        self.program.settings.start_method
    }

    pub fn proc(&self, pid: i32) -> Option<&ProcRow> {
        self.procs.iter().rev().find(|p| p.pid == pid)
    }

    pub fn proc_mut(&mut self, pid: i32) -> Option<&mut ProcRow> {
        self.procs.iter_mut().rev().find(|p| p.pid == pid)
    }

    /// Seconds the scenario has been running (frozen once it finished).
    pub fn elapsed(&self) -> f64 {
        match (self.started_at, self.finished_at) {
            (Some(s), Some(f)) => f - s,
            (Some(s), None) => (self.now - s).max(0.0),
            _ => 0.0,
        }
    }

    /// The newest pool, the one keys act on.
    pub fn pool_index(&self) -> Option<usize> {
        self.pools.len().checked_sub(1)
    }

    pub fn live_workers(&self) -> Vec<&ProcRow> {
        self.procs
            .iter()
            .filter(|p| p.role == Role::PoolWorker && !p.state.ended())
            .collect()
    }

    /// What the main process is doing, in Python's words.
    pub fn main_doing(&self) -> String {
        match (&self.current, self.phase) {
            (_, Phase::Ready) => "ready: press s to start, n to step".into(),
            (_, Phase::DriverGone) => "the main process is gone".into(),
            (Some((_, python)), _) => {
                let line = python.lines().next().unwrap_or("").trim();
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
            (None, Phase::Finished) => format!("finished in {:.2}s", self.elapsed()),
            (None, Phase::Paused) => format!("paused before line {}", self.steps_done + 1),
            (None, _) => "running".into(),
        }
    }

    /// The newest call that still waits for results.
    pub fn waiting_call(&self) -> Option<&CallInfo> {
        self.calls.iter().rev().find(|c| c.done() < c.len)
    }

    /// Rows of the process table in display order: the main process first.
    pub fn rows(&self) -> Vec<&ProcRow> {
        let mut rows: Vec<&ProcRow> = self.procs.iter().filter(|p| p.role == Role::Main).collect();
        rows.extend(self.procs.iter().filter(|p| p.role != Role::Main));
        rows
    }

    /// Selectable entries: "all workers" (when a pool exists), then every row.
    pub fn selectables(&self) -> Vec<Selection> {
        let mut v = Vec::new();
        if !self.pools.is_empty() {
            v.push(Selection::AllWorkers);
        }
        v.extend(self.rows().iter().map(|p| Selection::Proc(p.pid)));
        v
    }

    pub fn selected_proc(&self) -> Option<&ProcRow> {
        match self.selection {
            Selection::Proc(pid) => self.proc(pid),
            Selection::AllWorkers => None,
        }
    }
}
