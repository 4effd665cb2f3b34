//! The key table: every key, the action it triggers, its help line and when the footer
//! offers it. `update` dispatches from it; the footer and the help are drawn from it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::engine::protocol::{PoolStateName, Role};

use super::App;
use super::world::Phase;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    PauseRun,
    Step,
    Restart,
    Terminate,
    Kill,
    PauseProcess,
    SignalMenu,
    Join,
    Close,
    MoreWorkers,
    FewerWorkers,
    ClearExited,
    NextView,
    Lessons,
    SelectUp,
    SelectDown,
    SwitchPane,
    PreviousPane,
    Zoom,
    OutputMode,
    PageUp,
    PageDown,
    Newest,
    Screenshot,
    Help,
    Quit,
}

/// A key as typed: a plain key, or a letter with Ctrl.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chord {
    Key(KeyCode),
    Ctrl(char),
}

impl Chord {
    fn matches(self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match self {
            Chord::Key(code) => !ctrl && key.code == code,
            Chord::Ctrl(c) => ctrl && key.code == KeyCode::Char(c),
        }
    }
}

/// One row of the help: the keys it covers, what each does, and the footer's word for it.
pub struct Binding {
    /// How the keys are written on screen.
    pub label: &'static str,
    pub keys: &'static [(Chord, Action)],
    pub help: &'static str,
    /// The footer's short word for it while it applies; `None` leaves it out.
    pub hint: fn(&App) -> Option<&'static str>,
}

const fn key(c: char, action: Action) -> (Chord, Action) {
    (Chord::Key(KeyCode::Char(c)), action)
}

/// In footer order: what the run needs now, then the selection, the pool, the screen.
pub const BINDINGS: &[Binding] = &[
    Binding {
        label: "s",
        keys: &[key('s', Action::Start)],
        help: "start the scenario (or continue it); on a created Process, its start()",
        hint: start_hint,
    },
    Binding {
        label: "space",
        keys: &[key(' ', Action::PauseRun)],
        help: "pause / continue the scenario (a watched command: SIGSTOP / SIGCONT its tree)",
        hint: pause_hint,
    },
    Binding {
        label: "n",
        keys: &[key('n', Action::Step)],
        help: "run the next line only (step)",
        hint: step_hint,
    },
    Binding {
        label: "r",
        keys: &[key('r', Action::Restart)],
        help: "run the scenario (or the watched command) again from the start",
        hint: restart_hint,
    },
    Binding {
        label: "t",
        keys: &[key('t', Action::Terminate)],
        help: "terminate: SIGTERM the selected process; on 'all workers', pool.terminate()",
        hint: |app| live_target(app).then_some("term"),
    },
    Binding {
        label: "k",
        keys: &[key('k', Action::Kill)],
        help: "kill: SIGKILL the selected process (or every worker)",
        hint: |app| live_target(app).then_some("kill"),
    },
    Binding {
        label: "p",
        keys: &[key('p', Action::PauseProcess)],
        help: "pause / resume the selected process (SIGSTOP / SIGCONT)",
        hint: |app| live_target(app).then_some("pause/resume"),
    },
    Binding {
        label: "x",
        keys: &[
            key('x', Action::SignalMenu),
            (Chord::Key(KeyCode::F(9)), Action::SignalMenu),
        ],
        help: "pick any signal for the selection (also F9)",
        hint: |app| live_target(app).then_some("signal…"),
    },
    Binding {
        label: "j",
        keys: &[key('j', Action::Join)],
        help: "join: process.join() on a Process, else pool.join()",
        hint: join_hint,
    },
    Binding {
        label: "c",
        keys: &[key('c', Action::Close)],
        help: "pool.close(): no new tasks; workers exit when the queue is empty",
        hint: |app| (pool_running(app) && !watching(app)).then_some("close"),
    },
    Binding {
        label: "+/-",
        keys: &[
            key('+', Action::MoreWorkers),
            key('=', Action::MoreWorkers),
            key('-', Action::FewerWorkers),
            key('_', Action::FewerWorkers),
        ],
        help: "one worker more / fewer (before start: the pool size to use)",
        hint: |app| {
            let sizable = app.world.run.phase == Phase::Ready || pool_running(app);
            (sizable && !watching(app)).then_some("workers")
        },
    },
    Binding {
        label: "C",
        keys: &[key('C', Action::ClearExited)],
        help: "clear the rows of processes that have exited",
        hint: |app| {
            let any = app.world.procs.iter().any(|p| p.state.ended());
            any.then_some("clear exited")
        },
    },
    Binding {
        label: "v",
        keys: &[key('v', Action::NextView)],
        help: "view: output / tasks / timeline / measured times / start methods",
        hint: |_| Some("view"),
    },
    Binding {
        label: "L",
        keys: &[key('L', Action::Lessons)],
        help: "pick a lesson: the assignment's questions step by step",
        hint: |app| (!watching(app)).then_some("lessons"),
    },
    Binding {
        label: "↑↓",
        keys: &[
            (Chord::Key(KeyCode::Up), Action::SelectUp),
            (Chord::Key(KeyCode::Down), Action::SelectDown),
        ],
        help: "select a process (the first row is every worker of the pool)",
        hint: |_| Some("select"),
    },
    Binding {
        label: "tab",
        keys: &[
            (Chord::Key(KeyCode::Tab), Action::SwitchPane),
            (Chord::Key(KeyCode::BackTab), Action::PreviousPane),
        ],
        help: "focus the next pane (shift-tab back, or click one); ↑↓ scroll the output",
        hint: |_| Some("pane"),
    },
    Binding {
        label: "z",
        keys: &[key('z', Action::Zoom)],
        help: "zoom the focused pane to the whole screen, and back (for a projector)",
        hint: |app| Some(if app.ui.zoomed { "unzoom" } else { "zoom" }),
    },
    Binding {
        label: "o",
        keys: &[key('o', Action::OutputMode)],
        help: "output: interleaved + per process / interleaved / per process",
        hint: |_| Some("output"),
    },
    Binding {
        label: "PgUp PgDn End",
        keys: &[
            (Chord::Key(KeyCode::PageUp), Action::PageUp),
            (Chord::Key(KeyCode::PageDown), Action::PageDown),
            (Chord::Key(KeyCode::End), Action::Newest),
        ],
        help: "scroll the output; End jumps to the newest",
        hint: |_| None,
    },
    Binding {
        label: "e",
        keys: &[key('e', Action::Screenshot)],
        help: "save this screen as an SVG file",
        hint: |_| None,
    },
    Binding {
        label: "?",
        keys: &[
            key('?', Action::Help),
            (Chord::Key(KeyCode::F(1)), Action::Help),
        ],
        help: "this help (also F1)",
        hint: |_| Some("help"),
    },
    Binding {
        label: "q",
        keys: &[key('q', Action::Quit), (Chord::Ctrl('c'), Action::Quit)],
        help: "quit (also Ctrl-C): every worker is ended, the terminal restored",
        hint: |_| Some("quit"),
    },
];

