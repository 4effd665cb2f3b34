//! End to end in a real pseudo-terminal: start the dashboard, press `s`, see real PIDs of
//! live processes, terminate one with `t` and see exit code -15, quit with `q`, and check
//! the terminal was restored and no process is left.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    fn wait_for(&self, what: &str, mut cond: impl FnMut(&str) -> bool) -> String {
        let mut last = String::new();
        let ok = wait_until(Duration::from_secs(15), || {
            last = self.text();
            cond(&last)
        });
        assert!(ok, "timed out waiting for {what}; screen:\n{last}");
        last
    }

    /// Everything pooltop wrote, once what restores the terminal has been read: it may
    /// still be in the pseudo-terminal when the process has already exited.
    fn restored(&self) -> String {
        self.written_until(|text| {
            text.rfind("\x1b[?1049l")
                .is_some_and(|leave| text[leave..].contains("\x1b[?25h"))
        })
    }

    /// Everything pooltop wrote, once `cond` holds for it (or after five seconds).
    fn written_until(&self, cond: impl Fn(&str) -> bool) -> String {
        self.written_after(0, cond)
    }

    /// How much has been written so far: a mark for [`Screen::written_after`].
    fn mark(&self) -> usize {
        self.raw.lock().map(|r| r.len()).unwrap_or_default()
    }

    /// What was written after `mark`, once `cond` holds for it (or after five seconds).
    fn written_after(&self, mark: usize, cond: impl Fn(&str) -> bool) -> String {
        let raw = || {
            let bytes = self
                .raw
                .lock()
                .map(|r| r.get(mark..).unwrap_or_default().to_vec())
                .unwrap_or_default();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        wait_until(Duration::from_secs(5), || cond(&raw()));
        raw()
    }
}

/// The table row of a process: its PID and the rest of the row.
fn row_of(screen: &str, name: &str) -> Option<(i32, String)> {
    screen.lines().find_map(|line| {
        let cell = format!("│{name} ");
        let at = line.find(&cell)?;
        let rest = &line[at + cell.len()..];
        // A Process not started yet shows "-" for its PID.
        let pid = match rest.split_whitespace().next()? {
            "-" => 0,
            text => text.parse().ok()?,
        };
        Some((pid, rest.to_string()))
    })
}

/// Whether pooltop exits within ten seconds.
fn exits(child: &mut Box<dyn portable_pty::Child + Send + Sync>) -> bool {
    wait_until(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    })
}

/// The PIDs of the named rows on a screen (rows not shown are skipped).
fn pids_of(screen: &str, names: &[&str]) -> Vec<i32> {
    names
        .iter()
        .filter_map(|n| row_of(screen, n).map(|r| r.0))
        .collect()
}

/// A pooltop running in its own pseudo-terminal.
struct Session {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Screen,
    master: Box<dyn portable_pty::MasterPty + Send>,
}

/// Starts pooltop with `args` in a new pseudo-terminal of `rows` x `cols`.
fn open(args: &[&str], rows: u16, cols: u16) -> Session {
    open_with(args, rows, cols, &[])
}

fn open_with(args: &[&str], rows: u16, cols: u16, env: &[(&str, &str)]) -> Session {
    let mut cmd = CommandBuilder::new(BIN);
    cmd.env("POOLTOP_PYTHON_VERSION", common::PYTHON);
    cmd.args(args);
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn(cmd, rows, cols)
}

/// Runs `cmd` in a new pseudo-terminal of `rows` x `cols`, as its session leader.
fn spawn(cmd: CommandBuilder, rows: u16, cols: u16) -> Session {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let child = pty.slave.spawn_command(cmd).expect("spawn");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let writer = pty.master.take_writer().expect("writer");
    let size = |n: u16| std::num::NonZero::new(n).expect("non-zero size");
    let screen = Screen {
        parser: Arc::new(Mutex::new(vt100::Parser::new(size(rows), size(cols), 0))),
        raw: Arc::new(Mutex::new(Vec::new())),
    };
    let (parser, raw) = (screen.parser.clone(), screen.raw.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut p) = parser.lock() {
                p.process(&buf[..n]);
            }
            if let Ok(mut r) = raw.lock() {
                r.extend_from_slice(&buf[..n]);
            }
        }
    });
    Session {
        child,
        writer,
        screen,
        master: pty.master,
    }
}

