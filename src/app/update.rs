//! `update`: the one place the dashboard's state changes. It takes a message (a key, an
//! engine event, a sample, a tick) and returns effects for the runtime to carry out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use crate::engine::program::Op;
use crate::engine::protocol::{
    Command, Event, EventKind, Interactive, PoolStateName, Role, Stream,
};
use crate::engine::sys;
use crate::monitor::{KernelState, Sample};

use super::model::{
    App, CPU_HISTORY, CallInfo, Chunk, Focus, LogKind, LogLine, MAX_LOG, MAX_OUTPUT_BYTES,
    MAX_PROC_LINES, MAX_SPANS, OutputMode, Overlay, Phase, PoolInfo, ProcRow, ProcState, SIGNALS,
    Selection, TaskInfo, TaskSpan, View,
};

pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Seconds on the driver's clock.
    Tick(f64),
    /// An engine event; `None` once the driver has gone.
    Driver(Option<Event>),
    Sample(Sample),
    /// SIGINT, SIGTERM or SIGHUP reached pooltop.
    Quit,
}

#[derive(Debug)]
pub enum Effect {
    Send(Command),
    /// Start a fresh driver for the same program.
    Restart,
    /// Save the current frame as an SVG file.
    Screenshot,
    /// Open this built-in lesson on a fresh driver.
    LoadLesson(String),
    Quit,
}

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Mouse(m) => {
            on_mouse(app, m);
            vec![]
        }
        Msg::Resize(w, h) => {
            app.size = (w, h);
            vec![]
        }
        Msg::Tick(now) => {
            app.now = app.now.max(now);
            vec![]
        }
        Msg::Driver(Some(event)) => {
            on_event(app, event);
            vec![]
        }
        Msg::Driver(None) => {
            if !app.quitting {
                app.phase = Phase::DriverGone;
                for p in app.procs.iter_mut().filter(|p| !p.state.ended()) {
                    p.state = ProcState::Killed;
                }
                log(
                    app,
                    LogKind::Error,
                    "the main process (driver) went away; r restarts".into(),
                );
            }
            vec![]
        }
        Msg::Sample(sample) => {
            on_sample(app, sample);
            vec![]
        }
        Msg::Quit => quit(app),
    }
}

fn quit(app: &mut App) -> Vec<Effect> {
    app.quitting = true;
    vec![Effect::Quit]
}

fn log(app: &mut App, kind: LogKind, text: String) {
    app.log.push_back(LogLine {
        t: app.now,
        kind,
        text,
    });
    while app.log.len() > MAX_LOG {
        app.log.pop_front();
    }
}

// ---- keys -------------------------------------------------------------------------

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if key.kind == crossterm::event::KeyEventKind::Release {
        return vec![];
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return quit(app);
    }
    app.status = None;
    match app.overlay {
        Overlay::Help => {
            app.overlay = Overlay::None;
            if key.code == KeyCode::Char('q') {
                return quit(app);
            }
            return vec![];
        }
        Overlay::Signals(i) => return on_signal_menu(app, i, key.code),
        Overlay::Lessons(i) => return on_lesson_menu(app, i, key.code),
        Overlay::None => {}
    }
    match key.code {
        KeyCode::Char('q') => quit(app),
        KeyCode::Char('?') | KeyCode::F(1) => {
            app.overlay = Overlay::Help;
            vec![]
        }
        KeyCode::Char('s') => start(app),
        KeyCode::Char('n') => step(app),
        KeyCode::Char(' ') => pause_or_continue(app),
        KeyCode::Char('r') => vec![Effect::Restart],
        KeyCode::Char('t') => signal_selection(app, libc::SIGTERM),
        KeyCode::Char('k') => signal_selection(app, libc::SIGKILL),
        KeyCode::Char('p') => pause_selection(app),
        KeyCode::Char('j') => join_selection(app),
        KeyCode::Char('c') => close_pool(app),
        KeyCode::Char('+' | '=') => resize(app, 1),
        KeyCode::Char('-' | '_') => resize(app, -1),
        KeyCode::Char('x') | KeyCode::F(9) => {
            app.overlay = Overlay::Signals(0);
            vec![]
        }
        KeyCode::Char('o') => {
            app.output_mode = match app.output_mode {
                OutputMode::Both => OutputMode::Interleaved,
                OutputMode::Interleaved => OutputMode::PerProcess,
                OutputMode::PerProcess => OutputMode::Both,
            };
            vec![]
        }
        KeyCode::Char('e') => vec![Effect::Screenshot],
        KeyCode::Char('L') => {
            app.overlay = Overlay::Lessons(0);
            vec![]
        }
        KeyCode::Char('v') => {
            // Without a lesson the task pane is always on screen: the cycle skips it.
            let views: Vec<View> = View::ALL
                .into_iter()
                .filter(|v| app.lesson.is_some() || *v != View::Tasks)
                .collect();
            let at = views.iter().position(|v| *v == app.view).unwrap_or(0);
            app.view = views[(at + 1) % views.len()];
            vec![]
        }
        KeyCode::Char('C') => {
            clear_exited(app);
            vec![]
        }
        KeyCode::Tab | KeyCode::BackTab => {
            app.focus = match app.focus {
                Focus::Processes => Focus::Output,
                Focus::Output => Focus::Processes,
            };
            vec![]
        }
        KeyCode::Up => {
            move_cursor(app, -1);
            vec![]
        }
        KeyCode::Down => {
            move_cursor(app, 1);
            vec![]
        }
        KeyCode::PageUp => {
            app.output_scroll = app.output_scroll.saturating_add(10);
            vec![]
        }
        KeyCode::PageDown => {
            app.output_scroll = app.output_scroll.saturating_sub(10);
            vec![]
        }
        KeyCode::End => {
            app.output_scroll = 0;
            vec![]
        }
        KeyCode::Esc => vec![],
        _ => vec![],
    }
}

