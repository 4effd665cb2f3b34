//! `update`: the one place the dashboard's state changes. It takes a message (a key, an
//! engine event, a sample, an effect's answer) and returns effects for the runtime.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::engine::protocol::{Command, Event, EventKind, Interactive, PoolStateName, Role};
use crate::engine::sys;

use super::App;
use super::keys::{self, Action};
use super::msg::{Effect, Msg, Pointer};
use super::ui_state::{Focus, Overlay, SIGNALS, Selection, View};
use super::world::{Phase, ProcState, World};

/// Most workers one pool may have, as on the command line.
const MAX_WORKERS: usize = 512;

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => return on_key(app, &key),
        Msg::Pointer(pointer) => on_pointer(app, pointer),
        Msg::Resize(w, h) => app.ui.size = (w, h),
        Msg::Tick(now) => app.world.tick(now),
        Msg::Driver(Some(event)) => on_event(app, event),
        Msg::Driver(None) if !app.ui.leaving => app.world.driver_gone(),
        Msg::Sample(sample) => app.world.apply_sample(sample),
        Msg::Quit => return quit(app),
        Msg::Restarted => {
            app.world = app.world.restarted();
            app.ui.restarted();
            if app.world.scenario.watch.is_some() {
                return start(app);
            }
        }
        Msg::Begin if app.world.scenario.watch.is_some() => return start(app),
        Msg::MainProcess { pid, ppid } => app.world.main_process(pid, ppid),
        Msg::Begin | Msg::Driver(None) => {}
        Msg::Loaded(Ok(scenario)) => {
            app.world = World::new(*scenario);
            app.ui.loaded();
        }
        Msg::Loaded(Err(why)) | Msg::Saved(Err(why)) => {
            app.ui.leaving = false;
            app.ui.status = Some(why);
        }
        Msg::Saved(Ok(path)) => app.ui.status = Some(format!("saved {path}")),
    }
    vec![]
}

fn on_event(app: &mut App, event: Event) {
    let first_pool =
        matches!(event.kind, EventKind::PoolState { .. }) && app.world.pools.is_empty();
    app.world.apply(event);
    app.ui.forget_missing_rows(&app.world);
    // The first pool's workers are what a class watches: select them all.
    if first_pool {
        app.ui.selection = Selection::AllWorkers;
    }
}

fn quit(app: &mut App) -> Vec<Effect> {
    app.ui.leaving = true;
    vec![Effect::Quit]
}

/// The driver is about to be replaced: its goodbye is not news.
fn replace_driver(app: &mut App, effect: Effect) -> Vec<Effect> {
    app.ui.leaving = true;
    vec![effect]
}

fn status(app: &mut App, text: impl Into<String>) -> Vec<Effect> {
    app.ui.status = Some(text.into());
    vec![]
}

// ---- keys -------------------------------------------------------------------------

fn on_key(app: &mut App, key: &KeyEvent) -> Vec<Effect> {
    if key.kind == KeyEventKind::Release {
        return vec![];
    }
    let action = keys::action(key);
    // Ctrl-C quits from anywhere, an open menu included.
    if action == Some(Action::Quit) && key.modifiers.contains(KeyModifiers::CONTROL) {
        return quit(app);
    }
    app.ui.status = None;
    match app.ui.overlay {
        Overlay::Help => {
            app.ui.overlay = Overlay::None;
            return if action == Some(Action::Quit) {
                quit(app)
            } else {
                vec![]
            };
        }
        Overlay::Signals(i) => return on_signal_menu(app, i, key.code),
        Overlay::Lessons(i) => return on_lesson_menu(app, i, key.code),
        Overlay::None => {}
    }
    match action {
        Some(action) => act(app, action),
        None => vec![],
    }
}

fn act(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Start => start(app),
        Action::PauseRun => pause_or_continue(app),
        Action::Step => step(app),
        Action::Restart => replace_driver(app, Effect::Restart),
        Action::Terminate => terminate(app),
        Action::Kill => send_signal(app, libc::SIGKILL),
        Action::PauseProcess => pause_process(app),
        Action::Join => join(app),
        Action::Close => close_pool(app),
        Action::MoreWorkers => resize(app, 1),
        Action::FewerWorkers => resize(app, -1),
        Action::Screenshot => vec![Effect::Screenshot],
        Action::Quit => quit(app),
        _ => {
            arrange(app, action);
            vec![]
        }
    }
}

