//! pooltop: a terminal UI that makes a pool of real worker processes visible.
//! This file is the command line; the engine, scenarios and front ends live in modules.

mod bench;
mod engine;
mod headless;
mod scenario;
mod workload;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use engine::program::StartMethod;
use workload::CostKind;

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
    /// Run a scenario headless: print what the processes print, in arrival order.
    Run(RunArgs),
    /// List the built-in scenarios.
    List,
    /// Measure the pool on real processes; prints JSON lines like bench/python_pool.py.
    Bench(BenchArgs),
}

#[derive(Args, Clone, Default)]
struct ScenarioArgs {
    /// A built-in scenario (see `pooltop list`).
    scenario: Option<String>,
    /// Load the scenario from a TOML file instead.
    #[arg(long, value_name = "PATH", conflicts_with = "scenario")]
    file: Option<PathBuf>,
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
        None => run_headless(ScenarioArgs::default(), None, false),
        Some(Cmd::Run(args)) => run_headless(args.scenario, args.events, args.trace),
        Some(Cmd::List) => {
            let mut out = std::io::stdout().lock();
            for (name, title) in scenario::list() {
                if writeln!(out, "{name:<18} {title}").is_err() {
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

fn run_headless(args: ScenarioArgs, events: Option<String>, trace: bool) -> ExitCode {
    let scenario = match load_scenario(&args) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let sink = match headless::EventSink::open(events.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    headless::run(scenario, sink, trace)
}
