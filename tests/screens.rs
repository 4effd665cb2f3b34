//! Snapshot tests of every dashboard screen, drawn by the real `view` on ratatui's
//! `TestBackend` from a fixed sequence of engine events, samples and keys (fake clock).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pooltop::app::{self, App, Msg};
use pooltop::engine::program::{StartMethod, SubmitKind};
use pooltop::engine::protocol::{Event, EventKind, LostCause, PoolStateName, Role, Stream};
use pooltop::engine::value::Value;
use pooltop::monitor::{KernelState, ProcSample, Sample};
use pooltop::scenario::{self, Overrides, Source};
use pooltop::workload::Func;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const MAIN: i32 = 4242;

/// The screens follow Python 3.11's rules whatever `python3` this machine has.
fn python_3_11() -> Overrides {
    Overrides {
        python_version: Some(pooltop::scenario::rules::PyVersion(3, 11)),
        ..Overrides::default()
    }
}

fn app_for(name: &str, size: (u16, u16)) -> App {
    let s =
        scenario::load(&Source::builtin(name).expect("builtin"), &python_3_11()).expect("scenario");
    let mut app = App::new(&s, true);
    app.ui.size = size;
    app
}

fn ev(app: &mut App, t: f64, kind: EventKind) {
    app::update(app, Msg::Driver(Some(Event { t, kind })));
}

