//! The dashboard under load, in a real pseudo-terminal:
//! - key latency during an output flood (workers printing as fast as they can) and during
//!   a map of 10^7 items over 256 workers: each key press (`?` opens the help, any key
//!   closes it) is timed until its effect is on screen; median and worst of 20;
//! - how long after the main process finishes a map of 10^6 items (256 and 512 workers)
//!   the screen says "finished": from the press of `s` to the word on screen, less the
//!   run's own time as the main process measured it ("scenario finished in X s").

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const FLOOD: &str = r#"
title = "flood"
cost = "0"
[[step]]
do = "pool"
var = "pool"
processes = 2
[[step]]
do = "map"
on = "pool"
func = "chatter"
items = [1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1000000, 1000000]
chunksize = 1
"#;

/// `pool.map(cube, range(N), chunksize=1)` on W workers.
fn big_map(items: usize, workers: usize) -> String {
    format!(
        r#"
title = "big map"
cost = "0"
[[step]]
do = "pool"
var = "pool"
processes = {workers}
[[step]]
do = "map"
on = "pool"
func = "cube"
range = [0, {items}]
chunksize = 1
"#
    )
}

/// The dashboard on a scenario, in a pseudo-terminal of 120x40.
struct Dashboard {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    dir: std::path::PathBuf,
}

impl Dashboard {
    fn open(scenario: &str) -> Dashboard {
        let dir = std::env::temp_dir().join(format!("pooltop-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("scenario.toml");
        std::fs::write(&file, scenario).expect("scenario");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pooltop"));
        cmd.args(["tui", "--file"]);
        cmd.arg(&file);
        let child = pty.slave.spawn_command(cmd).expect("spawn");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let size = |n: u16| std::num::NonZero::new(n).expect("size");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(size(40), size(120), 0)));
        let p2 = parser.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut p) = p2.lock() {
                    p.process(&buf[..n]);
                }
            }
        });
        let d = Dashboard {
            child,
            writer,
            parser,
            dir,
        };
        d.wait(Duration::from_secs(10), |s| s.contains("ready"))
            .expect("ready");
        d
    }

    fn screen(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    fn press(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("keys");
    }

    /// How long until the screen satisfies `cond`; `None` past `limit`.
    fn wait(&self, limit: Duration, cond: impl Fn(&str) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond(&self.screen()) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        None
    }

    fn quit(mut self) {
        self.press(b"q");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn main() {
    let flood = key_latency(FLOOD, " from ForkPoolWorker-");
    report("during an output flood", &flood);
    let map = key_latency(&big_map(10_000_000, 256), "waiting for map results");
    report("during a 10^7-item map on 256 workers", &map);
    for workers in [256, 512] {
        let (lag, run) = finish_lag(&big_map(1_000_000, workers));
        println!(
            "\"finished\" on screen {:.0} ms after the main process finished a 10^6-item map on {workers} workers (the run took {run:.2} s)",
            lag * 1e3
        );
    }
}

fn report(what: &str, times: &[Duration]) {
    println!(
        "key press to screen {what}: median {:.1} ms, worst {:.1} ms ({} presses; a frame is 33 ms)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    );
}

/// Runs the scenario until `busy` is on screen, then times 20 presses while it still is;
/// returns the times, sorted.
fn key_latency(scenario: &str, busy: &str) -> Vec<Duration> {
    let mut d = Dashboard::open(scenario);
    d.press(b"s");
    d.wait(Duration::from_secs(10), |s| s.contains(busy))
        .expect("busy");
    let help = "any key closes this help";
    let mut times = Vec::new();
    for _ in 0..20 {
        d.press(b"?");
        let t = d
            .wait(Duration::from_secs(5), |s| s.contains(help))
            .expect("help shown");
        times.push(t);
        d.press(b"?");
        d.wait(Duration::from_secs(5), |s| !s.contains(help))
            .expect("help closed");
    }
    assert!(d.screen().contains(busy), "still busy after the presses");
    d.quit();
    times.sort();
    times
}

/// Seconds from the main process finishing to "finished" on screen (at most: the key's
/// way to the main process counts in), and the run's own seconds.
fn finish_lag(scenario: &str) -> (f64, f64) {
    let mut d = Dashboard::open(scenario);
    let pressed = Instant::now();
    d.press(b"s");
    let marker = "scenario finished in ";
    d.wait(Duration::from_secs(90), |s| s.contains(marker))
        .expect("finished");
    let shown = pressed.elapsed().as_secs_f64();
    let screen = d.screen();
    let run: f64 = screen
        .split(marker)
        .nth(1)
        .and_then(|rest| rest.split('s').next())
        .and_then(|n| n.trim().parse().ok())
        .expect("the run's time on screen");
    d.quit();
    ((shown - run).max(0.0), run)
}
