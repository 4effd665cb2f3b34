//! Every built-in scenario run headless on real processes: what each process printed,
//! the results, Python's semantics (exit codes, errors, ordering), and nothing left behind.

mod common;

use std::time::Duration;

use common::*;

const FAST: &[&str] = &["--cost", "2ms"];

fn run_scenario(name: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec![name];
    args.extend_from_slice(extra);
    let (events, run) = run_events(&args);
    assert_eq!(run.status, Some(0), "{name}: stderr: {}", run.stderr);
    assert!(
        of(&events, "finished").len() == 1,
        "{name}: no finished event"
    );
    assert_all_gone(&reported_pids(&events), Duration::from_secs(2));
    events
}

fn lines_in_order(text: &str, expected: &[&str]) {
    let mut rest = text;
    for line in expected {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing or out of order in {text:?}"));
        rest = &rest[at + line.len()..];
    }
}

#[test]
fn squares_cubes_each_process_prints_its_lines_in_order() {
    let events = run_scenario("squares-cubes", FAST);
    let p1 = pid_named(&events, "process1");
    let p2 = pid_named(&events, "process2");
    lines_in_order(
        &output_of(&events, p1),
        &[
            "Calculating the squares of a given number ....\n",
            "The square of 11 is 121 \n\n",
            "The square of 22 is 484 \n\n",
            "The square of 33 is 1089 \n\n",
            "The square of 44 is 1936 \n\n",
        ],
    );
    lines_in_order(
        &output_of(&events, p2),
        &[
            "Calculating the cubes of a given number ...\n",
            "The cube of 3 is 27 \n\n",
            "The cube of 5 is 125 \n\n",
            "The cube of 4 is 64 \n\n",
            "The cube of 2 is 8 \n\n",
        ],
    );
    let all = all_output(&events);
    assert!(
        all.trim_end()
            .lines()
            .last()
            .unwrap_or("")
            .starts_with("Time taken to execute the program: ")
    );
    // Attribution is exact: no chunk from one process carries the other's words.
    for e in of(&events, "output") {
        let text = e["text"].as_str().unwrap_or("");
        if text.contains("square") {
            assert_eq!(e["pid"].as_i64(), Some(p1), "{text:?}");
        }
        if text.contains("cube") {
            assert_eq!(e["pid"].as_i64(), Some(p2), "{text:?}");
        }
    }
}

#[test]
fn a_print_is_two_writes_so_lines_can_tear() {
    let events = run_scenario("squares-cubes", &["--cost", "0"]);
    let p1 = pid_named(&events, "process1");
    let chunks: Vec<&str> = of(&events, "output")
        .into_iter()
        .filter(|e| e["pid"].as_i64() == Some(p1))
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(chunks.concat().contains("....\n"));
    assert!(chunks.iter().all(|c| !c.is_empty()));
}

#[test]
fn pool_map_prints_the_cubes_in_submission_order() {
    let events = run_scenario("pool-map", FAST);
    assert!(all_output(&events).contains("[1000, 1331, 1728, 125, 64, 27]\n"));
    let workers = of(&events, "spawned")
        .into_iter()
        .filter(|e| e["role"] == "pool_worker")
        .count();
    assert_eq!(workers, 10, "Pool(processes=10) starts ten workers");
    let names: Vec<&str> = of(&events, "created")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        names.contains(&"ForkPoolWorker-1") && names.contains(&"ForkPoolWorker-10"),
        "{names:?}"
    );
    let exits: Vec<i64> = of(&events, "exited")
        .iter()
        .filter_map(|e| e["exitcode"].as_i64())
        .collect();
    // Every worker is idle when the with block ends: each takes its sentinel and exits
    // 0, as CPython's mostly do (tests/python/parity/12_terminate_exitcodes.py).
    assert!(
        exits.iter().all(|c| *c == 0),
        "leaving the with block terminates idle workers: {exits:?}"
    );
}

#[test]
fn four_processes_print_four_numbers() {
    let events = run_scenario("four-processes", FAST);
    // Each process's own output is whole, whatever the interleaving (which may tear lines).
    for (name, text) in [
        ("Process-1", "121\n"),
        ("Process-2", "1728\n"),
        ("Process-3", "10000\n"),
        ("Process-4", "371293\n"),
    ] {
        assert_eq!(output_of(&events, pid_named(&events, name)), text, "{name}");
    }
    let names: Vec<&str> = of(&events, "created")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(
        names,
        vec!["Process-1", "Process-2", "Process-3", "Process-4"]
    );
}