fn key(app: &mut App, code: KeyCode) {
    app::update(app, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn draw(app: &App) -> String {
    let mut terminal =
        Terminal::new(TestBackend::new(app.ui.size.0, app.ui.size.1)).expect("terminal");
    terminal.draw(|f| pooltop::ui::view(app, f)).expect("draw");
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn loaded(app: &mut App) {
    ev(
        app,
        0.001,
        EventKind::Loaded {
            scenario: app.world.scenario.name.clone(),
            pid: MAIN,
            ppid: 4000,
            steps: 4,
            start_method: StartMethod::Fork,
        },
    );
}

fn worker(app: &mut App, t: f64, n: i32) -> i32 {
    let pid = 5000 + n;
    let name = format!("ForkPoolWorker-{n}");
    ev(
        app,
        t,
        EventKind::Created {
            name: name.clone(),
            pid,
            ppid: MAIN,
            role: Role::PoolWorker,
        },
    );
    ev(
        app,
        t + 0.001,
        EventKind::Spawned {
            name,
            pid,
            ppid: MAIN,
            role: Role::PoolWorker,
            start_method: Some(StartMethod::Fork),
            start_ms: Some(1.2 + f64::from(n) * 0.1),
            rss_kib: None,
        },
    );
    pid
}

fn sample(app: &mut App, cores: Vec<f32>) {
    let procs = app
        .world
        .procs
        .iter()
        .filter(|p| !p.state.ended())
        .filter_map(|p| Some((p, p.pid?)))
        .map(|(p, pid)| ProcSample {
            pid,
            cpu: if p.role == Role::PoolWorker {
                64.0
            } else {
                0.5
            },
            rss_kib: if p.role == Role::Main { 3100 } else { 2000 },
            core: Some((pid % 2) as u32),
            state: if p.role == Role::PoolWorker {
                KernelState::Running
            } else {
                KernelState::Sleeping
            },
        })
        .collect();
    for _ in 0..12 {
        app::update(
            app,
            Msg::Sample(Sample {
                cores: cores.clone(),
                procs: Vec::new(),
            }),
        );
    }
    app::update(app, Msg::Sample(Sample { cores, procs }));
}

fn step(app: &mut App, t: f64, index: usize, python: &str) {
    let python = python.to_string();
    let index = Some(index);
    ev(app, t, EventKind::Step { index, python });
}

fn step_done(app: &mut App, t: f64, index: usize, python: &str, outcome: &str) {
    let (python, outcome) = (python.to_string(), outcome.to_string());
    let index = Some(index);
    ev(
        app,
        t,
        EventKind::StepDone {
            index,
            python,
            outcome,
        },
    );
}

fn task_started(app: &mut App, t: f64, task: u64, pid: i32) {
    let name = format!("ForkPoolWorker-{}", pid - 5000);
    ev(app, t, EventKind::TaskStarted { task, pid, name });
}

fn task_done(app: &mut App, t: f64, task: u64, pid: i32, result: i128) {
    let name = format!("ForkPoolWorker-{}", pid - 5000);
    let result = Value::Int(result);
    ev(
        app,
        t,
        EventKind::TaskDone {
            task,
            pid,
            name,
            result,
        },
    );
}

fn pool_state(app: &mut App, t: f64, processes: usize, state: PoolStateName) {
    let pool = "pool".to_string();
    let kind = EventKind::PoolState {
        id: 0,
        processes,
        pool,
        state,
    };
    ev(app, t, kind);
}

fn map_submitted(app: &mut App, method: SubmitKind, func: Func, args: &[i128]) {
    let len = args.len();
    let kind = EventKind::CallSubmitted {
        call: 0,
        pool: 0,
        method,
        func: func.name().into(),
        len,
        chunksize: 1,
    };
    ev(app, 0.008, kind);
    for (i, n) in args.iter().enumerate() {
        let kind = EventKind::TaskQueued {
            task: i as u64,
            call: 0,
            index: i,
            func: func.name().into(),
            args: Value::Int(*n),
        };
        ev(app, 0.008, kind);
    }
}

/// pool-map with three workers, half the results in.
fn pool_map_midway(size: (u16, u16)) -> App {
    let mut app = app_for("pool-map", size);
    key(&mut app, KeyCode::Char('s'));
    loaded(&mut app);
    let with = "with multiprocessing.Pool(processes=3) as pool:";
    step(&mut app, 0.002, 0, with);
    pool_state(&mut app, 0.003, 3, PoolStateName::Run);
    let pids: Vec<i32> = (1..=3).map(|n| worker(&mut app, 0.004, n)).collect();
    let repr = "<multiprocessing.pool.Pool state=RUN pool_size=3>";
    step_done(&mut app, 0.006, 0, with, repr);
    step(
        &mut app,
        0.007,
        1,
        "    output = pool.map(cube, [10, 11, 12, 5, 4, 3])",
    );
    map_submitted(
        &mut app,
        SubmitKind::Map,
        Func::Cube,
        &[10, 11, 12, 5, 4, 3],
    );
    for (i, pid) in pids.iter().enumerate() {
        task_started(&mut app, 0.01, i as u64, *pid);
    }
    task_done(&mut app, 0.21, 1, pids[1], 1331);
    task_started(&mut app, 0.211, 3, pids[1]);
    task_done(&mut app, 0.22, 0, pids[0], 1000);
    task_started(&mut app, 0.221, 4, pids[0]);
    sample(&mut app, vec![98.0, 95.5]);
    app::update(&mut app, Msg::Tick(0.35));
    app
}

/// Before `s` the main process already runs (it waits for its first line): its row is
/// there, as the runtime reports it with `MainProcess`.
#[test]
fn ready_screen_before_start() {
    let mut app = app_for("workshop", (120, 40));
    app::update(
        &mut app,
        Msg::MainProcess {
            pid: MAIN,
            ppid: 4000,
        },
    );
    sample(&mut app, vec![3.0, 1.0]);
    insta::assert_snapshot!(draw(&app));
    // The program's own `loaded` keeps the same row.
    loaded(&mut app);
    assert_eq!(app.world.rows().count(), 1);
}

/// `tab` moves the focus pane by pane (its border shows it), `z` gives the focused pane
/// the whole screen, and `z` again puts every pane back.
#[test]
fn z_zooms_the_focused_pane_and_back() {
    let mut app = pool_map_midway((120, 40));
    let normal = draw(&app);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.ui.focus, pooltop::app::Focus::Queue);
    key(&mut app, KeyCode::Char('z'));
    insta::assert_snapshot!(draw(&app));
    key(&mut app, KeyCode::BackTab);
    assert_eq!(
        app.ui.focus,
        pooltop::app::Focus::Processes,
        "the zoom follows the focus"
    );
    assert!(draw(&app).contains("ForkPoolWorker-3"));
    assert!(
        !draw(&app).contains("Output · interleaved"),
        "only the zoomed pane"
    );
    key(&mut app, KeyCode::Char('z'));
    assert_eq!(draw(&app), normal);
}

/// A click focuses the pane it lands on, whichever it is.
#[test]
fn a_click_focuses_the_pane_under_it() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    use pooltop::app::Focus;
    let mut app = pool_map_midway((120, 40));
    let areas = pooltop::ui::layout::areas(&app);
    for focus in [Focus::Events, Focus::Cpu, Focus::Queue, Focus::Output] {
        let r = areas.pane(focus);
        let m = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: r.x + 3,
            row: r.y + 1,
            modifiers: KeyModifiers::NONE,
        };
        let msg = Msg::Pointer(pooltop::ui::pointer(&app, &m).expect("a click on a pane"));
        app::update(&mut app, msg);
        assert_eq!(app.ui.focus, focus);
    }
}

