//! Helpers for integration tests: run the real pooltop binary with a deadline, read its
//! JSON events, and check that every process it reported is gone.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_pooltop");

/// The Python whose defaults the tests expect (fork on Linux), whatever `python3` the
/// machine has: tests of other versions set their own.
pub const PYTHON: &str = "3.11";

/// The pooltop binary, following [`PYTHON`]'s rules.
pub fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("POOLTOP_PYTHON_VERSION", PYTHON);
    cmd
}

pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs pooltop to completion; fails the test if it takes longer than `limit`.
pub fn pooltop(args: &[&str], limit: Duration) -> Run {
    let mut child = command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pooltop");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let status = wait_deadline(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("pooltop {args:?} did not finish within {limit:?}");
    });
    Run {
        status: Some(status),
        stdout: join(out),
        stderr: join(err),
    }
}

fn drain<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

fn join(h: std::thread::JoinHandle<String>) -> String {
    h.join().unwrap_or_default()
}

/// Waits for `child` to exit, up to `limit`: its exit code, or 128+N when killed by
/// signal N, as a shell reports it. `None` on timeout.
pub fn wait_deadline(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            use std::os::unix::process::ExitStatusExt;
            return status.code().or(status.signal().map(|s| 128 + s));
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `cond` until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn parse_events(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Runs a scenario with `--events -` and returns the events and stderr.
pub fn run_events(args: &[&str]) -> (Vec<Value>, Run) {
    let mut full = vec!["run"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--events", "-"]);
    let run = pooltop(&full, Duration::from_mins(1));
    let events = parse_events(&run.stdout);
    (events, run)
}

pub fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// Every PID the run reported: the driver, workers, processes and the fork server.
pub fn reported_pids(events: &[Value]) -> Vec<i32> {
    let mut pids: Vec<i32> = events
        .iter()
        .filter(|e| matches!(e["event"].as_str(), Some("loaded" | "created" | "spawned")))
        .filter_map(|e| e["pid"].as_i64())
        .map(|p| p as i32)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Alive means present and not a zombie (a zombie has exited; PID 1 may be slow to reap).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            !matches!(state, Some("Z" | "X"))
        }
        Err(_) => false,
    }
}

pub fn assert_all_gone(pids: &[i32], within: Duration) {
    let ok = wait_until(within, || pids.iter().all(|p| !alive(*p)));
    let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(ok, "processes left behind: {left:?}");
}

/// Concatenated output text of the process with this pid, in arrival order.
pub fn output_of(events: &[Value], pid: i64) -> String {
    of(events, "output")
        .into_iter()
        .filter(|e| e["pid"].as_i64() == Some(pid))
        .filter_map(|e| e["text"].as_str())
        .collect()
}

/// All output text in arrival order.
pub fn all_output(events: &[Value]) -> String {
    of(events, "output")
        .into_iter()
        .filter_map(|e| e["text"].as_str())
        .collect()
}

pub fn pid_named(events: &[Value], name: &str) -> i64 {
    of(events, "created")
        .into_iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["pid"].as_i64())
        .unwrap_or_else(|| panic!("no process named {name}"))
}

pub fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// The Python exceptions the main process raised, as worded.
pub fn errors(events: &[Value]) -> Vec<String> {
    of(events, "error")
        .iter()
        .filter_map(|e| e["message"].as_str().map(String::from))
        .collect()
}

/// The values the main process obtained, in order.
pub fn results(events: &[Value]) -> Vec<Value> {
    of(events, "result")
        .iter()
        .map(|e| e["value"].clone())
        .collect()
}

/// What the main process itself printed.
pub fn main_output(events: &[Value]) -> String {
    output_of(
        events,
        of(events, "loaded")[0]["pid"].as_i64().expect("pid"),
    )
}
