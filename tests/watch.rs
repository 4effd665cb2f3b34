//! `pooltop watch` on real Python programs: the assignment's examples under every start
//! method, checked against what the programs print about themselves and against CPython.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{alive, assert_all_gone, of, parse_events, pooltop, wait_until};
use serde_json::Value;

const METHODS: [&str; 3] = ["fork", "spawn", "forkserver"];

/// The interpreter `python3` runs (past a version manager's shim).
fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is on every machine here");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn example(name: &str) -> String {
    format!("{}/assets/python/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A watch run: its events, stdout, stderr and status.
struct Watched {
    events: Vec<Value>,
    stdout: String,
    stderr: String,
    status: Option<i32>,
}

fn watch(command: &[&str]) -> Watched {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.jsonl");
    let file_arg = file.to_string_lossy().to_string();
    let mut args = vec!["watch", "--events", file_arg.as_str(), "--"];
    args.extend_from_slice(command);
    let run = pooltop(&args, Duration::from_mins(2));
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    Watched {
        events: parse_events(&text),
        stdout: run.stdout,
        stderr: run.stderr,
        status: run.status,
    }
}

fn watch_example(name: &str, method: &str) -> Watched {
    let py = python();
    let script = example(name);
    watch(&[py.as_str(), script.as_str(), method])
}

fn pid(e: &Value) -> i32 {
    e["pid"].as_i64().map_or(0, |p| p as i32)
}

/// Every process seen, by PID: (name as last known, role as last known).
fn tree(events: &[Value]) -> BTreeMap<i32, (String, String)> {
    let mut procs = BTreeMap::new();
    for e in events {
        if matches!(e["event"].as_str(), Some("spawned" | "named")) {
            let name = e["name"].as_str().unwrap_or("").to_string();
            let role = e["role"].as_str().unwrap_or("").to_string();
            procs.insert(pid(e), (name, role));
        }
    }
    procs
}

fn workers(events: &[Value]) -> BTreeSet<i32> {
    tree(events)
        .into_iter()
        .filter(|(_, (_, role))| role == "pool_worker")
        .map(|(pid, _)| pid)
        .collect()
}

/// The checks every watched example passes: the command's status, output only from the
/// tree, each line that names a PID written by that PID, every process reported exited
/// and gone.
fn check_common(name: &str, method: &str, w: &Watched, status: i32) {
    let what = format!("{name} {method}");
    assert_eq!(w.status, Some(status), "{what}: stderr {}", w.stderr);
    let procs = tree(&w.events);
    let root = of(&w.events, "loaded")[0]["pid"].as_i64().expect("root") as i32;
    let hooked = of(&w.events, "hook").iter().any(|h| h["connected"] == true);
    if hooked {
        assert_eq!(
            procs.get(&root).map(|p| p.0.as_str()),
            Some("MainProcess"),
            "{what}"
        );
    }
    for out in of(&w.events, "output") {
        let writer = pid(out);
        assert!(
            procs.contains_key(&writer),
            "{what}: output from {writer}, not in the tree"
        );
        // `worker 123: ...` and `main 123: ...` lines name the PID that printed them.
        for line in out["text"].as_str().unwrap_or("").lines() {
            let mut words = line.split_whitespace();
            if let (Some("worker" | "main"), Some(n)) = (words.next(), words.next())
                && let Ok(n) = n.trim_end_matches(':').parse::<i32>()
            {
                assert_eq!(n, writer, "{what}: {line:?} came from {writer}");
            }
        }
    }
    let exited: BTreeSet<i32> = of(&w.events, "exited").iter().map(|e| pid(e)).collect();
    let seen: BTreeSet<i32> = procs.keys().copied().collect();
    assert_eq!(
        exited, seen,
        "{what}: every process seen is reported exited"
    );
    let finished = of(&w.events, "finished");
    assert_eq!(finished.len(), 1, "{what}");
    assert_eq!(finished[0]["status"], status, "{what}");
    assert_all_gone(
        &seen.into_iter().collect::<Vec<_>>(),
        Duration::from_secs(5),
    );
}

/// The results the pool's tasks reported, by task number.
fn task_results(events: &[Value]) -> BTreeMap<u64, Value> {
    of(events, "task_done")
        .iter()
        .map(|e| (e["task"].as_u64().unwrap_or(0), e["result"].clone()))
        .collect()
}

fn each_method(name: &str, check: impl Fn(&str, &Watched) + Sync) {
    std::thread::scope(|s| {
        let check = &check;
        let runs: Vec<_> = METHODS
            .iter()
            .map(|m| s.spawn(move || (m, watch_example(name, m))))
            .collect();
        for run in runs {
            let (method, w) = run.join().expect("run");
            check(method, &w);
        }
    });
}

#[test]
fn q5_pool_map_tasks_agree_with_the_result_and_its_workers() {
    each_method("q5_pool_map.py", |method, w| {
        check_common("q5", method, w, 0);
        assert_eq!(w.stdout, "[1000, 1331, 1728, 125, 64, 27]\n", "{method}");
        let pools = of(&w.events, "pool_state");
        assert_eq!(pools[0]["processes"], 10, "{method}");
        assert_eq!(workers(&w.events).len(), 10, "{method}: ten workers");
        let calls = of(&w.events, "call_submitted");
        assert_eq!(calls.len(), 1, "{method}");
        assert_eq!(
            (
                calls[0]["method"].as_str(),
                calls[0]["func"].as_str(),
                calls[0]["len"].as_u64()
            ),
            (Some("map"), Some("cube"), Some(6))
        );
        let results: Vec<Value> = task_results(&w.events).into_values().collect();
        let expected: Vec<Value> = [1000, 1331, 1728, 125, 64, 27]
            .iter()
            .map(|n| Value::from(*n))
            .collect();
        assert_eq!(results, expected, "{method}");
        let pool = workers(&w.events);
        for e in of(&w.events, "task_started")
            .iter()
            .chain(&of(&w.events, "task_done"))
        {
            assert!(
                pool.contains(&pid(e)),
                "{method}: a task ran in {}, no worker",
                pid(e)
            );
        }
        // The code pane's line: the main process was in `pool.map(...)`.
        let steps: Vec<&str> = of(&w.events, "step")
            .iter()
            .filter_map(|e| e["python"].as_str())
            .collect();
        assert!(
            steps.iter().any(|s| s.contains("pool.map(cube")),
            "{method}: {steps:?}"
        );
        let done = of(&w.events, "step_done");
        assert!(
            done.iter()
                .any(|e| e["outcome"] == "[1000, 1331, 1728, 125, 64, 27]"),
            "{method}: the call's outcome"
        );
    });
}

#[test]
fn q3_and_q6_processes_are_named_and_print_their_results() {
    each_method("q6_four_processes.py", |method, w| {
        check_common("q6", method, w, 0);
        let names: BTreeSet<String> = tree(&w.events).into_values().map(|p| p.0).collect();
        for n in ["Process-1", "Process-2", "Process-3", "Process-4"] {
            assert!(names.contains(n), "{method}: {n} in {names:?}");
        }
        // Each Process printed its one result: per process, nothing torn.
        let procs = tree(&w.events);
        let mut printed: Vec<String> = procs
            .iter()
            .filter(|(_, (_, role))| role == "process")
            .map(|(pid, _)| common::output_of(&w.events, i64::from(*pid)))
            .collect();
        printed.sort();
        assert_eq!(
            printed,
            ["10000\n", "121\n", "1728\n", "371293\n"],
            "{method}"
        );
    });
    each_method("q3_squares_cubes.py", |method, w| {
        check_common("q3", method, w, 0);
        assert!(
            w.stdout.contains("The square of 11 is 121"),
            "{method}: {}",
            w.stdout
        );
        assert!(
            w.stdout.contains("The cube of 5 is 125"),
            "{method}: {}",
            w.stdout
        );
    });
}

#[test]
fn imap_unordered_results_arrive_in_completion_order() {
    each_method("imap_vs_imap_unordered.py", |method, w| {
        check_common("imap", method, w, 0);
        let calls = of(&w.events, "call_submitted");
        let methods: Vec<&str> = calls.iter().filter_map(|c| c["method"].as_str()).collect();
        assert_eq!(methods, ["imap", "imap_unordered"], "{method}");
        // The unordered call's tasks end quickest first: 1, 8, 64, 125, 27 (from CPython).
        let second = calls[1]["call"].as_u64();
        let first_task = of(&w.events, "task_queued")
            .iter()
            .filter(|e| e["call"].as_u64() == second)
            .filter_map(|e| e["task"].as_u64())
            .min()
            .expect("tasks");
        let order: Vec<i64> = of(&w.events, "task_done")
            .iter()
            .filter(|e| e["task"].as_u64().is_some_and(|t| t >= first_task))
            .filter_map(|e| e["result"].as_i64())
            .collect();
        assert_eq!(order, [1, 8, 64, 125, 27], "{method}");
    });
}

#[test]
fn maxtasksperchild_shows_new_worker_pids() {
    each_method("maxtasksperchild.py", |method, w| {
        check_common("maxtasksperchild", method, w, 0);
        let ran: BTreeSet<i32> = of(&w.events, "task_done").iter().map(|e| pid(e)).collect();
        assert!(ran.len() >= 4, "{method}: 8 tasks, 2 per worker: {ran:?}");
        let mut per: BTreeMap<i32, usize> = BTreeMap::new();
        for e in of(&w.events, "task_done") {
            *per.entry(pid(e)).or_default() += 1;
        }
        assert!(per.values().all(|n| *n <= 2), "{method}: {per:?}");
        // The PIDs the script printed for each item are the workers pooltop saw run them.
        let printed = w
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("PID that ran each item: "))
            .expect("the script's PIDs");
        let printed: Vec<i32> = printed
            .trim_matches(['[', ']'])
            .split(", ")
            .filter_map(|p| p.parse().ok())
            .collect();
        let mut by_task: Vec<(u64, i32)> = of(&w.events, "task_done")
            .iter()
            .map(|e| (e["task"].as_u64().unwrap_or(0), pid(e)))
            .collect();
        by_task.sort_unstable();
        let seen: Vec<i32> = by_task.into_iter().map(|(_, p)| p).collect();
        assert_eq!(seen, printed, "{method}");
    });
}

