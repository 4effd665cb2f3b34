//! Property tests (proptest, bounded so the file runs in seconds): the scenario loader on
//! arbitrary and mutated scenario files, and the wire decoder on arbitrary byte streams.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use proptest::prelude::*;
use proptest::test_runner::Config;

use pooltop::engine::chunk::{ChunkArgs, ChunkResults};
use pooltop::engine::program::{Items, Op, Program};
use pooltop::engine::protocol::{Command, Event, EventKind, FromWorker, ToWorker};
use pooltop::engine::value::Value;
use pooltop::engine::wire::{Fill, FrameReader, FrameWriter};
use pooltop::scenario::{self, BUILTIN, LESSONS, Overrides, Source};
use pooltop::workload::{Call, Func, Raised};

/// Cases per property: small enough for CI (the whole file runs in well under 20 s in a
/// debug build); `PROPTEST_CASES=100000 cargo test --release --test fuzz` searches longer.
fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        // A failure is kept as a regular test (tests/input_limits.rs, the wire's unit
        // tests), not in a proptest-regressions file.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// Memory: a global allocator that counts each thread's live bytes, so a property can see
// how much one decode allocated at its peak.

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // try_with: the allocator also runs while a thread's locals are being torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed to the system allocator unchanged; only counts are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as alloc.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from this allocator, which is System's.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: ptr came from this allocator, which is System's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns what it gave and the most bytes it had allocated at once.
fn peak_bytes<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let r = f();
    let peak = PEAK.with(Cell::get);
    (r, (peak - base).max(0) as usize)
}

// ---------------------------------------------------------------------------------------
// The scenario loader.

const LABEL: &str = "fuzz.toml";

/// Numbers at and past every limit the loader checks, and the ones that crashed.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "128",
    "511",
    "512",
    "513",
    "3600",
    "3600.5",
    "1e19",
    "1e300",
    "inf",
    "-inf",
    "nan",
    "-0.0",
    "0.25",
    "1000000",
    "1000001",
    "10000000",
    "10000001",
    "4294967295",
    "4294967296",
    "1000000000",
    "5541191377756",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
];

const ARRAYS: &[&str] = &[
    "[]",
    "[5]",
    "[0, 10000000]",
    "[0, 10000001]",
    "[1, 0]",
    "[9223372036854775807, -9223372036854775808]",
    "[-9223372036854775808, 9223372036854775807]",
    "[-5541191377756, 5541191377756]",
    "[0, 1, 2]",
    "[2, 1000000000]",
    "[2, -1]",
    "[2, 127]",
    "[2, 4294967296]",
    "[10000000000]",
    "[1000001]",
    "[65, 1, true]",
    "[2, 1000001, false]",
    "[[2, 3], [4, 5]]",
    "[[2, 1000000000]]",
    "[[5541191377757]]",
    "[\"a\", \"b\"]",
    "[1.5]",
    "[{ a = 1 }]",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
];

const STRINGS: &[&str] = &[
    "\"\"",
    "\"a\\nb\"",
    "\"\\u0000\"",
    "\"{\"",
    "\"}\"",
    "\"{x}\"",
    "\"{{}}\"",
    "\"{elapsed} {pid} {out}\"",
    "\"busy\"",
    "\"print\"",
    "\"SIGKILL\"",
    "\"SIGFROB\"",
    "\"pool\"",
    "\"p\"",
    "\"r\"",
    "\"it\"",
    "\"out\"",
    "\"cube\"",
    "\"power\"",
    "\"powers\"",
    "\"chatter\"",
    "\"threads\"",
    "\"slow_cube\"",
    "\"greet\"",
    "\"fork\"",
    "\"spawn\"",
    "\"vfork\"",
    "\"sleep\"",
    "\"20ms\"",
    "\"1e300s\"",
    "\"nans\"",
    "\"-3ms\"",
    "\"100h\"",
];

const BOOLS: &[&str] = &["true", "false"];

const MEASURES: &[&str] = &[
    "\"chunksize=1\"",
    "{ label = \"x\", workers = 0 }",
    "{ label = \"x\", workers = 100000 }",
    "{ label = \"x\", workers = 4 }",
    "{ label = \"x\", workers = 4, other = 1 }",
    "1979-05-27",
];

