//! The dashboard's runtime: owns the terminal and the driver, runs the input, sampler,
//! driver-link and signal threads, and one loop that feeds `update` and draws `view`.

mod capture;
mod terminal;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::app::{self, App, Effect, Msg, Phase};
use crate::engine::client::DriverLink;
use crate::monitor;
use crate::scenario::Scenario;

pub use capture::{After, Capture};

/// Draws no more often than this, however fast events arrive.
const FRAME: Duration = Duration::from_millis(33);
/// The elapsed clock on screen moves this often while the scenario runs.
const TICK: Duration = Duration::from_millis(250);
/// Most time spent taking in engine events before the screen is drawn again.
const DRAIN_BUDGET: Duration = Duration::from_millis(15);

pub struct Options {
    pub refresh: Duration,
    pub capture: Option<Capture>,
}

pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn run(scenario: Scenario, opts: Options) -> ExitCode {
    if let Some(cap) = opts.capture {
        return capture::run(scenario, cap, opts.refresh);
    }
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "pooltop: standard output is not a terminal; for plain output use `pooltop run {}`",
            scenario.name
        );
        return ExitCode::from(2);
    }
    let mut term = match terminal::Term::enter() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("pooltop: cannot set up the terminal: {e}");
            return ExitCode::from(1);
        }
    };
    let result = Runtime::start(scenario, opts.refresh, term.size()).and_then(|mut rt| {
        let r = rt.run(&mut term);
        rt.shutdown();
        r
    });
    drop(term);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pooltop: {e}");
            ExitCode::from(1)
        }
    }
}

fn wrap_event(e: Option<crate::engine::protocol::Event>) -> Msg {
    Msg::Driver(e)
}

fn wrap_sample(s: monitor::Sample) -> Msg {
    Msg::Sample(s)
}

/// Starts the sampler, the driver and the signal thread for one dashboard.
pub(crate) struct Engine {
    pub link: DriverLink,
    pub born: Instant,
    pub watch: monitor::Watch,
    pub data_tx: flume::Sender<Msg>,
    pub data_rx: flume::Receiver<Msg>,
}

impl Engine {
    pub fn start(refresh: Duration) -> std::io::Result<Engine> {
        let (data_tx, data_rx) = flume::unbounded();
        let watch: monitor::Watch = Arc::new(Mutex::new(Vec::new()));
        monitor::spawn(refresh, watch.clone(), data_tx.clone(), wrap_sample)?;
        let link = DriverLink::spawn(data_tx.clone(), wrap_event)?;
        Ok(Engine {
            link,
            born: Instant::now(),
            watch,
            data_tx,
            data_rx,
        })
    }

    /// A new driver on the same channels, after the old one was shut down.
    pub fn respawn(&mut self) -> std::io::Result<()> {
        self.link.shutdown(Duration::from_secs(2));
        // Events of the old driver still queued belong to the old run; its reader says
        // goodbye with `Driver(None)` once the driver has exited.
        let deadline = Instant::now() + Duration::from_secs(1);
        while let Ok(msg) = self.data_rx.recv_deadline(deadline) {
            if matches!(msg, Msg::Driver(None)) {
                break;
            }
        }
        self.link = DriverLink::spawn(self.data_tx.clone(), wrap_event)?;
        self.born = Instant::now();
        Ok(())
    }

    pub fn now(&self) -> f64 {
        self.born.elapsed().as_secs_f64()
    }

    /// Tells the sampler which processes to watch: those not yet ended.
    pub fn watch(&self, app: &App) {
        let pids: Vec<i32> = app
            .procs
            .iter()
            .filter(|p| !p.state.ended())
            .map(|p| p.pid)
            .collect();
        if let Ok(mut w) = self.watch.lock()
            && *w != pids
        {
            *w = pids;
        }
    }
}

struct Runtime {
    app: App,
    engine: Engine,
    input_rx: flume::Receiver<Msg>,
}

impl Runtime {
    fn start(scenario: Scenario, refresh: Duration, size: (u16, u16)) -> std::io::Result<Runtime> {
        let (input_tx, input_rx) = flume::unbounded();
        terminal::spawn_input(input_tx.clone())?;
        spawn_signals(input_tx)?;
        let engine = Engine::start(refresh)?;
        let mut app = App::new(&scenario, use_color());
        app.size = size;
        Ok(Runtime {
            app,
            engine,
            input_rx,
        })
    }

