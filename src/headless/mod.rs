//! The headless front end (`pooltop run`): the same driver and events as the TUI, shown
//! as the program's own output in arrival order, with JSON Lines and a trace on request.

mod out;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::engine::protocol::{Command, Detail, Event, EventKind, Stream};
use crate::engine::sys;
use crate::scenario::Scenario;
use crate::session::{Feed, Session};

use out::{Line, Writer};

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

    /// The event's JSON line for standard output, or written to the file now.
    fn write(&mut self, event: &Event, lines: &mut Vec<Line>) -> io::Result<()> {
        match self {
            EventSink::None => Ok(()),
            EventSink::Stdout => {
                let mut json = Vec::with_capacity(128);
                event.write_json(&mut json)?;
                json.push(b'\n');
                let text = String::from_utf8(json)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                lines.push(Line::Out(text));
                Ok(())
            }
            EventSink::File(f) => {
                event.write_json(f)?;
                f.write_all(b"\n")
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            EventSink::File(f) => f.flush(),
            _ => Ok(()),
        }
    }

    /// Everything for an event log; nothing per task or value otherwise (`--trace`
    /// shows steps and processes only).
    fn detail(&self) -> Detail {
        match self {
            EventSink::None => Detail::QUIET,
            _ => Detail::EVERY,
        }
    }
}

struct Printer {
    /// Program output goes to stdout unless stdout carries the JSON events.
    show_output: bool,
    trace: bool,
    finished: Option<Finish>,
    /// A lesson's notes by step, when running a lesson: the steps are narrated on stdout.
    lesson: Option<Vec<Option<String>>>,
    /// A real command is watched (its pool hangs where pooltop's would fail a task).
    watched: bool,
}

/// The run finished; a watched command's exit status, when it is known.
struct Finish {
    status: Option<i32>,
}

impl Printer {
    /// A lesson narrates each line on stdout, between the program's own output; true
    /// when it has shown the event's error itself.
    fn narrate(&self, event: &Event, lines: &mut Vec<Line>) -> bool {
        let Some(says) = &self.lesson else {
            return false;
        };
        let text = match &event.kind {
            EventKind::Step { index, python } => {
                let n = index.map_or("typed".to_string(), |i| (i + 1).to_string());
                let code: Vec<String> = python.lines().map(|l| format!("    {l}")).collect();
                let say = index
                    .and_then(|i| says.get(i).cloned().flatten())
                    .map(|s| format!("    # {s}\n"))
                    .unwrap_or_default();
                format!("\n[{n}]\n{}\n{say}", code.join("\n"))
            }
            // An exception was already shown with its ✗.
            EventKind::StepDone { outcome, .. }
                if !outcome.is_empty() && !outcome.contains("Error") =>
            {
                format!("    -> {outcome}\n")
            }
            EventKind::Error { message, .. } => format!("    ✗ {message}\n"),
            EventKind::Finished { elapsed, .. } => {
                format!("\n(the lesson ran to its end in {elapsed:.2}s)\n")
            }
            _ => return false,
        };
        lines.push(Line::Out(text));
        matches!(event.kind, EventKind::Error { .. })
    }

    /// What the event puts on standard output and standard error, in order.
    fn show(&mut self, event: &Event, lines: &mut Vec<Line>) {
        let narrated = self.narrate(event, lines);
        match &event.kind {
            EventKind::Error { .. } if narrated => {}
            EventKind::Output { stream, text, .. } if self.show_output => match stream {
                Stream::Stdout => lines.push(Line::Out(text.clone())),
                Stream::Stderr => lines.push(Line::Err(text.clone())),
            },
            EventKind::Error { message, python } => lines.push(Line::Err(if python.is_empty() {
                format!("{message}\n")
            } else {
                format!(">>> {}\n{message}\n", first_line(python))
            })),
            EventKind::TaskLost {
                task,
                name,
                pid,
                signal,
                exitcode,
                cause,
            } => {
                let what = cause.describe(*task, name, *signal, *exitcode, self.watched);
                lines.push(Line::Err(format!("pooltop: {what} (pid {pid})\n")));
            }
            EventKind::Finished { status, .. } => {
                self.finished = Some(Finish { status: *status });
            }
            EventKind::Ended {
                pid,
                name,
                signal,
                reason,
            } => {
                let sig = sys::signal_name(*signal);
                lines.push(Line::Err(format!(
                    "pooltop: sent {sig} to {name} (pid {pid}): {reason}\n"
                )));
            }
            EventKind::Fatal { message } => lines.push(Line::Err(format!("pooltop: {message}\n"))),
            _ => {}
        }
        if self.trace
            && let Some(line) = trace(event)
        {
            lines.push(Line::Err(format!("{:8.3} {line}\n", event.t)));
        }
    }
}