fn load_command(app: &App) -> Effect {
    Effect::Send(Command::Load {
        program: app.program.clone(),
        task_events: true,
    })
}

fn start(app: &mut App) -> Vec<Effect> {
    // A Process object selected that has not started: `s` is its `start()`.
    if let Some(p) = app
        .selected_proc()
        .filter(|p| p.state == ProcState::Created)
    {
        return vec![Effect::Send(Command::Interact(Interactive::StartProcess {
            name: p.name.clone(),
        }))];
    }
    match app.phase {
        Phase::Ready => {
            app.phase = Phase::Running;
            vec![load_command(app), Effect::Send(Command::Continue)]
        }
        Phase::Paused => {
            app.phase = Phase::Running;
            vec![Effect::Send(Command::Continue)]
        }
        Phase::Running => {
            app.status = Some("already running (space pauses)".into());
            vec![]
        }
        Phase::Finished => {
            app.status = Some("the scenario has finished: r runs it again".into());
            vec![]
        }
        Phase::DriverGone => vec![Effect::Restart],
    }
}

fn step(app: &mut App) -> Vec<Effect> {
    match app.phase {
        Phase::Ready => {
            app.phase = Phase::Paused;
            vec![load_command(app), Effect::Send(Command::Step)]
        }
        Phase::Paused => vec![Effect::Send(Command::Step)],
        Phase::Running => {
            app.phase = Phase::Paused;
            vec![Effect::Send(Command::Pause)]
        }
        Phase::Finished | Phase::DriverGone => {
            app.status = Some("nothing left to step: r runs it again".into());
            vec![]
        }
    }
}

fn pause_or_continue(app: &mut App) -> Vec<Effect> {
    match app.phase {
        Phase::Running => {
            app.phase = Phase::Paused;
            vec![Effect::Send(Command::Pause)]
        }
        _ => start(app),
    }
}

/// The live processes a key acts on: the selected one, or every pool worker.
fn targets(app: &App) -> Vec<(i32, String)> {
    match app.selection {
        Selection::Proc(pid) => app
            .proc(pid)
            .filter(|p| !p.state.ended() && p.role != Role::Main && p.pid > 0)
            .map(|p| vec![(p.pid, p.name.clone())])
            .unwrap_or_default(),
        Selection::AllWorkers => app
            .live_workers()
            .iter()
            .map(|p| (p.pid, p.name.clone()))
            .collect(),
    }
}

fn no_target(app: &mut App) -> Vec<Effect> {
    app.status = Some(match app.selection {
        Selection::AllWorkers => "no live pool workers".into(),
        Selection::Proc(pid) if app.proc(pid).is_some_and(|p| p.role == Role::Main) => {
            "that is the main process: select a worker or Process (Up/Down)".into()
        }
        Selection::Proc(pid) if pid < 0 => "not started yet: s starts it".into(),
        Selection::Proc(_) => "that process has exited".into(),
    });
    vec![]
}