/// The action a key press stands for, if any.
pub fn action(key: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .flat_map(|b| b.keys.iter())
        .find(|(chord, _)| chord.matches(key))
        .map(|(_, action)| *action)
}

/// The keys that do something right now, with the footer's word for each.
pub fn footer(app: &App) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter_map(|b| (b.hint)(app).map(|word| (b.label, word)))
        .collect()
}

fn start_hint(app: &App) -> Option<&'static str> {
    match app.world.run.phase {
        Phase::Ready => Some("start"),
        Phase::Paused => Some("continue"),
        _ => None,
    }
}

fn pause_hint(app: &App) -> Option<&'static str> {
    let word = if watching(app) { "stop all" } else { "pause" };
    (app.world.run.phase == Phase::Running).then_some(word)
}

/// Whether a real command is watched (keys that drive a scenario's pool are not offered).
fn watching(app: &App) -> bool {
    app.world.scenario.watch.is_some()
}

fn step_hint(app: &App) -> Option<&'static str> {
    if watching(app) {
        return None;
    }
    let steppable = matches!(
        app.world.run.phase,
        Phase::Ready | Phase::Running | Phase::Paused
    );
    steppable.then_some("step")
}

fn restart_hint(app: &App) -> Option<&'static str> {
    let over = matches!(app.world.run.phase, Phase::Finished | Phase::DriverGone);
    over.then_some("run again")
}

fn join_hint(app: &App) -> Option<&'static str> {
    if watching(app) {
        return None;
    }
    let process = app.selected_proc().is_some_and(|p| p.role == Role::Process);
    (process || !app.world.pools.is_empty()).then_some("join")
}

/// Something a signal key can reach: the selected process, or live pool workers.
fn live_target(app: &App) -> bool {
    !app.targets().is_empty()
}

fn pool_running(app: &App) -> bool {
    app.world
        .newest_pool()
        .is_some_and(|p| p.state == PoolStateName::Run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        let chords: Vec<Chord> = BINDINGS
            .iter()
            .flat_map(|b| b.keys.iter().map(|(c, _)| *c))
            .collect();
        for (i, c) in chords.iter().enumerate() {
            assert!(!chords[i + 1..].contains(c), "{c:?} is bound twice");
        }
    }

    #[test]
    fn ctrl_c_quits_but_a_plain_c_closes() {
        let plain = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        let ctrl = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(&plain), Some(Action::Close));
        assert_eq!(action(&ctrl), Some(Action::Quit));
        let shifted = KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT);
        assert_eq!(action(&shifted), Some(Action::ClearExited));
    }
}
