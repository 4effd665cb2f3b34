//! Key latency during an output flood: the dashboard runs a scenario whose workers print
//! as fast as they can, in a real pseudo-terminal; each key press (`?` opens the help, any
//! key closes it) is timed until its effect is on screen. Prints median and worst.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

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

fn wait(
    parser: &Arc<Mutex<vt100::Parser>>,
    limit: Duration,
    cond: impl Fn(&str) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if parser.lock().is_ok_and(|p| cond(&p.screen().contents())) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    None
}

fn main() {
    let dir = std::env::temp_dir().join(format!("pooltop-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("flood.toml");
    std::fs::write(&file, FLOOD).expect("scenario");
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
    let mut child = pty.slave.spawn_command(cmd).expect("spawn");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let mut writer = pty.master.take_writer().expect("writer");
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
    wait(&parser, Duration::from_secs(10), |s| s.contains("ready")).expect("ready");
    writer.write_all(b"s").expect("s");
    wait(&parser, Duration::from_secs(10), |s| {
        s.contains(" from ForkPoolWorker-")
    })
    .expect("flooding");
    let mut times = Vec::new();
    for _ in 0..20 {
        writer.write_all(b"?").expect("?");
        let t = wait(&parser, Duration::from_secs(5), |s| {
            s.contains("any key closes this help")
        })
        .expect("help shown");
        times.push(t);
        writer.write_all(b"?").expect("close");
        wait(&parser, Duration::from_secs(5), |s| {
            !s.contains("any key closes this help")
        })
        .expect("help closed");
    }
    writer.write_all(b"q").expect("q");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    times.sort();
    println!(
        "key press to screen during an output flood: median {:.1} ms, worst {:.1} ms (20 presses; a frame is 33 ms)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(dir);
}
