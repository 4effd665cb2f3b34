//! Lifetimes and bad input against the real binary: signals to pooltop, `kill -9` of
//! pooltop, a worker `SIGKILLed` from outside mid-task, Python's errors, and the input matrix.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

/// A scenario that keeps two workers busy for a long time.
const LONG: &str = r#"
cost = "200ms"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "map"
on = "pool"
func = "cube"
range = [0, 200]
chunksize = 1
into = "out"
"#;

fn events_file(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The last line may still be half written.
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn start_long(dir: &std::path::Path) -> (std::process::Child, std::path::PathBuf) {
    let scenario = write_scenario(dir, "long.toml", LONG);
    let events = dir.join("events.jsonl");
    let child = common::command()
        .args(["run", "--file"])
        .arg(&scenario)
        .arg("--events")
        .arg(&events)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pooltop");
    (child, events)
}

fn wait_for_busy_workers(events: &std::path::Path) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    let ok = wait_until(Duration::from_secs(10), || {
        seen = events_file(events);
        of(&seen, "task_started").len() >= 2
    });
    assert!(ok, "workers never started tasks");
    seen
}

#[test]
fn kill_9_of_pooltop_leaves_no_process_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, events) = start_long(dir.path());
    let seen = wait_for_busy_workers(&events);
    let pids = reported_pids(&seen);
    assert!(pids.len() >= 3, "driver and two workers: {pids:?}");
    assert!(pids.iter().all(|p| alive(*p)));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGKILL,
    )
    .expect("kill");
    let _ = child.wait();
    assert_all_gone(&pids, Duration::from_secs(1));
}

#[test]
fn sigterm_sigint_and_sighup_end_every_worker_before_pooltop_exits() {
    for signal in [
        nix::sys::signal::SIGTERM,
        nix::sys::signal::SIGINT,
        nix::sys::signal::SIGHUP,
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut child, events) = start_long(dir.path());
        let seen = wait_for_busy_workers(&events);
        let pids = reported_pids(&seen);
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal)
            .expect("signal");
        let status = wait_deadline(&mut child, Duration::from_secs(5))
            .expect("pooltop exits after a signal");
        assert_eq!(status, 128 + signal as i32, "{signal}");
        // Already gone when pooltop has exited: nothing to wait for.
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        assert!(left.is_empty(), "{signal}: left behind {left:?}");
        let all = events_file(&events);
        let exited = of(&all, "exited").len();
        assert!(
            exited >= 2,
            "{signal}: worker exits were reported ({exited})"
        );
    }
}

#[test]
fn a_worker_sigkilled_from_outside_loses_its_task_and_the_call_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = write_scenario(
        dir.path(),
        "victim.toml",
        r#"
cost = "300ms"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "map"
on = "pool"
func = "cube"
range = [0, 6]
chunksize = 1
into = "out"
[[step]]
do = "print"
text = "after the map"
"#,
    );
    let events = dir.path().join("events.jsonl");
    let mut child = common::command()
        .args(["run", "--file"])
        .arg(&scenario)
        .arg("--events")
        .arg(&events)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let mut victim = None;
    let ok = wait_until(Duration::from_secs(10), || {
        let seen = events_file(&events);
        victim = of(&seen, "task_started")
            .first()
            .map(|e| (e["pid"].as_i64().unwrap_or(0), e["task"].as_i64()));
        victim.is_some()
    });
    assert!(ok, "no task started");
    let (pid, task) = victim.expect("victim");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::SIGKILL,
    )
    .expect("kill worker");
    let status =
        wait_deadline(&mut child, Duration::from_secs(20)).expect("no hang after a lost task");
    assert_eq!(status, 0);
    let all = events_file(&events);
    let lost = of(&all, "task_lost");
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["pid"].as_i64(), Some(pid));
    assert_eq!(lost[0]["task"].as_i64(), task);
    assert_eq!(lost[0]["signal"], 9);
    let error = of(&all, "error")[0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(error.starts_with("WorkerLostError: task #"), "{error}");
    assert!(
        error.contains(&format!("(pid {pid}) was killed by SIGKILL")),
        "{error}"
    );
    assert!(
        all_output(&all).contains("after the map\n"),
        "the scenario carries on"
    );
    let replacement = of(&all, "spawned")
        .into_iter()
        .filter(|e| e["role"] == "pool_worker")
        .count();
    assert_eq!(replacement, 3, "the killed worker was replaced");
    assert_all_gone(&reported_pids(&all), Duration::from_secs(2));
}

