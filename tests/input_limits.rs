//! The scenario loader's limits, at and past each boundary: sizes, step counts, every
//! number a file can give, non-regular files, and messages that must stay on one line.

mod common;

use std::fmt::Write;
use std::time::{Duration, Instant};

use pooltop::engine::program::{Items, Op, RunSettings};
use pooltop::scenario::{self, MAX_FILE_BYTES, MAX_STEPS, Overrides, ScenarioFile, Source};

use common::*;

fn load(text: &str) -> Result<scenario::Scenario, String> {
    let source = Source {
        label: "t.toml".into(),
        text: text.into(),
    };
    scenario::load(&source, &Overrides::default())
}

fn err(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("loaded, but should not have:\n{text}"),
        Err(e) => {
            assert!(!e.contains('\n'), "two lines: {e:?}");
            e
        }
    }
}

/// A pool, an async result, a process and an imap iterator, then `step`.
fn with(step: &str) -> String {
    format!(
        r#"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "apply_async"
on = "pool"
func = "cube"
args = [2]
into = "r"
[[step]]
do = "process"
var = "p"
target = "cube"
args = [2]
[[step]]
do = "imap"
on = "pool"
func = "cube"
range = [3]
into = "it"
[[step]]
{step}
"#
    )
}

/// The step `with` adds is step 5, on line 23.
const AT: &str = "t.toml:23: step 5";

#[test]
fn timeouts_past_an_hour_or_not_finite_are_refused_at_load() {
    for (call, on) in [("join", "p"), ("get", "r"), ("wait", "r"), ("next", "it")] {
        for bad in ["inf", "-inf", "nan", "1e300", "1e19", "3600.001"] {
            let e = err(&with(&format!(
                "do = \"{call}\"\non = \"{on}\"\ntimeout = {bad}"
            )));
            assert_eq!(
                e,
                format!(
                    "{AT} ({call}): timeout = {bad} is out of range (a number of seconds up to 3600)"
                )
            );
        }
        for good in ["0", "0.5", "3600", "-1", "-1e300"] {
            let text = with(&format!("do = \"{call}\"\non = \"{on}\"\ntimeout = {good}"));
            load(&text).unwrap_or_else(|e| panic!("{call} timeout = {good}: {e}"));
        }
    }
    // Pool.join() takes no timeout in Python: that stays a TypeError at run time, but the
    // number is still checked.
    let e = err(&with("do = \"join\"\non = \"pool\"\ntimeout = inf"));
    assert!(e.contains("timeout = inf is out of range"), "{e}");
}

#[test]
fn a_negative_timeout_waits_not_at_all_as_in_python() {
    // CPython 3.11: r.get(timeout=-1) on a result not ready raises TimeoutError at once,
    // it.next(timeout=-1) too, and p.join(timeout=-1) returns at once.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_scenario(
        dir.path(),
        "negative.toml",
        &with(
            r#"do = "get"
on = "r"
timeout = -1
[[step]]
do = "next"
on = "it"
timeout = -1
[[step]]
do = "start"
on = "p"
[[step]]
do = "join"
on = "p"
timeout = -1"#,
        ),
    );
    let (events, run) = run_events(&[
        "--file",
        file.to_str().expect("path"),
        "--cost",
        "2s",
        "--cost-kind",
        "sleep",
    ]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(
        errors(&events),
        vec![
            "multiprocessing.context.TimeoutError",
            "multiprocessing.context.TimeoutError"
        ]
    );
    // p.join(timeout=-1) returned while p still ran its 2 s task.
    let join = of(&events, "step_done")
        .into_iter()
        .find(|e| e["python"] == "p.join(timeout=-1)")
        .expect("join ran");
    assert_eq!(join["outcome"], "None (timed out; still running)");
}

#[test]
fn sleep_is_between_0_and_an_hour() {
    for bad in ["-1", "inf", "nan", "1e19", "3601"] {
        let e = err(&format!("[[step]]\ndo = \"sleep\"\nseconds = {bad}\n"));
        assert_eq!(
            e,
            format!("t.toml:1: step 1 (sleep): seconds = {bad} is out of range (0 to 3600)")
        );
    }
    load("[[step]]\ndo = \"sleep\"\nseconds = 3600\n").expect("an hour");
}

