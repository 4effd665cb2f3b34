//! Every message the engine's processes exchange: commands from a front end to the
//! driver, events back, and the driver's conversation with each worker.

use serde::{Deserialize, Serialize};

use crate::engine::chunk::{ChunkArgs, ChunkResults};
use crate::engine::program::{Program, StartMethod, SubmitKind};
use crate::engine::value::Value;
use crate::workload::{Call, Cost, Func};

/// What a front end (headless printer, TUI, benchmark) asks of the driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Command {
    /// Load a program; nothing runs until `Step` or `Continue`.
    Load { program: Program, detail: Detail },
    /// Execute the next step (it may block, as the Python call would).
    Step,
    /// Execute steps until the end.
    Continue,
    /// Stop after the step in progress.
    Pause,
    /// A call typed at the keyboard, run by the main process between steps.
    Interact(Interactive),
    /// Send a signal to one of the driver's live children.
    Signal { pid: i32, signal: i32 },
    /// End every child, reap them all, and exit.
    Shutdown,
    /// Run a command and watch its process tree (`pooltop watch`; its own main process).
    Watch(WatchSpec),
    /// Deliver `signal` to every process of a watched tree, as a terminal does to its
    /// foreground process group (Ctrl-C is SIGINT to the program and all its workers).
    SignalTree { signal: i32 },
}

/// How much a front end hears about tasks and values: what nobody reads is neither
/// sent nor kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub tasks: TaskDetail,
    /// `result` events carry the values steps produce (a map's whole list).
    pub values: bool,
}

impl Detail {
    /// Everything: an event log (`--events`, `--trace`).
    pub const EVERY: Detail = Detail {
        tasks: TaskDetail::Every,
        values: true,
    };
    /// The dashboard: large calls summarised, no values.
    pub const SCREEN: Detail = Detail {
        tasks: TaskDetail::Summary,
        values: false,
    };
    /// A headless run nobody logs: the program's own output only.
    pub const QUIET: Detail = Detail {
        tasks: TaskDetail::Off,
        values: false,
    };
}

/// Which per-task events the driver sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskDetail {
    /// None (the benchmark, a headless run without `--events`).
    Off,
    /// Every task of a call of up to [`SUMMARY_FROM`] tasks; a larger call as
    /// `call_progress` events, at most [`PROGRESS_EVERY_MS`] apart (the dashboard).
    Summary,
    /// Every task of every call.
    #[default]
    Every,
}

/// Calls with more tasks than this are summarised for the dashboard.
pub const SUMMARY_FROM: usize = 2000;
/// How often a summarised call's progress is sent.
pub const PROGRESS_EVERY_MS: u64 = 40;
/// Results of a summarised call the screen can show: the first positions (in order) or
/// the first arrivals (completion order).
pub const RESULTS_SHOWN: usize = 512;

/// A task a worker is running, for a summarised call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningTask {
    pub pid: i32,
    pub task: u64,
    /// The call as Python would write it: `cube(4)`.
    pub label: String,
}

/// What `pooltop watch` runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchSpec {
    /// The command and its arguments.
    pub argv: Vec<String>,
    /// Put pooltop's Python hook on `PYTHONPATH` (as `sitecustomize`).
    pub hook: bool,
}

/// Calls the dashboard can make on the scenario's objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interactive {
    /// `process.join()` on the Process whose child has this PID.
    JoinProcess {
        pid: i32,
    },
    /// `process.start()` on the Process object with this name.
    StartProcess {
        name: String,
    },
    ClosePool {
        pool: usize,
    },
    JoinPool {
        pool: usize,
    },
    TerminatePool {
        pool: usize,
    },
    /// Grow or shrink a pool (not in Python: it shows workers coming and going).
    Resize {
        pool: usize,
        processes: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Main,
    Process,
    PoolWorker,
    Forkserver,
    /// CPython's resource tracker (watch mode).
    ResourceTracker,
    /// A process of a watched tree that is not (or not known as) a Python one.
    Other,
}