#[test]
fn start_terminate_and_quit_in_a_real_terminal() {
    let Session {
        mut child,
        mut writer,
        screen,
        master,
    } = open(
        &["tui", "squares-cubes", "--cost", "1s", "--refresh", "500"],
        40,
        120,
    );
    screen.wait_for("the ready screen", |s| {
        s.contains("ready") && s.contains("The program")
    });
    writer.write_all(b"s").expect("press s");
    let shown = screen.wait_for("both processes on screen", |s| {
        row_of(s, "process1")
            .is_some_and(|(_, rest)| rest.contains("running") || rest.contains("sleeping"))
            && row_of(s, "process2").is_some()
    });
    let (p1, _) = row_of(&shown, "process1").expect("process1 row");
    let (p2, _) = row_of(&shown, "process2").expect("process2 row");
    let (main, _) = row_of(&shown, "MainProcess").expect("main row");
    for pid in [p1, p2, main] {
        assert!(alive(pid), "pid {pid} shown on screen is a live process");
    }

    // Select process1 (the row under the main process) and terminate it.
    writer.write_all(b"\x1b[B").expect("down");
    writer.write_all(b"t").expect("press t");
    let after = screen.wait_for("process1 ended by SIGTERM", |s| {
        row_of(s, "process1")
            .is_some_and(|(_, rest)| rest.contains("killed") && rest.contains("-15"))
    });
    assert!(after.contains("SIGTERM sent to process1"), "{after}");
    assert!(!alive(p1));

    writer.write_all(b"q").expect("press q");
    assert!(exits(&mut child), "pooltop quits on q");
    let raw = screen.restored();
    let leave = raw.rfind("\x1b[?1049l").expect("left the alternate screen");
    let enter = raw
        .rfind("\x1b[?1049h")
        .expect("entered the alternate screen");
    assert!(leave > enter, "the alternate screen was left last");
    assert!(
        raw.rfind("\x1b[?25h") > raw.rfind("\x1b[?25l"),
        "the cursor is shown again"
    );
    if let Some(termios) = master.get_termios() {
        let local = termios.local_flags.bits();
        assert!(
            local & libc::ICANON as libc::tcflag_t != 0,
            "raw mode is off (ICANON back on)"
        );
        assert!(
            local & libc::ECHO as libc::tcflag_t != 0,
            "raw mode is off (ECHO back on)"
        );
    }
    assert_all_gone(&[p1, p2, main], Duration::from_secs(2));
}

#[test]
fn standard_output_not_a_terminal_points_to_run() {
    let run = pooltop(&["tui", "pool-map"], Duration::from_secs(10));
    assert_eq!(run.status, Some(2));
    assert!(
        run.stderr.contains("not a terminal") && run.stderr.contains("pooltop run pool-map"),
        "{}",
        run.stderr
    );
}

#[test]
fn sigterm_to_the_dashboard_restores_the_terminal_and_ends_workers() {
    let Session {
        mut child,
        mut writer,
        screen,
        ..
    } = open(
        &["tui", "pool-map", "--cost", "2s", "--workers", "2"],
        24,
        80,
    );
    screen.wait_for("the ready screen", |s| s.contains("ready"));
    writer.write_all(b"s").expect("press s");
    let shown = screen.wait_for("two busy workers", |s| {
        row_of(s, "ForkPoolWorker-1").is_some() && row_of(s, "ForkPoolWorker-2").is_some()
    });
    let pids: Vec<i32> = pids_of(
        &shown,
        &["MainProcess", "ForkPoolWorker-1", "ForkPoolWorker-2"],
    );
    assert_eq!(pids.len(), 3);
    let pid = child.process_id().expect("pid") as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM)
        .expect("sigterm");
    assert!(exits(&mut child), "exits on SIGTERM");
    let raw = screen.restored();
    assert!(raw.contains("\x1b[?1049l"), "left the alternate screen");
    assert_all_gone(&pids, Duration::from_secs(2));
}