/// `--theme high-contrast`, for a projector: heavy borders and no dim grey text;
/// `NO_COLOR` still means no colour at all.
#[test]
fn the_high_contrast_theme_has_heavy_borders_and_no_grey_text() {
    use pooltop::ui::theme::Palette;
    use ratatui::style::Color;
    let mut app = pool_map_midway((120, 40));
    app.ui.palette = Palette::HighContrast;
    insta::assert_snapshot!(draw(&app));
    let colours = |app: &App| -> Vec<Color> {
        let mut terminal =
            Terminal::new(TestBackend::new(app.ui.size.0, app.ui.size.1)).expect("terminal");
        terminal.draw(|f| pooltop::ui::view(app, f)).expect("draw");
        let buf = terminal.backend().buffer();
        buf.content().iter().map(|c| c.fg).collect()
    };
    let grey = Color::Indexed(244);
    assert!(!colours(&app).contains(&grey), "no grey text");
    app.ui.palette = Palette::Dark;
    assert!(colours(&app).contains(&grey), "the default theme has some");
    app.ui.color = false;
    app.ui.palette = Palette::HighContrast;
    assert!(
        colours(&app).iter().all(|c| *c == Color::Reset),
        "NO_COLOR wins over the theme"
    );
}

#[test]
fn running_pool_at_120x40() {
    insta::assert_snapshot!(draw(&pool_map_midway((120, 40))));
}

#[test]
fn running_pool_at_80x24() {
    insta::assert_snapshot!(draw(&pool_map_midway((80, 24))));
}

#[test]
fn running_pool_with_all_workers_selected_shows_pool_keys() {
    let mut app = pool_map_midway((120, 40));
    key(&mut app, KeyCode::Char('c'));
    ev(
        &mut app,
        0.3,
        EventKind::PoolState {
            id: 0,
            processes: 3,
            pool: "pool".into(),
            state: PoolStateName::Close,
        },
    );
    insta::assert_snapshot!(draw(&app));
}

fn out(app: &mut App, t: f64, pid: i32, text: &str) {
    let (name, stream, text) = (String::new(), Stream::Stdout, text.to_string());
    ev(
        app,
        t,
        EventKind::Output {
            pid,
            name,
            stream,
            text,
        },
    );
}

fn process(app: &mut App, t: f64, name: &str, pid: i32) {
    let (name, role) = (name.to_string(), Role::Process);
    let kind = EventKind::Created {
        name,
        pid,
        ppid: MAIN,
        role,
    };
    ev(app, t, kind);
}

fn exited(app: &mut App, t: f64, name: &str, pid: i32, exitcode: i32) {
    let name = name.to_string();
    ev(
        app,
        t,
        EventKind::Exited {
            name,
            pid,
            exitcode: Some(exitcode),
        },
    );
}

fn squares_cubes_finished() -> App {
    let mut app = app_for("squares-cubes", (120, 40));
    key(&mut app, KeyCode::Char('s'));
    loaded(&mut app);
    let (p1, p2) = (6001, 6002);
    process(&mut app, 0.01, "process1", p1);
    process(&mut app, 0.01, "process2", p2);
    out(
        &mut app,
        0.02,
        p1,
        "Calculating the squares of a given number ....",
    );
    out(
        &mut app,
        0.021,
        p2,
        "Calculating the cubes of a given number ...",
    );
    out(&mut app, 0.022, p1, "\n");
    out(&mut app, 0.023, p2, "\n");
    for (i, (a, b)) in [(11, 3), (22, 5), (33, 4), (44, 2)].into_iter().enumerate() {
        let t = 0.2 * (i + 1) as f64;
        out(
            &mut app,
            t,
            p1,
            &format!("The square of {a} is {} \n", a * a),
        );
        let cube = format!("The cube of {b} is {} \n", b * b * b);
        out(&mut app, t + 0.001, p2, &cube);
        out(&mut app, t + 0.002, p1, "\n");
        out(&mut app, t + 0.003, p2, "\n");
    }
    exited(&mut app, 0.9, "process1", p1, 0);
    exited(&mut app, 0.9, "process2", p2, -15);
    step(&mut app, 0.91, 7, "print(...)");
    out(
        &mut app,
        0.91,
        MAIN,
        "Time taken to execute the program: 0.9\n",
    );
    step_done(&mut app, 0.91, 7, "print(...)", "");
    ev(
        &mut app,
        0.92,
        EventKind::Finished {
            elapsed: 0.9,
            status: None,
        },
    );
    sample(&mut app, vec![12.0, 40.0]);
    app
}

