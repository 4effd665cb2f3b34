//! Every built-in lesson runs start to finish headless (`pooltop run --lesson NAME`) on
//! real processes, and each ends the way the lesson says it does.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn lesson(name: &str, cost: &str) -> Vec<Value> {
    let (events, run) = run_events(&["--lesson", name, "--cost", cost]);
    assert_eq!(run.status, Some(0), "{name}: {}", run.stderr);
    assert_eq!(of(&events, "finished").len(), 1, "{name} ran to its end");
    assert_all_gone(&reported_pids(&events), Duration::from_secs(2));
    events
}

#[test]
fn q1_shows_the_main_process_and_one_worker_per_core() {
    let events = lesson("q1-processes", "5ms");
    let main = of(&events, "loaded")[0]["pid"].as_i64().expect("pid");
    let out = main_output(&events);
    assert!(
        out.contains(&format!("main process pid: {main}\n")),
        "{out}"
    );
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    assert!(out.contains(&format!("cores: {cores}\n")), "{out}");
    let workers = of(&events, "spawned")
        .into_iter()
        .filter(|e| e["role"] == "pool_worker")
        .count();
    assert_eq!(workers, cores, "Pool() starts one worker per core");
}

#[test]
fn q2_runs_threads_with_and_without_a_global_lock_then_processes() {
    let events = lesson("q2-threads-vs-processes", "5ms");
    let out = all_output(&events);
    assert!(
        out.contains("2 threads holding one global lock: 12 units of work"),
        "{out}"
    );
    assert!(
        out.contains("2 threads with no global lock: 12 units of work"),
        "{out}"
    );
    let pool_done = of(&events, "task_done").len();
    assert_eq!(pool_done, 12, "the same 12 units on two processes");
}

#[test]
fn q3_interleaves_two_processes_and_refuses_a_second_start() {
    let events = lesson("q3-two-processes", "5ms");
    assert_eq!(
        errors(&events),
        vec!["AssertionError: cannot start a process twice"]
    );
    let p1 = pid_named(&events, "process1");
    assert!(output_of(&events, p1).contains("The square of 44 is 1936"));
}