#[test]
fn a_panic_restores_the_terminal_and_leaves_no_process() {
    let Session {
        mut child,
        mut writer,
        screen,
        master,
    } = open_with(
        &["tui", "pool-map", "--cost", "2s", "--workers", "2"],
        40,
        120,
        &[("POOLTOP_TEST_PANIC", "z")],
    );
    screen.wait_for("the ready screen", |s| s.contains("ready"));
    writer.write_all(b"s").expect("press s");
    let shown = screen.wait_for("two workers", |s| row_of(s, "ForkPoolWorker-2").is_some());
    let pids: Vec<i32> = pids_of(
        &shown,
        &["MainProcess", "ForkPoolWorker-1", "ForkPoolWorker-2"],
    );
    assert_eq!(pids.len(), 3);
    writer.write_all(b"z").expect("press the panic key");
    assert!(exits(&mut child), "exits after a panic");
    let raw = screen.written_until(|text| text.contains("test panic on key"));
    assert!(
        raw.rfind("\x1b[?1049l") > raw.rfind("\x1b[?1049h"),
        "left the alternate screen"
    );
    assert!(
        raw.contains("test panic on key"),
        "the panic message is shown after the screen is restored"
    );
    if let Some(termios) = master.get_termios() {
        assert!(
            termios.local_flags.bits() & libc::ICANON as libc::tcflag_t != 0,
            "raw mode is off"
        );
    }
    assert_all_gone(&pids, Duration::from_secs(2));
}

#[test]
fn a_lesson_opened_from_the_picker_steps_line_by_line_and_runs_to_the_end() {
    let Session {
        mut child,
        mut writer,
        screen,
        ..
    } = open(&["tui", "--cost", "20ms"], 40, 120);
    screen.wait_for("the ready screen", |s| s.contains("ready"));
    writer.write_all(b"L").expect("open the picker");
    screen.wait_for("the lesson list", |s| {
        s.contains("Lessons") && s.contains("q3-two-processes")
    });
    writer.write_all(b"\x1b[B\x1b[B").expect("down to Q3");
    writer.write_all(b"\r").expect("open Q3");
    screen.wait_for("the Q3 lesson", |s| {
        s.contains("q3-two-processes") && s.contains("A Process runs a function")
    });
    writer.write_all(b"nn").expect("two lines");
    let shown = screen.wait_for("process1 created, not started", |s| {
        s.contains("› ") && row_of(s, "process1").is_some_and(|(_, rest)| rest.contains("created"))
    });
    assert!(
        shown.contains("process2 = multiprocessing.Process"),
        "{shown}"
    );
    writer.write_all(b"s").expect("run to the end");
    // A frame can arrive in pieces: wait for the whole of it, the mistake's line included.
    let done = screen.wait_for("the lesson finished, its mistake under its line", |s| {
        s.contains("finished") && s.contains("✗ AssertionError: cannot start a process twice")
    });
    let pids: Vec<i32> = pids_of(&done, &["MainProcess", "process1", "process2"]);
    writer.write_all(b"q").expect("quit");
    assert!(exits(&mut child));
    assert_all_gone(&pids, Duration::from_secs(2));
}

/// The header's phase (`ready`, `running`, `paused`, `finished`): a segment of its first
/// line, whatever follows it.
fn phase_is(screen: &str, what: &str) -> bool {
    screen
        .lines()
        .next()
        .is_some_and(|l| l.split(" │ ").any(|part| part.trim_end() == what))
}

