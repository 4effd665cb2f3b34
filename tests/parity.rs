//! Parity with CPython: each case runs as a scenario on real processes and is checked
//! against what CPython 3.11 did (the programs are in `tests/python/parity/`).

mod common;

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Runs a scenario file written to `dir`, with `--events -`, and checks it ran to its end
/// and left nothing behind.
fn scenario(dir: &Path, text: &str, extra: &[&str]) -> Vec<Value> {
    let path = write_scenario(dir, "case.toml", text);
    let mut args = vec!["--file", path.to_str().expect("path")];
    args.extend_from_slice(extra);
    let (events, run) = run_events(&args);
    assert_eq!(run.status, Some(0), "stderr: {}", run.stderr);
    assert_eq!(of(&events, "finished").len(), 1, "ran to its end");
    assert_all_gone(&reported_pids(&events), Duration::from_secs(2));
    events
}

fn pool_workers(events: &[Value]) -> Vec<String> {
    of(events, "spawned")
        .iter()
        .filter(|e| e["role"] == "pool_worker")
        .filter_map(|e| e["name"].as_str().map(String::from))
        .collect()
}

/// `01_pool_worker_count.py`: `Pool(2)`, a long task, `close()`, `join()`: CPython keeps its
/// two workers until every result is in (`pool.py: _handle_workers`).
#[test]
fn a_closed_pool_keeps_its_workers_until_the_last_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "150ms"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "map_async"
on = "pool"
func = "slow_cube"
items = [1, 4, 1, 1]
chunksize = 1
into = "r"
[[step]]
do = "close"
on = "pool"
[[step]]
do = "join"
on = "pool"
"#;
    let events = scenario(dir.path(), text, &[]);
    let mut workers = pool_workers(&events);
    workers.sort();
    assert_eq!(workers, ["ForkPoolWorker-1", "ForkPoolWorker-2"]);
    let exits: Vec<i64> = of(&events, "exited")
        .iter()
        .filter_map(|e| e["exitcode"].as_i64())
        .collect();
    assert_eq!(exits, [0, 0], "both leave on their sentinel");
}

/// The built-in close-join scenario starts exactly its pool's two workers, every time.
#[test]
fn close_join_starts_exactly_its_pools_workers_twenty_times_in_a_row() {
    for run in 0..20 {
        let (events, result) = run_events(&["close-join", "--cost", "5ms"]);
        assert_eq!(result.status, Some(0), "run {run}: {}", result.stderr);
        assert_eq!(pool_workers(&events).len(), 2, "run {run}");
    }
}

/// A fork server's children print at once: every chunk is put under its writer's name.
#[test]
fn forkserver_process_output_is_named_from_its_first_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("cost = \"0\"\n");
    for i in 0..24 {
        let _ = write!(
            text,
            "[[step]]\ndo = \"process\"\nvar = \"p{i}\"\ntarget = \"squares\"\nargs = [[2]]\n"
        );
    }
    for verb in ["start", "join"] {
        for i in 0..24 {
            let _ = write!(text, "[[step]]\ndo = \"{verb}\"\non = \"p{i}\"\n");
        }
    }
    let events = scenario(dir.path(), &text, &["--start-method", "forkserver"]);
    let outputs = of(&events, "output");
    let unnamed: Vec<&&Value> = outputs
        .iter()
        .filter(|e| e["name"].as_str().is_none_or(|n| n.starts_with("pid ")))
        .collect();
    assert!(
        unnamed.is_empty(),
        "output without its writer's name: {unnamed:?}"
    );
    for i in 1..=24 {
        let pid = pid_named(&events, &format!("Process-{i}"));
        assert!(
            output_of(&events, pid).starts_with("Calculating the squares"),
            "Process-{i} has its first line"
        );
    }
}

const CHUNK_FAILURE: &str = r#"
cost = "20ms"
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "imap"
on = "pool"
func = "check"
items = [0, 1, 2, 3, 4, -5, 6, 7]
chunksize = 4
into = "it"
[[step]]
do = "for"
on = "it"
[[step]]
do = "map"
on = "pool"
func = "check"
items = [0, 1, 2, 3, 4, -5, 6, 7]
chunksize = 4
into = "all"
[[step]]
do = "with-exit"
on = "pool"
"#;