#[test]
fn a_worker_killed_mid_task_is_a_lost_task_and_nothing_is_left() {
    each_method("worker_killed.py", |method, w| {
        check_common("worker_killed", method, w, 1);
        let lost = of(&w.events, "task_lost");
        assert_eq!(lost.len(), 1, "{method}: {lost:?}");
        assert_eq!(lost[0]["cause"], "killed", "{method}");
        assert_eq!(lost[0]["signal"], 9, "{method}");
        let victim = pid(lost[0]);
        assert!(workers(&w.events).contains(&victim), "{method}");
        // The worker that printed it kills itself is the one pooltop names.
        let said = w
            .stdout
            .lines()
            .find(|l| l.contains("kills its own worker"))
            .expect("the script says so");
        assert!(said.contains(&victim.to_string()), "{method}: {said}");
        let exit = of(&w.events, "exited")
            .into_iter()
            .find(|e| pid(e) == victim)
            .expect("its exit");
        assert_eq!(exit["exitcode"], -9, "{method}");
    });
}

/// The hook changes nothing the program prints: with one writer, the same bytes as
/// without pooltop; with several (whose writes interleave differently each run), the same
/// words.
#[test]
fn stdout_is_the_programs_own() {
    let py = python();
    for name in [
        "q5_pool_map.py",
        "q3_squares_cubes.py",
        "q6_four_processes.py",
    ] {
        let script = example(name);
        let plain = Command::new(&py)
            .arg(&script)
            .env("PYTHONUNBUFFERED", "1")
            .stderr(Stdio::null())
            .output()
            .expect("python");
        let plain = String::from_utf8_lossy(&plain.stdout).to_string();
        let w = watch(&[py.as_str(), script.as_str()]);
        assert_eq!(w.stderr, "", "{name}: nothing added on stderr");
        if name == "q5_pool_map.py" {
            assert_eq!(w.stdout, plain, "{name}");
            continue;
        }
        // The bytes, order aside (lines of two writers tear differently each run), with
        // `Time taken to execute the program: 0.0123`'s figure left out.
        let words = |text: &str| -> Vec<char> {
            let mut chars: Vec<char> = untimed(text).chars().collect();
            chars.sort_unstable();
            chars
        };
        assert_eq!(words(&w.stdout), words(&plain), "{name}");
    }
}