#[test]
fn finished_processes_with_interleaved_and_per_process_output() {
    insta::assert_snapshot!(draw(&squares_cubes_finished()));
}

#[test]
fn output_modes_cycle_with_o() {
    let mut app = squares_cubes_finished();
    key(&mut app, KeyCode::Char('o'));
    let interleaved = draw(&app);
    key(&mut app, KeyCode::Char('o'));
    let per_process = draw(&app);
    insta::assert_snapshot!("interleaved_only", interleaved);
    insta::assert_snapshot!("per_process_only", per_process);
}

#[test]
fn help_overlay() {
    let mut app = pool_map_midway((120, 40));
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn signal_menu_for_the_selected_worker() {
    let mut app = pool_map_midway((120, 40));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('x'));
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn terminal_too_small_says_so() {
    let app = pool_map_midway((50, 12));
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn lost_task_and_vanished_driver_are_clear_on_screen() {
    let mut app = pool_map_midway((120, 40));
    ev(
        &mut app,
        0.4,
        EventKind::TaskLost {
            task: 4,
            pid: 5001,
            name: "ForkPoolWorker-1".into(),
            signal: Some(9),
            exitcode: Some(-9),
            cause: LostCause::Killed,
        },
    );
    ev(
        &mut app,
        0.4,
        EventKind::Exited {
            name: "ForkPoolWorker-1".into(),
            pid: 5001,
            exitcode: Some(-9),
        },
    );
    ev(&mut app, 0.41, EventKind::Error { message: "WorkerLostError: task #4 cube(4) was lost: ForkPoolWorker-1 (pid 5001) was killed by SIGKILL".into(), python: String::new() });
    app::update(&mut app, Msg::Driver(None));
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn imap_unordered_results_fill_in_completion_order() {
    let mut app = app_for("imap-unordered", (120, 40));
    key(&mut app, KeyCode::Char('s'));
    loaded(&mut app);
    ev(
        &mut app,
        0.003,
        EventKind::PoolState {
            id: 0,
            processes: 3,
            pool: "pool".into(),
            state: PoolStateName::Run,
        },
    );
    let pid = worker(&mut app, 0.004, 1);
    ev(
        &mut app,
        0.008,
        EventKind::CallSubmitted {
            call: 0,
            pool: 0,
            method: SubmitKind::ImapUnordered,
            func: "slow_cube".into(),
            len: 5,
            chunksize: 1,
        },
    );
    for (i, n) in [5, 1, 4, 2, 3].into_iter().enumerate() {
        ev(
            &mut app,
            0.008,
            EventKind::TaskQueued {
                task: i as u64,
                call: 0,
                index: i,
                func: "slow_cube".into(),
                args: Value::Int(n),
            },
        );
    }
    for (task, v) in [(1u64, 1), (3, 8), (2, 64)] {
        ev(
            &mut app,
            0.1,
            EventKind::TaskStarted {
                task,
                pid,
                name: "ForkPoolWorker-1".into(),
            },
        );
        ev(
            &mut app,
            0.2,
            EventKind::TaskDone {
                task,
                pid,
                name: "ForkPoolWorker-1".into(),
                result: Value::Int(v),
            },
        );
    }
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn no_color_draws_the_same_text_without_colour() {
    let mut colored = pool_map_midway((120, 40));
    let plain_text = {
        colored.ui.color = false;
        draw(&colored)
    };
    colored.ui.color = true;
    assert_eq!(plain_text, draw(&colored));
}

#[test]
fn keys_produce_the_documented_commands() {
    use pooltop::app::Effect;
    use pooltop::engine::protocol::{Command, Interactive};
    let mut app = pool_map_midway((120, 40));
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('t'), KeyModifiers::NONE)),
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::Send(Command::Interact(
            Interactive::TerminatePool { pool: 0 }
        ))]
    ));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::NONE)),
    );
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Send(Command::Signal {
                pid: 5001,
                signal: 9
            })]
        ),
        "{effects:?}"
    );
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('p'), KeyModifiers::NONE)),
    );
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Send(Command::Signal {
                pid: 5001,
                signal: 19
            })]
        ),
        "{effects:?}"
    );
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('+'), KeyModifiers::NONE)),
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::Send(Command::Interact(Interactive::Resize {
            pool: 0,
            processes: 4
        }))]
    ));
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE)),
    );
    assert!(matches!(effects.as_slice(), [Effect::Screenshot]));
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
    );
    assert!(matches!(effects.as_slice(), [Effect::Restart]));
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)),
    );
    assert!(matches!(effects.as_slice(), [Effect::Quit]));
}

