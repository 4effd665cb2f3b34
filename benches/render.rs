//! Rendering one full dashboard frame with 64 workers, 10,000 queued tasks and a full
//! output buffer, on ratatui's `TestBackend` (target: under 1 ms).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pooltop::app::{self, App, Msg};
use pooltop::engine::program::{StartMethod, SubmitKind};
use pooltop::engine::protocol::{Event, EventKind, PoolStateName, Role, Stream};
use pooltop::engine::value::Value;
use pooltop::monitor::{KernelState, ProcSample, Sample};
use pooltop::scenario::{self, Overrides, Source};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn ev(app: &mut App, kind: EventKind) {
    app::update(app, Msg::Driver(Some(Event { t: 1.0, kind })));
}

/// 64 workers, all created and started.
fn pool_of_64(app: &mut App, main: i32) {
    ev(
        app,
        EventKind::PoolState {
            id: 0,
            processes: 64,
            pool: "pool".into(),
            state: PoolStateName::Run,
        },
    );
    for n in 0..64 {
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

/// Enough output to fill the bounded buffer, from every worker.
fn flood(app: &mut App) {
    for i in 0..20_000 {
        let pid = 1000 + (i % 64);
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
fn samples(app: &mut App) {
    let cores = vec![97.0, 99.0];
    for _ in 0..120 {
        let procs = Vec::new();
        let cores = cores.clone();
        app::update(app, Msg::Sample(Sample { cores, procs }));
    }
    let procs = (0..64)
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

fn busy_app(width: u16, height: u16) -> App {
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
    pool_of_64(&mut app, main);
    map_in_flight(&mut app);
    flood(&mut app);
    samples(&mut app);
    app
}

fn render(c: &mut Criterion) {
    for (w, h) in [(120u16, 40u16), (200, 60)] {
        let app = busy_app(w, h);
        assert!(
            app.world.output.bytes > pooltop::app::MAX_OUTPUT_BYTES - 1024,
            "the output buffer is full"
        );
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        c.bench_function(
            &format!("full frame {w}x{h}, 64 workers, 10k queued, full output"),
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