fn send_signal(app: &mut App, signal: i32) -> Vec<Effect> {
    let targets = targets(app);
    if targets.is_empty() {
        return no_target(app);
    }
    let names: Vec<&str> = targets.iter().map(|(_, n)| n.as_str()).collect();
    app.status = Some(format!(
        "{} sent to {}",
        sys::signal_name(signal),
        names.join(", ")
    ));
    targets
        .iter()
        .map(|(pid, _)| Effect::Send(Command::Signal { pid: *pid, signal }))
        .collect()
}

fn signal_selection(app: &mut App, signal: i32) -> Vec<Effect> {
    // t with every worker selected is the pool's own terminate().
    if signal == libc::SIGTERM
        && app.selection == Selection::AllWorkers
        && let Some(pool) = app
            .pool_index()
            .filter(|i| app.pools[*i].state != PoolStateName::Terminate)
    {
        return vec![Effect::Send(Command::Interact(
            Interactive::TerminatePool { pool },
        ))];
    }
    send_signal(app, signal)
}

fn pause_selection(app: &mut App) -> Vec<Effect> {
    let targets = targets(app);
    let Some((first, _)) = targets.first() else {
        return no_target(app);
    };
    let stopped = app
        .proc(*first)
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

fn join_selection(app: &mut App) -> Vec<Effect> {
    match app.selected_proc() {
        Some(p) if p.state == ProcState::Created => {
            app.status = Some("AssertionError: can only join a started process".into());
            vec![]
        }
        Some(p) if p.role == Role::Process => {
            vec![Effect::Send(Command::Interact(Interactive::JoinProcess {
                pid: p.pid,
            }))]
        }
        Some(p) if p.role == Role::Main => {
            app.status = Some("a process cannot join itself".into());
            vec![]
        }
        _ => {
            if let Some(pool) = app.pool_index() {
                vec![Effect::Send(Command::Interact(Interactive::JoinPool {
                    pool,
                }))]
            } else {
                app.status = Some("select a Process to join (no pool yet)".into());
                vec![]
            }
        }
    }
}

fn close_pool(app: &mut App) -> Vec<Effect> {
    if let Some(pool) = app.pool_index() {
        vec![Effect::Send(Command::Interact(Interactive::ClosePool {
            pool,
        }))]
    } else {
        app.status = Some("no pool to close yet".into());
        vec![]
    }
}

/// The pool size the program will use when it has not started yet.
pub fn planned_workers(app: &App) -> usize {
    if let Some(w) = app.program.settings.workers {
        return w;
    }
    app.program
        .steps
        .iter()
        .find_map(|s| match &s.op {
            Op::NewPool { processes, .. } => {
                Some(processes.map_or(crate::engine::cpu_count(), |p| p.max(1) as usize))
            }
            _ => None,
        })
        .unwrap_or_else(crate::engine::cpu_count)
}

fn resize(app: &mut App, delta: i64) -> Vec<Effect> {
    const MAX: usize = 512;
    if let Some(pool) = app
        .pool_index()
        .filter(|i| app.pools[*i].state == PoolStateName::Run)
    {
        let now = app.pools[pool].processes;
        let processes = (now as i64 + delta).clamp(1, MAX as i64) as usize;
        app.pools[pool].processes = processes;
        app.status = Some(format!("{}: {processes} workers", app.pools[pool].name));
        return vec![Effect::Send(Command::Interact(Interactive::Resize {
            pool,
            processes,
        }))];
    }
    if app.phase == Phase::Ready {
        let processes = (planned_workers(app) as i64 + delta).clamp(1, MAX as i64) as usize;
        app.program.settings.workers = Some(processes);
        app.status = Some(format!("pools will start {processes} workers"));
        return vec![];
    }
    app.status = Some("no running pool to resize".into());
    vec![]
}

fn on_signal_menu(app: &mut App, cursor: usize, code: KeyCode) -> Vec<Effect> {
    match code {
        KeyCode::Up => app.overlay = Overlay::Signals(cursor.saturating_sub(1)),
        KeyCode::Down => app.overlay = Overlay::Signals((cursor + 1).min(SIGNALS.len() - 1)),
        KeyCode::Enter => {
            app.overlay = Overlay::None;
            return send_signal(app, SIGNALS[cursor].0);
        }
        KeyCode::Char(c) if c.is_ascii_digit() => {
            let i = c.to_digit(10).unwrap_or(0) as usize;
            if i >= 1 && i <= SIGNALS.len() {
                app.overlay = Overlay::None;
                return send_signal(app, SIGNALS[i - 1].0);
            }
        }
        _ => app.overlay = Overlay::None,
    }
    vec![]
}

/// Drops the rows of processes that have ended (they stay, greyed, until then).
fn clear_exited(app: &mut App) {
    let before = app.procs.len();
    app.procs.retain(|p| !p.state.ended());
    app.status = Some(format!(
        "cleared {} exited processes",
        before - app.procs.len()
    ));
    if let Selection::Proc(pid) = app.selection
        && app.proc(pid).is_none()
    {
        app.selection = Selection::AllWorkers;
    }
}

fn on_lesson_menu(app: &mut App, cursor: usize, code: KeyCode) -> Vec<Effect> {
    let lessons = crate::scenario::lessons();
    match code {
        KeyCode::Up => app.overlay = Overlay::Lessons(cursor.saturating_sub(1)),
        KeyCode::Down => {
            app.overlay = Overlay::Lessons((cursor + 1).min(lessons.len().saturating_sub(1)));
        }
        KeyCode::Enter => {
            app.overlay = Overlay::None;
            if let Some((name, _, _)) = lessons.get(cursor) {
                return vec![Effect::LoadLesson(name.clone())];
            }
        }
        _ => app.overlay = Overlay::None,
    }
    vec![]
}

fn move_cursor(app: &mut App, delta: i64) {
    if app.focus == Focus::Output {
        app.output_scroll = if delta < 0 {
            app.output_scroll + 1
        } else {
            app.output_scroll.saturating_sub(1)
        };
        return;
    }
    let items = app.selectables();
    if items.is_empty() {
        return;
    }
    let at = items.iter().position(|s| *s == app.selection).unwrap_or(0) as i64;
    let next = (at + delta).clamp(0, items.len() as i64 - 1) as usize;
    app.selection = items[next];
}

// ---- mouse ------------------------------------------------------------------------

fn on_mouse(app: &mut App, m: MouseEvent) {
    let areas = crate::ui::layout::areas(app);
    let inside = |r: ratatui::layout::Rect| {
        r.contains(ratatui::layout::Position {
            x: m.column,
            y: m.row,
        })
    };
    match m.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            if inside(areas.procs) {
                app.focus = Focus::Processes;
                let first_row = areas.procs.y + 2;
                if m.row >= first_row {
                    let items = app.selectables();
                    if let Some(sel) = items.get((m.row - first_row) as usize) {
                        app.selection = *sel;
                    }
                }
            } else if inside(areas.output) {
                app.focus = Focus::Output;
            }
        }
        MouseEventKind::ScrollUp if inside(areas.output) => app.output_scroll += 3,
        MouseEventKind::ScrollDown if inside(areas.output) => {
            app.output_scroll = app.output_scroll.saturating_sub(3);
        }
        _ => {}
    }
}

