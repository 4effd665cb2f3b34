//! `pooltop bench`: the measurements of `bench/python_pool.py`, made on pooltop's own pool
//! of real processes through the ordinary driver, printed as JSON lines with its field names.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::engine::program::{
    Callbacks, Items, Op, Program, RunSettings, StartMethod, Step, SubmitKind,
};
use crate::engine::protocol::{Command, Detail, Event, EventKind, Role, TaskDetail};
use crate::engine::sys;
use crate::engine::value::Value;
use crate::session::{Feed, Session};
use crate::workload::{Call, Func};

/// One-at-a-time process starts, as the Python script does.
const SERIAL_PROCESSES: usize = 20;
/// Processes started together, then joined.
const BATCH_PROCESSES: usize = 32;

/// Step indexes of the pool part of the program.
struct PoolSteps {
    create: usize,
    apply: usize,
    map1: usize,
    imap_submit: usize,
    imap_iter: usize,
    map_default: usize,
    exit: usize,
}

struct Plan {
    program: Program,
    pool: PoolSteps,
    serial: (usize, usize),
    batch: (usize, usize),
}

fn step(op: Op, python: &str) -> Step {
    Step {
        python: python.into(),
        op,
        say: None,
        measure: None,
    }
}

/// The pool part, as `bench/python_pool.py` runs it; slots 0..5 are its variables.
fn pool_steps(tasks: usize, workers: usize) -> Vec<Step> {
    let items = Items::Range {
        start: 0,
        stop: tasks as i64,
    };
    let submit = |kind, items: Items, chunksize, into| Op::Submit {
        pool: 0,
        kind,
        func: Func::Cube,
        items,
        chunksize,
        into: Some(into),
        callbacks: Callbacks::default(),
    };
    let one = Items::List(vec![vec![Value::Int(1)]]);
    let new_pool = Op::NewPool {
        slot: 0,
        processes: Some(workers as i64),
        initializer: None,
        maxtasksperchild: None,
        method: None,
    };
    let iterate = Op::Iterate {
        slot: 2,
        print: false,
        into: Some(3),
    };
    vec![
        step(new_pool, "pool = ctx.Pool(processes=W)"),
        step(
            submit(SubmitKind::Apply, one, None, 1),
            "pool.apply(cube, (1,))",
        ),
        step(
            submit(SubmitKind::Map, items.clone(), Some(1), 1),
            "r = pool.map(cube, range(n), chunksize=1)",
        ),
        step(
            submit(SubmitKind::ImapUnordered, items.clone(), Some(1), 2),
            "it = pool.imap_unordered(cube, range(n), chunksize=1)",
        ),
        step(iterate, "ru = list(it)"),
        step(
            submit(SubmitKind::Map, items, None, 4),
            "rd = pool.map(cube, range(n))",
        ),
        step(Op::WithExit { slot: 0 }, "pool.terminate()"),
        step(
            Op::JoinPool {
                slot: 0,
                timeout: None,
            },
            "pool.join()",
        ),
    ]
}

/// Where each measured part of the pool steps is.
const POOL: PoolSteps = PoolSteps {
    create: 0,
    apply: 1,
    map1: 2,
    imap_submit: 3,
    imap_iter: 4,
    map_default: 5,
    exit: 6,
};

fn noop(i: usize) -> Call {
    Call {
        func: Func::Noop,
        args: vec![Value::Int(i as i128)],
    }
}

fn new_process(slot: usize, i: usize, python: &str) -> Step {
    let op = Op::NewProcess {
        slot,
        target: noop(i),
        name: None,
        method: None,
        daemon: false,
    };
    step(op, python)
}

fn join(slot: usize) -> Step {
    let op = Op::Join {
        slot,
        timeout: None,
    };
    step(op, "p.join()")
}

/// Processes started and joined one at a time; returns the first and last step.
fn serial_steps(slots: &mut Vec<String>, steps: &mut Vec<Step>) -> (usize, usize) {
    let first = steps.len();
    for i in 0..SERIAL_PROCESSES {
        let slot = slots.len();
        slots.push(format!("p{i}"));
        steps.push(new_process(
            slot,
            i,
            "p = ctx.Process(target=noop, args=(i,))",
        ));
        steps.push(step(Op::Start { slot }, "p.start()"));
        steps.push(join(slot));
    }
    (first, steps.len() - 1)
}