/// Python's mistakes with Process and Pool, one after the other; the run carries on.
const MISTAKES: &str = r#"
cost = "0"
[[step]]
do = "process"
var = "p"
target = "cubes"
args = [[2, 3]]
[[step]]
do = "join"
on = "p"
[[step]]
do = "start"
on = "p"
[[step]]
do = "start"
on = "p"
[[step]]
do = "join"
on = "p"
[[step]]
do = "exitcode"
on = "p"
[[step]]
do = "process"
var = "q"
target = "fail"
args = [7]
[[step]]
do = "start"
on = "q"
[[step]]
do = "join"
on = "q"
[[step]]
do = "exitcode"
on = "q"
[[step]]
do = "process"
var = "k"
target = "squares"
args = [[1, 2, 3, 4, 5, 6, 7, 8, 9]]
[[step]]
do = "start"
on = "k"
[[step]]
do = "kill"
on = "k"
[[step]]
do = "join"
on = "k"
[[step]]
do = "pool"
var = "pool"
processes = 0
"#;

#[test]
fn python_process_errors_are_worded_as_python_words_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = write_scenario(dir.path(), "mistakes.toml", MISTAKES);
    let (events, run) = run_events(&["--file", scenario.to_str().expect("path"), "--cost", "50ms"]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let errors: Vec<&str> = of(&events, "error")
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(
        errors,
        vec![
            "AssertionError: can only join a started process",
            "AssertionError: cannot start a process twice",
            "ValueError: Number of processes must be at least 1",
        ]
    );
    let results: Vec<&serde_json::Value> =
        of(&events, "result").iter().map(|e| &e["value"]).collect();
    assert_eq!(
        results,
        vec![&serde_json::json!(0), &serde_json::json!(1)],
        "exit codes 0 and 1"
    );
    let k = pid_named(&events, "Process-3");
    let k_exit = of(&events, "exited")
        .into_iter()
        .find(|e| e["pid"].as_i64() == Some(k))
        .expect("k exited");
    assert_eq!(k_exit["exitcode"], -9);
    let stderr_of_q = of(&events, "output")
        .into_iter()
        .filter(|e| e["stream"] == "stderr")
        .filter_map(|e| e["text"].as_str())
        .collect::<String>();
    assert!(
        stderr_of_q.contains("Process Process-2:\nTraceback (most recent call last):"),
        "{stderr_of_q}"
    );
    assert!(
        stderr_of_q.contains("ValueError: fail(7) raised on purpose"),
        "{stderr_of_q}"
    );
    assert_all_gone(&reported_pids(&events), Duration::from_secs(2));
}

fn bad(args: &[&str], expect: &str) {
    let run = pooltop(args, Duration::from_secs(10));
    assert_bad(&run, &format!("{args:?}"), expect);
}

/// Exit status 2, nothing on stdout, and one line on stderr that says `expect`.
fn assert_bad(run: &Run, what: &str, expect: &str) {
    assert_eq!(run.status, Some(2), "{what}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: not one line: {:?}", run.stderr);
    assert!(
        lines[0].starts_with("pooltop: ") && lines[0].contains(expect),
        "{what}: {:?} lacks {expect:?}",
        run.stderr
    );
}

/// A scenario file of `steps` after a pool `pool`, an async result `r`, a process `p`
/// and an imap iterator `it`.
fn scenario_with(dir: &std::path::Path, name: &str, steps: &str) -> String {
    let text = format!(
        "[[step]]\ndo = \"pool\"\nvar = \"pool\"\nprocesses = 2\n\
         [[step]]\ndo = \"apply_async\"\non = \"pool\"\nfunc = \"cube\"\nargs = [2]\ninto = \"r\"\n\
         [[step]]\ndo = \"process\"\nvar = \"p\"\ntarget = \"cube\"\nargs = [2]\n\
         [[step]]\ndo = \"imap\"\non = \"pool\"\nfunc = \"cube\"\nrange = [3]\ninto = \"it\"\n\
         [[step]]\n{steps}\n"
    );
    let path = write_scenario(dir, name, &text);
    path.to_str().expect("path").to_string()
}