/// `06_chunk_failure.py`: a chunk runs as `list(map(f, chunk))` (`pool.py: mapstar`): the
/// first exception ends it and is its only result. imap yields the earlier chunk and then
/// raises, never item 4's value; items 6 and 7 never run; map raises the same exception.
#[test]
fn an_item_that_raises_fails_its_whole_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = scenario(dir.path(), CHUNK_FAILURE, &[]);
    assert_eq!(main_output(&events), "0\n10\n20\n30\n");
    assert_eq!(
        errors(&events),
        ["ValueError: negative: -5", "ValueError: negative: -5"]
    );
    let worker = pid_named(&events, "ForkPoolWorker-1");
    let checked = output_of(&events, worker);
    let once = "checking 0\nchecking 1\nchecking 2\nchecking 3\nchecking 4\nchecking -5\n";
    assert_eq!(checked, once.repeat(2), "6 and 7 never run");
    let failed = of(&events, "task_failed").len();
    assert_eq!(failed, 8, "every item of the failing chunk, in both calls");
}

/// `07_pending_after_terminate.py`: a result cut short by `terminate()`, or by leaving the
/// `with` block, is not ready (`ready()` is False); pooltop's `get()` raises rather than
/// wait forever.
#[test]
fn ready_is_false_after_terminate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "2s"
cost_kind = "sleep"
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "apply_async"
on = "pool"
func = "square"
args = [3]
into = "r"
[[step]]
do = "terminate"
on = "pool"
[[step]]
do = "ready"
on = "r"
into = "ready"
[[step]]
do = "successful"
on = "r"
into = "ok"
[[step]]
do = "join"
on = "pool"
"#;
    let events = scenario(dir.path(), text, &[]);
    assert_eq!(results(&events), [Value::Bool(false)]);
    let errors = errors(&events);
    assert!(
        errors[0].starts_with("ValueError: <multiprocessing.pool.ApplyResult object at 0x")
            && errors[0].ends_with("> not ready"),
        "{errors:?}"
    );
}

/// `08_context_names.py`: `get_context(m).Process` objects are `ForkProcess-N`,
/// `SpawnProcess-N`, `ForkServerProcess-N`, counted with every other process.
#[test]
fn context_processes_are_named_by_their_class() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("cost = \"0\"\n");
    for (var, method) in [
        ("a", None),
        ("b", Some("spawn")),
        ("c", Some("fork")),
        ("d", Some("forkserver")),
    ] {
        let _ = write!(
            text,
            "[[step]]\ndo = \"process\"\nvar = \"{var}\"\ntarget = \"noop\"\n"
        );
        if let Some(m) = method {
            let _ = writeln!(text, "start_method = \"{m}\"");
        }
    }
    text.push_str("[[step]]\ndo = \"process\"\nvar = \"e\"\ntarget = \"noop\"\ndaemon = true\n");
    let events = scenario(dir.path(), &text, &[]);
    let names: Vec<&str> = of(&events, "process_object")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Process-1",
            "SpawnProcess-2",
            "ForkProcess-3",
            "ForkServerProcess-4",
            "Process-5"
        ]
    );
    let reprs: Vec<String> = of(&events, "step_done")
        .iter()
        .filter_map(|e| e["outcome"].as_str())
        .map(|o| o.split(" parent=").next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(reprs[1], "<SpawnProcess name='SpawnProcess-2'");
    let last = of(&events, "step_done")
        .last()
        .and_then(|e| e["outcome"].as_str().map(String::from))
        .unwrap_or_default();
    assert!(last.ends_with(" initial daemon>"), "{last}");
}

/// `09_pool_join_timeout.py`: `Pool.join()` takes no timeout.
#[test]
fn pool_join_takes_no_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "close"
on = "pool"
[[step]]
do = "join"
on = "pool"
timeout = 1
[[step]]
do = "join"
on = "pool"
"#;
    let events = scenario(dir.path(), text, &[]);
    assert_eq!(
        errors(&events),
        ["TypeError: Pool.join() got an unexpected keyword argument 'timeout'"]
    );
}