/// Keys that only change what is on screen.
fn arrange(app: &mut App, action: Action) {
    let code = app.shows_code();
    let ui = &mut app.ui;
    match action {
        Action::SignalMenu => ui.overlay = Overlay::Signals(0),
        Action::Lessons => ui.overlay = Overlay::Lessons(0),
        Action::Help => ui.overlay = Overlay::Help,
        Action::OutputMode => ui.output_mode = ui.output_mode.next(),
        Action::NextView => ui.view = next_view(ui.view, code),
        Action::ClearExited => clear_exited(app),
        Action::SwitchPane => ui.focus = ui.focus.step(1),
        Action::PreviousPane => ui.focus = ui.focus.step(-1),
        Action::Zoom => ui.zoomed = !ui.zoomed,
        Action::SelectUp => move_cursor(app, -1),
        Action::SelectDown => move_cursor(app, 1),
        Action::PageUp => ui.output_scroll = ui.output_scroll.saturating_add(10),
        Action::PageDown => ui.output_scroll = ui.output_scroll.saturating_sub(10),
        Action::Newest => ui.output_scroll = 0,
        _ => {}
    }
}

/// Without a lesson the task pane is always on screen: the cycle skips it.
fn next_view(view: View, lesson: bool) -> View {
    let views: Vec<View> = View::ALL
        .into_iter()
        .filter(|v| lesson || *v != View::Tasks)
        .collect();
    let at = views.iter().position(|v| *v == view).unwrap_or(0);
    views[(at + 1) % views.len()]
}

fn load_command(app: &App) -> Effect {
    Effect::Send(Command::Load {
        program: app.world.scenario.program.clone(),
        detail: crate::engine::protocol::Detail::SCREEN,
    })
}

/// A watched command runs by itself: `s` starts it (it starts at once), `space` stops and
/// continues its whole tree, `r` runs it again.
fn start_watched(app: &mut App, spec: crate::engine::protocol::WatchSpec) -> Vec<Effect> {
    let run = &mut app.world.run;
    match run.phase {
        Phase::Ready => {
            run.phase = Phase::Running;
            vec![Effect::Send(Command::Watch(spec))]
        }
        Phase::Paused => {
            run.phase = Phase::Running;
            vec![Effect::Send(Command::Continue)]
        }
        Phase::Running => status(app, "already running (space stops the whole tree)"),
        Phase::Finished => status(app, "the command has exited: r runs it again"),
        Phase::DriverGone => replace_driver(app, Effect::Restart),
    }
}

/// Keys that drive a scenario's own pool have no hold on a real program's.
fn not_watched(app: &mut App) -> Option<Vec<Effect>> {
    app.world.scenario.watch.as_ref()?;
    Some(status(
        app,
        "a watched program runs its own code: t k p x signal its processes, space stops all",
    ))
}

fn start(app: &mut App) -> Vec<Effect> {
    if let Some(spec) = app.world.scenario.watch.clone() {
        return start_watched(app, spec);
    }
    // A Process object selected that has not started: `s` is its `start()`.
    if let Some(p) = app
        .selected_proc()
        .filter(|p| p.state == ProcState::Created)
    {
        let name = p.name.clone();
        return vec![Effect::Send(Command::Interact(Interactive::StartProcess {
            name,
        }))];
    }
    let run = &mut app.world.run;
    match run.phase {
        Phase::Ready => {
            run.phase = Phase::Running;
            vec![load_command(app), Effect::Send(Command::Continue)]
        }
        Phase::Paused => {
            run.phase = Phase::Running;
            vec![Effect::Send(Command::Continue)]
        }
        Phase::Running => status(app, "already running (space pauses)"),
        Phase::Finished => status(app, "the scenario has finished: r runs it again"),
        Phase::DriverGone => replace_driver(app, Effect::Restart),
    }
}

