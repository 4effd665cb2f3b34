//! Faults found by a fault, load and bad-input campaign, each kept as a test: late fork
//! server PIDs, lost chunks, slow readers, closed pipes, a dead main process.

mod common;

use std::fmt::Write;
use std::time::Duration;

use common::*;

/// Forty forkserver pools, each mapping two items and leaving its `with` block: a worker
/// whose PID the fork server reports after its pool was terminated is ended the moment
/// it is known (it lingered until the end before), and `terminate()` waits for it.
#[test]
fn no_forkserver_worker_outlives_its_pool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("cost = \"0\"\nstart_method = \"forkserver\"\n");
    for i in 0..40 {
        let _ = write!(
            text,
            "[[step]]\ndo = \"pool\"\nvar = \"p{i}\"\nprocesses = 2\n\
             [[step]]\ndo = \"map\"\non = \"p{i}\"\nfunc = \"square\"\nitems = [1, 2]\n\
             [[step]]\ndo = \"with-exit\"\non = \"p{i}\"\n"
        );
    }
    let path = write_scenario(dir.path(), "pools.toml", &text);
    let (events, run) = run_events(&["--file", path.to_str().expect("path")]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let workers: Vec<&str> = of(&events, "created")
        .iter()
        .filter(|e| e["role"] == "pool_worker")
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(workers.len(), 80);
    // Each pool's workers are gone before the next pool is made.
    let mut live = 0i64;
    for e in &events {
        match e["event"].as_str() {
            Some("created") if e["role"] == "pool_worker" => live += 1,
            Some("exited") if e["name"].as_str().is_some_and(|n| n.contains("PoolWorker")) => {
                live -= 1;
            }
            Some("pool_state") if e["state"] == "RUN" => {
                assert_eq!(live, 0, "a worker of an earlier pool is still alive");
            }
            _ => {}
        }
    }
    assert_all_gone(&reported_pids(&events), Duration::from_secs(2));
}

/// A worker killed while running the second of a chunk's four items: only that item is
/// lost; the one it finished (its result had not been sent) and the two it never began go
/// back to the queue and run again on its replacement (Python loses the whole chunk).
#[test]
fn a_worker_killed_mid_chunk_loses_only_its_running_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
cost = "300ms"
cost_kind = "sleep"
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "apply"
on = "pool"
func = "noop"
[[step]]
do = "map_async"
on = "pool"
func = "square"
range = [0, 4]
chunksize = 4
into = "r"
[[step]]
do = "sleep"
seconds = 0.45
[[step]]
do = "signal"
on = "pool"
signal = "SIGKILL"
worker = 0
[[step]]
do = "wait"
on = "r"
[[step]]
do = "with-exit"
on = "pool"
"#;
    let path = write_scenario(dir.path(), "mid-chunk.toml", text);
    let (events, run) = run_events(&["--file", path.to_str().expect("path")]);
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let lost: Vec<i64> = of(&events, "task_lost")
        .iter()
        .filter_map(|e| e["task"].as_i64())
        .collect();
    assert_eq!(
        lost,
        [2],
        "the second item of the chunk (task #2, after the apply's #0)"
    );
    let requeued = of(&events, "requeued");
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0]["tasks"], serde_json::json!([1, 3, 4]));
    let again: Vec<(i64, String)> = of(&events, "task_done")
        .iter()
        .filter(|e| e["name"] == "ForkPoolWorker-2")
        .filter_map(|e| Some((e["task"].as_i64()?, e["result"].to_string())))
        .collect();
    assert_eq!(
        again,
        [(1, "0".into()), (3, "4".into()), (4, "9".into())],
        "run again by the replacement"
    );
    assert_all_gone(&reported_pids(&events), Duration::from_secs(2));
}

/// A panic in the main process reaches the user as one `pooltop:` message, and never
/// blocks, even with a backtrace asked for (it used to go to a socket only the dead
/// process read, and a backtrace filled it and hung `pooltop run`).
#[test]
fn a_panic_in_the_main_process_is_shown_and_never_hangs() {
    let mut child = common::command()
        .args(["run", "pool-map"])
        .env("POOLTOP_TEST_DRIVER_PANIC", "1")
        .env("RUST_BACKTRACE", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start pooltop");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = wait_deadline(&mut child, Duration::from_secs(10));
    assert_eq!(status, Some(1), "exits 1, and promptly");
    let text = reader.join().unwrap_or_default();
    assert!(
        text.starts_with("pooltop: the main process failed: panicked at "),
        "{text}"
    );
    assert!(text.contains("test panic in the main process"), "{text}");
}

/// `pooltop run ... --events - | head -1`: once standard output's reader has gone, pooltop
/// ends the run and exits as a Unix tool killed by SIGPIPE would: quietly, with 141.
#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    use std::io::{BufRead, BufReader};
    let mut child = common::command()
        // A run of seconds that writes nothing to stderr of its own: whatever stderr
        // shows then comes from the closed pipe.
        .args(["run", "workshop", "--events", "-"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start pooltop");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("one line");
    assert!(first.contains("\"event\":\"loaded\""), "{first}");
    // The reader is gone (dropped with the BufReader).
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let status = wait_deadline(&mut child, Duration::from_secs(20));
    assert_eq!(status, Some(141));
    assert_eq!(errors.join().unwrap_or_default(), "", "nothing on stderr");
}
