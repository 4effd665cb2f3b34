//! The dashboard's runtime: the terminal, a session (driver, sampler, signals) and the
//! input thread feed one loop that calls `update`, carries out its effects and draws `view`.

mod capture;
mod input;
mod terminal;

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossterm::event::Event;

use crate::app::{self, App, Effect, Msg, Phase};
use crate::scenario::Scenario;
use crate::scenario::rules::Why;
use crate::session::{Feed, Session};
use crate::ui;
use crate::ui::theme::Palette;
use terminal::{Input, Term};

pub use capture::{After, Capture};

/// Draws no more often than this, however fast events arrive.
const FRAME: Duration = Duration::from_millis(33);
/// The elapsed clock on screen moves this often while the scenario runs.
const TICK: Duration = Duration::from_millis(250);
/// Most time spent taking in engine events before the screen is drawn again.
const DRAIN_BUDGET: Duration = Duration::from_millis(15);
/// How long a driver gets to end its workers when the dashboard leaves or restarts.
const DRIVER_GRACE: Duration = Duration::from_secs(2);

pub struct Options {
    pub refresh: Duration,
    pub capture: Option<Capture>,
    pub palette: Palette,
}

pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn run(scenario: &Scenario, opts: Options) -> ExitCode {
    if let Some(cap) = opts.capture {
        return capture::run(scenario, &cap, opts.refresh, opts.palette);
    }
    if !std::io::stdout().is_terminal() {
        let plain = match &scenario.watch {
            Some(spec) => format!("pooltop watch --events FILE -- {}", spec.argv.join(" ")),
            None => format!("pooltop run {}", scenario.name),
        };
        eprintln!("pooltop: standard output is not a terminal; for plain output use `{plain}`");
        return ExitCode::from(2);
    }
    let mut term = match terminal::Term::enter() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pooltop: cannot set up the terminal: {e}");
            return ExitCode::from(1);
        }
    };
    let size = term.size();
    let mut ended = Vec::new();
    let result = terminal::spawn_input().and_then(|input| {
        let mut rt = Runtime::start(scenario, opts.refresh, size, opts.palette)?;
        let r = rt.run(&mut term, &input);
        rt.shutdown();
        ended = std::mem::take(&mut rt.session.ended);
        r
    });
    drop(term);
    if let Some(spec) = &scenario.watch {
        say_what_was_ended(&spec.argv, &ended);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pooltop: {e}");
            ExitCode::from(1)
        }
    }
}

/// Leaving a watched program that still ran ends its tree: one line says whom, and how.
fn say_what_was_ended(argv: &[String], ended: &[(i32, String)]) {
    if ended.is_empty() {
        return;
    }
    let mut by_signal: Vec<(i32, Vec<&str>)> = Vec::new();
    for (signal, who) in ended {
        match by_signal.iter_mut().find(|(s, _)| s == signal) {
            Some((_, names)) => names.push(who),
            None => by_signal.push((*signal, vec![who])),
        }
    }
    let parts: Vec<String> = by_signal
        .iter()
        .map(|(signal, names)| {
            format!(
                "{} to {}",
                crate::engine::sys::signal_name(*signal),
                names.join(", ")
            )
        })
        .collect();
    eprintln!("pooltop: ended `{}`: {}", argv.join(" "), parts.join("; "));
}

/// The app and the session it drives; shared by the live dashboard and screenshots.
pub(crate) struct Runtime {
    pub app: App,
    pub session: Session,
}

/// What woke the loop.
enum Woke {
    Input(Input),
    Msg(Msg),
}

/// What carrying out an effect gave.
enum Done {
    Nothing,
    /// A message for `update` (the effect's answer).
    Answer(Msg),
    Quit,
}

impl Runtime {
    pub fn start(
        scenario: &Scenario,
        refresh: Duration,
        size: (u16, u16),
        palette: Palette,
    ) -> std::io::Result<Runtime> {
        let session = Session::start(Some(refresh))?;
        let mut app = App::new(scenario, use_color()).sized(size);
        app.ui.palette = palette;
        let mut rt = Runtime { app, session };
        rt.handle(Msg::Begin)?;
        Ok(rt)
    }