#[test]
fn q4_walks_the_pool_life_cycle_and_its_mistakes() {
    // 50 ms a task keeps pool2's workers busy when the with block ends.
    let events = lesson("q4-pool-lifecycle", "50ms");
    assert_eq!(
        errors(&events),
        vec![
            "ValueError: Pool is still running",
            "ValueError: Pool not running"
        ]
    );
    assert!(main_output(&events).contains("[1, 8, 27, 64, 125, 216, 343, 512]\n"));
    let states: Vec<(String, String)> = of(&events, "pool_state")
        .iter()
        .map(|e| {
            (
                e["pool"].as_str().unwrap_or("").to_string(),
                e["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(states.contains(&("pool".into(), "CLOSE".into())));
    assert!(states.contains(&("pool2".into(), "TERMINATE".into())));
    let pool2: Vec<i64> = of(&events, "created")
        .iter()
        .filter(|e| e["role"] == "pool_worker")
        .skip(2)
        .filter_map(|e| e["pid"].as_i64())
        .collect();
    for pid in pool2 {
        let exit = of(&events, "exited")
            .into_iter()
            .find(|e| e["pid"].as_i64() == Some(pid))
            .expect("exit");
        assert_eq!(exit["exitcode"], -15, "the with block terminated pool2");
    }
}

#[test]
fn q5_maps_cube_on_ten_workers() {
    let events = lesson("q5-pool-map", "5ms");
    assert!(main_output(&events).contains("[1000, 1331, 1728, 125, 64, 27]\n"));
    assert_eq!(of(&events, "spawned").len(), 10);
}

#[test]
fn q6_four_processes_print_their_numbers() {
    let events = lesson("q6-four-processes", "5ms");
    for (name, text) in [
        ("Process-1", "121\n"),
        ("Process-2", "1728\n"),
        ("Process-3", "10000\n"),
        ("Process-4", "371293\n"),
    ] {
        assert_eq!(output_of(&events, pid_named(&events, name)), text);
    }
}

#[test]
fn apply_blocks_and_apply_async_does_not() {
    let events = lesson("apply-vs-apply-async", "50ms");
    assert!(main_output(&events).contains("square(7) = 49, cube(3) = 27, power(2, 10) = 1024\n"));
    let ready = of(&events, "result")
        .into_iter()
        .find(|e| e["value"].is_boolean())
        .expect("ready()");
    assert_eq!(ready["value"], false);
}

#[test]
fn map_imap_and_imap_unordered_return_in_their_orders() {
    let events = lesson("map-imap-imap-unordered", "30ms");
    let out = main_output(&events);
    let numbers: Vec<i64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(
        &numbers[..5],
        &[125, 1, 64, 8, 27],
        "imap prints in input order"
    );
    let unordered = &numbers[5..10];
    assert_ne!(
        unordered,
        &[125, 1, 64, 8, 27],
        "imap_unordered prints in completion order"
    );
    assert!(
        out.starts_with("[125, 1, 64, 8, 27]\n"),
        "map returns a list in input order: {out}"
    );
}

#[test]
fn chunksize_cuts_the_same_map_three_ways() {
    let events = lesson("chunksize", "2ms");
    let sizes: Vec<i64> = of(&events, "call_submitted")
        .iter()
        .filter_map(|e| e["chunksize"].as_i64())
        .collect();
    assert_eq!(sizes, vec![1, 8, 3]);
}

#[test]
fn maxtasksperchild_replaces_workers() {
    let events = lesson("maxtasksperchild", "5ms");
    let workers = of(&events, "spawned").len();
    assert!(
        workers >= 5,
        "ten tasks at two per worker: {workers} workers"
    );
}

#[test]
fn start_methods_start_workers_three_ways() {
    let events = lesson("start-methods", "2ms");
    let methods: Vec<&str> = of(&events, "spawned")
        .iter()
        .filter_map(|e| e["start_method"].as_str())
        .collect();
    for m in ["fork", "spawn", "forkserver"] {
        assert_eq!(
            methods.iter().filter(|x| **x == m).count(),
            2,
            "{m}: {methods:?}"
        );
    }
    let server = of(&events, "created")
        .into_iter()
        .find(|e| e["role"] == "forkserver")
        .expect("fork server");
    let served = of(&events, "spawned")
        .into_iter()
        .filter(|e| e["start_method"] == "forkserver");
    assert!(
        of(&events, "spawned")
            .iter()
            .all(|e| e["pid"].as_i64().is_some_and(|p| p > 0)),
        "every start names its PID"
    );
    for w in served {
        assert_eq!(
            w["ppid"], server["pid"],
            "forkserver workers are children of the server"
        );
    }
}

#[test]
fn speedup_runs_the_same_work_on_one_to_four_workers() {
    let events = lesson("speedup", "2ms");
    let sizes: Vec<i64> = of(&events, "pool_state")
        .iter()
        .filter(|e| e["state"] == "RUN")
        .filter_map(|e| e["processes"].as_i64())
        .collect();
    assert_eq!(sizes, vec![1, 2, 3, 4]);
    assert_eq!(of(&events, "task_done").len(), 4 * 24);
}

#[test]
fn lesson_run_narrates_each_line() {
    let run = pooltop(
        &["run", "--lesson", "q4-pool-lifecycle", "--cost", "5ms"],
        Duration::from_mins(1),
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.starts_with("Q4 · Q4: the Pool life cycle"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("[3]\n    pool.join()  # mistake: the pool is still running\n")
    );
    assert!(
        run.stdout
            .contains("    ✗ ValueError: Pool is still running\n")
    );
    assert!(run.stdout.contains("[1, 8, 27, 64, 125, 216, 343, 512]\n"));
}

#[test]
fn a_lesson_file_with_an_error_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("dir");
    let path = write_scenario(
        dir.path(),
        "broken.toml",
        "title = \"x\"\n[lesson]\nquestion = \"Q9\"\nexplanation = \"e\"\n\n[[step]]\ndo = \"map\"\non = \"pool\"\nfunc = \"cube\"\nrange = [3]\n",
    );
    let run = pooltop(
        &["run", "--file", path.to_str().expect("path")],
        Duration::from_secs(10),
    );
    assert_eq!(run.status, Some(2));
    assert!(
        run.stderr
            .contains("broken.toml:6: step 1 (map): 'pool' is not defined"),
        "{}",
        run.stderr
    );
    let path = write_scenario(
        dir.path(),
        "bad-lesson.toml",
        "[lesson]\nquestion = \"Q1\"\nsummary = \"x\"\n",
    );
    let run = pooltop(
        &["run", "--file", path.to_str().expect("path")],
        Duration::from_secs(10),
    );
    assert_eq!(run.status, Some(2));
    assert!(run.stderr.contains("bad-lesson.toml:3:"), "{}", run.stderr);
    assert!(run.stderr.contains("summary"), "{}", run.stderr);
}

#[test]
fn lessons_lists_every_lesson() {
    let run = pooltop(&["lessons"], Duration::from_secs(10));
    assert_eq!(run.status, Some(0));
    assert_eq!(run.stdout.lines().count(), 12);
    assert!(
        run.stdout
            .lines()
            .next()
            .unwrap_or("")
            .starts_with("q1-processes")
    );
}