/// The text without the figure after `program: ` (a time that differs run to run).
fn untimed(text: &str) -> String {
    let mark = "program: ";
    let Some(at) = text.find(mark) else {
        return text.to_string();
    };
    let rest = &text[at + mark.len()..];
    let figure = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | '-')))
        .unwrap_or(rest.len());
    format!("{}{}", &text[..at + mark.len()], &rest[figure..])
}

/// `python3 -I` does not load the hook: the tree and each process's output still show,
/// and the hook is reported absent.
#[test]
fn isolated_python_still_shows_the_tree_and_output() {
    let py = python();
    let script = example("imap_vs_imap_unordered.py");
    let w = watch(&[py.as_str(), "-I", script.as_str()]);
    assert_eq!(w.status, Some(0), "{}", w.stderr);
    let hook = of(&w.events, "hook");
    assert_eq!(hook.len(), 1);
    assert_eq!(hook[0]["connected"], false);
    assert!(of(&w.events, "task_done").is_empty());
    let procs = tree(&w.events);
    assert!(
        procs.len() >= 4,
        "the main process and three workers: {procs:?}"
    );
    // Workers print `worker PID: ...`: each line came from the PID it names.
    check_common("-I", "fork", &w, 0);
    let writers: BTreeSet<i32> = of(&w.events, "output").iter().map(|e| pid(e)).collect();
    assert!(
        writers.len() >= 4,
        "output from the main process and its workers: {writers:?}"
    );
}