#[test]
fn bad_input_gives_one_clear_line_and_exit_status_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let malformed = write_scenario(
        dir.path(),
        "bad.toml",
        "title = \"x\"\n\n[[step]\ndo = \"pool\"\n",
    );
    let malformed = malformed.to_str().expect("path");
    let unknown_action = write_scenario(
        dir.path(),
        "odd.toml",
        "[[step]]\ndo = \"pool\"\nvar = \"p\"\n\n[[step]]\ndo = \"explode\"\n",
    );
    let unknown_action = unknown_action.to_str().expect("path");
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "no-such-scenario"],
            "unknown scenario 'no-such-scenario'",
        ),
        (&["run", "--file", malformed], "bad.toml:3:"),
        (
            &["run", "--file", unknown_action],
            "odd.toml:5: step 2 (explode): unknown action",
        ),
        (
            &["run", "--file", "/nonexistent/x.toml"],
            "/nonexistent/x.toml",
        ),
        (
            &["run", "pool-map", "--workers", "0"],
            "--workers must be between 1 and 512, not 0",
        ),
        (
            &["run", "pool-map", "--workers", "100000"],
            "--workers must be between 1 and 512, not 100000",
        ),
        (
            &["run", "pool-map", "--workers", "-1"],
            "--workers must be between 1 and 512, not -1",
        ),
        (
            &["run", "pool-map", "--workers", "many"],
            "invalid value 'many'",
        ),
        (
            &["run", "pool-map", "--chunksize", "0"],
            "--chunksize must be between 1 and 10000000, not 0",
        ),
        (
            &["run", "pool-map", "--maxtasksperchild", "0"],
            "--maxtasksperchild must be between 1 and 10000000, not 0",
        ),
        (
            &["run", "pool-map", "--cost", "fast"],
            "--cost: 'fast' is not a duration",
        ),
        (
            &["run", "pool-map", "--start-method", "vfork"],
            "invalid value 'vfork'",
        ),
        (
            &["run", "pool-map", "--events", "/nonexistent/dir/e.jsonl"],
            "--events /nonexistent/dir/e.jsonl",
        ),
        (
            &["bench", "--workers", "0"],
            "--workers must be between 1 and 512",
        ),
        (
            &["frobnicate"],
            "'frobnicate' is neither a subcommand nor a built-in scenario",
        ),
    ];
    for (args, expect) in cases {
        bad(args, expect);
    }
}

/// clap's errors take several lines (the error, a tip, the usage, a hint); pooltop's are
/// one, which names the help to read.
#[test]
fn command_line_errors_are_one_line_and_help_is_not_an_error() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "--workers", "abc"],
            "pooltop: error: invalid value 'abc' for '--workers <N>': invalid digit found in string (see 'pooltop run --help')",
        ),
        (
            &["run", "--frob"],
            "pooltop: error: unexpected argument '--frob' found (see 'pooltop run --help')",
        ),
        (
            &["run", "--fle", "x.toml"],
            "pooltop: error: unexpected argument '--fle' found (a similar argument exists: '--file'; see 'pooltop run --help')",
        ),
        (
            &["frob"],
            "pooltop: 'frob' is neither a subcommand nor a built-in scenario (see 'pooltop --help', 'pooltop list')",
        ),
        (
            &["--frob"],
            "pooltop: error: unexpected argument '--frob' found (see 'pooltop --help')",
        ),
        (
            &["run", "--workers", "-1"],
            "pooltop: --workers must be between 1 and 512, not -1",
        ),
        (
            &["run", "--file", "x.toml", "--lesson", "y"],
            "pooltop: error: the argument '--file <PATH>' cannot be used with '--lesson <NAME>' (see 'pooltop run --help')",
        ),
        (
            &["run", "--cost"],
            "pooltop: error: a value is required for '--cost <D>' but none was supplied (see 'pooltop run --help')",
        ),
        (
            &["tui", "--after", "5"],
            "pooltop: error: the following required arguments were not provided: --screenshot <FILE> (see 'pooltop tui --help')",
        ),
        (
            &["tui", "--refresh", "-5"],
            "pooltop: --refresh must be between 200 and 60000, not -5 (milliseconds)",
        ),
        (
            &["bench", "--tasks", "10000001"],
            "pooltop: --tasks must be between 1 and 10000000, not 10000001",
        ),
        (
            &["run", "--workers", "99999999999999999999"],
            "pooltop: error: invalid value '99999999999999999999' for '--workers <N>': number too large to fit in target type (see 'pooltop run --help')",
        ),
    ];
    for (args, expect) in cases {
        let run = pooltop(args, Duration::from_secs(10));
        assert_bad(&run, &format!("{args:?}"), expect);
        assert_eq!(run.stderr, format!("{expect}\n"), "{args:?}");
    }
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["help", "run"],
        &["--version"],
    ] {
        let run = pooltop(args, Duration::from_secs(10));
        assert_eq!(run.status, Some(0), "{args:?}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        assert!(run.stdout.lines().count() >= 1, "{args:?}");
    }
    let help = pooltop(&["run", "--help"], Duration::from_secs(10));
    assert!(
        help.stdout
            .contains("Usage: pooltop run [OPTIONS] [SCENARIO]")
    );
    assert!(help.stdout.contains("--workers <N>"));
}