#[test]
fn exited_rows_stay_until_cleared_with_shift_c() {
    let mut app = squares_cubes_finished();
    assert_eq!(app.world.rows().count(), 3);
    key(&mut app, KeyCode::Char('C'));
    let names: Vec<&str> = app.world.rows().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["MainProcess"]);
}

#[test]
fn a_click_selects_a_row_and_the_wheel_scrolls_output() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = pool_map_midway((120, 40));
    let areas = pooltop::ui::layout::areas(&app);
    // The mouse goes through the same hit-testing the runtime uses.
    let click = |app: &App, row: u16, col: u16, kind| {
        let m = MouseEvent {
            kind,
            column: col,
            row,
            modifiers: KeyModifiers::NONE,
        };
        Msg::Pointer(pooltop::ui::pointer(app, &m).expect("a click on something"))
    };
    // Rows: header line, "all workers", MainProcess, ForkPoolWorker-1, ...
    let msg = click(
        &app,
        areas.procs.y + 4,
        areas.procs.x + 5,
        MouseEventKind::Down(MouseButton::Left),
    );
    app::update(&mut app, msg);
    assert_eq!(app.selected_proc().and_then(|p| p.pid), Some(5001));
    let msg = click(
        &app,
        areas.output.y + 2,
        areas.output.x + 5,
        MouseEventKind::ScrollUp,
    );
    app::update(&mut app, msg);
    assert_eq!(app.ui.output_scroll, 3);
}

#[test]
fn an_output_flood_stays_within_bounds() {
    let mut app = pool_map_midway((120, 40));
    for i in 0..200_000 {
        let text = format!("line {i} of a flood\n");
        ev(
            &mut app,
            1.0,
            EventKind::Output {
                pid: 5001,
                name: String::new(),
                stream: Stream::Stdout,
                text,
            },
        );
    }
    assert!(app.world.output.bytes <= pooltop::app::MAX_OUTPUT_BYTES);
    assert!(app.world.output.per_proc[&5001].len() <= pooltop::app::MAX_PROC_LINES);
    assert!(app.world.output.dropped > 0);
    assert!(draw(&app).contains("line 199999 of a flood"));
}

#[test]
fn resize_redraws_for_the_new_size() {
    let mut app = pool_map_midway((120, 40));
    app::update(&mut app, Msg::Resize(40, 10));
    assert!(draw(&app).contains("terminal too small"));
    app::update(&mut app, Msg::Resize(100, 30));
    let screen = draw(&app);
    assert!(screen.contains("ForkPoolWorker-1"));
    assert_eq!(screen.lines().count(), 30);
}

#[test]
fn a_created_process_shows_before_start_and_s_starts_it() {
    use pooltop::app::Effect;
    use pooltop::engine::protocol::{Command, Interactive};
    let mut app = app_for("squares-cubes", (120, 40));
    key(&mut app, KeyCode::Char('n'));
    loaded(&mut app);
    ev(
        &mut app,
        0.01,
        EventKind::ProcessObject {
            name: "process1".into(),
            start_method: StartMethod::Fork,
            daemon: false,
        },
    );
    let screen = draw(&app);
    let row = screen
        .lines()
        .find(|l| l.contains("process1 "))
        .expect("row");
    assert!(row.contains(" - ") && row.contains("created"), "{row}");
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)),
    );
    assert!(
        matches!(effects.as_slice(), [Effect::Send(Command::Interact(Interactive::StartProcess { name }))] if name == "process1"),
        "{effects:?}"
    );
    ev(
        &mut app,
        0.02,
        EventKind::Created {
            name: "process1".into(),
            pid: 6001,
            ppid: MAIN,
            role: Role::Process,
        },
    );
    assert_eq!(app.selected_proc().and_then(|p| p.pid), Some(6001));
    assert_eq!(app.world.rows().filter(|p| p.name == "process1").count(), 1);
}