/// Something that happened, `t` seconds after the driver started.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    pub t: f64,
    pub kind: EventKind,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The main process is up and has loaded a program.
    Loaded {
        scenario: String,
        pid: i32,
        ppid: i32,
        steps: usize,
        start_method: StartMethod,
    },
    /// A child was created (its PID is known) and is starting.
    Created {
        name: String,
        pid: i32,
        ppid: i32,
        role: Role,
    },
    /// A `Process` object was made in the main process (Python's state `initial`): it
    /// has a name, and no OS process until its `start()`.
    ProcessObject {
        name: String,
        start_method: StartMethod,
        daemon: bool,
    },
    /// A child finished starting: it is ready to run its target or take tasks.
    Spawned {
        name: String,
        pid: i32,
        ppid: i32,
        role: Role,
        /// Null for a process pooltop watched rather than started.
        start_method: Option<StartMethod>,
        start_ms: Option<f64>,
        /// Resident memory right after the start, in KiB.
        rss_kib: Option<u64>,
    },
    /// What a watched process is, once known: its Python name and role from the hook.
    Named {
        pid: i32,
        name: String,
        role: Role,
    },
    /// pooltop ended a process of a watched tree: with which signal, and why.
    Ended {
        pid: i32,
        name: String,
        signal: i32,
        reason: String,
    },
    /// Whether a watched program's Python hook is reporting; `reason` says why it is not.
    Hook {
        connected: bool,
        reason: String,
    },
    Output {
        pid: i32,
        name: String,
        stream: Stream,
        text: String,
    },
    /// The main process begins a step (a Python call); `index` is None for a call typed
    /// at the keyboard.
    Step {
        index: Option<usize>,
        python: String,
    },
    /// The step returned (or raised): `outcome` is what the call gave back.
    StepDone {
        index: Option<usize>,
        python: String,
        outcome: String,
    },
    /// A map-like call was submitted: `len` tasks in chunks of `chunksize`.
    CallSubmitted {
        call: u32,
        pool: usize,
        method: SubmitKind,
        /// The function's name (`cube`; in a watched program its `__qualname__`).
        func: String,
        len: usize,
        chunksize: usize,
    },
    /// Where a summarised call stands (see [`TaskDetail::Summary`]): counts, what runs,
    /// what comes next and the new results the screen can show.
    CallProgress {
        call: u32,
        /// Results in, failed ones included.
        done: usize,
        failed: usize,
        running: Vec<RunningTask>,
        /// The next few tasks waiting, as Python would write them.
        next: Vec<String>,
        /// New results among those shown: (position, repr).
        results: Vec<(u32, String)>,
        /// Items each worker finished since the last progress: (pid, count).
        finished: Vec<(i32, u32)>,
    },
    TaskQueued {
        task: u64,
        call: u32,
        index: usize,
        func: String,
        args: Value,
    },
    TaskStarted {
        task: u64,
        pid: i32,
        name: String,
    },
    TaskDone {
        task: u64,
        pid: i32,
        name: String,
        result: Value,
    },
    TaskFailed {
        task: u64,
        pid: i32,
        name: String,
        error: String,
    },
    /// A task died with its worker; Python would wait for it forever.
    TaskLost {
        task: u64,
        pid: i32,
        name: String,
        signal: Option<i32>,
        /// Python's exit code of the worker; null where nobody could know it.
        exitcode: Option<i32>,
        cause: LostCause,
    },
    /// Tasks that go back to the queue because their worker died before reporting them
    /// (Python would lose them with the rest of its chunk).
    Requeued {
        tasks: Vec<u64>,
        pid: i32,
        name: String,
    },
    Exited {
        name: String,
        pid: i32,
        /// Null where neither the kernel nor the hook could tell (watch mode).
        exitcode: Option<i32>,
    },
    PoolState {
        id: usize,
        processes: usize,
        pool: String,
        state: PoolStateName,
    },
    /// A Python exception raised in the main process, worded as Python words it.
    Error {
        message: String,
        python: String,
    },
    /// A value the main process obtained (a map's list, `is_alive()`, ...).
    Result {
        value: Value,
        python: String,
    },
    /// Every step has run.
    Finished {
        elapsed: f64,
        /// A watched command's exit status: its code, or 128+N when killed by signal N.
        status: Option<i32>,
    },
    /// The driver itself failed and is going away.
    Fatal {
        message: String,
    },
}

/// Why a task was lost with its worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostCause {
    /// The worker was killed by a signal (`signal`).
    Killed,
    /// The worker exited by itself in the middle of the task.
    Exited,
    /// The pool was terminated with the task running (`terminate()`, leaving `with`).
    PoolTerminated,
}

impl LostCause {
    /// How the worker ended, for a person: `killed by SIGKILL`, `exited with code 3`.
    pub fn how(self, signal: Option<i32>, exitcode: Option<i32>) -> String {
        match (self, signal) {
            (LostCause::PoolTerminated, _) => "ended by the pool's terminate()".into(),
            (_, Some(s)) => format!("killed by {}", crate::engine::sys::signal_name(s)),
            (_, None) => match exitcode {
                Some(code) => format!("exited with code {code}"),
                None => "exited".into(),
            },
        }
    }