/// Every CPython installed here (pyenv's, the distribution's) watched the same way.
#[test]
fn other_cpython_versions_where_installed() {
    let mut found = BTreeSet::new();
    let home = std::env::var("HOME").unwrap_or_default();
    for minor in 9..=13 {
        let candidates = [
            format!("/usr/bin/python3.{minor}"),
            format!("/usr/local/bin/python3.{minor}"),
        ];
        let pyenv = std::fs::read_dir(format!("{home}/.pyenv/versions"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|d| d.path().join(format!("bin/python3.{minor}")))
            .map(|p| p.to_string_lossy().to_string());
        let Some(py) = candidates
            .into_iter()
            .chain(pyenv)
            .find(|p| PathBuf::from(p).is_file())
        else {
            eprintln!("skipped: no CPython 3.{minor} on this machine");
            continue;
        };
        let script = example("q5_pool_map.py");
        let w = watch(&[py.as_str(), script.as_str(), "spawn"]);
        check_common(&format!("3.{minor}"), "spawn", &w, 0);
        let results: Vec<Value> = task_results(&w.events).into_values().collect();
        assert_eq!(results.len(), 6, "3.{minor}: {}", w.stderr);
        found.insert(minor);
    }
    assert!(!found.is_empty(), "python3 is on every machine here");
}

#[test]
fn bad_commands_are_one_line_and_exit_2() {
    for (args, says) in [
        (
            vec![
                "watch",
                "--events",
                "/dev/null",
                "--",
                "no-such-command-here",
            ],
            "command not found",
        ),
        (vec!["missing_script.py"], "no such script"),
        (vec!["watch", "--events", "/dev/null"], "required"),
    ] {
        let run = pooltop(&args, Duration::from_secs(20));
        assert_eq!(run.status, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn a_command_that_exits_at_once_gives_its_status() {
    for (cmd, status) in [("true", 0), ("false", 1)] {
        let w = watch(&["sh", "-c", cmd]);
        assert_eq!(w.status, Some(status));
        assert_eq!(of(&w.events, "finished")[0]["status"], status);
    }
    // Killed by a signal, the status is 128 + N, as a shell reports it.
    let w = watch(&["sh", "-c", "kill -TERM $$"]);
    assert_eq!(w.status, Some(143));
}

/// An orphan (its parent exited) comes to pooltop as the subreaper: it is reported, and
/// ended when the command exits.
#[test]
fn orphans_are_adopted_reported_and_ended_with_the_command() {
    let py = python();
    let code = "import os, sys, time\n\
                if os.fork() == 0:\n    \
                    if os.fork() == 0:\n        \
                        print('orphan', os.getpid(), flush=True); time.sleep(60)\n    \
                    os._exit(0)\n\
                time.sleep(0.5)\n";
    let w = watch(&[py.as_str(), "-c", code]);
    assert_eq!(w.status, Some(0), "{}", w.stderr);
    let orphan: i32 = w
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("the orphan's PID");
    let ended = of(&w.events, "ended");
    assert!(
        ended.iter().any(|e| pid(e) == orphan && e["signal"] == 15),
        "{ended:?}"
    );
    let exit = of(&w.events, "exited")
        .into_iter()
        .find(|e| pid(e) == orphan)
        .expect("its exit");
    assert_eq!(
        exit["exitcode"], -15,
        "pooltop reaped it: the kernel's code"
    );
    assert!(!alive(orphan));
}

/// SIGTERM to a headless watch ends the whole tree and exits.
#[test]
fn sigterm_to_pooltop_ends_the_tree() {
    let py = python();
    let code = "import multiprocessing as mp, time\n\
                def f(x):\n    time.sleep(60)\n\
                if __name__ == '__main__':\n    \
                    with mp.Pool(2) as p:\n        p.map(f, range(4))\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.jsonl");
    let mut child = common::command()
        .args(["watch", "--events"])
        .arg(&file)
        .args(["--", py.as_str(), "-c", code])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pooltop");
    let workers_up = wait_until(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        of(&parse_events(&text), "task_started").len() >= 2
    });
    assert!(workers_up, "the workers took their tasks");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM).expect("kill");
    let status = common::wait_deadline(&mut child, Duration::from_secs(10));
    let events = parse_events(&std::fs::read_to_string(&file).unwrap_or_default());
    assert_eq!(status, Some(143), "the command's status: ended by SIGTERM");
    let seen: Vec<i32> = tree(&events).into_keys().collect();
    assert!(seen.len() >= 3, "{seen:?}");
    assert_all_gone(&seen, Duration::from_secs(5));
    assert!(!of(&events, "ended").is_empty());
}

/// pooltop killed outright: the command dies with its watcher and the tree unwinds.
#[test]
fn a_killed_pooltop_leaves_no_process() {
    let py = python();
    let code = "import multiprocessing as mp, time\n\
                def f(x):\n    time.sleep(60)\n\
                if __name__ == '__main__':\n    \
                    with mp.Pool(2) as p:\n        p.map(f, range(4))\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.jsonl");
    let mut child = common::command()
        .args(["watch", "--events"])
        .arg(&file)
        .args(["--", py.as_str(), "-c", code])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pooltop");
    let up = wait_until(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        of(&parse_events(&text), "task_started").len() >= 2
    });
    assert!(up);
    let _ = child.kill();
    let _ = child.wait();
    let events = parse_events(&std::fs::read_to_string(&file).unwrap_or_default());
    let seen: Vec<i32> = tree(&events).into_keys().collect();
    assert_all_gone(&seen, Duration::from_secs(10));
}