    /// Feeds one message to `update`, and the answers of its effects after it; true
    /// means quit.
    pub fn handle(&mut self, msg: Msg) -> std::io::Result<bool> {
        let mut queue = VecDeque::from([msg]);
        while let Some(msg) = queue.pop_front() {
            for effect in app::update(&mut self.app, msg) {
                match self.carry_out(effect)? {
                    Done::Nothing => {}
                    Done::Answer(answer) => queue.push_back(answer),
                    Done::Quit => return Ok(true),
                }
            }
            // A fresh world (the start, `r`, a lesson) learns of the main process at once.
            let world = &self.app.world;
            if queue.is_empty() && world.run.main_pid.is_none() && world.scenario.watch.is_none() {
                queue.push_back(Msg::MainProcess {
                    pid: self.session.driver_pid(),
                    ppid: std::process::id() as i32,
                });
            }
        }
        Ok(false)
    }

    fn carry_out(&mut self, effect: Effect) -> std::io::Result<Done> {
        Ok(match effect {
            Effect::Send(cmd) => {
                // A failed send means the driver is gone; its reader reports that.
                let _ = self.session.send(&cmd);
                Done::Nothing
            }
            Effect::Restart => {
                self.session.restart()?;
                Done::Answer(Msg::Restarted)
            }
            Effect::LoadLesson(name) => {
                // A lesson follows the Python and platform the command line chose.
                let rules = &self.app.world.scenario.rules;
                let overrides = crate::scenario::Overrides {
                    python_version: (rules.why == Why::Option).then_some(rules.version),
                    platform: Some(rules.platform),
                    ..crate::scenario::Overrides::default()
                };
                let loaded = crate::scenario::Source::lesson(&name)
                    .and_then(|s| crate::scenario::load(&s, &overrides));
                if loaded.is_ok() {
                    self.session.restart()?;
                }
                Done::Answer(Msg::Loaded(loaded.map(Box::new)))
            }
            Effect::Screenshot => Done::Answer(Msg::Saved(self.save_screenshot())),
            Effect::Quit => Done::Quit,
        })
    }

    fn save_screenshot(&self) -> Result<String, String> {
        let name = format!(
            "pooltop-{}-{}.svg",
            self.app.world.scenario.name,
            std::process::id()
        );
        let path = PathBuf::from(name);
        let svg = capture::render_svg(&self.app);
        match std::fs::write(&path, svg) {
            Ok(()) => Ok(path.display().to_string()),
            Err(e) => Err(format!("cannot save {}: {e}", path.display())),
        }
    }

    fn tick(&mut self) {
        let now = self.session.now();
        app::update(&mut self.app, Msg::Tick(now));
    }

    fn shutdown(&mut self) {
        self.session.shutdown(DRIVER_GRACE);
    }

    fn ticking(&self) -> bool {
        matches!(self.app.world.run.phase, Phase::Running | Phase::Paused)
    }

    /// How long to wait for the next message before drawing or ticking.
    fn wait(&self, dirty: bool, last_draw: Instant) -> Duration {
        if dirty {
            FRAME.saturating_sub(last_draw.elapsed())
        } else if self.app.world.run.phase == Phase::Paused {
            // Paused, only the clock moves: once a second is enough.
            TICK * 4
        } else if self.ticking() {
            TICK
        } else {
            Duration::from_hours(1)
        }
    }

