//! Screenshots for scripts: drive the dashboard by its own keys on real processes to a
//! given point, draw the real frame into an offscreen buffer of a chosen size, write SVG.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::app::{App, Msg, Phase};
use crate::engine::protocol::EventKind;
use crate::scenario::Scenario;
use crate::session::Feed;
use crate::ui::theme::Palette;

use super::Runtime;

/// The longest a screenshot waits for its moment.
const PATIENCE: Duration = Duration::from_mins(2);

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

    /// The keys that get the dashboard there: `n` per step, or `s` to run it all.
    fn keys(&self) -> String {
        match self {
            After::Steps(n) => "n".repeat(*n),
            _ => "s".into(),
        }
    }

    fn reached(&self, app: &App, started: Instant) -> bool {
        let run = &app.world.run;
        match self {
            After::Steps(n) => run.steps_done >= *n && run.current.is_none(),
            After::Time(d) => started.elapsed() >= *d,
            After::End => run.phase == Phase::Finished,
        }
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

pub fn render_buffer(app: &App) -> Buffer {
    let backend = TestBackend::new(app.ui.size.0, app.ui.size.1);
    let Ok(mut terminal) = Terminal::new(backend);
    let _ = terminal.draw(|f| crate::ui::view(app, f));
    terminal.backend().buffer().clone()
}

pub fn render_svg(app: &App) -> String {
    crate::ui::svg::to_svg(&render_buffer(app))
}

fn key(c: char) -> Msg {
    let code = match c {
        '\n' => KeyCode::Enter,
        '\t' => KeyCode::Tab,
        '↓' => KeyCode::Down,
        '↑' => KeyCode::Up,
        c => KeyCode::Char(c),
    };
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn press(rt: &mut Runtime, keys: &str) -> std::io::Result<()> {
    for c in keys.chars() {
        rt.handle(key(c))?;
    }
    Ok(())
}

/// Runs to the moment, and one sample past it so the meters show the moment itself.
fn run_to(rt: &mut Runtime, after: &After) -> std::io::Result<()> {
    let started = Instant::now();
    let deadline = started + PATIENCE;
    let mut done = false;
    while Instant::now() < deadline {
        let Ok(feed) = rt.session.feed().recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        let gone = matches!(feed, Feed::Driver(None));
        if gone {
            rt.session.driver_gone();
        }
        let is_sample = matches!(feed, Feed::Sample(_));
        let finished =
            matches!(&feed, Feed::Driver(Some(e)) if matches!(e.kind, EventKind::Finished { .. }));
        let msg = match feed {
            Feed::Driver(event) => Msg::Driver(event),
            Feed::Sample(sample) => Msg::Sample(sample),
        };
        rt.handle(msg)?;
        rt.tick();
        rt.session.watch(rt.app.world.live_pids());
        done |= after.reached(&rt.app, started) || gone || finished && *after != After::End;
        if done && (is_sample || gone) {
            break;
        }
    }
    Ok(())
}

pub fn run(scenario: &Scenario, cap: &Capture, refresh: Duration, palette: Palette) -> ExitCode {
    let mut rt = match Runtime::start(scenario, refresh, cap.size, palette) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pooltop: cannot start the driver process: {e}");
            return ExitCode::from(1);
        }
    };
    // A watched command started with the dashboard: no key is needed to run it.
    let run_keys = if scenario.watch.is_some() {
        String::new()
    } else {
        cap.after.keys()
    };
    let result = press(&mut rt, &run_keys)
        .and_then(|()| run_to(&mut rt, &cap.after))
        .and_then(|()| press(&mut rt, &cap.keys));
    let svg = render_svg(&rt.app);
    rt.shutdown();
    if let Err(e) = result {
        eprintln!("pooltop: {e}");
        return ExitCode::from(1);
    }
    match std::fs::write(&cap.path, svg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pooltop: cannot write {}: {e}", cap.path.display());
            ExitCode::from(1)
        }
    }
}