#[test]
fn every_lesson_runs_to_its_end_by_keys() {
    for (name, _, _) in pooltop::scenario::lessons() {
        let Session {
            mut child,
            mut writer,
            screen,
            ..
        } = open(&["tui", "--lesson", &name, "--cost", "5ms"], 40, 120);
        screen.wait_for(&format!("{name} ready"), |s| {
            s.contains("ready") && s.contains(&name)
        });
        writer.write_all(b"n").expect("one line");
        let header = phase_is;
        screen.wait_for(&format!("{name} paused after a line"), |s| {
            header(s, "paused") && s.contains("MainProcess")
        });
        writer.write_all(b"s").expect("run to the end");
        let done = screen.wait_for(&format!("{name} finished"), |s| header(s, "finished"));
        // Every process row: the name, then its PID.
        let pids: Vec<i32> = done
            .lines()
            .filter_map(|l| {
                let mut words = l.split_once("││")?.1.split_whitespace();
                let name = words.next()?;
                let known = ["Process", "process", "Worker", "threads", "ForkServer"];
                known.iter().any(|k| name.contains(k)).then_some(())?;
                words.next()?.parse().ok()
            })
            .collect();
        assert!(!pids.is_empty(), "{name}: {done}");
        writer.write_all(b"q").expect("quit");
        assert!(exits(&mut child), "{name} quits");
        assert_all_gone(&pids, Duration::from_secs(2));
    }
}

#[test]
fn keys_grow_the_pool_refuse_calls_while_blocked_and_restart() {
    let Session {
        mut child,
        mut writer,
        screen,
        ..
    } = open(
        &["tui", "pool-map", "--workers", "2", "--cost", "600ms"],
        40,
        120,
    );
    screen.wait_for("the ready screen", |s| s.contains("ready"));
    writer.write_all(b"s").expect("start");
    screen.wait_for("two workers", |s| row_of(s, "ForkPoolWorker-2").is_some());
    writer.write_all(b"+").expect("one worker more");
    let grown = screen.wait_for("a third worker", |s| {
        row_of(s, "ForkPoolWorker-3").is_some()
    });
    let third = row_of(&grown, "ForkPoolWorker-3").expect("row").0;
    assert!(alive(third), "the new worker is a real process");
    writer
        .write_all(b"c")
        .expect("pool.close() while map() blocks");
    screen.wait_for("the main process is busy", |s| {
        s.contains("RuntimeError: the main process is blocked in")
    });
    let done = screen.wait_for("the scenario finished", |s| phase_is(s, "finished"));
    let pids: Vec<i32> = pids_of(
        &done,
        &[
            "MainProcess",
            "ForkPoolWorker-1",
            "ForkPoolWorker-2",
            "ForkPoolWorker-3",
        ],
    );
    writer.write_all(b"r").expect("run again");
    screen.wait_for("a fresh run, ready", |s| phase_is(s, "ready"));
    assert_all_gone(&pids, Duration::from_secs(2));
    writer.write_all(b"q").expect("quit");
    assert!(exits(&mut child));
}

/// Starts `pool-map` with two busy workers and waits for them on screen; the PIDs of the
/// main process and both workers.
fn running_pool(session: &mut Session) -> Vec<i32> {
    session
        .screen
        .wait_for("the ready screen", |s| s.contains("ready"));
    session.writer.write_all(b"s").expect("press s");
    let shown = session.screen.wait_for("two workers", |s| {
        row_of(s, "ForkPoolWorker-1").is_some() && row_of(s, "ForkPoolWorker-2").is_some()
    });
    let pids = pids_of(
        &shown,
        &["MainProcess", "ForkPoolWorker-1", "ForkPoolWorker-2"],
    );
    assert_eq!(pids.len(), 3, "{shown}");
    pids
}

const POOL: [&str; 6] = ["tui", "pool-map", "--cost", "2s", "--workers", "2"];