// ---- engine events ------------------------------------------------------------------

fn add_proc(app: &mut App, name: String, pid: i32, ppid: i32, role: Role) {
    if app.proc(pid).is_some_and(|p| !p.state.ended()) {
        return;
    }
    // A Process object shown since its creation gets its PID now.
    if role == Role::Process
        && pid > 0
        && let Some(p) = app
            .procs
            .iter_mut()
            .find(|p| p.state == ProcState::Created && p.name == name)
    {
        let placeholder = p.pid;
        p.pid = pid;
        p.ppid = ppid;
        p.state = ProcState::Starting;
        if app.selection == Selection::Proc(placeholder) {
            app.selection = Selection::Proc(pid);
        }
        return;
    }
    let color = app.next_color;
    app.next_color += 1;
    app.procs.push(ProcRow {
        name,
        pid,
        ppid,
        role,
        state: ProcState::Starting,
        cpu: None,
        rss_kib: None,
        core: None,
        tasks_done: 0,
        current: None,
        exitcode: None,
        start_ms: None,
        method: None,
        color,
    });
}

/// A row for a Process that exists in Python but has no OS process yet; its PID column
/// holds a negative placeholder until `start()`.
fn add_created(app: &mut App, name: String) {
    let placeholder = -(app.procs.len() as i32) - 1;
    let ppid = app.main_pid.unwrap_or(0);
    add_proc(app, name, placeholder, ppid, Role::Process);
    if let Some(p) = app.proc_mut(placeholder) {
        p.state = ProcState::Created;
    }
}