fn printed_numbers(events: &[serde_json::Value], driver: i64) -> Vec<i64> {
    output_of(events, driver)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn driver_pid(events: &[serde_json::Value]) -> i64 {
    of(events, "loaded")[0]["pid"].as_i64().expect("driver pid")
}

#[test]
fn imap_yields_in_submission_order_and_imap_unordered_in_completion_order() {
    let events = run_scenario("imap", &["--cost", "30ms"]);
    assert_eq!(
        printed_numbers(&events, driver_pid(&events)),
        vec![125, 1, 64, 8, 27]
    );

    let events = run_scenario("imap-unordered", &["--cost", "30ms"]);
    let printed = printed_numbers(&events, driver_pid(&events));
    let completed: Vec<i64> = of(&events, "task_done")
        .iter()
        .filter_map(|e| e["result"].as_i64())
        .collect();
    assert_eq!(printed, completed, "printed in the order tasks completed");
    assert_ne!(
        printed,
        vec![125, 1, 64, 8, 27],
        "slow_cube(5) cannot finish first"
    );
}

#[test]
fn apply_async_returns_at_once_and_get_collects() {
    let events = run_scenario("apply-async", &["--cost", "50ms"]);
    let out = all_output(&events);
    assert!(out.contains("apply returned 49\n"), "{out}");
    assert!(
        out.contains("ready right after submitting: False\n"),
        "{out}"
    );
    assert!(out.contains("cube(3) = 27, power(2, 10) = 1024\n"), "{out}");
}

#[test]
fn starmap_unpacks_pairs() {
    let events = run_scenario("starmap", FAST);
    assert!(all_output(&events).contains("[121, 1728, 10000, 371293, 1024, 243]\n"));
}

#[test]
fn maxtasksperchild_recycles_workers() {
    let events = run_scenario("maxtasksperchild", FAST);
    assert!(
        all_output(&events).contains("[1, 8, 27, 64, 125, 216, 343, 512, 729, 1000, 1331, 1728]\n")
    );
    let workers: Vec<i64> = of(&events, "spawned")
        .iter()
        .filter(|e| e["role"] == "pool_worker")
        .filter_map(|e| e["pid"].as_i64())
        .collect();
    assert!(
        workers.len() >= 6,
        "12 tasks at 2 per worker need 6 workers: {workers:?}"
    );
    for pid in &workers {
        let done = of(&events, "task_done")
            .iter()
            .filter(|e| e["pid"].as_i64() == Some(*pid))
            .count();
        assert!(done <= 2, "worker {pid} ran {done} tasks");
    }
    let retired = of(&events, "exited")
        .iter()
        .filter(|e| e["exitcode"] == 0)
        .count();
    assert!(retired >= 4, "workers retire with exit code 0");
}

#[test]
fn terminate_ends_a_process_with_exitcode_minus_15() {
    let events = run_scenario("terminate", &[]);
    let exited = of(&events, "exited");
    assert_eq!(exited[0]["name"], "process1");
    assert_eq!(exited[0]["exitcode"], -15);
    assert!(all_output(&events).contains("process1.exitcode = -15\n"));
    assert!(
        !all_output(&events).contains("The square of 10 is 100"),
        "terminated before the end"
    );
}

#[test]
fn close_join_shows_pythons_errors_and_carries_on() {
    let events = run_scenario("close-join", FAST);
    let errors: Vec<&str> = of(&events, "error")
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(
        errors,
        vec![
            "ValueError: Pool is still running",
            "ValueError: Pool not running"
        ]
    );
    assert!(all_output(&events).contains("[1, 8, 27, 64, 125, 216, 343, 512]\n"));
    let states: Vec<&str> = of(&events, "pool_state")
        .iter()
        .filter_map(|e| e["state"].as_str())
        .collect();
    assert_eq!(states, vec!["RUN", "CLOSE"]);
    assert!(
        of(&events, "exited").iter().all(|e| e["exitcode"] == 0),
        "closed workers exit cleanly"
    );
}

#[test]
fn a_worker_killed_mid_task_is_reported_and_nothing_hangs() {
    let events = run_scenario("worker-killed", &["--cost", "100ms"]);
    let lost = of(&events, "task_lost");
    assert_eq!(lost.len(), 1, "one task lost");
    assert_eq!(lost[0]["signal"], 9);
    let task = lost[0]["task"].as_i64().expect("task");
    let errors: Vec<&str> = of(&events, "error")
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!("WorkerLostError: task #{task} cube(")),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("was killed by SIGKILL"), "{}", errors[0]);
    assert!(all_output(&events).contains("the pool carries on: [1, 4, 9]\n"));
    let killed = of(&events, "exited")
        .into_iter()
        .filter(|e| e["exitcode"] == -9)
        .count();
    assert_eq!(killed, 1);
}

