//! pooltop: a terminal UI that makes a pool of real worker processes visible.
//! This file is the command line; the engine, scenarios and front ends live in modules.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use pooltop::engine::program::StartMethod;
use pooltop::workload::CostKind;
use pooltop::{bench, engine, headless, scenario, tui};

/// Most workers one pool may have: beyond this a class demo is a fork bomb.
const MAX_WORKERS: usize = 512;

#[derive(Parser)]
#[command(
    name = "pooltop",
    version,
    about = "Watch and drive a pool of real worker processes"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Open the live dashboard on a scenario (the default command).
    Tui(TuiArgs),
    /// Run a scenario headless: print what the processes print, in arrival order.
    Run(RunArgs),
    /// List the built-in scenarios.
    List,
    /// List the built-in lessons (open one with `pooltop tui --lesson NAME`, or `L`).
    Lessons,
    /// Measure the pool on real processes; prints JSON lines like `bench/python_pool.py`.
    Bench(BenchArgs),
}

#[derive(Args, Clone, Default)]
struct ScenarioArgs {
    /// A built-in scenario (see `pooltop list`).
    scenario: Option<String>,
    /// Load the scenario from a TOML file instead.
    #[arg(long, value_name = "PATH", conflicts_with = "scenario")]
    file: Option<PathBuf>,
    /// Open a built-in lesson (see `pooltop lessons`).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["scenario", "file"])]
    lesson: Option<String>,
    /// Worker processes of every pool (overrides `processes`).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// How processes are started.
    #[arg(long, value_name = "M", value_enum)]
    start_method: Option<StartMethod>,
    /// Items per task for map/imap/starmap (overrides the scenario and Python's default).
    #[arg(long, value_name = "C")]
    chunksize: Option<usize>,
    /// Tasks a pool worker runs before it is replaced.
    #[arg(long, value_name = "K")]
    maxtasksperchild: Option<u32>,
    /// Time each item of work takes, e.g. 20ms, 1.5s or 0.
    #[arg(long, value_name = "D")]
    cost: Option<String>,
    /// Whether that time burns CPU (spin) or sleeps.
    #[arg(long, value_name = "K", value_enum)]
    cost_kind: Option<CostKind>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Write every event as JSON Lines to FILE, or to standard output with `-`.
    #[arg(long, value_name = "FILE|-")]
    events: Option<String>,
    /// Also print each Python call, its outcome, and process starts and exits (stderr).
    #[arg(long)]
    trace: bool,
}

#[derive(Args, Default)]
struct TuiArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// How often CPU and process figures are sampled, in milliseconds (at least 200).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    refresh: u64,
    /// Write one frame as SVG to FILE instead of opening the dashboard (with --after).
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
    /// When to take the screenshot: a number of steps, a time such as 2s, or 'end'.
    #[arg(
        long,
        value_name = "WHEN",
        default_value = "end",
        requires = "screenshot"
    )]
    after: String,
    /// Size of the screenshot in cells.
    #[arg(
        long,
        value_name = "WxH",
        default_value = "120x40",
        requires = "screenshot"
    )]
    size: String,
    /// Keys to press just before the screenshot, e.g. '?' for the help.
    #[arg(long, value_name = "KEYS", default_value = "", requires = "screenshot")]
    keys: String,
}

#[derive(Args)]
struct BenchArgs {
    /// Tasks per map call.
    #[arg(long, default_value_t = 100_000)]
    tasks: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    #[arg(long, value_enum, default_value_t = StartMethod::Fork)]
    start_method: StartMethod,
}

fn fail(message: &str) -> ExitCode {
    eprintln!("pooltop: {message}");
    ExitCode::from(2)
}

