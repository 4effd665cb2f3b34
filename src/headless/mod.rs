//! The headless front end (`pooltop run`): the same driver and events as the TUI, shown
//! as the program's own output in arrival order, with JSON Lines and a trace on request.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::engine::protocol::{Command, Event, EventKind, Stream};
use crate::engine::sys;
use crate::scenario::Scenario;
use crate::session::{Feed, Session};

/// Where `--events` go.
pub enum EventSink {
    None,
    Stdout,
    File(BufWriter<File>),
}

impl EventSink {
    pub fn open(spec: Option<&str>) -> Result<EventSink, String> {
        Ok(match spec {
            None => EventSink::None,
            Some("-") => EventSink::Stdout,
            Some(path) => {
                let f = File::create(path).map_err(|e| format!("--events {path}: {e}"))?;
                EventSink::File(BufWriter::new(f))
            }
        })
    }

    fn write(&mut self, event: &Event) -> io::Result<()> {
        let line = |w: &mut dyn Write| writeln!(w, "{}", event.to_json());
        match self {
            EventSink::None => Ok(()),
            EventSink::Stdout => line(&mut io::stdout().lock()),
            EventSink::File(f) => line(f),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            EventSink::None => Ok(()),
            EventSink::Stdout => io::stdout().flush(),
            EventSink::File(f) => f.flush(),
        }
    }

    fn wants_tasks(&self) -> bool {
        !matches!(self, EventSink::None)
    }
}

struct Printer {
    /// Program output goes to stdout unless stdout carries the JSON events.
    show_output: bool,
    trace: bool,
    finished: bool,
    /// A lesson's notes by step, when running a lesson: the steps are narrated on stdout.
    lesson: Option<Vec<Option<String>>>,
}

impl Printer {
    /// A lesson narrates each line on stdout, between the program's own output.
    fn narrate(&self, event: &Event) -> bool {
        let Some(says) = &self.lesson else {
            return false;
        };
        let mut out = io::stdout().lock();
        let _ = match &event.kind {
            EventKind::Step { index, python } => {
                let n = index.map_or("typed".to_string(), |i| (i + 1).to_string());
                let code: Vec<String> = python.lines().map(|l| format!("    {l}")).collect();
                let say = index
                    .and_then(|i| says.get(i).cloned().flatten())
                    .map(|s| format!("    # {s}\n"))
                    .unwrap_or_default();
                write!(out, "\n[{n}]\n{}\n{say}", code.join("\n"))
            }
            // An exception was already shown with its ✗.
            EventKind::StepDone { outcome, .. }
                if !outcome.is_empty() && !outcome.contains("Error") =>
            {
                writeln!(out, "    -> {outcome}")
            }
            EventKind::Error { message, .. } => writeln!(out, "    ✗ {message}"),
            EventKind::Finished { elapsed } => {
                writeln!(out, "\n(the lesson ran to its end in {elapsed:.2}s)")
            }
            _ => return false,
        };
        matches!(event.kind, EventKind::Error { .. })
    }

    fn show(&mut self, event: &Event) {
        let narrated = self.narrate(event);
        match &event.kind {
            EventKind::Error { .. } if narrated => {}
            EventKind::Output { stream, text, .. } if self.show_output => match stream {
                Stream::Stdout => {
                    let _ = io::stdout().lock().write_all(text.as_bytes());
                }
                Stream::Stderr => {
                    let _ = io::stderr().lock().write_all(text.as_bytes());
                }
            },
            EventKind::Error { message, python } => {
                let _ = io::stdout().flush();
                if python.is_empty() {
                    eprintln!("{message}");
                } else {
                    eprintln!(">>> {}\n{message}", first_line(python));
                }
            }
            EventKind::TaskLost {
                task,
                name,
                pid,
                signal,
                exitcode,
            } => {
                let how = match signal {
                    Some(s) => format!("killed by {}", sys::signal_name(*s)),
                    None => format!("exited with code {exitcode}"),
                };
                eprintln!("pooltop: task #{task} lost: {name} (pid {pid}) {how}");
            }
            EventKind::Finished { .. } => self.finished = true,
            EventKind::Fatal { message } => eprintln!("pooltop: {message}"),
            _ => {}
        }
        if self.trace {
            trace(event);
        }
    }
}

fn first_line(python: &str) -> &str {
    python.lines().next().unwrap_or("")
}

