//! Turns a scenario file's steps into the driver's program: checks every field, resolves
//! variables to slots, and writes the Python line a step stands for when none is given.

use std::collections::HashMap;

use crate::engine::program::{
    Callback, Callbacks, Items, Op, Piece, Program, RunSettings, SignalTarget, StartMethod, Step,
    SubmitKind,
};
use crate::engine::sys;
use crate::engine::value::Value;
use crate::workload::{Call, Func};

use super::{
    LineIndex, MAX_ITEMS, MAX_WORKERS, Overrides, RawMeasure, RawStep, ScenarioFile, Source,
};

/// Longest wait a `timeout` or `sleep` may ask for. A timeout past what a deadline can
/// hold (`inf`, `1e19`) made the main process panic; Python raises `OverflowError` there.
const MAX_SECONDS: f64 = 3600.0;

/// Largest `chunksize` or `maxtasksperchild`: past the most items a scenario may have,
/// a larger one means nothing more.
const MAX_COUNT: i64 = 10_000_000;

/// Deepest nesting of lists in a value, so that a value crosses the engine's pipes well
/// within their own nesting limit (`engine::wire`). TOML stops at about 80.
const MAX_NESTING: usize = 32;

/// Most lines one `chatter(n)` prints: it prints as fast as it can, and a larger n is
/// an output flood that does not end.
const MAX_CHATTER: i128 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Process,
    Pool,
    Async,
    Iter,
    Value,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Process => "a Process",
            Kind::Pool => "a Pool",
            Kind::Async => "an AsyncResult",
            Kind::Iter => "an imap iterator",
            Kind::Value => "a value",
        }
    }
}

struct Compiler<'a> {
    slots: Vec<String>,
    kinds: HashMap<String, (usize, Kind)>,
    overrides: &'a Overrides,
    /// Items of the map-like calls so far, toward [`MAX_ITEMS`].
    items: u64,
}

type Res<T> = Result<T, String>;

/// Fields each action accepts beyond `do` and `python`.
fn allowed(action: &str) -> Option<&'static [&'static str]> {
    Some(match action {
        "process" => &["var", "target", "args", "name", "daemon"],
        "start" | "terminate" | "kill" | "close" | "with-exit" => &["on"],
        "join" | "wait" => &["on", "timeout"],
        "is_alive" | "exitcode" | "ready" | "successful" => &["on", "into"],
        "pool" => &[
            "var",
            "processes",
            "initializer",
            "initargs",
            "maxtasksperchild",
        ],
        "apply" => &["on", "func", "args", "into"],
        "apply_async" => &["on", "func", "args", "into", "callback", "error_callback"],
        "map" | "imap" | "imap_unordered" | "starmap" => {
            &["on", "func", "items", "range", "chunksize", "into"]
        }
        "map_async" | "starmap_async" => &[
            "on",
            "func",
            "items",
            "range",
            "chunksize",
            "into",
            "callback",
            "error_callback",
        ],
        "get" | "next" => &["on", "timeout", "into"],
        "for" => &["on", "print", "into"],
        "print" => &["text"],
        "sleep" => &["seconds"],
        "clock" | "note" => &[],
        "signal" => &["on", "signal", "worker"],
        _ => return None,
    })
}

const ACTIONS: &str = "process, start, join, terminate, kill, is_alive, exitcode, pool, apply, apply_async, \
map, map_async, imap, imap_unordered, starmap, starmap_async, get, wait, ready, successful, next, for, close, \
with-exit, print, sleep, signal, clock, note";

fn present_fields(s: &RawStep) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut add = |name, on: bool| {
        if on {
            v.push(name);
        }
    };
    add("var", s.var.is_some());
    add("on", s.on.is_some());
    add("into", s.into.is_some());
    add("target", s.target.is_some());
    add("func", s.func.is_some());
    add("args", s.args.is_some());
    add("items", s.items.is_some());
    add("range", s.range.is_some());
    add("name", s.name.is_some());
    add("processes", s.processes.is_some());
    add("initializer", s.initializer.is_some());
    add("initargs", s.initargs.is_some());
    add("maxtasksperchild", s.maxtasksperchild.is_some());
    add("chunksize", s.chunksize.is_some());
    add("timeout", s.timeout.is_some());
    add("text", s.text.is_some());
    add("print", s.print.is_some());
    add("seconds", s.seconds.is_some());
    add("signal", s.signal.is_some());
    add("worker", s.worker.is_some());
    add("start_method", s.start_method.is_some());
    add("daemon", s.daemon.is_some());
    add("callback", s.callback.is_some());
    add("error_callback", s.error_callback.is_some());
    v
}

