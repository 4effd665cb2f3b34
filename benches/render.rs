//! Rendering one full dashboard frame on ratatui's `TestBackend` (target: under 1 ms):
//! 64 workers with 10,000 tasks queued one by one, and 256 workers on a map of 10^6 items
//! summarised as the driver reports it to the dashboard; each with a full output buffer.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pooltop::app::{self, App, Msg};
use pooltop::engine::program::{StartMethod, SubmitKind};
use pooltop::engine::protocol::{
    Event, EventKind, PoolStateName, RESULTS_SHOWN, Role, RunningTask, Stream,
};
use pooltop::engine::value::Value;
use pooltop::monitor::{KernelState, ProcSample, Sample};
use pooltop::scenario::{self, Overrides, Source};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn ev(app: &mut App, kind: EventKind) {
    app::update(app, Msg::Driver(Some(Event { t: 1.0, kind })));
}

/// `workers` workers, all created and started.
fn pool_of(app: &mut App, main: i32, workers: i32) {
    ev(
        app,
        EventKind::PoolState {
            id: 0,
            processes: workers as usize,
            pool: "pool".into(),
            state: PoolStateName::Run,
        },
    );
    for n in 0..workers {
        let pid = 1000 + n;
        let name = format!("ForkPoolWorker-{n}");
        let role = Role::PoolWorker;
        ev(
            app,
            EventKind::Created {
                name: name.clone(),
                pid,
                ppid: main,
                role,
            },
        );
        ev(
            app,
            EventKind::Spawned {
                name,
                pid,
                ppid: main,
                role,
                start_method: Some(StartMethod::Fork),
                start_ms: Some(1.0),
                rss_kib: None,
            },
        );
    }
}

/// A map of 10,064 tasks, one running on each worker.
fn map_in_flight(app: &mut App) {
    ev(
        app,
        EventKind::Step {
            index: Some(1),
            python: "output = pool.map(cube, range(10064))".into(),
        },
    );
    ev(
        app,
        EventKind::CallSubmitted {
            call: 0,
            pool: 0,
            method: SubmitKind::Map,
            func: "cube".into(),
            len: 10_064,
            chunksize: 1,
        },
    );
    for task in 0..10_064u64 {
        let kind = EventKind::TaskQueued {
            task,
            call: 0,
            index: task as usize,
            func: "cube".into(),
            args: Value::Int(i128::from(task)),
        };
        ev(app, kind);
    }
    for n in 0..64 {
        let kind = EventKind::TaskStarted {
            task: n as u64,
            pid: 1000 + n,
            name: String::new(),
        };
        ev(app, kind);
    }
}

/// A map of 10^6 items as the dashboard hears of it: a progress report with a task
/// running on every worker and the first results in.
fn million_in_flight(app: &mut App, workers: i32) {
    ev(
        app,
        EventKind::Step {
            index: Some(1),
            python: "output = pool.map(cube, range(1000000))".into(),
        },
    );
    ev(
        app,
        EventKind::CallSubmitted {
            call: 0,
            pool: 0,
            method: SubmitKind::Map,
            func: "cube".into(),
            len: 1_000_000,
            chunksize: 1,
        },
    );
    let running = (0..workers)
        .map(|n| RunningTask {
            pid: 1000 + n,
            task: n as u64,
            label: format!("cube({n})"),
        })
        .collect();
    let results = (0..RESULTS_SHOWN as u32)
        .map(|i| (i, i128::from(i).pow(3).to_string()))
        .collect();
    ev(
        app,
        EventKind::CallProgress {
            call: 0,
            done: RESULTS_SHOWN,
            failed: 0,
            running,
            next: (0..8).map(|i| format!("cube({})", 1000 + i)).collect(),
            results,
            finished: (0..workers).map(|n| (1000 + n, 2)).collect(),
        },
    );
}

/// Enough output to fill the bounded buffer, from every worker.
fn flood(app: &mut App, workers: i32) {
    for i in 0..20_000 {
        let pid = 1000 + (i % workers);
        let text = format!("The cube of {i} is {} \n", i128::from(i).pow(3));
        let stream = Stream::Stdout;
        let name = String::new();
        ev(
            app,
            EventKind::Output {
                pid,
                name,
                stream,
                text,
            },
        );
    }
}

/// A full CPU history, then one sample of every worker.
fn samples(app: &mut App, workers: i32) {
    let cores = vec![97.0, 99.0];
    for _ in 0..120 {
        let procs = Vec::new();
        let cores = cores.clone();
        app::update(app, Msg::Sample(Sample { cores, procs }));
    }
    let procs = (0..workers)
        .map(|n| ProcSample {
            pid: 1000 + n,
            cpu: 3.1,
            rss_kib: 2000,
            core: Some((n % 2) as u32),
            state: KernelState::Running,
        })
        .collect();
    app::update(app, Msg::Sample(Sample { cores, procs }));
}

fn busy_app(width: u16, height: u16, workers: i32) -> App {
    let s = scenario::load(
        &Source::builtin("pool-map").expect("builtin"),
        &Overrides::default(),
    )
    .expect("load");
    let mut app = App::new(&s, true);
    app.ui.size = (width, height);
    let start = crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('s'));
    app::update(&mut app, Msg::Key(start));
    let main = 100;
    ev(
        &mut app,
        EventKind::Loaded {
            scenario: "pool-map".into(),
            pid: main,
            ppid: 1,
            steps: 4,
            start_method: StartMethod::Fork,
        },
    );
    pool_of(&mut app, main, workers);
    if workers > 64 {
        million_in_flight(&mut app, workers);
    } else {
        map_in_flight(&mut app);
    }
    flood(&mut app, workers);
    samples(&mut app, workers);
    app
}

fn render(c: &mut Criterion) {
    for (w, h, workers) in [(120u16, 40u16, 64), (200, 60, 64), (120, 40, 256)] {
        let app = busy_app(w, h, workers);
        assert!(
            app.world.output.bytes > pooltop::app::MAX_OUTPUT_BYTES - 1024,
            "the output buffer is full"
        );
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        let queued = app.world.queued();
        assert!(queued >= 10_000 - 64, "{queued} queued");
        c.bench_function(
            &format!("full frame {w}x{h}, {workers} workers, {queued} queued, full output"),
            |b| {
                b.iter(|| {
                    terminal
                        .draw(|f| pooltop::ui::view(black_box(&app), f))
                        .expect("draw");
                });
            },
        );
    }
}

criterion_group!(benches, render);
criterion_main!(benches);