/// Every field the loader knows, with values of the type it takes (the mutations also
/// give it values of any type).
const FIELDS: &[(&str, &[&str])] = &[
    ("do", ACTIONS),
    ("var", STRINGS),
    ("on", STRINGS),
    ("into", STRINGS),
    ("target", STRINGS),
    ("func", STRINGS),
    ("initializer", STRINGS),
    ("name", STRINGS),
    ("text", STRINGS),
    ("signal", STRINGS),
    ("start_method", STRINGS),
    ("callback", STRINGS),
    ("error_callback", STRINGS),
    ("say", STRINGS),
    ("cost", STRINGS),
    ("cost_kind", STRINGS),
    ("args", ARRAYS),
    ("items", ARRAYS),
    ("range", ARRAYS),
    ("initargs", ARRAYS),
    ("processes", NUMBERS),
    ("maxtasksperchild", NUMBERS),
    ("chunksize", NUMBERS),
    ("timeout", NUMBERS),
    ("seconds", NUMBERS),
    ("worker", NUMBERS),
    ("print", BOOLS),
    ("daemon", BOOLS),
    ("measure", MEASURES),
];

/// Value `v` for `field`: mostly one of its own type, one time in sixteen any value.
fn value_for(field: &str, v: usize) -> String {
    let own = FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(STRINGS, |(_, values)| *values);
    let any = v.is_multiple_of(16);
    let pool: Vec<&str> = if any {
        [NUMBERS, ARRAYS, STRINGS, BOOLS, MEASURES].concat()
    } else {
        own.to_vec()
    };
    let text = pool[(v / 16) % pool.len()];
    // ACTIONS are bare names; the others are TOML already.
    if own == ACTIONS && !any {
        format!("\"{text}\"")
    } else {
        text.to_string()
    }
}

const ACTIONS: &[&str] = &[
    "process",
    "start",
    "join",
    "terminate",
    "kill",
    "is_alive",
    "exitcode",
    "pool",
    "apply",
    "apply_async",
    "map",
    "map_async",
    "imap",
    "imap_unordered",
    "starmap",
    "starmap_async",
    "get",
    "wait",
    "ready",
    "successful",
    "next",
    "for",
    "close",
    "with-exit",
    "print",
    "sleep",
    "signal",
    "clock",
    "note",
    "explode",
];

/// Every built-in scenario and lesson: valid files to mutate.
fn seeds() -> Vec<&'static str> {
    BUILTIN
        .iter()
        .chain(LESSONS)
        .map(|(_, text)| *text)
        .collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Overwrite a byte (the result is read as lossy UTF-8).
    Byte(usize, u8),
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    /// Replace the nth number in the text with one of [`NUMBERS`].
    Number(usize, usize),
    /// Set a field of the nth step: replace its value, or add it.
    StepField(usize, usize, usize),
    /// Give the nth `key = value` line another value.
    SetValue(usize, usize),
}

