//! Lifetimes and bad input against the real binary: signals to pooltop, `kill -9` of
//! pooltop, a worker `SIGKILLed` from outside mid-task, Python's errors, and the input matrix.

mod common;

use std::process::{Command, Stdio};
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
    let child = Command::new(BIN)
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
    let mut child = Command::new(BIN)
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
    assert_eq!(run.status, Some(2), "{args:?}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!lines.is_empty(), "{args:?}: no message");
    assert!(
        lines[0].contains(expect),
        "{args:?}: {:?} lacks {expect:?}",
        run.stderr
    );
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
            "--workers must be between 1 and 512",
        ),
        (
            &["run", "pool-map", "--workers", "100000"],
            "--workers must be between 1 and 512",
        ),
        (
            &["run", "pool-map", "--workers", "many"],
            "invalid value 'many'",
        ),
        (
            &["run", "pool-map", "--chunksize", "0"],
            "--chunksize must be at least 1",
        ),
        (
            &["run", "pool-map", "--maxtasksperchild", "0"],
            "--maxtasksperchild must be at least 1",
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
        (&["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expect) in cases {
        bad(args, expect);
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