    /// The line a person reads: `task #3 lost: ForkPoolWorker-2 killed by SIGKILL; CPython's
    /// Pool will wait for it forever`. `watched`: a real CPython pool lost it (which hangs);
    /// otherwise pooltop's own pool did, which fails the task instead.
    pub fn describe(
        self,
        task: u64,
        name: &str,
        signal: Option<i32>,
        exitcode: Option<i32>,
        watched: bool,
    ) -> String {
        let how = self.how(signal, exitcode);
        let tail = match (self, watched) {
            (LostCause::PoolTerminated, _) => "",
            (_, true) => "; CPython's Pool will wait for it forever",
            (_, false) => {
                "; pooltop's pool fails it with WorkerLostError (CPython's would wait forever)"
            }
        };
        format!("task #{task} lost: {name} {how}{tail}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PoolStateName {
    #[serde(rename = "RUN")]
    Run,
    #[serde(rename = "CLOSE")]
    Close,
    #[serde(rename = "TERMINATE")]
    Terminate,
}

impl PoolStateName {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolStateName::Run => "RUN",
            PoolStateName::Close => "CLOSE",
            PoolStateName::Terminate => "TERMINATE",
        }
    }
}

impl Event {
    /// The JSON Lines form, written as it is made (a result of a million items is not
    /// built as a tree first). The same text as [`Event::to_json`].
    pub fn write_json(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let mut kind = Vec::with_capacity(128);
        serde_json::to_writer(&mut kind, &self.kind)?;
        let t = (self.t * 1e6).round() / 1e6;
        out.write_all(b"{\"t\":")?;
        serde_json::to_writer(&mut *out, &t)?;
        out.write_all(b",\"event\":")?;
        // Externally tagged: `"name"` for a unit variant, `{"name":{fields}}` otherwise.
        if kind.first() != Some(&b'{') {
            out.write_all(&kind)?;
            return out.write_all(b"}");
        }
        let colon = kind.iter().position(|b| *b == b':').unwrap_or(0);
        out.write_all(&kind[1..colon])?;
        let fields = kind
            .get(colon + 2..kind.len().saturating_sub(2))
            .unwrap_or(&[]);
        if !fields.is_empty() {
            out.write_all(b",")?;
            out.write_all(fields)?;
        }
        out.write_all(b"}")
    }

    /// The JSON Lines form: `{"t": ..., "event": "task_done", ...fields}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert("t".into(), serde_json::json!((self.t * 1e6).round() / 1e6));
        match serde_json::to_value(&self.kind) {
            Ok(serde_json::Value::Object(map)) => {
                for (name, fields) in map {
                    out.insert("event".into(), serde_json::Value::String(name));
                    if let serde_json::Value::Object(fields) = fields {
                        out.extend(fields);
                    }
                }
            }
            Ok(serde_json::Value::String(name)) => {
                out.insert("event".into(), serde_json::Value::String(name));
            }
            _ => {}
        }
        serde_json::Value::Object(out)
    }
}

/// The driver's side of a worker conversation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToWorker {
    Init(WorkerInit),
    /// A batch of items to run in order; results come back together, as Python's chunks.
    /// Item `k` is task `first_task + k`.
    Chunk {
        chunk: u64,
        func: Func,
        first_task: u64,
        args: ChunkArgs,
    },
    /// Python's sentinel: finish what you have and exit.
    Stop,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkerInit {
    pub name: String,
    pub cost: Cost,
    pub job: Job,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Job {
    /// `Process(target=...)`: run it, exit 0 (or 1 when it raises).
    Target(Call),
    /// A pool worker: run the initializer, then chunks until `Stop` or `maxtasks` chunks.
    PoolWorker {
        initializer: Option<Call>,
        maxtasks: Option<u32>,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FromWorker {
    Ready,
    Started {
        task: u64,
    },
    /// A chunk's results, and how long the worker took to run it (microseconds).
    ChunkDone {
        chunk: u64,
        results: ChunkResults,
        busy_us: u32,
    },
}

/// The fork server's conversation with the driver.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToForkserver {
    /// Fork a worker; its channel arrives as an fd alongside this frame.
    Fork { token: u64 },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FromForkserver {
    /// The child's PID; its pidfd arrives alongside this frame.
    Forked {
        token: u64,
        pid: i32,
    },
    Exited {
        pid: i32,
        exitcode: i32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_is_the_tree_json() {
        let events = [
            EventKind::TaskDone {
                task: 3,
                pid: 12,
                name: "ForkPoolWorker-1".into(),
                result: Value::Int(27),
            },
            EventKind::Result {
                value: Value::list(vec![Value::Int(1), Value::Int(8)]),
                python: "r = pool.map(cube, [1, 2]) # {\"x\": 1}".into(),
            },
            EventKind::Finished {
                elapsed: 0.5,
                status: None,
            },
            EventKind::CallProgress {
                call: 0,
                done: 2,
                failed: 0,
                running: Vec::new(),
                next: vec!["cube(3)".into()],
                results: vec![(0, "0".into())],
                finished: vec![(12, 2)],
            },
        ];
        for kind in events {
            let event = Event {
                t: 1.234_567_89,
                kind,
            };
            let mut streamed = Vec::new();
            event.write_json(&mut streamed).expect("write");
            assert_eq!(
                String::from_utf8(streamed).expect("utf-8"),
                event.to_json().to_string()
            );
        }
    }
}