/// Alt+`[` arrives as ESC `[`, the start of a CSI sequence; with `<` or `?` after it the
/// input parser once waited for the end of a mouse report or a private report forever
/// and swallowed every key. q, Ctrl-C and Ctrl-\ must still quit, whether the stray bytes
/// and the key come in one read or in two.
#[test]
fn a_partial_escape_sequence_never_swallows_the_keys_that_quit() {
    let cases: [(&[u8], &[u8]); 5] = [
        (b"\x1b[<", b"q"),
        (b"\x1b[?", b"q"),
        (b"\x1b[<1;2", b"\x03"),
        (b"\x1b[?", b"\x03"),
        (b"\x1b[?", b"\x1c"),
    ];
    for (stray, quit) in cases {
        let mut session = open(&POOL, 24, 80);
        let pids = running_pool(&mut session);
        let Session {
            mut child,
            mut writer,
            screen,
            master,
        } = session;
        writer.write_all(stray).expect("stray bytes");
        writer.flush().expect("flush");
        writer.write_all(quit).expect("quit key");
        assert!(exits(&mut child), "{stray:?} then {quit:?} quits");
        let raw = screen.restored();
        assert!(
            raw.rfind("\x1b[?1049l") > raw.rfind("\x1b[?1049h"),
            "{stray:?}: left the alternate screen"
        );
        if let Some(termios) = master.get_termios() {
            assert!(
                termios.local_flags.bits() & libc::ICANON as libc::tcflag_t != 0,
                "{stray:?}: raw mode is off"
            );
        }
        assert_all_gone(&pids, Duration::from_secs(2));
    }
}

/// A process's state letter in /proc (`T` is stopped).
fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

fn is_stopped(pid: i32) -> bool {
    state(pid) == Some('T')
}

fn signal(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("send a signal");
}

/// Whether the pseudo-terminal is in raw mode (canonical mode and echo off).
fn raw_mode(master: &dyn portable_pty::MasterPty) -> bool {
    master.get_termios().is_some_and(|t| {
        let local = t.local_flags.bits();
        local & (libc::ICANON | libc::ECHO) as libc::tcflag_t == 0
    })
}

/// Whether what was written gave the terminal back: alternate screen left, mouse
/// reporting off, cursor shown.
fn gave_back(text: &str) -> bool {
    ["\x1b[?1049l", "\x1b[?1000l", "\x1b[?1006l", "\x1b[?25h"]
        .iter()
        .all(|s| text.contains(s))
}

/// Whether what was written took the terminal again: the alternate screen and mouse
/// reporting back, the cursor hidden and the whole screen cleared to be drawn again.
fn took_back(text: &str) -> bool {
    let Some(enter) = text.rfind("\x1b[?1049h") else {
        return false;
    };
    let after = &text[enter..];
    ["\x1b[?1006h", "\x1b[?25l", "\x1b[2J"]
        .iter()
        .all(|s| after.contains(s))
}