#[test]
fn processes_past_512_are_refused_and_below_1_left_to_python() {
    for bad in ["513", "100000", "9223372036854775807"] {
        let e = err(&format!(
            "[[step]]\ndo = \"pool\"\nvar = \"pool\"\nprocesses = {bad}\n"
        ));
        assert_eq!(
            e,
            format!(
                "t.toml:1: step 1 (pool): processes = {bad} is out of range (at most 512, as --workers)"
            )
        );
    }
    // 0 and negatives reach the driver, which raises CPython's own ValueError at run time
    // (tests/lifecycle.rs checks the message).
    for good in ["512", "1", "0", "-1", "-9223372036854775808"] {
        let text = format!("[[step]]\ndo = \"pool\"\nvar = \"pool\"\nprocesses = {good}\n");
        let s = load(&text).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert!(matches!(s.program.steps[0].op, Op::NewPool { .. }));
    }
}

#[test]
fn chunksize_and_maxtasksperchild_stop_at_ten_million() {
    let e = err(&with(
        "do = \"map\"\non = \"pool\"\nfunc = \"cube\"\nrange = [4]\nchunksize = 10000001",
    ));
    assert_eq!(
        e,
        format!("{AT} (map): chunksize = 10000001 is out of range (at most 10000000)")
    );
    let e =
        err("[[step]]\ndo = \"pool\"\nvar = \"pool\"\nmaxtasksperchild = 9223372036854775807\n");
    assert_eq!(
        e,
        "t.toml:1: step 1 (pool): maxtasksperchild = 9223372036854775807 is out of range (at most 10000000)"
    );
    // 0 and negatives stay Python's ValueError at run time, as CPython raises it.
    load(&with(
        "do = \"map\"\non = \"pool\"\nfunc = \"cube\"\nrange = [4]\nchunksize = 0",
    ))
    .expect("chunksize 0 loads");
    load("[[step]]\ndo = \"pool\"\nvar = \"pool\"\nmaxtasksperchild = -1\n")
        .expect("maxtasksperchild -1 loads");
}

#[test]
fn ranges_have_at_most_ten_million_items_in_all() {
    let map = |range: &str| {
        with(&format!(
            "do = \"map\"\non = \"pool\"\nfunc = \"square\"\nrange = {range}"
        ))
    };
    // A legitimately large range loads (the with() prelude has 4 items already).
    load(&map("[4, 10000000]")).expect("ten million less four");
    let e = err(&map("[0, 10000001]"));
    assert_eq!(
        e,
        format!("{AT} (map): range = [0, 10000001] has 10000001 items (at most 10000000)")
    );
    let e = err(&map("[-9223372036854775808, 9223372036854775807]"));
    assert!(e.contains("has 18446744073709551615 items"), "{e}");
    let e = err(&map("[0, 10000000]"));
    assert_eq!(
        e,
        format!(
            "{AT} (map): 10000000 more items make 10000004 in the scenario's calls (at most 10000000 in all)"
        )
    );
    // An empty range whose bounds are far apart made the driver's `stop - start`
    // overflow (a panic in a debug build, one item in release).
    let s = load(&map("[9223372036854775807, -9223372036854775808]")).expect("empty range");
    let Op::Submit { items, .. } = &s.program.steps[4].op else {
        panic!("not a map");
    };
    assert_eq!(items.len(), 0);
    assert_eq!(
        items,
        &Items::Range {
            start: i64::MAX,
            stop: i64::MAX
        }
    );
}