/// `13_misc_api.py`: `callback=print` runs in the main process before `get()` returns,
/// `error_callback=print` prints the exception's message alone; `successful()`.
#[test]
fn callbacks_print_in_the_main_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "0"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "apply_async"
on = "pool"
func = "cube"
args = [3]
into = "r"
callback = "print"
[[step]]
do = "get"
on = "r"
into = "v"
[[step]]
do = "print"
text = "get: {v}"
[[step]]
do = "apply_async"
on = "pool"
func = "fail"
args = [7]
into = "bad"
error_callback = "print"
[[step]]
do = "wait"
on = "bad"
[[step]]
do = "successful"
on = "bad"
into = "s1"
[[step]]
do = "successful"
on = "r"
into = "s2"
[[step]]
do = "map_async"
on = "pool"
func = "cube"
items = [1, 2]
into = "m"
callback = "print"
[[step]]
do = "wait"
on = "m"
[[step]]
do = "with-exit"
on = "pool"
"#;
    let events = scenario(dir.path(), text, &[]);
    assert_eq!(
        main_output(&events),
        "27\nget: 27\nfail(7) raised on purpose\n[1, 8]\n"
    );
    let r = results(&events);
    assert_eq!(r[1..], [Value::Bool(false), Value::Bool(true)]);
}

/// `13_misc_api.py`: an imap iterator remembers its place: `next(timeout)` raises
/// `TimeoutError` while the result is not in, the loop after it carries on, a second loop
/// yields nothing and `next()` past the end raises `StopIteration`.
#[test]
fn an_imap_iterator_remembers_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "150ms"
cost_kind = "sleep"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "imap"
on = "pool"
func = "slow_cube"
items = [3, 1]
into = "it"
[[step]]
do = "next"
on = "it"
timeout = 0.1
[[step]]
do = "next"
on = "it"
timeout = 5
into = "first"
[[step]]
do = "for"
on = "it"
[[step]]
do = "for"
on = "it"
[[step]]
do = "next"
on = "it"
[[step]]
do = "print"
text = "{current_process().name} {len(active_children())}"
[[step]]
do = "with-exit"
on = "pool"
"#;
    let events = scenario(dir.path(), text, &[]);
    assert_eq!(
        errors(&events),
        ["multiprocessing.context.TimeoutError", "StopIteration"]
    );
    assert_eq!(main_output(&events), "1\nMainProcess 2\n");
    assert_eq!(results(&events)[0], Value::from(27));
}

/// `02_exit_without_join.py`: when the program ends, multiprocessing's exit handler
/// (`util._exit_function`) terminates pools and daemonic Processes, then joins the rest: a
/// forgotten `join()` still lets a Process print every line and exit 0.
#[test]
fn the_program_end_joins_processes_and_terminates_daemons_and_pools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "100ms"
cost_kind = "sleep"
[[step]]
do = "process"
var = "p"
target = "squares"
args = [[1, 2, 3, 4, 5]]
[[step]]
do = "process"
var = "d"
target = "cubes"
args = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]
daemon = true
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "apply_async"
on = "pool"
func = "slow_cube"
args = [20]
into = "r"
[[step]]
do = "start"
on = "p"
[[step]]
do = "start"
on = "d"
"#;
    let events = scenario(dir.path(), text, &[]);
    let exit_of = |name: &str| {
        let pid = pid_named(&events, name);
        of(&events, "exited")
            .into_iter()
            .find(|e| e["pid"].as_i64() == Some(pid))
            .map(|e| e["exitcode"].clone())
    };
    assert_eq!(exit_of("Process-1"), Some(Value::from(0)), "joined");
    let p = pid_named(&events, "Process-1");
    assert!(output_of(&events, p).contains("The square of 5 is 25"));
    assert_eq!(exit_of("Process-2"), Some(Value::from(-15)), "daemon");
    let d = pid_named(&events, "Process-2");
    assert!(!output_of(&events, d).contains("The cube of 10 is 1000"));
    assert_eq!(exit_of("ForkPoolWorker-3"), Some(Value::from(-15)), "busy");
    let end = of(&events, "step")
        .last()
        .and_then(|e| e["python"].as_str().map(String::from));
    assert!(
        end.is_some_and(|p| p.starts_with("# end of the program")),
        "the exit handler is a line of its own"
    );
}