#[test]
fn workshop_default_runs_processes_then_a_pool() {
    let events = run_scenario("workshop", FAST);
    let out = all_output(&events);
    assert!(out.contains("[121, 1728, 10000, 371293]\n"), "{out}");
    assert!(out.contains("13824]\n"), "cube(24) is last: {out}");
}

#[test]
fn start_methods_name_their_workers_like_python() {
    for (method, prefix) in [
        ("spawn", "SpawnPoolWorker-"),
        ("forkserver", "ForkServerPoolWorker-"),
    ] {
        let events = run_scenario(
            "pool-map",
            &["--cost", "2ms", "--start-method", method, "--workers", "3"],
        );
        let spawned: Vec<&serde_json::Value> = of(&events, "spawned")
            .into_iter()
            .filter(|e| e["role"] == "pool_worker")
            .collect();
        assert_eq!(spawned.len(), 3, "{method}");
        for s in spawned {
            assert!(s["name"].as_str().unwrap_or("").starts_with(prefix), "{s}");
            assert_eq!(s["start_method"], method);
            assert!(s["start_ms"].as_f64().is_some_and(|ms| ms > 0.0));
        }
        assert!(all_output(&events).contains("[1000, 1331, 1728, 125, 64, 27]\n"));
    }
    let events = run_scenario(
        "pool-map",
        &["--cost", "2ms", "--start-method", "forkserver"],
    );
    let fs = of(&events, "created")
        .into_iter()
        .find(|e| e["role"] == "forkserver")
        .expect("fork server");
    let fs_pid = fs["pid"].as_i64();
    let workers_parent: Vec<i64> = of(&events, "created")
        .iter()
        .filter(|e| e["role"] == "pool_worker")
        .filter_map(|e| e["ppid"].as_i64())
        .collect();
    assert!(
        workers_parent.iter().all(|p| Some(*p) == fs_pid),
        "forkserver workers are its children"
    );
}

/// `p = Process(target=..., name=...)` makes an object in state `initial`, before any OS
/// process: `CPython`'s `repr(p)` is `<Process name='process1' parent=N initial>`.
#[test]
fn a_process_object_is_reported_before_its_process_starts() {
    let events = run_scenario("squares-cubes", FAST);
    let objects = of(&events, "process_object");
    let names: Vec<&str> = objects.iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(names, ["process1", "process2"]);
    assert!(objects.iter().all(|e| e["start_method"] == "fork"));
    let position = |kind: &str, name: &str| {
        events
            .iter()
            .position(|e| e["event"] == kind && e["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} for {name}"))
    };
    assert!(position("process_object", "process1") < position("created", "process1"));
}

#[test]
fn events_carry_the_documented_fields() {
    let events = run_scenario("pool-map", FAST);
    for e in &events {
        assert!(e["t"].as_f64().is_some(), "{e}");
        assert!(e["event"].as_str().is_some(), "{e}");
    }
    let spawned = of(&events, "spawned");
    for field in ["name", "pid", "start_method", "start_ms"] {
        assert!(!spawned[0][field].is_null(), "spawned.{field}");
    }
    let done = of(&events, "task_done");
    assert_eq!(done.len(), 6);
    for field in ["task", "pid", "result"] {
        assert!(!done[0][field].is_null(), "task_done.{field}");
    }
    assert_eq!(of(&events, "task_queued").len(), 6);
    assert_eq!(of(&events, "task_started").len(), 6);
    let submitted = of(&events, "call_submitted");
    assert_eq!(submitted[0]["method"], "map");
    assert_eq!(submitted[0]["func"], "cube");
    let result = of(&events, "result");
    assert_eq!(
        result[0]["value"],
        serde_json::json!([1000, 1331, 1728, 125, 64, 27])
    );
    let ts: Vec<f64> = events.iter().filter_map(|e| e["t"].as_f64()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "t never goes back");
}
