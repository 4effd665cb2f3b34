//! A scenario compiled for the driver: Python calls with their variables resolved to
//! slots, ready to execute one by one. Scenario files compile into this.

use serde::{Deserialize, Serialize};

use crate::engine::value::Value;
use crate::workload::{Call, Cost, Func};

/// How a process is started, as Python's `multiprocessing.set_start_method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StartMethod {
    #[default]
    Fork,
    Spawn,
    Forkserver,
}

impl StartMethod {
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }

    /// Python's prefix for pool worker names: `ForkPoolWorker-3`.
    pub fn pool_worker_prefix(self) -> &'static str {
        match self {
            StartMethod::Fork => "ForkPoolWorker",
            StartMethod::Spawn => "SpawnPoolWorker",
            StartMethod::Forkserver => "ForkServerPoolWorker",
        }
    }

    /// The Process class of `multiprocessing.get_context(method)`: `SpawnProcess`, which
    /// also names its objects (`SpawnProcess-2`); plain `multiprocessing.Process` is
    /// `Process` whatever the default method.
    pub fn process_class(self) -> &'static str {
        match self {
            StartMethod::Fork => "ForkProcess",
            StartMethod::Spawn => "SpawnProcess",
            StartMethod::Forkserver => "ForkServerProcess",
        }
    }
}

/// Index of a scenario variable.
pub type Slot = usize;

/// Which Pool method submitted a call; in events it is the method's name (`imap_unordered`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmitKind {
    Apply,
    ApplyAsync,
    Map,
    MapAsync,
    Starmap,
    StarmapAsync,
    Imap,
    ImapUnordered,
}

impl SubmitKind {
    pub fn method(self) -> &'static str {
        match self {
            SubmitKind::Apply => "apply",
            SubmitKind::ApplyAsync => "apply_async",
            SubmitKind::Map => "map",
            SubmitKind::MapAsync => "map_async",
            SubmitKind::Starmap => "starmap",
            SubmitKind::StarmapAsync => "starmap_async",
            SubmitKind::Imap => "imap",
            SubmitKind::ImapUnordered => "imap_unordered",
        }
    }

    /// Calls that block the main process until every result is in.
    pub fn blocks(self) -> bool {
        matches!(
            self,
            SubmitKind::Apply | SubmitKind::Map | SubmitKind::Starmap
        )
    }

    pub fn is_iterator(self) -> bool {
        matches!(self, SubmitKind::Imap | SubmitKind::ImapUnordered)
    }

    /// `apply` returns one value, the others a list (or an iterator of them).
    pub fn single(self) -> bool {
        matches!(self, SubmitKind::Apply | SubmitKind::ApplyAsync)
    }

    /// `imap_unordered` yields in completion order; every other call by position.
    pub fn completion_order(self) -> bool {
        self == SubmitKind::ImapUnordered
    }

    /// map and starmap use Python's computed default chunksize; imap* use 1.
    pub fn uses_default_chunksize_rule(self) -> bool {
        matches!(
            self,
            SubmitKind::Map | SubmitKind::MapAsync | SubmitKind::Starmap | SubmitKind::StarmapAsync
        )
    }
}

/// The items of a map-like call: a list of argument lists, or `range(start, stop)`
/// kept as two numbers so a 100,000-item benchmark program stays small.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Items {
    List(Vec<Vec<Value>>),
    Range { start: i64, stop: i64 },
}

impl Items {
    pub fn len(&self) -> usize {
        match self {
            Items::List(v) => v.len(),
            Items::Range { start, stop } => (*stop - *start).max(0) as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The argument list of item `i`.
    pub fn args(&self, i: usize) -> Vec<Value> {
        match self {
            Items::List(v) => v.get(i).cloned().unwrap_or_default(),
            Items::Range { start, .. } => vec![Value::Int(i128::from(*start) + i as i128)],
        }
    }
}

/// Which process a `signal` step hits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignalTarget {
    Process(Slot),
    /// A pool worker: the first one busy with a task (waiting until one is), or by index.
    PoolWorker {
        pool: Slot,
        busy: bool,
        index: usize,
    },
}

/// A piece of a `print` template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Piece {
    Text(String),
    Var(Slot),
    /// Seconds since the scenario started, as `time.time() - start` prints them.
    Elapsed,
    /// `os.getpid()` of the main process.
    Pid,
    /// `os.cpu_count()`.
    CpuCount,
    /// `multiprocessing.current_process().name`, in the main process.
    ProcessName,
    /// `multiprocessing.active_children()`: the live children, as Python lists them.
    ActiveChildren,
    /// `len(multiprocessing.active_children())`.
    ActiveCount,
}