const INTERRUPTED: &str = r#"
cost = "300ms"
cost_kind = "sleep"
[[step]]
do = "process"
var = "p"
target = "squares"
args = [[1, 2, 3]]
[[step]]
do = "start"
on = "p"
[[step]]
do = "sleep"
seconds = 0.2
[[step]]
do = "signal"
on = "p"
signal = "SIGINT"
[[step]]
do = "join"
on = "p"
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "apply_async"
on = "pool"
func = "slow_cube"
args = [5]
into = "r"
[[step]]
do = "signal"
on = "pool"
signal = "SIGINT"
[[step]]
do = "get"
on = "r"
[[step]]
do = "apply"
on = "pool"
func = "square"
args = [3]
[[step]]
do = "with-exit"
on = "pool"
"#;

/// `03_sigint.py`: SIGINT raises `KeyboardInterrupt` in the child: its traceback on
/// stderr, exit code 1. A pool worker dies the same way and is replaced; its task is
/// lost (Python would wait for it forever: pooltop's `get()` says why instead).
#[test]
fn sigint_raises_keyboard_interrupt_in_the_child() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = scenario(dir.path(), INTERRUPTED, &[]);
    let stderr: String = of(&events, "output")
        .iter()
        .filter(|e| e["stream"] == "stderr")
        .filter_map(|e| e["text"].as_str())
        .collect();
    for name in ["Process-1", "ForkPoolWorker-2"] {
        let header = format!("Process {name}:\nTraceback (most recent call last):\n");
        assert!(stderr.contains(&header), "{stderr}");
        let exit = of(&events, "exited")
            .into_iter()
            .find(|e| e["name"] == name)
            .map(|e| e["exitcode"].clone());
        assert_eq!(exit, Some(Value::from(1)), "{name}");
    }
    assert_eq!(stderr.matches("KeyboardInterrupt\n").count(), 2);
    assert!(pool_workers(&events).contains(&"ForkPoolWorker-3".to_string()));
    let lost = of(&events, "task_lost");
    assert_eq!(
        (lost.len(), lost[0]["exitcode"].clone()),
        (1, Value::from(1))
    );
    assert_eq!(results(&events), [Value::from(9)], "the replacement works");
}

/// `10_initializer_raises.py`: when the initializer raises, CPython replaces the worker at
/// once and for ever (hundreds a second) and the pool stays RUN; pooltop does the same,
/// says so once, and a call on the pool raises instead of waiting for ever.
#[test]
fn a_failing_initializer_makes_a_respawn_storm_until_terminate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "0"
[[step]]
do = "pool"
var = "pool"
processes = 2
initializer = "fail"
[[step]]
do = "apply_async"
on = "pool"
func = "square"
args = [3]
into = "r"
[[step]]
do = "sleep"
seconds = 1.0
[[step]]
do = "get"
on = "r"
[[step]]
do = "terminate"
on = "pool"
[[step]]
do = "join"
on = "pool"
"#;
    let events = scenario(dir.path(), text, &[]);
    let started = of(&events, "created")
        .iter()
        .filter(|e| e["role"] == "pool_worker")
        .count();
    assert!(started >= 20, "a storm, not {started} workers");
    let exits: Vec<Value> = of(&events, "exited")
        .iter()
        .map(|e| e["exitcode"].clone())
        .collect();
    // Each dies in its initializer (exit 1); those still starting when terminate()
    // comes are ended by it.
    let in_initializer = exits.iter().filter(|c| **c == 1).count();
    let by_terminate = exits.iter().filter(|c| **c == -15).count();
    assert_eq!(in_initializer + by_terminate, exits.len());
    assert!(by_terminate <= 2, "{by_terminate} ended by terminate()");
    let states: Vec<&str> = of(&events, "pool_state")
        .iter()
        .filter_map(|e| e["state"].as_str())
        .collect();
    assert_eq!(states, ["RUN", "TERMINATE"], "RUN until terminate()");
    let errors = errors(&events);
    assert!(errors[0].starts_with("pool 'pool': every new worker dies in its initializer"));
    assert_eq!(
        errors[1],
        "RuntimeError: every worker of this pool dies in its initializer (Python would wait forever)"
    );
    let stderr: String = of(&events, "output")
        .iter()
        .filter(|e| e["stream"] == "stderr")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(stderr.contains("Process ForkPoolWorker-1:\nTraceback (most recent call last):\n"));
    assert!(
        stderr.contains("ValueError: fail() raised on purpose\n"),
        "{stderr}"
    );
}