fn first_line(python: &str) -> &str {
    python.lines().next().unwrap_or("")
}

fn trace(event: &Event) -> Option<String> {
    Some(match &event.kind {
        EventKind::Step { python, .. } => format!(">>> {}", first_line(python)),
        EventKind::StepDone { outcome, .. } if !outcome.is_empty() => format!("    -> {outcome}"),
        EventKind::Spawned {
            name,
            pid,
            start_method,
            start_ms,
            ..
        } => {
            let how = start_method.map_or("watched", |m| m.name());
            let took = start_ms.map_or(String::new(), |ms| format!(" start took {ms:.2} ms"));
            format!("    [{name} pid {pid} ready: {how}{took}]")
        }
        EventKind::Exited {
            name,
            pid,
            exitcode,
        } => {
            let code = exitcode.map_or("unknown".into(), |c| c.to_string());
            format!("    [{name} pid {pid} exited, exitcode {code}]")
        }
        EventKind::PoolState { pool, state, .. } => {
            format!("    [{pool}: state {}]", state.as_str())
        }
        _ => return None,
    })
}

/// A lesson's heading and notes by step; `None` unless narrating.
fn narration(
    scenario: &Scenario,
    show_output: bool,
    lines: &mut Vec<Line>,
) -> Option<Vec<Option<String>>> {
    let meta = scenario.lesson.as_ref().filter(|_| show_output)?;
    let mut text = format!("{} · {}\n\n", meta.question, scenario.title);
    for line in meta.explanation.trim().lines() {
        text.push_str(line);
        text.push('\n');
    }
    lines.push(Line::Out(text));
    Some(
        scenario
            .program
            .steps
            .iter()
            .map(|s| s.say.clone())
            .collect(),
    )
}

fn trace_heading(scenario: &Scenario, lines: &mut Vec<Line>) {
    let mut text = format!("# {}: {}\n", scenario.name, scenario.title);
    if scenario.watch.is_none() {
        let rules = &scenario.rules;
        let method = rules.default_start_method().name();
        let _ = writeln!(
            text,
            "# {} ({}): the default start method is {method}",
            rules.label(),
            rules.why()
        );
    }
    for line in scenario.about.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    lines.push(Line::Err(text));
}

/// How the run ended, beyond the driver's own goodbye.
#[derive(Default)]
struct Ending {
    /// The first ending signal (a second one stops waiting for the driver).
    signal: Option<i32>,
    /// Standard output was closed by its reader: the run ends, quietly.
    closed: bool,
}

struct Front<'a> {
    session: &'a mut Session,
    sink: EventSink,
    printer: Printer,
    writer: Writer,
    ending: Ending,
    /// A real command is watched: Ctrl-C goes to it, as a terminal would send it.
    watched: bool,
    /// The driver was told to shut down.
    stopped: bool,
}