fn trace(event: &Event) {
    let t = event.t;
    let line = match &event.kind {
        EventKind::Step { python, .. } => format!(">>> {}", first_line(python)),
        EventKind::StepDone { outcome, .. } if !outcome.is_empty() => format!("    -> {outcome}"),
        EventKind::Spawned {
            name,
            pid,
            start_method,
            start_ms,
            ..
        } => {
            format!(
                "    [{name} pid {pid} ready: {} start took {start_ms:.2} ms]",
                start_method.name()
            )
        }
        EventKind::Exited {
            name,
            pid,
            exitcode,
        } => format!("    [{name} pid {pid} exited, exitcode {exitcode}]"),
        EventKind::PoolState { pool, state, .. } => {
            format!("    [{pool}: state {}]", state.as_str())
        }
        _ => return,
    };
    let _ = io::stdout().flush();
    eprintln!("{t:8.3} {line}");
}

/// A lesson's notes by step, and its heading printed first; `None` unless narrating.
fn narration(scenario: &Scenario, show_output: bool) -> Option<Vec<Option<String>>> {
    let meta = scenario.lesson.as_ref().filter(|_| show_output)?;
    println!("{} · {}\n", meta.question, scenario.title);
    for line in meta.explanation.trim().lines() {
        println!("{line}");
    }
    Some(
        scenario
            .program
            .steps
            .iter()
            .map(|s| s.say.clone())
            .collect(),
    )
}

fn print_trace_heading(scenario: &Scenario) {
    eprintln!("# {}: {}", scenario.name, scenario.title);
    for line in scenario.about.lines().filter(|l| !l.trim().is_empty()) {
        eprintln!("# {line}");
    }
}

/// Prints every event until the driver goes away. The first ending signal asks the driver
/// to shut down in order, a second one stops waiting; returns the first signal, if any.
fn pump(session: &mut Session, sink: &mut EventSink, printer: &mut Printer) -> Option<i32> {
    let mut interrupted = None;
    loop {
        let next = flume::Selector::new()
            .recv(session.feed(), |f| f.ok().map(Ok))
            .recv(session.signals(), |s| s.ok().map(Err))
            .wait();
        match next {
            Some(Ok(Feed::Driver(Some(event)))) => {
                if sink.write(&event).is_err() {
                    eprintln!("pooltop: cannot write events");
                    let _ = session.send(&Command::Shutdown);
                }
                printer.show(&event);
                if matches!(event.kind, EventKind::Finished { .. }) {
                    let _ = session.send(&Command::Shutdown);
                }
                if session.feed().is_empty() {
                    let _ = io::stdout().flush();
                    let _ = sink.flush();
                }
            }
            Some(Ok(Feed::Sample(_))) => {}
            Some(Ok(Feed::Driver(None))) | None => return interrupted,
            Some(Err(signal)) => {
                if interrupted.is_some() {
                    return interrupted;
                }
                interrupted = Some(signal);
                let _ = session.send(&Command::Shutdown);
            }
        }
    }
}

/// Runs `scenario` to the end on a fresh driver; every child is gone when this returns.
pub fn run(scenario: Scenario, mut sink: EventSink, trace: bool) -> ExitCode {
    let mut session = match Session::start(None) {
        Ok(session) => session,
        Err(e) => {
            eprintln!("pooltop: cannot start the driver process: {e}");
            return ExitCode::from(1);
        }
    };
    let show_output = !matches!(sink, EventSink::Stdout);
    let lesson = narration(&scenario, show_output);
    if trace {
        print_trace_heading(&scenario);
    }
    let load = Command::Load {
        program: scenario.program,
        task_events: sink.wants_tasks() || trace,
    };
    if session
        .send(&load)
        .and_then(|()| session.send(&Command::Continue))
        .is_err()
    {
        eprintln!("pooltop: the driver process went away at start");
        return ExitCode::from(1);
    }
    let mut printer = Printer {
        show_output,
        trace,
        finished: false,
        lesson,
    };
    let interrupted = pump(&mut session, &mut sink, &mut printer);
    let _ = io::stdout().flush();
    let _ = sink.flush();
    session.wait(Duration::from_secs(3));
    if let Some(s) = interrupted {
        return ExitCode::from((128 + s).clamp(0, 255) as u8);
    }
    if !printer.finished {
        eprintln!("pooltop: the driver process ended before the scenario finished");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