/// A function the main process passes as `callback=` or `error_callback=`: Python runs
/// it in the main process when the call's result (or exception) is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Callback {
    /// `print`: writes the result, or the exception's message.
    Print,
}

/// The callbacks of an `apply_async` / `map_async` / `starmap_async`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callbacks {
    pub on_result: Option<Callback>,
    pub on_error: Option<Callback>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op {
    NewProcess {
        slot: Slot,
        target: Call,
        name: Option<String>,
        /// `multiprocessing.get_context(method).Process(...)`; None: the run's method.
        method: Option<StartMethod>,
        /// `daemon=True`: terminated, not joined, when the main program ends.
        daemon: bool,
    },
    Start {
        slot: Slot,
    },
    Join {
        slot: Slot,
        timeout: Option<f64>,
    },
    Terminate {
        slot: Slot,
    },
    Kill {
        slot: Slot,
    },
    IsAlive {
        slot: Slot,
        into: Option<Slot>,
    },
    ExitCode {
        slot: Slot,
        into: Option<Slot>,
    },
    NewPool {
        slot: Slot,
        processes: Option<i64>,
        initializer: Option<Call>,
        maxtasksperchild: Option<i64>,
        method: Option<StartMethod>,
    },
    Submit {
        pool: Slot,
        kind: SubmitKind,
        func: Func,
        /// Each item's argument list (one element for map, several for starmap/apply).
        items: Items,
        chunksize: Option<i64>,
        into: Option<Slot>,
        callbacks: Callbacks,
    },
    Get {
        slot: Slot,
        timeout: Option<f64>,
        into: Option<Slot>,
    },
    Wait {
        slot: Slot,
        timeout: Option<f64>,
    },
    Ready {
        slot: Slot,
        into: Option<Slot>,
    },
    /// `r.successful()`: whether the call raised; an error itself while not ready.
    Successful {
        slot: Slot,
        into: Option<Slot>,
    },
    /// `it.next(timeout)` (or `next(it)`) on an imap iterator.
    Next {
        slot: Slot,
        timeout: Option<f64>,
        into: Option<Slot>,
    },
    /// `for r in it: print(r)` over an imap iterator.
    Iterate {
        slot: Slot,
        print: bool,
        into: Option<Slot>,
    },
    Close {
        slot: Slot,
    },
    JoinPool {
        slot: Slot,
        /// Python's `Pool.join()` takes none: given one, the call raises `TypeError`.
        timeout: Option<f64>,
    },
    TerminatePool {
        slot: Slot,
    },
    /// Leaving `with Pool() as pool:` calls `terminate()`.
    WithExit {
        slot: Slot,
    },
    Print {
        pieces: Vec<Piece>,
    },
    /// `start = time.time()`: `{elapsed}` counts from here.
    Clock,
    /// A line shown for reading only (an import, a comment).
    Note,
    Sleep {
        seconds: f64,
    },
    Signal {
        target: SignalTarget,
        signal: i32,
    },
}

/// One step: the Python it stands for and what the driver does for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub python: String,
    pub op: Op,
    /// What a lesson says about this line.
    pub say: Option<String>,
    /// A label for how long this step took (a lesson's measurements view).
    pub measure: Option<Measure>,
}

/// A step whose wall time a lesson shows: its label and, when it compares pool sizes,
/// how many workers ran it (the measurements view draws the ideal speedup from that).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub label: String,
    pub workers: Option<usize>,
}

/// Settings that apply to a whole run (from the scenario, overridden on the command line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct RunSettings {
    pub start_method: StartMethod,
    pub cost: Cost,
    /// Overrides every pool's `processes`.
    pub workers: Option<usize>,
    /// Overrides every map/imap/starmap chunksize.
    pub chunksize: Option<usize>,
    pub maxtasksperchild: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub slots: Vec<String>,
    pub steps: Vec<Step>,
    pub settings: RunSettings,
}