    fn run(
        &mut self,
        term: &mut terminal::Term,
        input: &flume::Receiver<Input>,
    ) -> std::io::Result<()> {
        term.draw(&self.app)?;
        let mut last_draw = Instant::now();
        let mut dirty = false;
        loop {
            let wait = self.wait(dirty, last_draw);
            let mut urgent = false;
            let msg = match self.next(input, wait) {
                Some(Woke::Input(i)) => self.input_msg(&i, term)?,
                Some(Woke::Msg(msg)) => Some(msg),
                None => None,
            };
            if let Some(msg) = msg {
                urgent |= matches!(msg, Msg::Key(_) | Msg::Pointer(_) | Msg::Resize(..));
                if self.take(msg, term)? {
                    return Ok(());
                }
                dirty = true;
            }
            // Keys first, always; then engine events up to a time budget.
            while let Ok(i) = input.try_recv() {
                urgent = true;
                if let Some(msg) = self.input_msg(&i, term)?
                    && self.take(msg, term)?
                {
                    return Ok(());
                }
                dirty = true;
            }
            match self.drain_feed(input, term)? {
                None => return Ok(()),
                Some(taken) => dirty |= taken > 0,
            }
            if self.ticking() {
                self.tick();
                dirty = true;
            }
            if dirty && (urgent || last_draw.elapsed() >= FRAME) {
                self.session.watch(self.app.world.live_pids());
                term.draw(&self.app)?;
                last_draw = Instant::now();
                dirty = false;
            }
        }
    }

    /// Takes in engine events until the budget is spent or a key is waiting (it is
    /// handled and drawn first); how many it took, or `None` to quit.
    fn drain_feed(
        &mut self,
        input: &flume::Receiver<Input>,
        term: &mut terminal::Term,
    ) -> std::io::Result<Option<usize>> {
        let budget = Instant::now() + DRAIN_BUDGET;
        let mut taken = 0;
        while Instant::now() < budget && input.is_empty() {
            let Ok(feed) = self.session.feed().try_recv() else {
                break;
            };
            if self.take(feed_msg(feed), term)? {
                return Ok(None);
            }
            taken += 1;
        }
        Ok(Some(taken))
    }

    /// The next input or message from any source, waiting at most `wait`.
    fn next(&self, input: &flume::Receiver<Input>, wait: Duration) -> Option<Woke> {
        flume::Selector::new()
            .recv(input, |i| i.ok().map(Woke::Input))
            .recv(self.session.signals(), |s| {
                s.ok().map(|_| Woke::Msg(Msg::Quit))
            })
            .recv(self.session.feed(), |f| {
                f.ok().map(|f| Woke::Msg(feed_msg(f)))
            })
            .wait_timeout(wait)
            .ok()
            .flatten()
    }

    /// The message for what the terminal side sent; a suspend or a continue is carried out
    /// here, and answers with the terminal's size so the whole screen is drawn at once.
    fn input_msg(&self, input: &Input, term: &mut Term) -> std::io::Result<Option<Msg>> {
        Ok(match input {
            Input::Event(Event::Key(k)) => Some(Msg::Key(*k)),
            Input::Event(Event::Mouse(m)) => ui::pointer(&self.app, m).map(Msg::Pointer),
            Input::Event(Event::Resize(w, h)) => Some(Msg::Resize(*w, *h)),
            Input::Event(_) => None,
            Input::Suspend => {
                let (w, h) = term.suspend()?;
                Some(Msg::Resize(w, h))
            }
            Input::Continued => {
                let (w, h) = term.resume()?;
                Some(Msg::Resize(w, h))
            }
            Input::Quit => Some(Msg::Quit),
        })
    }

    /// Handles one message, then notices a resize the input thread did not report.
    fn take(&mut self, msg: Msg, term: &mut terminal::Term) -> std::io::Result<bool> {
        panic_for_tests(&msg);
        if matches!(msg, Msg::Driver(None)) {
            self.session.driver_gone();
        }
        if self.handle(msg)? {
            return Ok(true);
        }
        if let Some((w, h)) = term.resized() {
            return self.handle(Msg::Resize(w, h));
        }
        Ok(false)
    }
}

fn feed_msg(feed: Feed) -> Msg {
    match feed {
        Feed::Driver(event) => Msg::Driver(event),
        Feed::Sample(sample) => Msg::Sample(sample),
    }
}

/// `POOLTOP_TEST_PANIC=KEY` makes that key panic, so tests can check that a panic
/// still restores the terminal and ends every worker.
fn panic_for_tests(msg: &Msg) {
    if let Msg::Key(k) = msg
        && let crossterm::event::KeyCode::Char(c) = k.code
        && std::env::var("POOLTOP_TEST_PANIC").is_ok_and(|v| v.starts_with(c))
    {
        panic!("test panic on key {c:?}");
    }
}