/// Processes made first, then all started, then all joined; the starts and joins are timed.
fn batch_steps(slots: &mut Vec<String>, steps: &mut Vec<Step>) -> (usize, usize) {
    let first_slot = slots.len();
    for i in 0..BATCH_PROCESSES {
        slots.push(format!("ps{i}"));
        let python = "ps.append(ctx.Process(target=noop, args=(i,)))";
        steps.push(new_process(first_slot + i, i, python));
    }
    let first = steps.len();
    let batch = first_slot..first_slot + BATCH_PROCESSES;
    steps.extend(
        batch
            .clone()
            .map(|slot| step(Op::Start { slot }, "p.start()")),
    );
    steps.extend(batch.map(join));
    (first, steps.len() - 1)
}

fn plan(tasks: usize, workers: usize, start_method: StartMethod) -> Plan {
    let mut slots: Vec<String> = ["pool", "r", "it", "ru", "rd"].map(String::from).into();
    let mut steps = pool_steps(tasks, workers);
    let serial = serial_steps(&mut slots, &mut steps);
    let batch = batch_steps(&mut slots, &mut steps);
    let settings = RunSettings {
        start_method,
        ..RunSettings::default()
    };
    let program = Program {
        name: "bench".into(),
        slots,
        steps,
        settings,
    };
    Plan {
        program,
        pool: POOL,
        serial,
        batch,
    }
}

/// What the run reported: when each step began and ended, and the values it produced.
#[derive(Default)]
struct Record {
    began: HashMap<usize, f64>,
    ended: HashMap<usize, f64>,
    /// Each list a step returned, as a check of it: its length and its integers' sum
    /// and sum of squares (the values themselves are not kept).
    results: HashMap<usize, ListCheck>,
    errors: Vec<String>,
    pool_workers: Vec<i32>,
    worker_memory: Vec<(u64, u64)>,
    main_pid: Option<i32>,
    /// Peak resident memory (KiB) of the main process, at the end of the run.
    main_peak_kib: Option<u64>,
    /// The highest peak of any pool worker, when the pool part ended.
    worker_peak_kib: Option<u64>,
}

impl Record {
    fn span_ms(&self, from: usize, to: usize) -> f64 {
        let a = self.began.get(&from).copied().unwrap_or(f64::NAN);
        let b = self.ended.get(&to).copied().unwrap_or(f64::NAN);
        (b - a) * 1e3
    }
}

/// Resident and proportional set size of a process, in KiB.
fn memory_kib(pid: i32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("Rss:")?, field("Pss:")?))
}

/// The next event of the run; an ending signal or the driver's going away ends it early.
fn next_event(session: &Session) -> Result<Event, String> {
    flume::Selector::new()
        .recv(session.feed(), |f| match f {
            Ok(Feed::Driver(Some(event))) => Ok(event),
            _ => Err("the driver process ended early".to_string()),
        })
        .recv(session.signals(), |s| {
            Err(format!(
                "interrupted by {}",
                sys::signal_name(s.unwrap_or(0))
            ))
        })
        .wait()
}

fn collect(session: &mut Session, plan: &Plan) -> Result<Record, String> {
    let mut rec = Record::default();
    // Run the pool part, stop before terminate() to measure the workers, then the rest.
    for _ in 0..plan.pool.exit {
        session.send(&Command::Step).map_err(|e| e.to_string())?;
    }
    let mut measured = false;
    loop {
        let event = next_event(session)?;
        match event.kind {
            EventKind::Step {
                index: Some(index), ..
            } => {
                rec.began.insert(index, event.t);
            }
            EventKind::StepDone {
                index: Some(index), ..
            } => {
                rec.ended.insert(index, event.t);
                if index + 1 == plan.pool.exit && !measured {
                    measured = true;
                    rec.worker_memory = rec
                        .pool_workers
                        .iter()
                        .filter_map(|p| memory_kib(*p))
                        .collect();
                    rec.worker_peak_kib = rec
                        .pool_workers
                        .iter()
                        .filter_map(|p| sys::peak_rss_kib(*p))
                        .max();
                    session
                        .send(&Command::Continue)
                        .map_err(|e| e.to_string())?;
                }
            }
            EventKind::Result { value, .. } => {
                let index = rec.ended.keys().copied().max().unwrap_or(0);
                if let Some(check) = ListCheck::of(&value) {
                    rec.results.insert(index, check);
                }
            }
            EventKind::Spawned {
                pid,
                role: Role::PoolWorker,
                ..
            } => rec.pool_workers.push(pid),
            EventKind::Error { message, python } => rec.errors.push(format!("{python}: {message}")),
            EventKind::Loaded { pid, .. } => rec.main_pid = Some(pid),
            EventKind::Finished { .. } => {
                rec.main_peak_kib = rec.main_pid.and_then(sys::peak_rss_kib);
                return Ok(rec);
            }
            _ => {}
        }
    }
}