#[test]
fn no_color_means_no_colour_in_any_cell() {
    let mut app = pool_map_midway((120, 40));
    app.ui.color = false;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|f| pooltop::ui::view(&app, f)).expect("draw");
    let buf = terminal.backend().buffer();
    for y in 0..40 {
        for x in 0..120 {
            let c = &buf[(x, y)];
            assert_eq!(c.fg, ratatui::style::Color::Reset, "fg at {x},{y}");
            assert_eq!(c.bg, ratatui::style::Color::Reset, "bg at {x},{y}");
        }
    }
}

fn lesson_app(name: &str) -> App {
    let s = scenario::load(&Source::lesson(name).expect("lesson"), &python_3_11()).expect("lesson");
    let mut app = App::new(&s, true);
    app.ui.size = (120, 40);
    app
}

#[test]
fn lesson_code_pane_highlights_the_running_line_with_its_note_and_errors() {
    let mut app = lesson_app("q3-two-processes");
    key(&mut app, KeyCode::Char('n'));
    loaded(&mut app);
    let steps: Vec<String> = app
        .world
        .scenario
        .program
        .steps
        .iter()
        .map(|s| s.python.clone())
        .collect();
    for (i, python) in steps.iter().enumerate().take(3) {
        ev(
            &mut app,
            0.01 * i as f64,
            EventKind::Step {
                index: Some(i),
                python: python.clone(),
            },
        );
        ev(
            &mut app,
            0.01 * i as f64,
            EventKind::StepDone {
                index: Some(i),
                python: python.clone(),
                outcome: String::new(),
            },
        );
    }
    ev(
        &mut app,
        0.05,
        EventKind::Step {
            index: Some(3),
            python: steps[3].clone(),
        },
    );
    insta::assert_snapshot!("lesson_running_line", draw(&app));
    ev(
        &mut app,
        0.06,
        EventKind::StepDone {
            index: Some(3),
            python: steps[3].clone(),
            outcome: "None (pid 6001)".into(),
        },
    );
    let last = steps.len() - 1;
    ev(
        &mut app,
        0.9,
        EventKind::Step {
            index: Some(last),
            python: steps[last].clone(),
        },
    );
    ev(
        &mut app,
        0.9,
        EventKind::Error {
            message: "AssertionError: cannot start a process twice".into(),
            python: steps[last].clone(),
        },
    );
    ev(
        &mut app,
        0.9,
        EventKind::StepDone {
            index: Some(last),
            python: steps[last].clone(),
            outcome: "AssertionError: cannot start a process twice".into(),
        },
    );
    let screen = draw(&app);
    assert!(
        screen.contains("✗ AssertionError: cannot start a process twice"),
        "{screen}"
    );
}

#[test]
fn timeline_view_draws_a_lane_per_worker() {
    let mut app = pool_map_midway((120, 40));
    for (task, pid) in [(0u64, 5001), (1, 5002), (2, 5003), (3, 5002), (4, 5001)] {
        ev(
            &mut app,
            0.25 + task as f64 * 0.02,
            EventKind::TaskDone {
                task,
                pid,
                name: String::new(),
                result: Value::Int(1),
            },
        );
    }
    key(&mut app, KeyCode::Char('v'));
    insta::assert_snapshot!(draw(&app));
}

/// The speedup lesson with its four measured maps (1 to 4 workers) taking `secs`.
fn speedup_measured(secs: [f64; 4]) -> App {
    let mut app = lesson_app("speedup");
    key(&mut app, KeyCode::Char('s'));
    loaded(&mut app);
    sample(&mut app, vec![99.0, 98.0]);
    let map_steps: Vec<usize> = app
        .world
        .scenario
        .program
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.measure.is_some())
        .map(|(i, _)| i)
        .collect();
    for (k, i) in map_steps.iter().enumerate() {
        let python = app.world.scenario.program.steps[*i].python.clone();
        let t = k as f64;
        ev(
            &mut app,
            t,
            EventKind::Step {
                index: Some(*i),
                python: python.clone(),
            },
        );
        ev(
            &mut app,
            t + secs[k],
            EventKind::StepDone {
                index: Some(*i),
                python,
                outcome: String::new(),
            },
        );
    }
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('v'));
    }
    app
}