/// `std::env::args()` panicked on an argument that is not UTF-8.
#[test]
fn an_argument_that_is_not_utf8_is_refused_in_one_line() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let arg = OsStr::from_bytes(b"\xff");
    let child = common::command()
        .arg("run")
        .arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pooltop");
    let out = child.wait_with_output().expect("pooltop ends");
    let run = Run {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_bad(
        &run,
        "run \\xff",
        "error: invalid UTF-8 was detected in one or more arguments (see 'pooltop run --help')",
    );
    // A path need not be UTF-8: it is read (here: found missing), not refused.
    let out = common::command()
        .arg("run")
        .arg("--file")
        .arg(OsStr::from_bytes(b"/nonexistent/\xff.toml"))
        .stdin(Stdio::null())
        .output()
        .expect("pooltop ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("pooltop: /nonexistent/\u{fffd}.toml: No such file or directory"),
        "{stderr}"
    );
}

/// Files that are not scenario files, and every number out of range: refused before any
/// process starts, in one line naming file, line, step, field and range.
#[test]
fn bad_files_and_numbers_out_of_range_are_refused_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // A FIFO: open() would wait for a writer for ever.
    let fifo = d.join("fifo.toml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let fifo = fifo.to_str().expect("path").to_string();
    let subdir = d.join("dir.toml");
    std::fs::create_dir(&subdir).expect("mkdir");
    let subdir = subdir.to_str().expect("path").to_string();
    let big = write_scenario(d, "big.toml", &format!("# {}\n", "x".repeat(1 << 20)));
    let big = big.to_str().expect("path").to_string();
    let many = write_scenario(d, "many.toml", &"[[step]]\ndo = \"note\"\n".repeat(10_001));
    let many = many.to_str().expect("path").to_string();
    let mut cases: Vec<(String, String)> = vec![
        (fifo.clone(), format!("{fifo}: a FIFO, not a regular file")),
        (
            subdir.clone(),
            format!("{subdir}: a directory, not a regular file"),
        ),
        (
            "/dev/null".into(),
            "/dev/null: a device, not a regular file".into(),
        ),
        (big.clone(), format!("{big}: larger than 1 MiB")),
        (
            many.clone(),
            format!("{many}:20001: step 10001: a scenario has at most 10000 steps"),
        ),
    ];
    let at = ":22: step 5";
    let numbers = [
        (
            "do = \"get\"\non = \"r\"\ntimeout = inf",
            "(get): timeout = inf is out of range (a number of seconds up to 3600)",
        ),
        (
            "do = \"join\"\non = \"p\"\ntimeout = 1e300",
            "(join): timeout = 1e300 is out of range",
        ),
        (
            "do = \"wait\"\non = \"r\"\ntimeout = 1e19",
            "(wait): timeout = 1e19 is out of range",
        ),
        (
            "do = \"next\"\non = \"it\"\ntimeout = nan",
            "(next): timeout = nan is out of range",
        ),
        (
            "do = \"sleep\"\nseconds = -1",
            "(sleep): seconds = -1 is out of range (0 to 3600)",
        ),
        (
            "do = \"pool\"\nvar = \"big\"\nprocesses = 100000",
            "(pool): processes = 100000 is out of range (at most 512, as --workers)",
        ),
        (
            "do = \"pool\"\nvar = \"big\"\nprocesses = 9223372036854775807",
            "(pool): processes = 9223372036854775807 is out of range",
        ),
        (
            "do = \"pool\"\nvar = \"big\"\nmaxtasksperchild = 100000000",
            "(pool): maxtasksperchild = 100000000 is out of range (at most 10000000)",
        ),
        (
            "do = \"map\"\non = \"pool\"\nfunc = \"cube\"\nrange = [4]\nchunksize = 100000000",
            "(map): chunksize = 100000000 is out of range (at most 10000000)",
        ),
        (
            "do = \"map\"\non = \"pool\"\nfunc = \"cube\"\nrange = [0, 100000000000]",
            "(map): range = [0, 100000000000] has 100000000000 items (at most 10000000)",
        ),
        (
            "do = \"apply\"\non = \"pool\"\nfunc = \"power\"\nargs = [2, 1000000000]",
            "(apply): power: 2**1000000000 does not fit pooltop's 128-bit integers",
        ),
        (
            "do = \"apply\"\non = \"pool\"\nfunc = \"chatter\"\nargs = [9223372036854775807]",
            "(apply): chatter(9223372036854775807) is out of range (at most 1000000 lines)",
        ),
        (
            "do = \"map\"\non = \"pool\"\nfunc = \"slow_cube\"\nitems = [10000000000000]",
            "(map): slow_cube: 10000000000000**3 does not fit pooltop's 128-bit integers",
        ),
        (
            "do = \"signal\"\non = \"pool\"\nworker = 100000",
            "(signal): worker = 100000 is out of range (an index below 512, or \"busy\")",
        ),
    ];
    for (i, (step, expect)) in numbers.iter().enumerate() {
        let file = scenario_with(d, &format!("n{i}.toml"), step);
        cases.push((file.clone(), format!("{file}{at} {expect}")));
    }
    for (file, expect) in &cases {
        bad(&["run", "--file", file], expect);
    }
}