pub fn on_event(app: &mut App, event: Event) {
    app.now = app.now.max(event.t);
    match event.kind {
        EventKind::Loaded { pid, ppid, .. } => {
            add_proc(app, "MainProcess".into(), pid, ppid, Role::Main);
            if let Some(p) = app.proc_mut(pid) {
                p.state = ProcState::Running;
            }
            app.main_pid = Some(pid);
        }
        EventKind::Created {
            name,
            pid,
            ppid,
            role,
        } => add_proc(app, name, pid, ppid, role),
        EventKind::ProcessObject { name, .. } => add_created(app, name),
        EventKind::Spawned {
            pid,
            start_ms,
            start_method,
            rss_kib,
            ..
        } => {
            if let Some(p) = app.proc_mut(pid) {
                p.start_ms = Some(start_ms);
                p.method = Some(start_method);
                p.rss_kib = p.rss_kib.or(rss_kib);
                if p.state == ProcState::Starting {
                    p.state = ProcState::Running;
                }
            }
        }
        EventKind::Output {
            pid, stream, text, ..
        } => push_output(app, pid, stream, text),
        EventKind::Step { index, python } => {
            app.started_at.get_or_insert(event.t);
            if let Some(i) = index {
                app.step_began.insert(i, event.t);
            }
            app.current = Some((index, python));
        }
        EventKind::StepDone {
            index,
            python,
            outcome,
        } => {
            app.current = None;
            if let Some(i) = index {
                app.steps_done = i + 1;
            }
            if let Some(i) = index {
                let measure = app.program.steps.get(i).and_then(|s| s.measure.clone());
                if let (Some(measure), Some(began)) = (measure, app.step_began.get(&i)) {
                    app.measures.push((measure, event.t - began));
                }
            }
            let line = python.lines().next().unwrap_or("").trim().to_string();
            let text = if outcome.is_empty() {
                line
            } else {
                format!("{line} -> {outcome}")
            };
            log(app, LogKind::Call, text);
        }
        EventKind::Error { message, .. } => {
            if let Some((Some(i), _)) = &app.current {
                app.step_errors.insert(*i, message.clone());
            }
            log(app, LogKind::Error, message);
        }
        EventKind::CallSubmitted {
            call,
            pool,
            method,
            func,
            len,
            chunksize,
        } => app.calls.push(CallInfo {
            call,
            pool,
            method,
            func: func.name().into(),
            len,
            chunksize,
            results: vec![None; len],
            order: Vec::new(),
        }),
        EventKind::TaskQueued {
            task,
            call,
            index,
            func,
            args,
        } => {
            let label = match &args {
                crate::engine::value::Value::Tuple(items) => {
                    let parts: Vec<String> =
                        items.iter().map(std::string::ToString::to_string).collect();
                    format!("{func}({})", parts.join(", "))
                }
                v => format!("{func}({v})"),
            };
            app.tasks.all.insert(task, TaskInfo { call, index, label });
            app.tasks.pending.insert(task, ());
            app.tasks.total += 1;
        }
        EventKind::TaskStarted { task, pid, .. } => {
            let call = app.tasks.all.get(&task).map_or(0, |t| t.call);
            app.spans.push_back(TaskSpan {
                task,
                pid,
                call,
                start: event.t,
                end: None,
                ok: true,
            });
            while app.spans.len() > MAX_SPANS {
                app.spans.pop_front();
            }
            app.tasks.pending.remove(&task);
            app.tasks.running.insert(pid, task);
            if let Some(p) = app.proc_mut(pid) {
                p.current = Some(task);
            }
        }
        EventKind::TaskDone {
            task, pid, result, ..
        } => {
            end_span(app, task, event.t, true);
            finish_task(app, task, pid, result.to_string());
        }
        EventKind::TaskFailed {
            task, pid, error, ..
        } => {
            end_span(app, task, event.t, false);
            finish_task(app, task, pid, error);
        }
        EventKind::TaskLost {
            task,
            pid,
            name,
            signal,
            exitcode,
        } => {
            app.tasks.lost += 1;
            end_span(app, task, event.t, false);
            finish_task(app, task, pid, "lost".into());
            app.tasks.done -= 1;
            let how = signal.map_or(exitcode.to_string(), |s| {
                format!("-{s} ({})", sys::signal_name(s))
            });
            log(
                app,
                LogKind::Error,
                format!("{name} exited {how}, task #{task} lost"),
            );
        }
        EventKind::Exited {
            name,
            pid,
            exitcode,
        } => {
            if let Some(p) = app.proc_mut(pid) {
                p.state = if exitcode < 0 {
                    ProcState::Killed
                } else {
                    ProcState::Exited
                };
                p.exitcode = Some(exitcode);
                p.current = None;
                p.cpu = None;
            }
            app.tasks.running.remove(&pid);
            log(
                app,
                LogKind::Info,
                format!("{name} (pid {pid}) exited, exitcode {exitcode}"),
            );
        }
        EventKind::PoolState {
            id,
            processes,
            pool,
            state,
        } => {
            let info = PoolInfo {
                name: pool.clone(),
                state,
                processes,
            };
            if let Some(p) = app.pools.get_mut(id) {
                if p.state != state {
                    log(
                        app,
                        LogKind::Info,
                        format!("{pool}: state {}", state.as_str()),
                    );
                }
                app.pools[id] = info;
            } else {
                app.pools.push(info);
                if app.selection == Selection::AllWorkers || app.pools.len() == 1 {
                    app.selection = Selection::AllWorkers;
                }
            }
        }
        EventKind::Result { .. } => {}
        EventKind::Finished { .. } => {
            app.phase = Phase::Finished;
            app.finished_at = Some(event.t);
            log(
                app,
                LogKind::Info,
                format!("scenario finished in {:.3}s", app.elapsed()),
            );
        }
        EventKind::Fatal { message } => log(app, LogKind::Error, message),
    }
}