/// `11_sigkill_worker.py`: an idle worker killed with SIGKILL. CPython replaces it, but
/// when it died holding the task queue's read lock the pool never takes a task again
/// (always with one worker); pooltop has no shared lock: the new worker takes the map.
#[test]
fn a_killed_idle_worker_is_replaced_and_the_pool_works_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "0"
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "apply"
on = "pool"
func = "square"
args = [2]
[[step]]
do = "signal"
on = "pool"
signal = "SIGKILL"
worker = 0
[[step]]
do = "sleep"
seconds = 0.2
[[step]]
do = "map"
on = "pool"
func = "cube"
items = [1, 2, 3]
into = "cubes"
[[step]]
do = "with-exit"
on = "pool"
"#;
    let events = scenario(dir.path(), text, &[]);
    let killed = of(&events, "exited")
        .into_iter()
        .find(|e| e["name"] == "ForkPoolWorker-1")
        .map(|e| e["exitcode"].clone());
    assert_eq!(killed, Some(Value::from(-9)));
    assert!(pool_workers(&events).contains(&"ForkPoolWorker-2".to_string()));
    assert_eq!(
        results(&events),
        [Value::from(4), serde_json::json!([1, 8, 27])]
    );
    assert!(of(&events, "task_lost").is_empty(), "it was idle");
}

/// `12_terminate_exitcodes.py`: `terminate()` on idle workers mostly ends them with 0
/// (they read the sentinel first); busy ones always with -15 (SIGTERM).
#[test]
fn terminate_lets_idle_workers_exit_0_and_ends_busy_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "100ms"
cost_kind = "sleep"
[[step]]
do = "pool"
var = "idle"
processes = 2
[[step]]
do = "apply"
on = "idle"
func = "square"
args = [2]
[[step]]
do = "terminate"
on = "idle"
[[step]]
do = "join"
on = "idle"
[[step]]
do = "pool"
var = "busy"
processes = 2
[[step]]
do = "map_async"
on = "busy"
func = "slow_cube"
items = [30, 30]
chunksize = 1
into = "r"
[[step]]
do = "signal"
on = "busy"
signal = "SIGCONT"
[[step]]
do = "terminate"
on = "busy"
[[step]]
do = "join"
on = "busy"
"#;
    let events = scenario(dir.path(), text, &[]);
    let exit_of = |name: &str| {
        of(&events, "exited")
            .into_iter()
            .find(|e| e["name"] == name)
            .map(|e| e["exitcode"].clone())
    };
    for idle in ["ForkPoolWorker-1", "ForkPoolWorker-2"] {
        assert_eq!(exit_of(idle), Some(Value::from(0)), "{idle}");
    }
    for busy in ["ForkPoolWorker-3", "ForkPoolWorker-4"] {
        assert_eq!(exit_of(busy), Some(Value::from(-15)), "{busy}");
    }
}

/// The same for a run nobody logs (`pooltop run --trace`, no per-task events): a worker
/// whose last task was announced as it started is idle once its results are in, so it
/// takes the sentinel and exits 0, as in `12_terminate_exitcodes.py` ("idle: mostly 0").
#[test]
fn terminate_lets_idle_workers_exit_0_without_an_event_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "0"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "map"
on = "pool"
func = "cube"
range = [0, 1000]
chunksize = 1
into = "r"
[[step]]
do = "terminate"
on = "pool"
[[step]]
do = "join"
on = "pool"
"#;
    let file = write_scenario(dir.path(), "quiet.toml", text);
    let file = file.to_string_lossy();
    let run = pooltop(
        &["run", "--file", &file, "--trace"],
        Duration::from_secs(30),
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let exits: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("exited, exitcode"))
        .collect();
    assert_eq!(exits.len(), 2, "{}", run.stderr);
    assert!(
        exits.iter().all(|l| l.ends_with("exitcode 0]")),
        "{exits:?}"
    );
}