#[test]
fn function_arguments_that_would_overflow_or_never_end_are_refused() {
    let cases = [
        (
            "do = \"apply\"\non = \"pool\"\nfunc = \"power\"\nargs = [2, 1000000000]",
            "(apply): power: 2**1000000000 does not fit pooltop's 128-bit integers",
        ),
        (
            "do = \"apply\"\non = \"pool\"\nfunc = \"power\"\nargs = [2, -1]",
            "(apply): power: 2**-1 is a float in Python; pooltop computes integers",
        ),
        (
            "do = \"apply\"\non = \"pool\"\nfunc = \"power\"\nargs = [1, 4294967296]",
            "(apply): power: exponent 4294967296 is out of range (at most 4294967295)",
        ),
        (
            "do = \"starmap\"\non = \"pool\"\nfunc = \"power\"\nitems = [[2, 3], [10, 40]]",
            "(starmap): power: 10**40 does not fit pooltop's 128-bit integers",
        ),
        (
            "do = \"map\"\non = \"pool\"\nfunc = \"cube\"\nrange = [0, 5541191377758]",
            "(map): range = [0, 5541191377758] has 5541191377758 items (at most 10000000)",
        ),
        (
            "do = \"map\"\non = \"pool\"\nfunc = \"slow_cube\"\nrange = [5541191377757, 5541191377758]",
            "(map): slow_cube: 5541191377757**3 does not fit pooltop's 128-bit integers",
        ),
        (
            "do = \"map\"\non = \"pool\"\nfunc = \"cube\"\nitems = [1, -5541191377757]",
            "(map): cube: -5541191377757**3 does not fit pooltop's 128-bit integers",
        ),
        (
            "do = \"apply\"\non = \"pool\"\nfunc = \"chatter\"\nargs = [1000001]",
            "(apply): chatter(1000001) is out of range (at most 1000000 lines)",
        ),
        (
            "do = \"map\"\non = \"pool\"\nfunc = \"chatter\"\nrange = [999999, 1000002]",
            "(map): chatter(1000001) is out of range (at most 1000000 lines)",
        ),
        (
            "do = \"process\"\nvar = \"q\"\ntarget = \"threads\"\nargs = [65, 1, true]",
            "(process): threads: 65 threads is out of range (1 to 64)",
        ),
        (
            "do = \"process\"\nvar = \"q\"\ntarget = \"threads\"\nargs = [2, 1000001, false]",
            "(process): threads: 1000001 units of work is out of range (0 to 1000000)",
        ),
        (
            "do = \"process\"\nvar = \"q\"\ntarget = \"cubes\"\nargs = [[1, 2, 9223372036854775807]]",
            "(process): cubes: 9223372036854775807**3 does not fit pooltop's 128-bit integers",
        ),
        (
            "do = \"process\"\nvar = \"q\"\ntarget = \"powers\"\nargs = [10, 39]",
            "(process): powers: 10**39 does not fit pooltop's 128-bit integers",
        ),
    ];
    for (step, expect) in cases {
        let e = err(&with(step));
        assert_eq!(e, format!("{AT} {expect}"), "{step}");
    }
    // At the limits, and what stays Python's own run-time error.
    for step in [
        "do = \"apply\"\non = \"pool\"\nfunc = \"power\"\nargs = [2, 126]",
        "do = \"apply\"\non = \"pool\"\nfunc = \"power\"\nargs = [1, 4294967295]",
        "do = \"map\"\non = \"pool\"\nfunc = \"cube\"\nitems = [5541191377756, -5541191377756]",
        "do = \"apply\"\non = \"pool\"\nfunc = \"chatter\"\nargs = [1000000]",
        "do = \"apply\"\non = \"pool\"\nfunc = \"chatter\"\nargs = [-5]",
        "do = \"process\"\nvar = \"q\"\ntarget = \"threads\"\nargs = [64, 1000000, true]",
        "do = \"apply\"\non = \"pool\"\nfunc = \"cube\"\nargs = [\"x\"]",
        "do = \"map\"\non = \"pool\"\nfunc = \"square\"\nitems = [9223372036854775807]",
    ] {
        load(&with(step)).unwrap_or_else(|e| panic!("{step}: {e}"));
    }
}

#[test]
fn values_nest_at_most_32_lists_deep() {
    let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    let step = |n: usize| {
        with(&format!(
            "do = \"apply\"\non = \"pool\"\nfunc = \"noop\"\nargs = [{}]",
            deep(n)
        ))
    };
    load(&step(32)).expect("32 deep");
    assert_eq!(
        err(&step(33)),
        format!("{AT} (apply): a value nests lists more than 32 deep")
    );
}

#[test]
fn pool_worker_index_and_measured_workers_are_within_512() {
    let e = err(&with(
        "do = \"signal\"\non = \"pool\"\nsignal = \"SIGKILL\"\nworker = 512",
    ));
    assert_eq!(
        e,
        format!("{AT} (signal): worker = 512 is out of range (an index below 512, or \"busy\")")
    );
    load(&with(
        "do = \"signal\"\non = \"pool\"\nsignal = \"SIGKILL\"\nworker = 511",
    ))
    .expect("worker 511");
    for bad in ["0", "513"] {
        let e = err(&with(&format!(
            "do = \"close\"\non = \"pool\"\nmeasure = {{ label = \"x\", workers = {bad} }}"
        )));
        assert_eq!(
            e,
            format!("{AT} (close): measure workers = {bad} is out of range (1 to 512)")
        );
    }
}

fn steps(n: usize) -> String {
    "[[step]]\ndo = \"note\"\n".repeat(n)
}

#[test]
fn a_scenario_has_at_most_10000_steps() {
    let s = load(&steps(MAX_STEPS)).expect("10,000 steps load");
    assert_eq!(s.program.steps.len(), MAX_STEPS);
    assert_eq!(
        err(&steps(MAX_STEPS + 1)),
        "t.toml:20001: step 10001: a scenario has at most 10000 steps (this one has 10001)"
    );
}