fn step(app: &mut App) -> Vec<Effect> {
    if let Some(done) = not_watched(app) {
        return done;
    }
    let run = &mut app.world.run;
    match run.phase {
        Phase::Ready => {
            run.phase = Phase::Paused;
            vec![load_command(app), Effect::Send(Command::Step)]
        }
        Phase::Paused => vec![Effect::Send(Command::Step)],
        Phase::Running => {
            run.phase = Phase::Paused;
            vec![Effect::Send(Command::Pause)]
        }
        Phase::Finished | Phase::DriverGone => status(app, "nothing left to step: r runs it again"),
    }
}

fn pause_or_continue(app: &mut App) -> Vec<Effect> {
    if app.world.run.phase == Phase::Running {
        app.world.run.phase = Phase::Paused;
        return vec![Effect::Send(Command::Pause)];
    }
    start(app)
}

fn no_target(app: &mut App) -> Vec<Effect> {
    let why = match app.selected_proc() {
        None => "no live pool workers",
        Some(p) if p.role == Role::Main => {
            "that is the main process: select a worker or Process (Up/Down)"
        }
        Some(p) if p.pid.is_none() => "not started yet: s starts it",
        Some(_) => "that process has exited",
    };
    status(app, why)
}

fn send_signal(app: &mut App, signal: i32) -> Vec<Effect> {
    let targets = app.targets();
    if targets.is_empty() {
        return no_target(app);
    }
    let names: Vec<&str> = targets.iter().map(|(_, n)| n.as_str()).collect();
    app.ui.status = Some(format!(
        "{} sent to {}",
        sys::signal_name(signal),
        names.join(", ")
    ));
    targets
        .iter()
        .map(|(pid, _)| Effect::Send(Command::Signal { pid: *pid, signal }))
        .collect()
}

/// `t` with every worker selected is the pool's own `terminate()`.
fn terminate(app: &mut App) -> Vec<Effect> {
    let pool_alive = app
        .world
        .newest_pool()
        .is_some_and(|p| p.state != PoolStateName::Terminate);
    if app.ui.selection == Selection::AllWorkers
        && pool_alive
        && app.world.scenario.watch.is_none()
        && let Some(pool) = app.world.pool_index()
    {
        return vec![Effect::Send(Command::Interact(
            Interactive::TerminatePool { pool },
        ))];
    }
    send_signal(app, libc::SIGTERM)
}

fn pause_process(app: &mut App) -> Vec<Effect> {
    let Some((first, _)) = app.targets().into_iter().next() else {
        return no_target(app);
    };
    let stopped = app
        .world
        .proc(first)
        .is_some_and(|p| p.state == ProcState::Stopped);
    send_signal(
        app,
        if stopped {
            libc::SIGCONT
        } else {
            libc::SIGSTOP
        },
    )
}

fn join(app: &mut App) -> Vec<Effect> {
    if let Some(done) = not_watched(app) {
        return done;
    }
    let selected = app.selected_proc().map(|p| (p.role, p.state, p.pid));
    match selected {
        Some((_, ProcState::Created, _)) => {
            status(app, "AssertionError: can only join a started process")
        }
        Some((Role::Process, _, Some(pid))) => {
            vec![Effect::Send(Command::Interact(Interactive::JoinProcess {
                pid,
            }))]
        }
        Some((Role::Main, _, _)) => status(app, "a process cannot join itself"),
        _ => match app.world.pool_index() {
            Some(pool) => vec![Effect::Send(Command::Interact(Interactive::JoinPool {
                pool,
            }))],
            None => status(app, "select a Process to join (no pool yet)"),
        },
    }
}

fn close_pool(app: &mut App) -> Vec<Effect> {
    if let Some(done) = not_watched(app) {
        return done;
    }
    match app.world.pool_index() {
        Some(pool) => vec![Effect::Send(Command::Interact(Interactive::ClosePool {
            pool,
        }))],
        None => status(app, "no pool to close yet"),
    }
}

