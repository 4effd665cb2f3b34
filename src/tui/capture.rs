//! Screenshots for scripts: run a scenario on the real engine to a given point, draw the
//! real frame into an offscreen buffer of a chosen size, and write it as SVG.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::{self, App, Msg, Phase};
use crate::engine::protocol::{Command, EventKind};
use crate::scenario::Scenario;

use super::Engine;

/// When to take the picture.
#[derive(Clone, Debug, PartialEq)]
pub enum After {
    /// Once this many steps have run.
    Steps(usize),
    /// This long after starting the whole scenario.
    Time(Duration),
    /// When the scenario has finished.
    End,
}

impl After {
    pub fn parse(text: &str) -> Result<After, String> {
        if text == "end" {
            return Ok(After::End);
        }
        if let Ok(n) = text.parse::<usize>() {
            return Ok(After::Steps(n));
        }
        crate::scenario::parse_duration(text)
            .map(After::Time)
            .map_err(|_| {
                format!(
                    "--after takes a number of steps, a time such as 1.5s, or 'end', not '{text}'"
                )
            })
    }
}

#[derive(Clone, Debug)]
pub struct Capture {
    pub path: PathBuf,
    pub after: After,
    pub size: (u16, u16),
    /// Keys pressed just before the picture (e.g. "?" for the help).
    pub keys: String,
}

pub fn render_buffer(app: &App) -> ratatui::buffer::Buffer {
    let backend = TestBackend::new(app.size.0, app.size.1);
    let mut terminal = match Terminal::new(backend) {
        Ok(t) => t,
        Err(_) => return ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 0, 0)),
    };
    let _ = terminal.draw(|f| crate::ui::view(app, f));
    terminal.backend().buffer().clone()
}

pub fn render_svg(app: &App) -> String {
    crate::ui::svg::to_svg(&render_buffer(app))
}

fn press(app: &mut App, c: char) {
    let code = match c {
        '\n' => KeyCode::Enter,
        '\t' => KeyCode::Tab,
        '↓' => KeyCode::Down,
        '↑' => KeyCode::Up,
        c => KeyCode::Char(c),
    };
    app::update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn reached(app: &App, after: &After, started: Instant) -> bool {
    match after {
        After::Steps(n) => app.steps_done >= *n && app.current.is_none(),
        After::Time(d) => started.elapsed() >= *d,
        After::End => app.phase == Phase::Finished,
    }
}

pub fn run(scenario: Scenario, cap: Capture, refresh: Duration) -> ExitCode {
    let mut engine = match Engine::start(refresh) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("pooltop: cannot start the driver process: {e}");
            return ExitCode::from(1);
        }
    };
    let mut app = App::new(&scenario, super::use_color());
    app.size = cap.size;
    // `--after 0` is the screen before anything runs.
    if cap.after != After::Steps(0) {
        let load = Command::Load {
            program: app.program.clone(),
            task_events: true,
        };
        let go = match cap.after {
            After::Steps(n) => vec![Command::Step; n],
            _ => vec![Command::Continue],
        };
        app.phase = if matches!(cap.after, After::Steps(_)) {
            Phase::Paused
        } else {
            Phase::Running
        };
        for cmd in std::iter::once(load).chain(go) {
            let _ = engine.link.send(&cmd);
        }
    }
    let started = Instant::now();
    let deadline = started + Duration::from_mins(2);
    let mut samples_after = 0;
    let mut done = false;
    while Instant::now() < deadline {
        let Ok(msg) = engine.data_rx.recv_timeout(Duration::from_millis(50)) else {
            if done && samples_after >= 1 {
                break;
            }
            continue;
        };
        let gone = matches!(msg, Msg::Driver(None));
        let is_sample = matches!(msg, Msg::Sample(_));
        let finished =
            matches!(&msg, Msg::Driver(Some(e)) if matches!(e.kind, EventKind::Finished { .. }));
        app::update(&mut app, msg);
        app::update(&mut app, Msg::Tick(engine.now()));
        engine.watch(&app);
        if !done
            && (reached(&app, &cap.after, started) || gone || finished && cap.after != After::End)
        {
            done = true;
        }
        // One more sample after the point, so the meters show the moment itself.
        if done && is_sample {
            samples_after += 1;
        }
        if done && (samples_after >= 1 || gone) {
            break;
        }
    }
    for c in cap.keys.chars() {
        press(&mut app, c);
    }
    let svg = render_svg(&app);
    engine.link.shutdown(Duration::from_secs(2));
    match std::fs::write(&cap.path, svg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pooltop: cannot write {}: {e}", cap.path.display());
            ExitCode::from(1)
        }
    }
}