/// Measured below the ideal, zoomed for a projector: the ideal line shows apart from the
/// measured points, each point has its value, the core count is marked.
#[test]
fn the_speedup_chart_zoomed_shows_measured_against_ideal() {
    let mut app = speedup_measured([1.44, 0.95, 0.80, 0.78]);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('z'));
    let screen = draw(&app);
    for label in ["×1.5", "×1.8", "2 cores", "measured", "ideal"] {
        assert!(screen.contains(label), "{label}: {screen}");
    }
    insta::assert_snapshot!(screen);
}

#[test]
fn measurements_view_shows_times_and_speedup() {
    let app = speedup_measured([1.44, 0.73, 0.73, 0.72]);
    let screen = draw(&app);
    assert!(screen.contains("×1.97"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn start_methods_view_compares_latency_and_memory() {
    let mut app = lesson_app("start-methods");
    key(&mut app, KeyCode::Char('s'));
    loaded(&mut app);
    let mut pid = 7000;
    for (method, ms) in [
        (StartMethod::Fork, 0.4),
        (StartMethod::Spawn, 2.9),
        (StartMethod::Forkserver, 1.1),
    ] {
        for _ in 0..2 {
            pid += 1;
            let name = format!("W-{pid}");
            ev(
                &mut app,
                0.1,
                EventKind::Created {
                    name: name.clone(),
                    pid,
                    ppid: MAIN,
                    role: Role::PoolWorker,
                },
            );
            ev(
                &mut app,
                0.1,
                EventKind::Spawned {
                    name,
                    pid,
                    ppid: MAIN,
                    role: Role::PoolWorker,
                    start_method: Some(method),
                    start_ms: Some(ms),
                    rss_kib: Some(if method == StartMethod::Spawn {
                        2900
                    } else {
                        1500
                    }),
                },
            );
        }
    }
    sample(&mut app, vec![10.0, 12.0]);
    for _ in 0..4 {
        key(&mut app, KeyCode::Char('v'));
    }
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn lesson_picker_lists_every_lesson() {
    let mut app = app_for("workshop", (120, 40));
    key(&mut app, KeyCode::Char('L'));
    key(&mut app, KeyCode::Down);
    let screen = draw(&app);
    insta::assert_snapshot!(screen);
    let effects = app::update(
        &mut app,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(
        matches!(effects.as_slice(), [pooltop::app::Effect::LoadLesson(name)] if name == "q2-threads-vs-processes")
    );
}

/// A watched script: `q5_pool_map.py` as `pooltop` shows it from the watcher's events.
fn watched_q5(hook: bool) -> App {
    use pooltop::engine::protocol::WatchSpec;
    let spec = WatchSpec {
        argv: vec!["python3".into(), "assets/python/q5_pool_map.py".into()],
        hook,
    };
    let mut app = App::new(&scenario::watched(spec), true);
    app.ui.size = (120, 40);
    app::update(&mut app, Msg::Begin);
    loaded(&mut app);
    let named = |app: &mut App, pid: i32, name: &str, role: Role| {
        let name = name.to_string();
        ev(app, 0.002, EventKind::Named { pid, name, role });
    };
    named(
        &mut app,
        MAIN,
        "python3 assets/python/q5_pool_map.py",
        Role::Main,
    );
    if !hook {
        let reason = "python -I does not load sitecustomize".to_string();
        ev(
            &mut app,
            0.003,
            EventKind::Hook {
                connected: false,
                reason,
            },
        );
        for n in 1..=3 {
            let spawned = EventKind::Spawned {
                name: "python3 -I assets/python/q5_pool_map.py".into(),
                pid: 5000 + n,
                ppid: MAIN,
                role: Role::Other,
                start_method: None,
                start_ms: None,
                rss_kib: Some(11_000),
            };
            ev(&mut app, 0.05, spawned);
        }
        out(&mut app, 0.2, MAIN, "[1000, 1331, 1728, 125, 64, 27]\n");
        sample(&mut app, vec![30.0, 12.0]);
        return app;
    }
    let connected = EventKind::Hook {
        connected: true,
        reason: String::new(),
    };
    ev(&mut app, 0.003, connected);
    named(&mut app, MAIN, "MainProcess", Role::Main);
    let with = "with multiprocessing.Pool(processes=10) as pool:";
    step(&mut app, 0.004, 22, with);
    pool_state(&mut app, 0.005, 10, PoolStateName::Run);
    for n in 1..=10 {
        worker(&mut app, 0.006, n);
    }
    step_done(&mut app, 0.02, 22, with, "None");
    let call = "output = pool.map(cube, [10, 11, 12, 5, 4, 3])";
    step(&mut app, 0.021, 23, call);
    map_submitted(
        &mut app,
        SubmitKind::Map,
        Func::Cube,
        &[10, 11, 12, 5, 4, 3],
    );
    task_started(&mut app, 0.03, 0, 5001);
    task_done(&mut app, 0.031, 0, 5001, 1000);
    task_started(&mut app, 0.032, 1, 5002);
    task_started(&mut app, 0.032, 2, 5003);
    sample(&mut app, vec![80.0, 75.0]);
    app
}

#[test]
fn watch_mode_shows_the_scripts_line_and_the_real_pool() {
    let app = watched_q5(true);
    insta::assert_snapshot!(draw(&app));
}

#[test]
fn watch_mode_without_the_hook_says_so_and_still_shows_the_tree() {
    let app = watched_q5(false);
    let screen = draw(&app);
    assert!(
        screen.contains("no Python hook: processes and output only"),
        "{screen}"
    );
    insta::assert_snapshot!(screen);
}

/// A map of 10^6 items as the dashboard hears of it (`call_progress`): counts, the task
/// each worker runs, the next ones, the first results in place, and on the timeline each
/// worker's busy span.
#[test]
fn a_summarised_map_of_a_million_items() {
    use pooltop::engine::protocol::RunningTask;
    let mut app = app_for("pool-map", (120, 40));
    key(&mut app, KeyCode::Char('s'));
    loaded(&mut app);
    let with = "with multiprocessing.Pool(processes=3) as pool:";
    step(&mut app, 0.002, 0, with);
    pool_state(&mut app, 0.003, 3, PoolStateName::Run);
    let pids: Vec<i32> = (1..=3).map(|n| worker(&mut app, 0.004, n)).collect();
    step_done(
        &mut app,
        0.006,
        0,
        with,
        "<multiprocessing.pool.Pool state=RUN pool_size=3>",
    );
    let map = "    output = pool.map(cube, range(1000000))";
    step(&mut app, 0.007, 1, map);
    let kind = EventKind::CallSubmitted {
        call: 0,
        pool: 0,
        method: SubmitKind::Map,
        func: "cube".into(),
        len: 1_000_000,
        chunksize: 83_334,
    };
    ev(&mut app, 0.008, kind);
    let progress = |done: usize, at: u64, results: Vec<(u32, String)>| EventKind::CallProgress {
        call: 0,
        done,
        failed: 0,
        running: pids
            .iter()
            .enumerate()
            .map(|(i, &pid)| {
                let task = at + i as u64 * 83_334;
                RunningTask {
                    pid,
                    task,
                    label: format!("cube({task})"),
                }
            })
            .collect(),
        next: (0..8).map(|i| format!("cube({})", 250_002 + i)).collect(),
        results,
        finished: pids.iter().map(|&pid| (pid, (done / 3) as u32)).collect(),
    };
    ev(&mut app, 0.05, progress(0, 0, Vec::new()));
    let first: Vec<(u32, String)> = (0..40u32)
        .map(|i| (i, i128::from(i).pow(3).to_string()))
        .collect();
    ev(&mut app, 0.09, progress(120_000, 40_000, first));
    sample(&mut app, vec![99.0, 98.0]);
    app::update(&mut app, Msg::Tick(0.1));
    insta::assert_snapshot!(draw(&app));
    key(&mut app, KeyCode::Char('v'));
    insta::assert_snapshot!("a_summarised_map_of_a_million_items_timeline", draw(&app));
}

/// A resize reaches the app before the frame has the new size: drawing the old frame with
/// the new layout (zoomed or not, any pane focused) must not reach outside it.
#[test]
fn a_frame_of_the_old_size_after_a_resize_draws_without_panicking() {
    for (w, h) in [(70u16, 20u16), (200, 60)] {
        for tabs in 0..5 {
            for zoom in [false, true] {
                let mut app = pool_map_midway((120, 40));
                for _ in 0..tabs {
                    key(&mut app, KeyCode::Tab);
                }
                if zoom {
                    key(&mut app, KeyCode::Char('z'));
                }
                app::update(&mut app, Msg::Resize(w, h));
                let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
                terminal.draw(|f| pooltop::ui::view(&app, f)).expect("draw");
            }
        }
    }
}