pub fn compile(
    source: &Source,
    file: &ScenarioFile,
    settings: RunSettings,
    overrides: &Overrides,
) -> Res<Program> {
    let mut c = Compiler {
        slots: Vec::new(),
        kinds: HashMap::new(),
        overrides,
        items: 0,
    };
    let lines = LineIndex::new(&source.text);
    let mut steps = Vec::new();
    for (n, spanned) in file.step.iter().enumerate() {
        let raw = spanned.get_ref();
        let line = lines.line(spanned.span().start);
        let at = |msg: String| {
            format!(
                "{}:{line}: step {} ({}): {msg}",
                source.label,
                n + 1,
                raw.action
            )
        };
        let step = c.step(raw).map_err(at)?;
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(format!("{}: the scenario has no [[step]]", source.label));
    }
    Ok(Program {
        name: file.name.clone().unwrap_or_else(|| source.default_name()),
        slots: c.slots,
        steps,
        settings,
    })
}

/// A step's own start method, as `multiprocessing.get_context("spawn")` gives.
fn start_method(s: &RawStep) -> Res<Option<StartMethod>> {
    use clap::ValueEnum;
    s.start_method
        .as_deref()
        .map(|m| {
            StartMethod::from_str(m, false)
                .map_err(|_| format!("start_method '{m}' is not fork, spawn or forkserver"))
        })
        .transpose()
}

fn context(method: Option<StartMethod>) -> String {
    match method {
        Some(m) => format!("multiprocessing.get_context({:?})", m.name()),
        None => "multiprocessing".into(),
    }
}

fn need<'a, T>(v: Option<&'a T>, field: &str) -> Res<&'a T> {
    v.ok_or_else(|| format!("missing field '{field}'"))
}

fn func(name: &str) -> Res<Func> {
    Func::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = crate::workload::ALL.iter().map(|f| f.name()).collect();
        format!("unknown function '{name}' (known: {})", names.join(", "))
    })
}

fn values(v: &[toml::Value]) -> Res<Vec<Value>> {
    if v.iter().any(|x| nesting(x) > MAX_NESTING) {
        return Err(format!("a value nests lists more than {MAX_NESTING} deep"));
    }
    v.iter().map(Value::from_toml).collect()
}