#[test]
fn list_names_every_builtin_scenario() {
    let run = pooltop(&["list"], Duration::from_secs(10));
    assert_eq!(run.status, Some(0));
    for name in [
        "squares-cubes",
        "pool-map",
        "four-processes",
        "imap",
        "imap-unordered",
        "apply-async",
        "starmap",
        "maxtasksperchild",
        "terminate",
        "close-join",
    ] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(name)),
            "{name} not listed"
        );
    }
}

#[test]
fn headless_run_prints_the_program_output_and_exits_zero() {
    let run = pooltop(
        &["run", "pool-map", "--cost", "1ms"],
        Duration::from_secs(30),
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "[1000, 1331, 1728, 125, 64, 27]\n");
    let run = pooltop(
        &["run", "close-join", "--cost", "1ms"],
        Duration::from_secs(30),
    );
    assert!(run.stderr.contains(">>> pool.join()  # mistake: the pool is still running\nValueError: Pool is still running\n"), "{}", run.stderr);
}

#[test]
fn initializer_runs_once_in_every_worker_before_tasks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = write_scenario(
        dir.path(),
        "init.toml",
        r#"
[[step]]
do = "pool"
var = "pool"
processes = 3
initializer = "greet"
initargs = ["hello"]
[[step]]
do = "map"
on = "pool"
func = "square"
range = [0, 9]
into = "out"
[[step]]
do = "close"
on = "pool"
[[step]]
do = "join"
on = "pool"
"#,
    );
    let (events, run) = run_events(&["--file", scenario.to_str().expect("path")]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    for n in 1..=3 {
        let name = format!("ForkPoolWorker-{n}");
        let pid = pid_named(&events, &name);
        assert_eq!(
            output_of(&events, pid),
            format!("Initializing {name} 'hello'\n")
        );
    }
    assert_all_gone(&reported_pids(&events), Duration::from_secs(2));
}