#[test]
fn a_scenario_file_is_a_regular_file_of_at_most_1_mib() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name);
    let label = |name: &str| path(name).display().to_string();

    // Exactly 1 MiB loads (a comment pads it); one byte more is refused unread.
    let mut text = steps(3);
    text.push('#');
    text.push_str(&"x".repeat(MAX_FILE_BYTES as usize - text.len() - 1));
    text.push('\n');
    std::fs::write(path("max.toml"), &text).expect("write");
    let source = Source::file(&path("max.toml")).expect("1 MiB reads");
    scenario::load(&source, &Overrides::default()).expect("1 MiB loads");
    text.push('\n');
    std::fs::write(path("big.toml"), &text).expect("write");
    assert_eq!(
        Source::file(&path("big.toml")).map(|_| ()),
        Err(format!(
            "{}: larger than 1 MiB (a scenario file is at most 1048576 bytes)",
            label("big.toml")
        ))
    );
    // Text handed to load() directly is held to the same size.
    let e = err(&text);
    assert_eq!(
        e,
        "t.toml: larger than 1 MiB (a scenario file is at most 1048576 bytes)"
    );

    // A FIFO is refused without being opened: open() would wait for a writer.
    nix::unistd::mkfifo(&path("fifo"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let started = Instant::now();
    assert_eq!(
        Source::file(&path("fifo")).map(|_| ()),
        Err(format!(
            "{}: a FIFO, not a regular file (a scenario is a TOML file)",
            label("fifo")
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    std::fs::create_dir(path("dir")).expect("mkdir");
    assert_eq!(
        Source::file(&path("dir")).map(|_| ()),
        Err(format!(
            "{}: a directory, not a regular file (a scenario is a TOML file)",
            label("dir")
        ))
    );
    assert_eq!(
        Source::file(std::path::Path::new("/dev/zero")).map(|_| ()),
        Err("/dev/zero: a device, not a regular file (a scenario is a TOML file)".into())
    );

    // Not UTF-8: the line and column of the first bad byte.
    std::fs::write(path("latin1.toml"), b"title = \"x\"\n# caf\xe9\n").expect("write");
    assert_eq!(
        Source::file(&path("latin1.toml")).map(|_| ()),
        Err(format!("{}:2:6: not UTF-8 text", label("latin1.toml")))
    );
}

#[test]
fn errors_stay_on_one_line_whatever_the_file_holds() {
    // A key or a `do` with a newline in it (TOML allows both) put a newline in the
    // message.
    let e = err("[[step]]\ndo = \"a\\nb\"\n");
    assert!(
        e.starts_with("t.toml:1: step 1 (a\\nb): unknown action"),
        "{e}"
    );
    let e = err("\"a\\nb\" = 1\n");
    assert!(e.starts_with("t.toml:1:1: unknown field `a\\nb`"), "{e}");
    let e = err("[[step]]\ndo = \"print\"\ntext = \"{x\\u0007}\"\n");
    assert!(e.contains("'x\\u{7}' is not defined"), "{e}");
}

/// Loading time against the number of steps, parse and compile timed apart, past the
/// 10,000-step limit (compile is called directly). Not a test of speed: run it by hand,
/// `cargo test --release --test input_limits -- --ignored --nocapture`.
#[test]
#[ignore = "prints timings; run by hand"]
fn loading_time_grows_linearly_with_the_steps() {
    for n in [5_000, 10_000, 20_000, 40_000] {
        let mut text = String::from("[[step]]\ndo = \"pool\"\nvar = \"pool\"\nprocesses = 2\n");
        for i in 0..n - 1 {
            let _ = match i % 4 {
                0 => write!(
                    text,
                    "\n[[step]]\ndo = \"map_async\"\non = \"pool\"\nfunc = \"cube\"\nitems = [1, 2, 3]\ninto = \"r{i}\"\n"
                ),
                1 => write!(
                    text,
                    "\n[[step]]\ndo = \"get\"\non = \"r{}\"\ninto = \"v{i}\"\ntimeout = 5\n",
                    i - 1
                ),
                2 => write!(
                    text,
                    "\n[[step]]\ndo = \"print\"\ntext = \"got {{v{}}}\"\n",
                    i - 1
                ),
                _ => write!(text, "\n[[step]]\ndo = \"note\"\nsay = \"a note\"\n"),
            };
        }
        let source = Source {
            label: "big.toml".into(),
            text,
        };
        let t0 = Instant::now();
        let file: ScenarioFile = toml::from_str(&source.text).expect("parse");
        let t1 = Instant::now();
        let program = scenario::compile(
            &source,
            &file,
            RunSettings::default(),
            &Overrides::default(),
        )
        .expect("compile");
        let t2 = Instant::now();
        println!(
            "{n:>6} steps, {:>8} bytes: parse {:>7.1} ms, compile {:>7.1} ms",
            source.text.len(),
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
        );
        assert_eq!(program.steps.len(), n);
    }
}