/// How many lists deep a value goes (TOML's parser bounds the recursion).
fn nesting(v: &toml::Value) -> usize {
    match v {
        toml::Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// A number as TOML writes it, short: `inf`, `nan`, `1e300`.
fn number(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else if x.abs() >= 1e15 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// A step's `timeout`, up to an hour. A negative one is kept: Python then waits not at
/// all (`get` raises `TimeoutError` at once), and so does the driver.
fn timeout(s: &RawStep) -> Res<Option<f64>> {
    match s.timeout {
        Some(t) if !(t.is_finite() && t <= MAX_SECONDS) => Err(format!(
            "timeout = {} is out of range (a number of seconds up to 3600)",
            number(t)
        )),
        t => Ok(t),
    }
}

/// `chunksize` and `maxtasksperchild` from a file. Below 1 they are left to the driver,
/// which raises Python's own `ValueError` at run time, as `CPython` does.
fn count(s: &RawStep) -> Res<()> {
    for (field, value) in [
        ("chunksize", s.chunksize),
        ("maxtasksperchild", s.maxtasksperchild),
    ] {
        if let Some(v) = value
            && v > MAX_COUNT
        {
            return Err(format!(
                "{field} = {v} is out of range (at most {MAX_COUNT})"
            ));
        }
    }
    Ok(())
}

/// Arguments with which a function would meet pooltop's limits rather than Python's: a
/// result past 128 bits, a negative exponent (a float in Python), work without end.
/// Arguments of the wrong type are left to Python's `TypeError` at run time.
fn check_call(f: Func, args: &[Value]) -> Res<()> {
    let int = |i: usize| args.get(i).and_then(Value::as_int);
    match f {
        Func::Square => fits(f, int(0), Some(2)),
        Func::Cube | Func::SlowCube => fits(f, int(0), Some(3)),
        Func::Power => fits(f, int(0), int(1)),
        Func::Squares | Func::Cubes | Func::Powers => {
            let exp = match f {
                Func::Squares => Some(2),
                Func::Cubes => Some(3),
                _ => int(1),
            };
            match args.first() {
                Some(list @ (Value::List(_) | Value::Ints(_))) => list
                    .list_items()
                    .unwrap_or_default()
                    .iter()
                    .try_for_each(|n| fits(f, n.as_int(), exp)),
                Some(n) => fits(f, n.as_int(), exp),
                None => Ok(()),
            }
        }
        Func::Chatter => match int(0) {
            Some(n) if n > MAX_CHATTER => Err(format!(
                "chatter({n}) is out of range (at most {MAX_CHATTER} lines)"
            )),
            _ => Ok(()),
        },
        // The worker clamps these; out of range is refused so the run does what it says.
        Func::Threads => match (int(0), int(1)) {
            (Some(n), _) if !(1..=64).contains(&n) => {
                Err(format!("threads: {n} threads is out of range (1 to 64)"))
            }
            (_, Some(units)) if !(0..=1_000_000).contains(&units) => Err(format!(
                "threads: {units} units of work is out of range (0 to 1000000)"
            )),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether `base**exp` is an integer pooltop can compute, as the worker computes it.
fn fits(f: Func, base: Option<i128>, exp: Option<i128>) -> Res<()> {
    let (Some(base), Some(exp)) = (base, exp) else {
        return Ok(());
    };
    if exp < 0 {
        return Err(format!(
            "{f}: {base}**{exp} is a float in Python; pooltop computes integers"
        ));
    }
    let Ok(small) = u32::try_from(exp) else {
        return Err(format!(
            "{f}: exponent {exp} is out of range (at most {})",
            u32::MAX
        ));
    };
    match base.checked_pow(small) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{f}: {base}**{exp} does not fit pooltop's 128-bit integers"
        )),
    }
}

fn check_arity(f: Func, n: usize) -> Res<()> {
    let (lo, hi) = f.arity();
    if n < lo || n > hi {
        let want = if lo == hi {
            lo.to_string()
        } else {
            format!("{lo} to {hi}")
        };
        return Err(format!("{f}() takes {want} argument(s), {n} given"));
    }
    Ok(())
}

fn python_args(args: &[Value]) -> String {
    match args.len() {
        1 => format!("({},)", args[0]),
        _ => Value::Tuple(args.to_vec()).to_string(),
    }
}

impl Compiler<'_> {
    fn define(&mut self, name: &str, kind: Kind) -> Res<usize> {
        if name.is_empty() || !name.chars().all(|ch| ch.is_alphanumeric() || ch == '_') {
            return Err(format!("'{name}' is not a valid variable name"));
        }
        if let Some((slot, _)) = self.kinds.get(name).copied() {
            self.kinds.insert(name.to_string(), (slot, kind));
            return Ok(slot);
        }
        self.slots.push(name.to_string());
        let slot = self.slots.len() - 1;
        self.kinds.insert(name.to_string(), (slot, kind));
        Ok(slot)
    }

    fn lookup(&self, name: &str) -> Res<(usize, Kind)> {
        self.kinds
            .get(name)
            .copied()
            .ok_or_else(|| format!("'{name}' is not defined by an earlier step"))
    }

    fn expect(&self, name: &str, kinds: &[Kind]) -> Res<(usize, Kind)> {
        let (slot, kind) = self.lookup(name)?;
        if !kinds.contains(&kind) {
            let want: Vec<&str> = kinds.iter().map(|k| k.noun()).collect();
            return Err(format!(
                "'{name}' is {}, not {}",
                kind.noun(),
                want.join(" or ")
            ));
        }
        Ok((slot, kind))
    }

    fn into(&mut self, s: &RawStep, kind: Kind) -> Res<Option<usize>> {
        s.into.as_deref().map(|n| self.define(n, kind)).transpose()
    }

    fn step(&mut self, s: &RawStep) -> Res<Step> {
        let fields =
            allowed(&s.action).ok_or_else(|| format!("unknown action (known: {ACTIONS})"))?;
        let extra_ok = |f: &&str| {
            fields.contains(f)
                || (*f == "start_method" && matches!(s.action.as_str(), "process" | "pool"))
        };
        if let Some(extra) = present_fields(s).into_iter().find(|f| !extra_ok(f)) {
            return Err(format!(
                "field '{extra}' does not apply here (allowed: {})",
                fields.join(", ")
            ));
        }
        if let Some(RawMeasure::Table(t)) = &s.measure
            && let Some(w) = t.workers
            && !(1..=MAX_WORKERS).contains(&w)
        {
            return Err(format!(
                "measure workers = {w} is out of range (1 to {MAX_WORKERS})"
            ));
        }
        let (op, python) = self.op(s)?;
        Ok(Step {
            python: s.python.clone().unwrap_or(python),
            op,
            say: s.say.clone(),
            measure: s.measure.as_ref().map(RawMeasure::compile),
        })
    }

    fn on(&self, s: &RawStep, kinds: &[Kind]) -> Res<(usize, Kind, String)> {
        let name = need(s.on.as_ref(), "on")?;
        let (slot, kind) = self.expect(name, kinds)?;
        Ok((slot, kind, name.clone()))
    }

    fn op(&mut self, s: &RawStep) -> Res<(Op, String)> {
        match s.action.as_str() {
            "process" => self.process(s),
            "pool" => self.pool(s),
            "apply" | "apply_async" | "map" | "map_async" | "imap" | "imap_unordered"
            | "starmap" | "starmap_async" => self.submit(s),
            "signal" => self.signal(s),
            "start" | "join" | "terminate" | "kill" | "is_alive" | "exitcode" => {
                self.process_call(s)
            }
            "get" | "wait" | "ready" | "successful" | "next" | "for" => self.result_call(s),
            _ => self.main_call(s),
        }
    }

    /// A call on a Process (`join` also on a Pool).
    fn process_call(&mut self, s: &RawStep) -> Res<(Op, String)> {
        use Kind::{Pool, Process, Value};
        Ok(match s.action.as_str() {
            "start" => {
                let (slot, _, n) = self.on(s, &[Process])?;
                (Op::Start { slot }, format!("{n}.start()"))
            }
            "join" => {
                let (slot, kind, n) = self.on(s, &[Process, Pool])?;
                let timeout = timeout(s)?;
                let py = match timeout {
                    Some(t) => format!("{n}.join(timeout={t})"),
                    None => format!("{n}.join()"),
                };
                match kind {
                    Pool => (Op::JoinPool { slot, timeout }, py),
                    _ => (Op::Join { slot, timeout }, py),
                }
            }
            "terminate" => {
                let (slot, kind, n) = self.on(s, &[Process, Pool])?;
                match kind {
                    Pool => (Op::TerminatePool { slot }, format!("{n}.terminate()")),
                    _ => (Op::Terminate { slot }, format!("{n}.terminate()")),
                }
            }
            "kill" => {
                let (slot, _, n) = self.on(s, &[Process])?;
                (Op::Kill { slot }, format!("{n}.kill()"))
            }
            "is_alive" => {
                let (slot, _, n) = self.on(s, &[Process])?;
                let into = self.into(s, Value)?;
                (
                    Op::IsAlive { slot, into },
                    query(s, format!("{n}.is_alive()")),
                )
            }
            "exitcode" => {
                let (slot, _, n) = self.on(s, &[Process])?;
                let into = self.into(s, Value)?;
                (
                    Op::ExitCode { slot, into },
                    query(s, format!("{n}.exitcode")),
                )
            }
            _ => return Err("unknown action".into()),
        })
    }

    /// Taking results: an `AsyncResult`'s `get`/`wait`/`ready`, or iterating an imap.
    fn result_call(&mut self, s: &RawStep) -> Res<(Op, String)> {
        use Kind::{Async, Iter, Value};
        Ok(match s.action.as_str() {
            "get" => {
                let (slot, _, n) = self.on(s, &[Async])?;
                let timeout = timeout(s)?;
                let into = self.into(s, Value)?;
                let py = match timeout {
                    Some(t) => format!("{n}.get(timeout={t})"),
                    None => format!("{n}.get()"),
                };
                (
                    Op::Get {
                        slot,
                        timeout,
                        into,
                    },
                    assign(s, py),
                )
            }
            "wait" => {
                let (slot, _, n) = self.on(s, &[Async])?;
                let timeout = timeout(s)?;
                (Op::Wait { slot, timeout }, format!("{n}.wait()"))
            }
            "ready" => {
                let (slot, _, n) = self.on(s, &[Async])?;
                let into = self.into(s, Value)?;
                (Op::Ready { slot, into }, query(s, format!("{n}.ready()")))
            }
            "successful" => {
                let (slot, _, n) = self.on(s, &[Async])?;
                let into = self.into(s, Value)?;
                let py = query(s, format!("{n}.successful()"));
                (Op::Successful { slot, into }, py)
            }
            "next" => {
                let (slot, _, n) = self.on(s, &[Iter])?;
                let timeout = timeout(s)?;
                let into = self.into(s, Value)?;
                let py = match timeout {
                    Some(t) => format!("{n}.next(timeout={t})"),
                    None => format!("next({n})"),
                };
                (
                    Op::Next {
                        slot,
                        timeout,
                        into,
                    },
                    query(s, py),
                )
            }
            "for" => {
                let (slot, _, n) = self.on(s, &[Iter])?;
                let print = s.print.unwrap_or(true);
                let into = self.into(s, Value)?;
                let body = if print { "print(result)" } else { "pass" };
                (
                    Op::Iterate { slot, print, into },
                    format!("for result in {n}:\n    {body}"),
                )
            }
            _ => return Err("unknown action".into()),
        })
    }

    /// What the main process does itself, and leaving a pool.
    fn main_call(&mut self, s: &RawStep) -> Res<(Op, String)> {
        use Kind::Pool;
        Ok(match s.action.as_str() {
            "close" => {
                let (slot, _, n) = self.on(s, &[Pool])?;
                (Op::Close { slot }, format!("{n}.close()"))
            }
            "with-exit" => {
                let (slot, _, n) = self.on(s, &[Pool])?;
                (
                    Op::WithExit { slot },
                    format!("# end of the with block: {n}.terminate()"),
                )
            }
            "print" => {
                let text = need(s.text.as_ref(), "text")?;
                let pieces = self.template(text)?;
                (Op::Print { pieces }, format!("print(f{text:?})"))
            }
            "sleep" => {
                let secs = *need(s.seconds.as_ref(), "seconds")?;
                if !(0.0..=MAX_SECONDS).contains(&secs) {
                    return Err(format!(
                        "seconds = {} is out of range (0 to 3600)",
                        number(secs)
                    ));
                }
                (Op::Sleep { seconds: secs }, format!("time.sleep({secs})"))
            }
            "clock" => (Op::Clock, "start = time.time()".into()),
            "note" => (Op::Note, "pass".into()),
            _ => return Err("unknown action".into()),
        })
    }

    fn process(&mut self, s: &RawStep) -> Res<(Op, String)> {
        let var = need(s.var.as_ref(), "var")?.clone();
        let f = func(need(s.target.as_ref(), "target")?)?;
        let args = values(s.args.as_deref().unwrap_or(&[]))?;
        check_arity(f, args.len())?;
        check_call(f, &args)?;
        let slot = self.define(&var, Kind::Process)?;
        let name_part = s
            .name
            .as_ref()
            .map(|n| format!(", name={n:?}"))
            .unwrap_or_default();
        let method = start_method(s)?;
        let daemon = s.daemon.unwrap_or(false);
        let daemon_part = if daemon { ", daemon=True" } else { "" };
        let py = format!(
            "{var} = {}.Process(target={f}, args={}{name_part}{daemon_part})",
            context(method),
            python_args(&args)
        );
        Ok((
            Op::NewProcess {
                slot,
                target: Call { func: f, args },
                name: s.name.clone(),
                method,
                daemon,
            },
            py,
        ))
    }

    fn pool(&mut self, s: &RawStep) -> Res<(Op, String)> {
        let var = need(s.var.as_ref(), "var")?.clone();
        let initializer = match &s.initializer {
            Some(name) => {
                let f = func(name)?;
                let args = values(s.initargs.as_deref().unwrap_or(&[]))?;
                check_arity(f, args.len())?;
                check_call(f, &args)?;
                Some(Call { func: f, args })
            }
            None if s.initargs.is_some() => return Err("'initargs' needs an 'initializer'".into()),
            None => None,
        };
        // Below 1 is left to the driver, which raises Python's own ValueError at run time.
        if let Some(p) = s.processes
            && p > MAX_WORKERS as i64
        {
            return Err(format!(
                "processes = {p} is out of range (at most {MAX_WORKERS}, as --workers)"
            ));
        }
        count(s)?;
        let slot = self.define(&var, Kind::Pool)?;
        let mut params = Vec::new();
        if let Some(p) = s.processes {
            params.push(format!("processes={p}"));
        }
        if let Some(i) = &initializer {
            params.push(format!(
                "initializer={}, initargs={}",
                i.func,
                python_args(&i.args)
            ));
        }
        if let Some(m) = s.maxtasksperchild {
            params.push(format!("maxtasksperchild={m}"));
        }
        let method = start_method(s)?;
        let mut py = format!("{var} = {}.Pool({})", context(method), params.join(", "));
        let mut notes = Vec::new();
        if let Some(w) = self.overrides.workers {
            notes.push(format!("processes={w}"));
        }
        if let Some(m) = self.overrides.maxtasksperchild {
            notes.push(format!("maxtasksperchild={m}"));
        }
        if !notes.is_empty() {
            py.push_str("  # run with ");
            py.push_str(&notes.join(", "));
        }
        let op = Op::NewPool {
            slot,
            processes: s.processes,
            initializer,
            maxtasksperchild: s.maxtasksperchild,
            method,
        };
        Ok((op, py))
    }

    fn items(s: &RawStep, star: bool) -> Res<Items> {
        let list: Vec<Value> = match (&s.items, &s.range) {
            (Some(_), Some(_)) => return Err("give 'items' or 'range', not both".into()),
            (Some(items), None) => values(items)?,
            (None, Some(r)) => {
                let (start, stop) = match r.as_slice() {
                    [stop] => (0, *stop),
                    [start, stop] => (*start, *stop),
                    _ => return Err("'range' is [stop] or [start, stop]".into()),
                };
                let len = (i128::from(stop) - i128::from(start)).max(0);
                if len > i128::from(MAX_ITEMS) {
                    return Err(format!(
                        "range = [{start}, {stop}] has {len} items (at most {MAX_ITEMS})"
                    ));
                }
                if star {
                    return Err("starmap takes 'items' (argument lists), not 'range'".into());
                }
                // An empty range ends where it starts: the driver counts `stop - start`,
                // which overflowed for [9223372036854775807, -9223372036854775808].
                return Ok(Items::Range {
                    start,
                    stop: stop.max(start),
                });
            }
            (None, None) => return Err("missing field 'items' (or 'range')".into()),
        };
        if !star {
            return Ok(Items::List(list.into_iter().map(|v| vec![v]).collect()));
        }
        list.into_iter()
            .map(|v| match v {
                Value::List(args) => Ok(args),
                other => Err(format!(
                    "starmap items are argument lists like [2, 3], not {other}"
                )),
            })
            .collect::<Res<Vec<_>>>()
            .map(Items::List)
    }

    fn submit(&mut self, s: &RawStep) -> Res<(Op, String)> {
        let kind = match s.action.as_str() {
            "apply" => SubmitKind::Apply,
            "apply_async" => SubmitKind::ApplyAsync,
            "map" => SubmitKind::Map,
            "map_async" => SubmitKind::MapAsync,
            "imap" => SubmitKind::Imap,
            "imap_unordered" => SubmitKind::ImapUnordered,
            "starmap" => SubmitKind::Starmap,
            _ => SubmitKind::StarmapAsync,
        };
        let (pool, _, n) = self.on(s, &[Kind::Pool])?;
        let f = func(need(s.func.as_ref(), "func")?)?;
        count(s)?;
        let star = matches!(kind, SubmitKind::Starmap | SubmitKind::StarmapAsync);
        let (items, arg_text) = if kind.single() {
            if s.items.is_some() || s.range.is_some() {
                return Err("apply takes 'args', not 'items'".into());
            }
            let args = values(s.args.as_deref().unwrap_or(&[]))?;
            let text = python_args(&args);
            (Items::List(vec![args]), text)
        } else {
            if s.args.is_some() {
                return Err("map-like calls take 'items' (or 'range'), not 'args'".into());
            }
            let items = Self::items(s, star)?;
            let text = match &s.range {
                Some(r) => format!(
                    "range({})",
                    r.iter()
                        .map(std::string::ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => Value::List(
                    s.items
                        .as_deref()
                        .map(values)
                        .transpose()?
                        .unwrap_or_default(),
                )
                .to_string(),
            };
            (items, text)
        };
        match &items {
            Items::List(list) => list.iter().try_for_each(|args| {
                check_arity(f, args.len())?;
                check_call(f, args)
            })?,
            Items::Range { start, stop } => {
                check_arity(f, 1)?;
                // The largest results and counts are at the ends of a range.
                if start < stop {
                    check_call(f, &[Value::Int(i128::from(*start))])?;
                    check_call(f, &[Value::Int(i128::from(*stop) - 1)])?;
                }
            }
        }
        self.count_items(&items)?;
        let into_kind = if kind.blocks() {
            Kind::Value
        } else if kind.is_iterator() {
            Kind::Iter
        } else {
            Kind::Async
        };
        let into = self.into(s, into_kind)?;
        let chunk = match (s.chunksize, self.overrides.chunksize) {
            (_, Some(c)) => format!(", chunksize={c}"),
            (Some(c), None) => format!(", chunksize={c}"),
            (None, None) => String::new(),
        };
        let callbacks = Callbacks {
            on_result: callback(s.callback.as_ref(), "callback")?,
            on_error: callback(s.error_callback.as_ref(), "error_callback")?,
        };
        let mut keywords = chunk;
        if callbacks.on_result.is_some() {
            keywords.push_str(", callback=print");
        }
        if callbacks.on_error.is_some() {
            keywords.push_str(", error_callback=print");
        }
        let py = assign(
            s,
            format!("{n}.{}({f}, {arg_text}{keywords})", kind.method()),
        );
        let op = Op::Submit {
            pool,
            kind,
            func: f,
            items,
            chunksize: s.chunksize,
            into,
            callbacks,
        };
        Ok((op, py))
    }

    /// Adds a call's items to the scenario's total, which is at most [`MAX_ITEMS`]: each
    /// item's result is kept in memory until the call is done.
    fn count_items(&mut self, items: &Items) -> Res<()> {
        let n = items.len() as u64;
        self.items += n;
        if self.items > MAX_ITEMS {
            return Err(format!(
                "{n} more items make {} in the scenario's calls (at most {MAX_ITEMS} in all)",
                self.items
            ));
        }
        Ok(())
    }

    fn signal(&mut self, s: &RawStep) -> Res<(Op, String)> {
        let (slot, kind, n) = self.on(s, &[Kind::Process, Kind::Pool])?;
        let sig_name = s.signal.as_deref().unwrap_or("SIGTERM");
        let signal =
            sys::parse_signal(sig_name).ok_or_else(|| format!("unknown signal '{sig_name}'"))?;
        let sig = sys::signal_name(signal);
        if kind == Kind::Pool {
            let (busy, index) = match &s.worker {
                None => (true, 0),
                Some(toml::Value::String(w)) if w == "busy" => (true, 0),
                Some(toml::Value::Integer(i)) if (0..MAX_WORKERS as i64).contains(i) => {
                    (false, *i as usize)
                }
                Some(toml::Value::Integer(i)) if *i >= 0 => {
                    return Err(format!(
                        "worker = {i} is out of range (an index below {MAX_WORKERS}, or \"busy\")"
                    ));
                }
                Some(other) => {
                    return Err(format!("worker is \"busy\" or an index, not {other}"));
                }
            };
            let py = if busy {
                format!(
                    "os.kill(busy_worker.pid, signal.{sig})  # busy_worker: a worker of {n} running a task"
                )
            } else {
                format!("os.kill({n}._pool[{index}].pid, signal.{sig})")
            };
            Ok((
                Op::Signal {
                    target: SignalTarget::PoolWorker {
                        pool: slot,
                        busy,
                        index,
                    },
                    signal,
                },
                py,
            ))
        } else {
            if s.worker.is_some() {
                return Err("'worker' applies to a pool".into());
            }
            Ok((
                Op::Signal {
                    target: SignalTarget::Process(slot),
                    signal,
                },
                format!("os.kill({n}.pid, signal.{sig})"),
            ))
        }
    }

    /// `"Result: {output} in {elapsed}"` -> pieces; `{{` and `}}` are literal braces.
    fn template(&self, text: &str) -> Res<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(ch) = chars.next() {
            match ch {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    if !lit.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut lit)));
                    }
                    let piece = match known_piece(&name) {
                        Some(piece) => piece,
                        None => Piece::Var(self.lookup(&name)?.0),
                    };
                    pieces.push(piece);
                }
                '}' => return Err("unmatched '}' in text (write '}}' for a brace)".into()),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(pieces)
    }
}