fn end_span(app: &mut App, task: u64, t: f64, ok: bool) {
    if let Some(span) = app.spans.iter_mut().rev().find(|s| s.task == task) {
        span.end = Some(t);
        span.ok = ok;
    }
}

fn finish_task(app: &mut App, task: u64, pid: i32, text: String) {
    app.tasks.pending.remove(&task);
    if app.tasks.running.get(&pid) == Some(&task) {
        app.tasks.running.remove(&pid);
    }
    if let Some(p) = app.proc_mut(pid)
        && p.current == Some(task)
    {
        p.current = None;
    }
    // A task ends once; its result fills its place in its call.
    let info = app.tasks.all.get(&task).cloned();
    let call = info
        .as_ref()
        .and_then(|i| app.calls.iter_mut().find(|c| c.call == i.call));
    if let (Some(info), Some(call)) = (&info, call) {
        match call.results.get_mut(info.index) {
            Some(slot) if slot.is_none() => {
                *slot = Some(text);
                call.order.push(info.index);
            }
            _ => return,
        }
    }
    app.tasks.done += 1;
    if let Some(p) = app.proc_mut(pid) {
        p.tasks_done += 1;
    }
}

fn push_output(app: &mut App, pid: i32, stream: Stream, text: String) {
    let lines = app.output.per_proc.entry(pid).or_default();
    let mut parts = text.split('\n');
    if let Some(first) = parts.next() {
        match lines.back_mut() {
            Some(last) => last.push_str(first),
            None => lines.push_back(first.to_string()),
        }
    }
    for part in parts {
        lines.push_back(part.to_string());
    }
    while lines.len() > MAX_PROC_LINES {
        lines.pop_front();
    }
    app.output.bytes += text.len();
    app.output.chunks.push_back(Chunk { pid, stream, text });
    while app.output.bytes > MAX_OUTPUT_BYTES {
        match app.output.chunks.pop_front() {
            Some(c) => {
                app.output.bytes -= c.text.len();
                app.output.dropped += 1;
            }
            None => break,
        }
    }
}

fn on_sample(app: &mut App, sample: Sample) {
    if app.cpu.history.len() != sample.cores.len() {
        app.cpu.history = vec![Default::default(); sample.cores.len()];
    }
    for (hist, use_pct) in app.cpu.history.iter_mut().zip(&sample.cores) {
        hist.push_back(use_pct.round().clamp(0.0, 100.0) as u64);
        while hist.len() > CPU_HISTORY {
            hist.pop_front();
        }
    }
    app.cpu.cores = sample.cores;
    for s in sample.procs {
        let Some(p) = app.proc_mut(s.pid) else {
            continue;
        };
        if p.state.ended() {
            continue;
        }
        p.cpu = Some(s.cpu);
        p.rss_kib = Some(s.rss_kib);
        p.core = s.core;
        p.state = match s.state {
            KernelState::Running => ProcState::Running,
            KernelState::Sleeping => ProcState::Sleeping,
            KernelState::Stopped => ProcState::Stopped,
            KernelState::Zombie => ProcState::Zombie,
            KernelState::Other => p.state,
        };
    }
}