/// Leaving `with Pool()` terminates a task still running: lost, and said why.
/// The program and CPython's output: `tests/python/watch/terminate_mid_task.py`.
#[test]
fn a_task_running_when_the_pool_is_terminated_is_lost_with_that_cause() {
    let py = python();
    let script = format!(
        "{}/tests/python/watch/terminate_mid_task.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let w = watch(&[py.as_str(), script.as_str()]);
    assert_eq!(w.status, Some(0), "{}", w.stderr);
    assert_eq!(w.stdout, "ready after terminate: False\n");
    let lost = of(&w.events, "task_lost");
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0]["cause"], "pool_terminated");
    let pool = of(&w.events, "pool_state");
    assert_eq!(
        pool.last().map(|p| p["state"].clone()),
        Some("TERMINATE".into())
    );
    assert_eq!(pool.last().map(|p| p["processes"].clone()), Some(2.into()));
    assert!(
        w.stderr.contains("ended by the pool's terminate()"),
        "{}",
        w.stderr
    );
}

/// Ctrl-C (SIGINT to a headless pooltop) reaches the program and its workers as a
/// terminal's would: Python's `KeyboardInterrupt`, and the program's own status (130 on
/// CPython 3.11: it re-raises SIGINT when it dies of an uncaught `KeyboardInterrupt`).
#[test]
fn sigint_reaches_the_program_as_keyboard_interrupt() {
    let py = python();
    let code = "import multiprocessing as mp, time\n\
                def f(x):\n    time.sleep(60)\n\
                if __name__ == '__main__':\n    \
                    with mp.Pool(2) as p:\n        p.map(f, range(4))\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.jsonl");
    let mut child = common::command()
        .args(["watch", "--events"])
        .arg(&file)
        .args(["--", py.as_str(), "-c", code])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pooltop");
    let busy = wait_until(Duration::from_secs(20), || {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        of(&parse_events(&text), "task_started").len() >= 2
    });
    assert!(busy, "the workers took their tasks");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::SIGINT).expect("kill");
    let status = common::wait_deadline(&mut child, Duration::from_secs(10));
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    let events = parse_events(&std::fs::read_to_string(&file).unwrap_or_default());
    let finished = of(&events, "finished");
    assert_eq!(finished.len(), 1);
    assert_eq!(
        status.map(serde_json::Value::from),
        Some(finished[0]["status"].clone())
    );
    assert!(stderr.contains("KeyboardInterrupt"), "{stderr}");
    assert!(
        of(&events, "ended").is_empty(),
        "the program ended by itself: {stderr}"
    );
    let seen: Vec<i32> = tree(&events).into_keys().collect();
    assert_all_gone(&seen, Duration::from_secs(5));
}