/// Ctrl-Z and a SIGTSTP from outside suspend pooltop under a job-control shell as they
/// would htop or vim: the terminal is given back and pooltop stops (its workers run on);
/// `fg` brings raw mode, the alternate screen and the whole dashboard back, and q quits
/// without Enter.
#[test]
fn ctrl_z_and_sigtstp_suspend_and_fg_resumes_under_a_shell() {
    let mut cmd = CommandBuilder::new("bash");
    cmd.env("POOLTOP_PYTHON_VERSION", common::PYTHON);
    // -b: job changes are reported at once, not at the next prompt.
    cmd.args(["--norc", "--noprofile", "-i", "-b"]);
    cmd.env("PS1", "$ ");
    cmd.env("HISTFILE", "/dev/null");
    cmd.env("TERM", "xterm-256color");
    let mut session = spawn(cmd, 24, 80);
    let shell = session.child.process_id().expect("shell pid") as i32;
    session.screen.wait_for("the prompt", |s| s.contains("$ "));
    let line = format!("{BIN} {}\r", POOL.join(" "));
    session
        .writer
        .write_all(line.as_bytes())
        .expect("run pooltop");
    let mut pids = running_pool(&mut session);
    // The shell made pooltop its foreground job: the terminal's process group is pooltop's.
    let pooltop = session
        .master
        .process_group_leader()
        .filter(|p| *p != shell)
        .expect("pooltop in the foreground");
    assert!(
        std::fs::read_to_string(format!("/proc/{pooltop}/comm"))
            .is_ok_and(|c| c.trim() == "pooltop")
    );
    let Session {
        mut child,
        mut writer,
        screen,
        master,
    } = session;

    for (how, by_key) in [("Ctrl-Z", true), ("SIGTSTP", false)] {
        let mark = screen.mark();
        if by_key {
            writer.write_all(b"\x1a").expect("press Ctrl-Z");
        } else {
            signal(pooltop, nix::sys::signal::SIGTSTP);
        }
        assert!(
            wait_until(Duration::from_secs(5), || is_stopped(pooltop)),
            "{how} stops pooltop"
        );
        let written = screen.written_after(mark, gave_back);
        assert!(
            gave_back(&written),
            "{how}: terminal given back: {written:?}"
        );
        let written = screen.written_after(mark, |t| t.contains("Stopped"));
        assert!(written.contains("Stopped"), "the shell saw the job stop");
        assert!(
            pids.iter().all(|p| alive(*p) && !is_stopped(*p)),
            "workers run on while the dashboard is stopped"
        );
        if by_key {
            // Continued in the background, pooltop may not use the terminal: the kernel
            // stops it again (SIGTTIN or SIGTTOU, whichever thread gets there first)
            // before it draws, as it would vim, until `fg`.
            let mark = screen.mark();
            writer.write_all(b"bg\r").expect("bg");
            let written = screen.written_after(mark, |t| t.contains("Stopped"));
            assert!(
                written.contains("Stopped"),
                "stopped again after bg: {written:?}"
            );
            assert!(is_stopped(pooltop));
            assert!(
                !written.contains("\x1b[?1049h"),
                "nothing drawn in the background"
            );
        }
        let mark = screen.mark();
        writer.write_all(b"fg\r").expect("fg");
        screen.wait_for(&format!("the dashboard back after {how} and fg"), |s| {
            row_of(s, "ForkPoolWorker-1").is_some()
                && took_back(&screen.written_after(mark, |_| true))
        });
        assert!(!is_stopped(pooltop));
        assert!(
            wait_until(Duration::from_secs(5), || raw_mode(&*master)),
            "raw mode again after {how} and fg"
        );
    }

    let mark = screen.mark();
    writer.write_all(b"q").expect("press q");
    assert!(
        wait_until(Duration::from_secs(10), || !alive(pooltop)),
        "q quits without Enter"
    );
    let written = screen.written_after(mark, gave_back);
    assert!(gave_back(&written), "terminal restored on quit");
    pids.push(pooltop);
    assert_all_gone(&pids, Duration::from_secs(2));
    let _ = child.kill();
    let _ = child.wait();
}

/// Without a job-control shell (pooltop leads its own session here, as under tmux or
/// `ssh host pooltop`) nothing could continue a stopped pooltop, and the kernel discards
/// SIGTSTP: Ctrl-Z gives the terminal back and takes it again at once. A stop pooltop
/// cannot catch (SIGSTOP), with the terminal put back in canonical mode meanwhile as a
/// shell does, ends with SIGCONT: raw mode again, everything redrawn, q quits.
#[test]
fn without_job_control_ctrl_z_returns_and_sigcont_after_sigstop_restores_raw_mode() {
    let mut session = open(&POOL, 24, 80);
    let pids = running_pool(&mut session);
    let Session {
        mut child,
        mut writer,
        screen,
        master,
    } = session;
    let pid = child.process_id().expect("pid") as i32;

    let mark = screen.mark();
    writer.write_all(b"\x1a").expect("press Ctrl-Z");
    let written = screen.written_after(mark, |t| {
        t.find("\x1b[?1049l")
            .is_some_and(|leave| took_back(&t[leave..]))
    });
    assert!(gave_back(&written), "Ctrl-Z gives the terminal back");
    let leave = written.find("\x1b[?1049l").unwrap_or_default();
    assert!(
        took_back(&written[leave..]),
        "and takes it again: {written:?}"
    );
    assert!(!is_stopped(pid));

    signal(pid, nix::sys::signal::SIGSTOP);
    assert!(wait_until(Duration::from_secs(5), || is_stopped(pid)));
    let fd = master.as_raw_fd().expect("master fd");
    // SAFETY: termios is plain data, filled in by tcgetattr before it is used.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(fd, &raw mut t), 0);
        t.c_lflag |= libc::ICANON | libc::ECHO;
        assert_eq!(libc::tcsetattr(fd, libc::TCSANOW, &raw const t), 0);
    }
    assert!(!raw_mode(&*master));
    let mark = screen.mark();
    signal(pid, nix::sys::signal::SIGCONT);
    screen.wait_for("the dashboard redrawn after SIGCONT", |s| {
        row_of(s, "ForkPoolWorker-1").is_some() && took_back(&screen.written_after(mark, |_| true))
    });
    assert!(
        wait_until(Duration::from_secs(5), || raw_mode(&*master)),
        "raw mode again after SIGCONT"
    );

    writer.write_all(b"q").expect("press q");
    assert!(exits(&mut child), "q quits without Enter");
    let raw = screen.restored();
    assert!(raw.rfind("\x1b[?1049l") > raw.rfind("\x1b[?1049h"));
    assert!(!raw_mode(&*master), "raw mode is off");
    assert_all_gone(&pids, Duration::from_secs(2));
}

