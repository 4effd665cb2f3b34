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

use super::{Overrides, RawMeasure, RawStep, ScenarioFile, Source, line_col};

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
    };
    let mut steps = Vec::new();
    for (n, spanned) in file.step.iter().enumerate() {
        let raw = spanned.get_ref();
        let (line, _) = line_col(&source.text, spanned.span().start);
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
    v.iter().map(Value::from_toml).collect()
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
                let py = match s.timeout {
                    Some(t) => format!("{n}.join(timeout={t})"),
                    None => format!("{n}.join()"),
                };
                match kind {
                    Pool => (
                        Op::JoinPool {
                            slot,
                            timeout: s.timeout,
                        },
                        py,
                    ),
                    _ => (
                        Op::Join {
                            slot,
                            timeout: s.timeout,
                        },
                        py,
                    ),
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
                let into = self.into(s, Value)?;
                let py = match s.timeout {
                    Some(t) => format!("{n}.get(timeout={t})"),
                    None => format!("{n}.get()"),
                };
                (
                    Op::Get {
                        slot,
                        timeout: s.timeout,
                        into,
                    },
                    assign(s, py),
                )
            }
            "wait" => {
                let (slot, _, n) = self.on(s, &[Async])?;
                (
                    Op::Wait {
                        slot,
                        timeout: s.timeout,
                    },
                    format!("{n}.wait()"),
                )
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
                let into = self.into(s, Value)?;
                let py = match s.timeout {
                    Some(t) => format!("{n}.next(timeout={t})"),
                    None => format!("next({n})"),
                };
                let timeout = s.timeout;
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
                if !(0.0..=3600.0).contains(&secs) {
                    return Err("seconds must be between 0 and 3600".into());
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
                Some(Call { func: f, args })
            }
            None if s.initargs.is_some() => return Err("'initargs' needs an 'initializer'".into()),
            None => None,
        };
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
                if stop.saturating_sub(start) > 10_000_000 {
                    return Err("'range' is limited to 10,000,000 items".into());
                }
                if star {
                    return Err("starmap takes 'items' (argument lists), not 'range'".into());
                }
                return Ok(Items::Range { start, stop });
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
            Items::List(list) => list
                .iter()
                .try_for_each(|args| check_arity(f, args.len()))?,
            Items::Range { .. } => check_arity(f, 1)?,
        }
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
                Some(toml::Value::Integer(i)) if *i >= 0 => (false, *i as usize),
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