impl Front<'_> {
    /// Stops the scenario once: the driver ends every child and exits.
    fn stop(&mut self) {
        self.stopped = true;
        let _ = self.session.send(&Command::Shutdown);
    }

    /// Hands the lines to the writer, waiting while it is behind; a signal meanwhile is
    /// taken (the writer may be held by a reader that never reads).
    fn deliver(&mut self, lines: Vec<Line>) {
        for line in lines {
            if self.ending.closed {
                return;
            }
            if self.ending.signal.is_some() {
                self.writer.offer(line);
                continue;
            }
            match self.writer.send_or_signal(line, self.session.signals()) {
                out::Sent::Yes => {}
                out::Sent::Closed => {
                    self.ending.closed = true;
                    self.stop();
                }
                out::Sent::Signal(s) => self.on_signal(s),
            }
        }
    }

    fn on_signal(&mut self, signal: i32) {
        // A terminal's Ctrl-C reaches a program and all its workers: a watched one gets
        // it so, and ends as it would without pooltop. A second one ends the tree.
        if self.watched && signal == libc::SIGINT && self.ending.signal.is_none() {
            self.ending.signal = Some(signal);
            let _ = self.session.send(&Command::SignalTree { signal });
            return;
        }
        if self.ending.signal.is_none() || self.watched {
            self.ending.signal.get_or_insert(signal);
            self.stop();
        }
    }

    fn on_event(&mut self, event: &Event) {
        let mut lines = Vec::new();
        if self.sink.write(event, &mut lines).is_err() && !self.ending.closed {
            lines.push(Line::Err("pooltop: cannot write events\n".into()));
            self.stop();
        }
        self.printer.show(event, &mut lines);
        if matches!(event.kind, EventKind::Finished { .. }) {
            self.stop();
        }
        self.deliver(lines);
        if self.session.feed().is_empty() {
            let _ = self.sink.flush();
        }
    }

    /// Prints every event until the driver goes away; a second ending signal stops waiting.
    fn pump(&mut self) {
        loop {
            let next = flume::Selector::new()
                .recv(self.session.feed(), |f| f.ok().map(Ok))
                .recv(self.session.signals(), |s| s.ok().map(Err))
                .wait();
            match next {
                Some(Ok(Feed::Driver(Some(event)))) => self.on_event(&event),
                Some(Ok(Feed::Sample(_))) => {}
                Some(Ok(Feed::Driver(None))) | None => return,
                Some(Err(_)) if self.stopped && self.ending.signal.is_some() => return,
                Some(Err(signal)) => self.on_signal(signal),
            }
            if self.writer.closed() && !self.ending.closed {
                self.ending.closed = true;
                self.stop();
            }
        }
    }
}

/// Runs `scenario` to the end on a fresh driver; every child is gone when this returns.
pub fn run(scenario: Scenario, sink: EventSink, trace: bool) -> ExitCode {
    let mut session = match Session::start(None) {
        Ok(session) => session,
        Err(e) => {
            eprintln!("pooltop: cannot start the driver process: {e}");
            return ExitCode::from(1);
        }
    };
    let writer = match Writer::start() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("pooltop: cannot start the output thread: {e}");
            return ExitCode::from(1);
        }
    };
    let show_output = !matches!(sink, EventSink::Stdout);
    let mut first = Vec::new();
    let lesson = narration(&scenario, show_output, &mut first);
    if trace {
        trace_heading(&scenario, &mut first);
    }
    let watched = scenario.watch.is_some();
    let sent = if let Some(spec) = scenario.watch {
        session.send(&Command::Watch(spec))
    } else {
        let load = Command::Load {
            program: scenario.program,
            detail: sink.detail(),
        };
        session
            .send(&load)
            .and_then(|()| session.send(&Command::Continue))
    };
    if sent.is_err() {
        eprintln!("pooltop: the driver process went away at start");
        return ExitCode::from(1);
    }
    let printer = Printer {
        show_output,
        trace,
        finished: None,
        lesson,
        watched,
    };
    let mut front = Front {
        session: &mut session,
        sink,
        printer,
        writer,
        ending: Ending::default(),
        watched,
        stopped: false,
    };
    front.deliver(first);
    front.pump();
    let _ = front.sink.flush();
    let Front {
        writer,
        ending,
        printer,
        ..
    } = front;
    // A writer held by a reader that does not read is left behind: the process ends.
    writer.finish(Duration::from_secs(2));
    session.wait(Duration::from_secs(3));
    if watched {
        return finish_watch(&ending, &printer);
    }
    finish(&ending, printer.finished.is_some())
}

/// A watched command's status is pooltop's, as a shell passes on its child's.
fn finish_watch(ending: &Ending, printer: &Printer) -> ExitCode {
    if ending.closed {
        return ExitCode::from(141);
    }
    match printer.finished {
        Some(Finish { status: Some(code) }) => ExitCode::from(code.clamp(0, 255) as u8),
        Some(Finish { status: None }) => ExitCode::from(1),
        None => {
            if let Some(s) = ending.signal {
                return ExitCode::from((128 + s).clamp(0, 255) as u8);
            }
            eprintln!("pooltop: the watcher ended before the command did");
            ExitCode::from(1)
        }
    }
}

fn finish(ending: &Ending, finished: bool) -> ExitCode {
    if let Some(s) = ending.signal {
        return ExitCode::from((128 + s).clamp(0, 255) as u8);
    }
    if ending.closed {
        // As a Unix tool killed by SIGPIPE: quietly, with 128 + 13.
        return ExitCode::from(141);
    }
    if !finished {
        eprintln!("pooltop: the driver process ended before the scenario finished");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