    fn run(&mut self, term: &mut terminal::Term) -> std::io::Result<()> {
        term.draw(&self.app)?;
        let mut last_draw = Instant::now();
        let mut dirty = false;
        loop {
            let ticking = matches!(self.app.phase, Phase::Running | Phase::Paused);
            // Paused, only the clock moves: once a second is enough.
            let tick = if self.app.phase == Phase::Paused {
                TICK * 4
            } else {
                TICK
            };
            let wait = if dirty {
                FRAME.saturating_sub(last_draw.elapsed())
            } else if ticking {
                tick
            } else {
                Duration::from_hours(1)
            };
            let first = flume::Selector::new()
                .recv(&self.input_rx, std::result::Result::ok)
                .recv(&self.engine.data_rx, std::result::Result::ok)
                .wait_timeout(wait)
                .ok()
                .flatten();
            let mut urgent = false;
            if let Some(msg) = first {
                urgent |= matches!(msg, Msg::Key(_) | Msg::Mouse(_) | Msg::Resize(..));
                if self.handle(msg, term)? {
                    return Ok(());
                }
                dirty = true;
            }
            // Keys first, always; then engine events up to a time budget.
            while let Ok(msg) = self.input_rx.try_recv() {
                urgent = true;
                if self.handle(msg, term)? {
                    return Ok(());
                }
                dirty = true;
            }
            let budget = Instant::now() + DRAIN_BUDGET;
            // A key waiting cuts the drain short: it is handled and drawn first.
            while Instant::now() < budget && self.input_rx.is_empty() {
                let Ok(msg) = self.engine.data_rx.try_recv() else {
                    break;
                };
                if self.handle(msg, term)? {
                    return Ok(());
                }
                dirty = true;
            }
            if ticking {
                let now = self.engine.now();
                app::update(&mut self.app, Msg::Tick(now));
                dirty = true;
            }
            if dirty && (urgent || last_draw.elapsed() >= FRAME) {
                self.engine.watch(&self.app);
                term.draw(&self.app)?;
                last_draw = Instant::now();
                dirty = false;
            }
        }
    }

    /// Feeds one message to `update` and carries out its effects; true means quit.
    fn handle(&mut self, msg: Msg, term: &mut terminal::Term) -> std::io::Result<bool> {
        panic_for_tests(&msg);
        for effect in app::update(&mut self.app, msg) {
            match effect {
                Effect::Send(cmd) => {
                    // A failed send means the driver is gone; its reader reports that.
                    let _ = self.engine.link.send(&cmd);
                }
                Effect::Restart => {
                    self.app.quitting = true;
                    self.engine.respawn()?;
                    self.app = self.app.restarted();
                }
                Effect::LoadLesson(name) => {
                    let source = crate::scenario::Source::lesson(&name);
                    match source.and_then(|s| {
                        crate::scenario::load(&s, &crate::scenario::Overrides::default())
                    }) {
                        Ok(scenario) => {
                            self.app.quitting = true;
                            self.engine.respawn()?;
                            let size = self.app.size;
                            self.app = App::new(&scenario, use_color());
                            self.app.size = size;
                        }
                        Err(e) => self.app.status = Some(e),
                    }
                }
                Effect::Screenshot => {
                    let path = PathBuf::from(format!(
                        "pooltop-{}-{}.svg",
                        self.app.scenario,
                        std::process::id()
                    ));
                    let svg = capture::render_svg(&self.app);
                    self.app.status = Some(match std::fs::write(&path, svg) {
                        Ok(()) => format!("saved {}", path.display()),
                        Err(e) => format!("cannot save {}: {e}", path.display()),
                    });
                }
                Effect::Quit => return Ok(true),
            }
        }
        if let Some((w, h)) = term.resized() {
            self.app.size = (w, h);
        }
        Ok(false)
    }

    fn shutdown(&mut self) {
        self.app.quitting = true;
        self.engine.link.shutdown(Duration::from_secs(2));
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

fn spawn_signals(tx: flume::Sender<Msg>) -> std::io::Result<()> {
    let mut signals =
        signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM, libc::SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if tx.send(Msg::Quit).is_err() {
                    return;
                }
            }
        })?;
    Ok(())
}