/// SIGQUIT (Ctrl-\ is a key in raw mode, see the partial-sequence test) ends the workers
/// and restores the terminal, as SIGTERM does, instead of dumping core.
#[test]
fn sigquit_restores_the_terminal_and_leaves_no_process() {
    let mut session = open(&POOL, 24, 80);
    let pids = running_pool(&mut session);
    let Session {
        mut child,
        screen,
        master,
        ..
    } = session;
    let pid = child.process_id().expect("pid") as i32;
    signal(pid, nix::sys::signal::SIGQUIT);
    assert!(exits(&mut child), "exits on SIGQUIT");
    let raw = screen.restored();
    assert!(raw.rfind("\x1b[?1049l") > raw.rfind("\x1b[?1049h"));
    assert!(!raw_mode(&*master), "raw mode is off");
    assert_all_gone(&pids, Duration::from_secs(2));
}

/// The main process killed from outside: it is reaped at once (not left a zombie), the
/// screen says it is gone and shows its pool ended rather than running, and `r` starts a
/// fresh one.
#[test]
fn a_killed_main_process_is_reaped_and_shown_gone_and_r_restarts() {
    let mut session = open(&POOL, 40, 120);
    let pids = running_pool(&mut session);
    let main = pids[0];
    signal(main, nix::sys::signal::Signal::SIGKILL);
    let gone = session.screen.wait_for("the main process gone", |s| {
        s.contains("driver gone") && s.contains("TERMINATE")
    });
    assert!(!gone.contains("RUN ·"), "{gone}");
    let reaped = wait_until(Duration::from_secs(5), || state(main).is_none());
    assert!(
        reaped,
        "the dead main process is reaped, state {:?}",
        state(main)
    );
    assert_all_gone(&pids, Duration::from_secs(2));
    session.writer.write_all(b"r").expect("press r");
    session.screen.wait_for("a fresh run, ready", |s| {
        s.contains("ready") && !s.contains("driver gone")
    });
    session.writer.write_all(b"q").expect("quit");
    assert!(exits(&mut session.child));
}