/// Mutations, weighted toward those that keep the TOML valid so that most files reach
/// the checks past the parser.
fn mutation() -> impl Strategy<Value = Mutation> {
    let n = any::<usize>();
    prop_oneof![
        2 => (n, any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
        1 => n.prop_map(Mutation::DeleteLine),
        1 => n.prop_map(Mutation::DuplicateLine),
        1 => (n, n).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => n.prop_map(Mutation::Truncate),
        6 => (n, 0..NUMBERS.len()).prop_map(|(i, v)| Mutation::Number(i, v)),
        20 => (n, 0..FIELDS.len(), n).prop_map(|(i, f, v)| Mutation::StepField(i, f, v)),
        16 => (n, n).prop_map(|(i, v)| Mutation::SetValue(i, v)),
    ]
}

/// Byte ranges of the number-like tokens (digits, with a sign, dot or exponent), roughly:
/// enough to aim a replacement at a number.
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
        if starts {
            let start = if i > 0 && bytes[i - 1] == b'-' {
                i - 1
            } else {
                i
            };
            let mut end = i;
            while end < bytes.len()
                && (bytes[end].is_ascii_digit() || matches!(bytes[end], b'.' | b'e' | b'_'))
            {
                end += 1;
            }
            spans.push((start, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// The key of a `key = value` line.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once(" = ")?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with(['[', '#'])).then_some(key)
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *mutation {
        Mutation::Byte(i, b) => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = at(i, bytes.len());
                bytes[i] = b;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::Truncate(i) => {
            let mut end = at(i, text.len() + 1);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            return text[..end].to_string();
        }
        Mutation::Number(i, v) => {
            let spans = number_spans(text);
            if spans.is_empty() {
                return text.to_string();
            }
            let (start, end) = spans[i % spans.len()];
            return format!("{}{}{}", &text[..start], NUMBERS[v], &text[end..]);
        }
        Mutation::DeleteLine(i) => {
            lines.remove(at(i, lines.len()));
        }
        Mutation::DuplicateLine(i) => {
            let i = at(i, lines.len());
            lines.insert(i, lines[i].clone());
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (at(a, lines.len()), at(b, lines.len()));
            lines.swap(a, b);
        }
        Mutation::StepField(i, f, v) => {
            let steps: Vec<usize> = (0..lines.len())
                .filter(|l| lines[*l].trim() == "[[step]]")
                .collect();
            if !steps.is_empty() {
                let head = steps[i % steps.len()];
                let field = FIELDS[f].0;
                let line = format!("{field} = {}", value_for(field, v));
                let end = (head + 1..lines.len())
                    .find(|l| lines[*l].starts_with('['))
                    .unwrap_or(lines.len());
                match (head + 1..end).find(|l| key_of(&lines[*l]) == Some(field)) {
                    Some(existing) => lines[existing] = line,
                    None => lines.insert(head + 1, line),
                }
            }
        }
        Mutation::SetValue(i, v) => {
            let pairs: Vec<usize> = (0..lines.len())
                .filter(|l| key_of(&lines[*l]).is_some())
                .collect();
            if !pairs.is_empty() {
                let l = pairs[i % pairs.len()];
                let key = key_of(&lines[l]).unwrap_or_default().to_string();
                lines[l] = format!("{key} = {}", value_for(&key, v));
            }
        }
    }
    lines.join("\n")
}

/// Steps that define the names the random steps refer to (`on = "pool"`, ...).
const PRELUDE: &str = r#"
[[step]]
do = "pool"
var = "pool"
[[step]]
do = "process"
var = "p"
target = "cube"
args = [2]
[[step]]
do = "apply_async"
on = "pool"
func = "cube"
args = [1]
into = "r"
[[step]]
do = "imap"
on = "pool"
func = "cube"
range = [3]
into = "it"
"#;

/// The fields each action takes, as the loader's table has them (with `start_method`
/// where it applies): most random steps use these, so they reach the loader's checks.
fn fields_of(action: &str) -> &'static [&'static str] {
    match action {
        "process" => &["var", "target", "args", "name", "daemon", "start_method"],
        "join" | "wait" => &["on", "timeout"],
        "get" | "next" => &["on", "timeout", "into"],
        "pool" => &[
            "var",
            "processes",
            "initializer",
            "initargs",
            "maxtasksperchild",
            "start_method",
        ],
        "apply" | "apply_async" => &["on", "func", "args", "into", "callback"],
        "map" | "map_async" | "imap" | "imap_unordered" | "starmap" | "starmap_async" => {
            &["on", "func", "items", "range", "chunksize", "into"]
        }
        "for" => &["on", "print", "into"],
        "print" => &["text"],
        "sleep" => &["seconds"],
        "signal" => &["on", "signal", "worker"],
        _ => &["on", "into"],
    }
}

/// Values for a field in a generated step: names the prelude defines for `on`, and
/// otherwise values of the field's type.
fn step_value(field: &str, v: usize) -> String {
    const NAMES: &[&str] = &["\"pool\"", "\"p\"", "\"r\"", "\"it\"", "\"x\""];
    const FUNCS: &[&str] = &[
        "\"cube\"",
        "\"square\"",
        "\"power\"",
        "\"powers\"",
        "\"squares\"",
        "\"slow_cube\"",
        "\"chatter\"",
        "\"threads\"",
        "\"noop\"",
        "\"greet\"",
    ];
    match field {
        "on" | "var" | "into" if !v.is_multiple_of(16) => NAMES[(v / 16) % NAMES.len()].to_string(),
        "func" | "target" | "initializer" if !v.is_multiple_of(16) => {
            FUNCS[(v / 16) % FUNCS.len()].to_string()
        }
        _ => value_for(field, v),
    }
}

/// A scenario file made of random steps (mostly with the fields their action takes,
/// of the right type) after a prelude that defines a pool, a process, a result and an
/// iterator: it reaches the checks past the TOML parser far more often than random text.
fn tomlish() -> impl Strategy<Value = String> {
    let step = (
        0..ACTIONS.len(),
        prop::collection::vec((any::<usize>(), any::<usize>()), 0..4),
    )
        .prop_map(|(a, picks)| {
            let action = ACTIONS[a];
            let mut lines = vec!["[[step]]".to_string(), format!("do = \"{action}\"")];
            let mut used = Vec::new();
            for (f, v) in picks {
                // One time in six, any field: it should be refused where it does not apply.
                let own = fields_of(action);
                let field = if f % 6 == 0 {
                    FIELDS[(f / 6) % FIELDS.len()].0
                } else {
                    own[(f / 6) % own.len()]
                };
                if field != "do" && !used.contains(&field) {
                    used.push(field);
                    lines.push(format!("{field} = {}", step_value(field, v)));
                }
            }
            lines.join("\n")
        });
    (
        prop::option::weighted(0.2, (0..4usize, any::<usize>())),
        prop::bool::weighted(0.8),
        prop::collection::vec(step, 0..5),
        prop::option::weighted(0.05, "[ -~]{0,12}"),
    )
        .prop_map(|(top, prelude, steps, junk)| {
            let mut out = Vec::new();
            if let Some((f, v)) = top {
                let field = ["cost", "cost_kind", "start_method", "title"][f];
                out.push(format!("{field} = {}", value_for(field, v)));
            }
            if prelude {
                out.push(PRELUDE.to_string());
            }
            out.extend(steps);
            out.extend(junk);
            out.join("\n")
        })
}

/// What every scenario the loader accepts keeps to, whatever the file said: the numbers
/// the driver turns into deadlines, pool sizes and item counts are in range, and the
/// program crosses the wire to the driver.
fn check_program(program: &Program) {
    let wait_ok = |t: Option<f64>| t.is_none_or(|t| t.is_finite() && t <= 3600.0);
    let mut items = 0u64;
    assert!(program.steps.len() <= scenario::MAX_STEPS);
    for step in &program.steps {
        match &step.op {
            Op::Join { timeout, .. }
            | Op::JoinPool { timeout, .. }
            | Op::Get { timeout, .. }
            | Op::Wait { timeout, .. }
            | Op::Next { timeout, .. } => assert!(wait_ok(*timeout), "{:?}", step.op),
            Op::Sleep { seconds } => assert!((0.0..=3600.0).contains(seconds)),
            Op::NewPool {
                processes,
                maxtasksperchild,
                ..
            } => {
                assert!(processes.is_none_or(|p| p <= scenario::MAX_WORKERS as i64));
                assert!(maxtasksperchild.is_none_or(|m| m <= 10_000_000));
            }
            Op::Submit {
                items: these,
                chunksize,
                ..
            } => {
                assert!(chunksize.is_none_or(|c| c <= 10_000_000));
                if let Items::Range { start, stop } = these {
                    assert!(start <= stop, "{:?}", step.op);
                }
                items += these.len() as u64;
            }
            _ => {}
        }
    }
    assert!(items <= scenario::MAX_ITEMS);
    let load = Command::Load {
        program: program.clone(),
        detail: pooltop::engine::protocol::Detail::EVERY,
    };
    let back: Vec<Command> = through_socket(&[load]);
    assert_eq!(back.len(), 1, "the program crosses the wire");
}

fn check_load(text: &str) {
    let source = Source {
        label: LABEL.into(),
        text: text.into(),
    };
    match scenario::load(&source, &Overrides::default()) {
        Ok(s) => check_program(&s.program),
        Err(e) => {
            assert!(!e.contains('\n') && !e.contains('\r'), "two lines: {e:?}");
            assert!(e.starts_with(LABEL), "no file label: {e:?}");
        }
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn loader_takes_any_text(text in any::<String>()) {
        check_load(&text);
    }
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn loader_takes_toml_made_of_its_own_words(text in tomlish()) {
        check_load(&text);
    }
}

proptest! {
    #![proptest_config(config(6000))]

    #[test]
    fn loader_takes_mutated_builtin_scenarios(
        seed in 0..BUILTIN.len() + LESSONS.len(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut text = seeds()[seed].to_string();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_load(&text);
    }
}

// ---------------------------------------------------------------------------------------
// The wire decoder.

/// Messages of every kind the engine sends, encoded as the wire frames them.
fn seed_frames() -> Vec<Vec<u8>> {
    fn frame<T: serde::Serialize>(msg: &T) -> Vec<u8> {
        let body = postcard::to_stdvec(msg).expect("encode");
        let mut out = (body.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }
    let nested = Value::List(vec![
        Value::Int(-1),
        Value::Str("é".into()),
        Value::Tuple(vec![Value::None, Value::Bool(true)]),
    ]);
    let program = scenario::load(
        &Source::builtin("workshop").expect("workshop"),
        &Overrides::default(),
    )
    .expect("loads")
    .program;
    vec![
        frame(&Command::Load {
            program,
            detail: pooltop::engine::protocol::Detail::EVERY,
        }),
        frame(&Command::Step),
        frame(&Command::Signal { pid: 7, signal: 9 }),
        frame(&Event {
            t: 1.5,
            kind: EventKind::Result {
                value: nested.clone(),
                python: "r.get()".into(),
            },
        }),
        frame(&Event {
            t: 0.0,
            kind: EventKind::Finished {
                elapsed: 2.0,
                status: None,
            },
        }),
        frame(&ToWorker::Chunk {
            chunk: 3,
            func: Func::Power,
            first_task: 0,
            args: ChunkArgs::Lists(vec![vec![Value::Int(2), Value::Int(10)], vec![nested]]),
        }),
        frame(&ToWorker::Stop),
        frame(&FromWorker::ChunkDone {
            chunk: 3,
            results: ChunkResults::Values(vec![
                Ok(Value::Int(1024)),
                Err(Raised("ValueError: x".into())),
            ]),
            busy_us: 17,
        }),
        frame(&FromWorker::Started { task: 9 }),
        frame(&Call {
            func: Func::Cube,
            args: vec![Value::Int(3)],
        }),
    ]
}

/// A frame of `depth` one-element lists inside one another, in a `ChunkDone` result: the
/// shape that overflowed the stack before the decoder limited nesting.
fn deep_frame(depth: usize) -> Vec<u8> {
    // FromWorker::ChunkDone (variant 2), chunk 0, ChunkResults::Values (1), one result,
    // Ok (0); then List (4) of one element, depth times; then None (0).
    let mut body = vec![2, 0, 1, 1, 0];
    for _ in 0..depth {
        body.extend_from_slice(&[4, 1]);
    }
    body.push(0);
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

/// Sends `msgs` through a socket with [`FrameWriter`] and reads them back with
/// [`FrameReader`] as the engine does: one thread, non-blocking on both ends.
fn through_socket<T: serde::Serialize + serde::de::DeserializeOwned>(msgs: &[T]) -> Vec<T> {
    let (a, b) = UnixStream::pair().expect("socket pair");
    b.set_nonblocking(true).expect("non-blocking");
    let mut w = FrameWriter::default();
    for m in msgs {
        w.push(m).expect("push");
    }
    let mut r = FrameReader::default();
    let mut out = Vec::new();
    loop {
        let done = w.flush_nonblocking(a.as_raw_fd()).expect("flush");
        while let Fill::Data = r.fill(b.as_raw_fd()).expect("fill") {}
        while let Some(m) = r.next_frame::<T>().expect("decode") {
            out.push(m);
        }
        if done && out.len() == msgs.len() {
            return out;
        }
    }
}

/// Feeds `bytes` to a fresh reader in pieces of the given sizes, taking every frame it
/// can after each piece as `T`, until the stream ends or is refused as invalid.
fn feed<T: serde::de::DeserializeOwned>(bytes: &[u8], pieces: &[usize]) -> usize {
    let (mut a, b) = UnixStream::pair().expect("socket pair");
    b.set_nonblocking(true).expect("non-blocking");
    let mut r = FrameReader::default();
    let mut frames = 0;
    let mut rest = bytes;
    let mut sizes = pieces.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        a.write_all(&rest[..n]).expect("write");
        rest = &rest[n..];
        while let Fill::Data = r.fill(b.as_raw_fd()).expect("fill") {}
        loop {
            match r.next_frame::<T>() {
                Ok(Some(_)) => frames += 1,
                Ok(None) => break,
                // The engine drops a peer that sends an invalid frame; so does this.
                Err(_) => return frames,
            }
        }
    }
    frames
}

/// Feeds the bytes as each of the four message types and checks the memory the reader
/// held at its peak: no more than a small multiple of what was sent, whatever a length
/// prefix claims.
fn check_stream(bytes: &[u8], pieces: &[usize]) {
    let limit = (1 << 20) + 512 * bytes.len();
    let (_, peak) = peak_bytes(|| feed::<Command>(bytes, pieces));
    assert!(peak <= limit, "Command: {peak} bytes for {}", bytes.len());
    let (_, peak) = peak_bytes(|| feed::<Event>(bytes, pieces));
    assert!(peak <= limit, "Event: {peak} bytes for {}", bytes.len());
    let (_, peak) = peak_bytes(|| feed::<ToWorker>(bytes, pieces));
    assert!(peak <= limit, "ToWorker: {peak} bytes for {}", bytes.len());
    let (_, peak) = peak_bytes(|| feed::<FromWorker>(bytes, pieces));
    assert!(
        peak <= limit,
        "FromWorker: {peak} bytes for {}",
        bytes.len()
    );
}

/// A byte stream: random bytes, seed frames with a few bytes changed, a seed frame whose
/// length prefix is replaced, or a deeply nested frame.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seed_frames();
    let n = seeds.len();
    let mutated = {
        let seeds = seeds.clone();
        (
            prop::collection::vec(0..n, 1..4),
            prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        )
            .prop_map(move |(picks, changes)| {
                let mut bytes: Vec<u8> = picks.iter().flat_map(|i| seeds[*i].clone()).collect();
                let len = bytes.len();
                for (at, b) in changes {
                    bytes[at % len] = b;
                }
                bytes
            })
    };
    let prefixed = (
        0..n,
        prop_oneof![
            Just(0u32),
            Just(1),
            Just(64 << 20),
            Just((64 << 20) + 1),
            Just(u32::MAX),
            any::<u32>()
        ],
    )
        .prop_map(move |(i, len)| {
            let mut bytes = seeds[i].clone();
            bytes[..4].copy_from_slice(&len.to_le_bytes());
            bytes
        });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        mutated,
        prefixed,
        (100usize..20_000).prop_map(deep_frame),
    ]
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn decoder_takes_any_byte_stream(
        bytes in stream(),
        pieces in prop::collection::vec(1usize..700, 1..12),
    ) {
        check_stream(&bytes, &pieces);
    }
}

#[test]
fn seed_frames_decode_as_their_own_types() {
    let seeds = seed_frames();
    assert_eq!(feed::<Command>(&seeds[0], &[usize::MAX]), 1);
    assert_eq!(feed::<Event>(&seeds[3], &[7]), 1);
    assert_eq!(feed::<ToWorker>(&seeds[5], &[1]), 1);
    assert_eq!(feed::<FromWorker>(&seeds[7], &[3]), 1);
    // Fifty thousand lists deep: refused as invalid, not a stack overflow.
    assert_eq!(feed::<FromWorker>(&deep_frame(50_000), &[4096]), 0);
}

#[test]
fn a_huge_length_prefix_allocates_nothing_for_it() {
    for len in [64u32 << 20, u32::MAX] {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0; 100]);
        let (frames, peak) = peak_bytes(|| feed::<Command>(&bytes, &[1, 2, 3]));
        assert_eq!(frames, 0);
        assert!(peak < 1 << 20, "{len}: {peak} bytes");
    }
}