/// Names a template knows besides variables: a few values, and the Python expressions
/// of the main process an f-string may hold.
fn known_piece(name: &str) -> Option<Piece> {
    let expr = name.strip_prefix("multiprocessing.").unwrap_or(name);
    Some(match expr {
        "elapsed" => Piece::Elapsed,
        "pid" => Piece::Pid,
        "cpu_count" => Piece::CpuCount,
        "current_process().name" => Piece::ProcessName,
        "active_children()" => Piece::ActiveChildren,
        "len(active_children())" | "len(multiprocessing.active_children())" => Piece::ActiveCount,
        _ => return None,
    })
}

/// `callback = "print"`: the only function of the main process a scenario can name.
fn callback(name: Option<&String>, field: &str) -> Res<Option<Callback>> {
    match name.map(String::as_str) {
        None => Ok(None),
        Some("print") => Ok(Some(Callback::Print)),
        Some(other) => Err(format!(
            "{field} '{other}' is not known (a scenario can pass print)"
        )),
    }
}

fn assign(s: &RawStep, call: String) -> String {
    match &s.into {
        Some(v) => format!("{v} = {call}"),
        None => call,
    }
}

/// A query kept with `into` is an assignment, as `get` writes it, so a later `print`
/// that names the variable has it defined; without `into` the value is only shown.
fn query(s: &RawStep, expr: String) -> String {
    match &s.into {
        Some(_) => assign(s, expr),
        None => format!("print({expr})"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Overrides, Source, load};

    fn err(text: &str) -> String {
        let src = Source {
            label: "t.toml".into(),
            text: text.into(),
        };
        load(&src, &Overrides::default()).unwrap_err()
    }

    #[test]
    fn semantic_errors_name_line_step_and_problem() {
        let e = err("[[step]]\ndo = \"start\"\non = \"p\"\n");
        assert_eq!(
            e,
            "t.toml:1: step 1 (start): 'p' is not defined by an earlier step"
        );
        let e = err(
            "[[step]]\ndo = \"pool\"\nvar = \"pool\"\n\n[[step]]\ndo = \"map\"\non = \"pool\"\nfunc = \"cube\"\n",
        );
        assert_eq!(
            e,
            "t.toml:5: step 2 (map): missing field 'items' (or 'range')"
        );
        let e = err("[[step]]\ndo = \"frobnicate\"\n");
        assert!(
            e.starts_with("t.toml:1: step 1 (frobnicate): unknown action"),
            "{e}"
        );
        let e = err("[[step]]\ndo = \"process\"\nvar = \"p\"\ntarget = \"cube\"\nargs = [1, 2]\n");
        assert!(e.contains("cube() takes 1 argument(s), 2 given"), "{e}");
        let e = err("[[step]]\ndo = \"sleep\"\nseconds = 1\ntarget = \"cube\"\n");
        assert!(e.contains("field 'target' does not apply here"), "{e}");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_line() {
        let e = err("[[step]]\ndo = \"sleep\"\nsecs = 1\n");
        assert!(e.starts_with("t.toml:"), "{e}");
        assert!(e.contains("secs"), "{e}");
    }
}