fn load_scenario(args: &ScenarioArgs) -> Result<scenario::Scenario, String> {
    if let Some(w) = args.workers
        && (w == 0 || w > MAX_WORKERS)
    {
        return Err(format!(
            "--workers must be between 1 and {MAX_WORKERS}, not {w}"
        ));
    }
    if args.chunksize == Some(0) {
        return Err("--chunksize must be at least 1".into());
    }
    if args.maxtasksperchild == Some(0) {
        return Err("--maxtasksperchild must be at least 1".into());
    }
    let cost = args
        .cost
        .as_deref()
        .map(scenario::parse_duration)
        .transpose()
        .map_err(|e| format!("--cost: {e}"))?;
    let overrides = scenario::Overrides {
        workers: args.workers,
        start_method: args.start_method,
        chunksize: args.chunksize,
        maxtasksperchild: args.maxtasksperchild,
        cost,
        cost_kind: args.cost_kind,
    };
    let source = match (&args.file, &args.scenario) {
        _ if args.lesson.is_some() => {
            scenario::Source::lesson(args.lesson.as_deref().unwrap_or_default())?
        }
        (Some(path), _) => scenario::Source::file(path)?,
        (None, Some(name)) => scenario::Source::builtin(name)?,
        (None, None) => scenario::Source::builtin(scenario::DEFAULT)?,
    };
    scenario::load(&source, &overrides)
}

/// The hidden entry points of pooltop's own child processes.
fn internal_entry(args: &[String]) -> Option<i32> {
    match args.get(1).map(String::as_str) {
        Some("__driver") => Some(engine::driver::main(engine::worker::CHANNEL_FD)),
        Some("__worker") => engine::worker::run(engine::worker::CHANNEL_FD),
        Some("__forkserver") => Some(
            match engine::forkserver::serve(engine::forkserver::CONTROL_FD) {
                Ok(()) => 0,
                Err(_) => 1,
            },
        ),
        _ => None,
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if let Some(code) = internal_entry(&argv) {
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let cli = Cli::parse();
    match cli.command {
        None => run_tui(TuiArgs {
            refresh: 1000,
            after: "end".into(),
            size: "120x40".into(),
            ..TuiArgs::default()
        }),
        Some(Cmd::Tui(args)) => run_tui(args),
        Some(Cmd::Run(args)) => run_headless(&args),
        Some(Cmd::List) => {
            let mut out = std::io::stdout().lock();
            for (name, title) in scenario::list() {
                if writeln!(out, "{name:<18} {title}").is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Some(Cmd::Lessons) => {
            let mut out = std::io::stdout().lock();
            for (name, question, title) in scenario::lessons() {
                if writeln!(out, "{name:<26} {question:<3} {title}").is_err() {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Some(Cmd::Bench(args)) => {
            if args.workers == 0 || args.workers > MAX_WORKERS {
                return fail(&format!("--workers must be between 1 and {MAX_WORKERS}"));
            }
            if args.tasks == 0 || args.tasks > 10_000_000 {
                return fail("--tasks must be between 1 and 10000000");
            }
            bench::run(args.tasks, args.workers, args.start_method)
        }
    }
}

fn run_headless(args: &RunArgs) -> ExitCode {
    let scenario = match load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let sink = match headless::EventSink::open(args.events.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    headless::run(scenario, sink, args.trace)
}

fn parse_size(text: &str) -> Result<(u16, u16), String> {
    let (w, h) = text
        .split_once('x')
        .ok_or_else(|| format!("--size is WxH, e.g. 120x40, not '{text}'"))?;
    let w: u16 = w.parse().map_err(|_| format!("--size: bad width '{w}'"))?;
    let h: u16 = h.parse().map_err(|_| format!("--size: bad height '{h}'"))?;
    if !(20..=500).contains(&w) || !(10..=300).contains(&h) {
        return Err(format!("--size {w}x{h} is out of range (20x10 to 500x300)"));
    }
    Ok((w, h))
}

fn run_tui(args: TuiArgs) -> ExitCode {
    let scenario = match load_scenario(&args.scenario) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if args.refresh < 200 || args.refresh > 60_000 {
        return fail("--refresh must be between 200 and 60000 milliseconds");
    }
    let capture = match args.screenshot {
        None => None,
        Some(path) => {
            let after = match tui::After::parse(&args.after) {
                Ok(a) => a,
                Err(e) => return fail(&e),
            };
            let size = match parse_size(&args.size) {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            Some(tui::Capture {
                path,
                after,
                size,
                keys: args.keys,
            })
        }
    };
    let refresh = std::time::Duration::from_millis(args.refresh);
    tui::run(&scenario, tui::Options { refresh, capture })
}