/// The interpreter `python3` runs (past a version manager's shim).
fn python() -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is on every machine here");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `pooltop assets/python/q5_pool_map.py`: the real pool's ten workers with their PIDs,
/// the script's result, and `q` leaves a clean terminal and no process.
#[test]
fn watching_q5_shows_ten_workers_and_the_result_and_quits_clean() {
    let script = format!(
        "{}/assets/python/q5_pool_map.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let Session {
        mut child,
        mut writer,
        screen,
        master: _master,
    } = open(&[script.as_str()], 50, 140);
    let names: Vec<String> = (1..=10).map(|n| format!("ForkPoolWorker-{n}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let text = screen.wait_for("ten workers and the result", |s| {
        pids_of(s, &names).len() == 10
            && s.contains("[1000, 1331, 1728, 125, 64, 27]")
            && s.contains("exited with status 0")
    });
    let mut pids = pids_of(&text, &names);
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 10, "ten distinct PIDs:\n{text}");
    assert!(pids.iter().all(|p| *p > 1));
    let main = row_of(&text, "MainProcess")
        .expect("the script's main process")
        .0;
    assert!(main > 1);
    // `r` runs the script again: a new main process, and ten new workers.
    writer.write_all(b"r").expect("r");
    let again = screen.wait_for("the second run", |s| {
        row_of(s, "MainProcess").is_some_and(|(pid, _)| pid != main)
            && pids_of(s, &names).len() == 10
            && s.contains("exited with status 0")
    });
    pids.extend(pids_of(&again, &names));
    pids.extend(row_of(&again, "MainProcess").map(|r| r.0));
    writer.write_all(b"q").expect("q");
    assert!(exits(&mut child), "pooltop quits");
    assert!(gave_back(&screen.restored()), "terminal restored");
    pids.push(main);
    assert_all_gone(&pids, Duration::from_secs(5));
}

/// `q` on a watched program still running ends its whole tree and says what it ended.
#[test]
fn q_ends_a_running_watched_tree_and_says_so() {
    let py = python();
    let code = "import multiprocessing as mp, time\n\
                def f(x):\n    time.sleep(60)\n\
                if __name__ == '__main__':\n    \
                    with mp.Pool(2) as p:\n        p.map(f, range(4))\n";
    let Session {
        mut child,
        mut writer,
        screen,
        master: _master,
    } = open(&["watch", "--", py.as_str(), "-c", code], 40, 120);
    let text = screen.wait_for("two busy workers", |s| {
        pids_of(s, &["ForkPoolWorker-1", "ForkPoolWorker-2"]).len() == 2 && s.contains("f(")
    });
    let mut pids = pids_of(
        &text,
        &["MainProcess", "ForkPoolWorker-1", "ForkPoolWorker-2"],
    );
    assert_eq!(pids.len(), 3, "{text}");
    let mark = screen.mark();
    writer.write_all(b"q").expect("q");
    assert!(exits(&mut child), "pooltop quits");
    let said = screen.written_after(mark, |t| t.contains("pooltop: ended"));
    assert!(said.contains("pooltop: ended"), "{said}");
    assert!(said.contains("SIGTERM to MainProcess"), "{said}");
    pids.sort_unstable();
    assert_all_gone(&pids, Duration::from_secs(5));
}

/// `k` on "all workers" of a watched pool: SIGKILL through each worker's pidfd; their
/// running tasks are lost, and the screen says CPython's pool will wait for ever.
#[test]
fn k_kills_a_watched_pools_workers_and_their_tasks_are_lost() {
    let py = python();
    let code = "import multiprocessing as mp, time\n\
                def f(x):\n    time.sleep(60)\n\
                if __name__ == '__main__':\n    \
                    with mp.Pool(2) as p:\n        p.map(f, range(4), chunksize=1)\n";
    let Session {
        mut child,
        mut writer,
        screen,
        master: _master,
    } = open(&["watch", "--", py.as_str(), "-c", code], 40, 120);
    let text = screen.wait_for("two busy workers", |s| {
        pids_of(s, &["ForkPoolWorker-1", "ForkPoolWorker-2"]).len() == 2 && s.contains("2 busy")
    });
    let workers = pids_of(&text, &["ForkPoolWorker-1", "ForkPoolWorker-2"]);
    writer.write_all(b"k").expect("k");
    let text = screen.wait_for("the lost tasks", |s| {
        s.contains("CPython's Pool will wait for it forever")
    });
    assert!(text.contains("killed by SIGKILL"), "{text}");
    assert!(wait_until(Duration::from_secs(5), || workers
        .iter()
        .all(|p| !alive(*p))));
    let main = row_of(&text, "MainProcess").expect("main").0;
    writer.write_all(b"q").expect("q");
    assert!(exits(&mut child), "pooltop quits");
    assert_all_gone(&[main], Duration::from_secs(5));
}
