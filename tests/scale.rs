//! Large calls on the real binary: an event log keeps every task, the dashboard a
//! summary, and both agree with what Python's `Pool.map` returns.

mod common;

use std::time::Duration;

use common::{of, pooltop, write_scenario};

const ITEMS: usize = 100_000;

fn big_map(dir: &std::path::Path) -> String {
    let text = format!(
        r#"title = "a map over {ITEMS} items"
cost = "0"

[[step]]
do = "pool"
var = "pool"
processes = 4
python = "with multiprocessing.Pool(processes=4) as pool:"

[[step]]
do = "map"
on = "pool"
func = "cube"
range = [0, {ITEMS}]
chunksize = 1
into = "output"
python = "    output = pool.map(cube, range({ITEMS}), chunksize=1)"

[[step]]
do = "with-exit"
on = "pool"
"#
    );
    write_scenario(dir, "big.toml", &text)
        .to_string_lossy()
        .into_owned()
}

/// `--events` asked for everything: one `task_done` per item, and the result list is
/// Python's (`[n**3 for n in range(N)]`), sent packed and written as a plain JSON array.
#[test]
fn an_event_log_of_a_large_map_has_every_task_and_the_whole_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = big_map(dir.path());
    let run = pooltop(
        &["run", "--file", &file, "--events", "-"],
        Duration::from_secs(45),
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let events = common::parse_events(&run.stdout);
    assert_eq!(of(&events, "task_done").len(), ITEMS);
    assert_eq!(
        of(&events, "call_progress").len(),
        0,
        "summaries are for the screen"
    );
    let result = of(&events, "result");
    let list = result
        .iter()
        .find_map(|e| e["value"].as_array())
        .expect("the map's list");
    assert_eq!(list.len(), ITEMS);
    for n in [0usize, 1, 2, 99_999] {
        assert_eq!(list[n].as_i64(), Some((n as i64).pow(3)), "item {n}");
    }
}

/// The dashboard follows the same map from progress reports and says it finished, with
/// every task counted and the first results in their places.
#[test]
fn the_dashboard_shows_a_large_map_finished_with_every_task_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = big_map(dir.path());
    let shot = dir.path().join("end.svg");
    let shot_path = shot.to_string_lossy().into_owned();
    let run = pooltop(
        &[
            "tui",
            "--file",
            &file,
            "--workers",
            "64",
            "--screenshot",
            &shot_path,
            "--after",
            "end",
            "--size",
            "160x48",
        ],
        Duration::from_secs(45),
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let svg = std::fs::read_to_string(&shot).expect("screenshot");
    assert!(svg.contains("finished"), "the header says finished");
    assert!(
        svg.contains(&format!("done {ITEMS}/{ITEMS}")),
        "every task counted"
    );
    assert!(
        svg.contains("0 1 8 27 64 125"),
        "the first results in place"
    );
}