fn resize(app: &mut App, delta: i64) -> Vec<Effect> {
    if let Some(done) = not_watched(app) {
        return done;
    }
    let clamp = |n: usize| (n as i64 + delta).clamp(1, MAX_WORKERS as i64) as usize;
    let running = app
        .world
        .pool_index()
        .filter(|i| app.world.pools[*i].state == PoolStateName::Run);
    if let Some(pool) = running {
        let processes = clamp(app.world.pools[pool].processes);
        app.world.expect_pool_size(pool, processes);
        let name = &app.world.pools[pool].name;
        app.ui.status = Some(format!("{name}: {processes} workers"));
        return vec![Effect::Send(Command::Interact(Interactive::Resize {
            pool,
            processes,
        }))];
    }
    if app.world.run.phase == Phase::Ready {
        let processes = clamp(app.world.planned_workers());
        app.world.scenario.program.settings.workers = Some(processes);
        return status(app, format!("pools will start {processes} workers"));
    }
    status(app, "no running pool to resize")
}

fn on_signal_menu(app: &mut App, cursor: usize, code: KeyCode) -> Vec<Effect> {
    let chosen = match code {
        KeyCode::Up => {
            app.ui.overlay = Overlay::Signals(cursor.saturating_sub(1));
            return vec![];
        }
        KeyCode::Down => {
            app.ui.overlay = Overlay::Signals((cursor + 1).min(SIGNALS.len() - 1));
            return vec![];
        }
        KeyCode::Enter => Some(cursor),
        // A number picks its entry; one with no entry leaves the menu open.
        KeyCode::Char(c) if c.is_ascii_digit() => {
            let entry = c.to_digit(10).and_then(|d| (d as usize).checked_sub(1));
            match entry.filter(|i| *i < SIGNALS.len()) {
                Some(i) => Some(i),
                None => return vec![],
            }
        }
        _ => None,
    };
    app.ui.overlay = Overlay::None;
    match chosen {
        Some(i) => send_signal(app, SIGNALS[i].0),
        None => vec![],
    }
}

fn on_lesson_menu(app: &mut App, cursor: usize, code: KeyCode) -> Vec<Effect> {
    let lessons = crate::scenario::lessons();
    match code {
        KeyCode::Up => app.ui.overlay = Overlay::Lessons(cursor.saturating_sub(1)),
        KeyCode::Down => {
            let last = lessons.len().saturating_sub(1);
            app.ui.overlay = Overlay::Lessons((cursor + 1).min(last));
        }
        KeyCode::Enter => {
            app.ui.overlay = Overlay::None;
            if let Some((name, _, _)) = lessons.into_iter().nth(cursor) {
                return replace_driver(app, Effect::LoadLesson(name));
            }
        }
        _ => app.ui.overlay = Overlay::None,
    }
    vec![]
}

/// Drops the rows of processes that have ended (they stay, greyed, until then).
fn clear_exited(app: &mut App) {
    let cleared = app.world.clear_ended();
    app.ui.status = Some(format!("cleared {cleared} exited processes"));
    app.ui.forget_missing_rows(&app.world);
}

fn move_cursor(app: &mut App, delta: i64) {
    if app.ui.focus == Focus::Output {
        scroll(app, -delta);
        return;
    }
    let items = app.selectables();
    if items.is_empty() {
        return;
    }
    let at = items
        .iter()
        .position(|s| *s == app.ui.selection)
        .unwrap_or(0) as i64;
    let next = (at + delta).clamp(0, items.len() as i64 - 1) as usize;
    app.ui.selection = items[next];
}

/// Scrolls the output by `lines`: up (into older output) when positive.
fn scroll(app: &mut App, lines: i64) {
    let by = lines.unsigned_abs() as usize;
    let ui = &mut app.ui;
    ui.output_scroll = if lines > 0 {
        ui.output_scroll.saturating_add(by)
    } else {
        ui.output_scroll.saturating_sub(by)
    };
}

// ---- mouse ------------------------------------------------------------------------

fn on_pointer(app: &mut App, pointer: Pointer) {
    match pointer {
        Pointer::Click { focus, select } => {
            app.ui.focus = focus;
            if let Some(selection) = select {
                app.ui.selection = selection;
            }
        }
        Pointer::Scroll(lines) => scroll(app, i64::from(lines)),
    }
}