/// What is checked of a list of integers: in order (each item against its position) and
/// in any order (count, sum and sum of squares, wrapping).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ListCheck {
    len: usize,
    in_order: bool,
    sum: i128,
    squares: i128,
}

impl ListCheck {
    fn of(value: &Value) -> Option<ListCheck> {
        let ints: Vec<i128> = match value {
            Value::Ints(ints) => ints.to_vec(),
            Value::List(items) => items.iter().map(Value::as_int).collect::<Option<_>>()?,
            _ => return None,
        };
        Some(ListCheck::new(&ints, |i| (i as i128).pow(3)))
    }

    fn new(ints: &[i128], expected: impl Fn(usize) -> i128) -> ListCheck {
        ListCheck {
            len: ints.len(),
            in_order: ints.iter().enumerate().all(|(i, n)| *n == expected(i)),
            sum: ints.iter().fold(0, |a, n| a.wrapping_add(*n)),
            squares: ints
                .iter()
                .fold(0, |a, n| a.wrapping_add(n.wrapping_mul(*n))),
        }
    }
}

fn check_results(rec: &Record, plan: &Plan, tasks: usize) -> Result<(), String> {
    let cubes: Vec<i128> = (0..tasks).map(|i| (i as i128).pow(3)).collect();
    let expected = ListCheck::new(&cubes, |i| (i as i128).pow(3));
    let get = |i: usize| rec.results.get(&i);
    for step in [plan.pool.map1, plan.pool.map_default] {
        if get(step) != Some(&expected) {
            return Err("map returned wrong results".into());
        }
    }
    let unordered = get(plan.pool.imap_iter).ok_or("imap_unordered returned nothing")?;
    if (unordered.len, unordered.sum, unordered.squares)
        != (expected.len, expected.sum, expected.squares)
    {
        return Err("imap_unordered returned wrong results".into());
    }
    Ok(())
}

pub fn run(tasks: usize, workers: usize, start_method: StartMethod) -> ExitCode {
    let plan = plan(tasks, workers, start_method);
    let mut session = match Session::start(None) {
        Ok(session) => session,
        Err(e) => {
            eprintln!("pooltop: cannot start the driver process: {e}");
            return ExitCode::from(1);
        }
    };
    let load = Command::Load {
        program: plan.program.clone(),
        detail: Detail {
            tasks: TaskDetail::Off,
            values: true,
        },
    };
    let rec = session
        .send(&load)
        .map_err(|e| e.to_string())
        .and_then(|()| collect(&mut session, &plan));
    session.shutdown(Duration::from_secs(3));
    let rec = match rec {
        Ok(rec) => rec,
        Err(e) => {
            eprintln!("pooltop bench: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(e) = rec.errors.first() {
        eprintln!("pooltop bench: {e}");
        return ExitCode::from(1);
    }
    if let Err(e) = check_results(&rec, &plan, tasks) {
        eprintln!("pooltop bench: {e}");
        return ExitCode::from(1);
    }
    print_rows(&rec, &plan, tasks, workers, start_method);
    ExitCode::SUCCESS
}

fn print_rows(rec: &Record, plan: &Plan, tasks: usize, workers: usize, method: StartMethod) {
    let p = &plan.pool;
    let per_s = |ms: f64| tasks as f64 / (ms / 1e3);
    let max_rss = rec.worker_memory.iter().map(|m| m.0).max().unwrap_or(0);
    let max_pss = rec.worker_memory.iter().map(|m| m.1).max().unwrap_or(0);
    let row = json!({
        "peer": "pooltop",
        "start_method": method.name(),
        "workers": workers,
        "tasks": tasks,
        "pool_ready_ms": rec.span_ms(p.create, p.apply),
        "map_chunksize1_tasks_per_s": per_s(rec.span_ms(p.map1, p.map1)),
        "imap_unordered_chunksize1_tasks_per_s": per_s(rec.span_ms(p.imap_submit, p.imap_iter)),
        "map_default_chunksize_tasks_per_s": per_s(rec.span_ms(p.map_default, p.map_default)),
        "worker_rss_kib": max_rss,
        "worker_pss_kib": max_pss,
        "front_end_peak_rss_kib": sys::peak_rss_kib(std::process::id() as i32),
        "main_process_peak_rss_kib": rec.main_peak_kib,
        "worker_peak_rss_kib": rec.worker_peak_kib,
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{row}");
    let row = json!({
        "peer": "pooltop",
        "start_method": method.name(),
        "process_start_join_ms": rec.span_ms(plan.serial.0, plan.serial.1) / SERIAL_PROCESSES as f64,
        "start_join_32_processes_ms": rec.span_ms(plan.batch.0, plan.batch.1),
    });
    let _ = writeln!(out, "{row}");
}
