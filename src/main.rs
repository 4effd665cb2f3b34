//! pooltop: a terminal UI that makes a pool of real worker processes visible.
//! This file is the command line; the engine, scenarios and front ends live in modules.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use pooltop::engine::program::StartMethod;
use pooltop::scenario::rules::{Platform, PyVersion};
use pooltop::scenario::{MAX_ITEMS, MAX_WORKERS};
use pooltop::ui::theme::Palette;
use pooltop::workload::CostKind;
use pooltop::{bench, engine, headless, scenario, tui};

#[derive(Parser)]
#[command(
    name = "pooltop",
    version,
    about = "Watch and drive a pool of real worker processes",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Without a subcommand, `pooltop` is `pooltop tui`: its options work here too
    /// (`pooltop --theme high-contrast`, `pooltop pool-map`).
    #[command(flatten)]
    tui: TuiArgs,
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
    /// Watch a real command (`pooltop watch -- python3 my_script.py`): its processes, their
    /// output and, for Python, its pools' tasks. `pooltop my_script.py` is short for it.
    Watch(WatchArgs),
    /// Print a shell completion script: `pooltop completions bash > pooltop.bash` (also zsh,
    /// fish, elvish, powershell).
    Completions {
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `pooltop man | man -l -`, `pooltop man run` for a
    /// subcommand's page, or `pooltop man --dir DIR` to write every page to DIR.
    Man {
        /// A subcommand whose page to print (`pooltop-run(1)`).
        #[arg(value_name = "SUBCOMMAND")]
        subcommand: Option<String>,
        /// Write `pooltop.1` and a page per subcommand to this directory instead.
        #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
        dir: Option<PathBuf>,
    },
}

#[derive(Args)]
struct WatchArgs {
    /// Run without the dashboard: the output passes through, events go to FILE (JSON
    /// Lines; `-` for standard output), and pooltop exits with the command's status.
    #[arg(long, value_name = "FILE|-")]
    events: Option<String>,
    /// The Python interpreter for a script (`pooltop watch -- x.py`, `pooltop x.py`), or
    /// in place of the command's own `python3`.
    #[arg(long, value_name = "PATH")]
    python: Option<String>,
    /// Do not load pooltop's Python hook: processes and output only.
    #[arg(long)]
    no_hook: bool,
    /// With --events: also print each multiprocessing call and process start and exit.
    #[arg(long)]
    trace: bool,
    #[command(flatten)]
    dashboard: DashboardArgs,
    /// The command and its arguments (after `--`).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<String>,
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
    // Numbers are signed and may be negative, so that `--workers -1` is a value to refuse
    // with the range rather than an unknown option.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    workers: Option<i64>,
    /// How processes are started (by default, as the Python of `--python-version` does).
    #[arg(long, value_name = "M", value_enum)]
    start_method: Option<StartMethod>,
    /// Follow this CPython's defaults, e.g. 3.14 (forkserver on Linux); by default the
    /// version of the `python3` on PATH. Also `POOLTOP_PYTHON_VERSION`.
    #[arg(long, value_name = "X.Y")]
    python_version: Option<String>,
    /// Follow the defaults of the students' operating system (spawn on macOS and Windows).
    #[arg(long, value_name = "OS", value_enum)]
    platform: Option<Platform>,
    /// Items per task for map/imap/starmap (overrides the scenario and Python's default).
    #[arg(long, value_name = "C", allow_negative_numbers = true)]
    chunksize: Option<i64>,
    /// Tasks a pool worker runs before it is replaced.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    maxtasksperchild: Option<i64>,
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
struct TuiArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    dashboard: DashboardArgs,
}

/// The dashboard's own options, for a scenario (`tui`) and a watched command (`watch`).
#[derive(Args)]
struct DashboardArgs {
    /// How often CPU and process figures are sampled, in milliseconds (at least 200).
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1000,
        allow_negative_numbers = true
    )]
    refresh: i64,
    /// Write one frame as SVG to FILE instead of opening the dashboard (with --after).
    #[arg(long, value_name = "FILE")]
    screenshot: Option<PathBuf>,
    /// When to take the screenshot: a number of steps (a scenario), a time such as 2s, or
    /// 'end'.
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
    /// Colours: dark (the default, reads on any background), light (for a white
    /// background) or high-contrast (a projector: bright, no dim text, bold borders).
    /// `NO_COLOR` still turns colours off.
    #[arg(long, value_name = "THEME", value_enum, env = "POOLTOP_THEME", default_value_t = Palette::Dark)]
    theme: Palette,
}

#[derive(Args)]
struct BenchArgs {
    /// Tasks per map call.
    #[arg(long, default_value_t = 100_000, allow_negative_numbers = true)]
    tasks: i64,
    /// Worker processes.
    #[arg(long, default_value_t = 2, allow_negative_numbers = true)]
    workers: i64,
    #[arg(long, value_enum, default_value_t = StartMethod::Fork)]
    start_method: StartMethod,
}

/// Bad input: one line on stderr (a path or value with a newline in it is escaped) and
/// exit status 2.
fn fail(message: &str) -> ExitCode {
    eprintln!("pooltop: {}", scenario::one_line(message));
    ExitCode::from(2)
}

/// clap writes an error over several lines (the error, tips, the usage and a pointer to
/// `--help`); pooltop's rule for bad input is one line and exit status 2, so the error and
/// its tips are joined on one line that names the help to read. `--help` and `--version`
/// print as clap writes them, on stdout.
fn clap_exit(e: &clap::Error, argv: &[OsString]) -> ExitCode {
    use clap::CommandFactory;
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        // A closed stdout (`pooltop --help | true`) is not an error of the command line.
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    // The subcommand comes first: pooltop has no options of its own but help and version.
    let sub = argv
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| Cli::command().get_subcommands().any(|c| c.get_name() == *a));
    let help = match sub {
        Some(sub) => format!("pooltop {sub} --help"),
        None => "pooltop --help".into(),
    };
    fail(&clap_one_line(&e.to_string(), &help))
}

/// `error: unexpected argument '--fle' found (a similar argument exists: '--file'; see
/// 'pooltop run --help')` from clap's rendering, whose paragraphs are the error, tips,
/// `Usage: ...` and a pointer to `--help`.
fn clap_one_line(rendered: &str, help: &str) -> String {
    let mut message = String::new();
    let mut tips = Vec::new();
    for paragraph in rendered.split("\n\n") {
        let text = paragraph
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(tip) = text.strip_prefix("tip: ") {
            // "to pass '--frob' as a value, use '-- --frob'" fits no pooltop value.
            if !tip.starts_with("to pass ") {
                tips.push(tip.to_string());
            }
        } else if message.is_empty() && !text.starts_with("Usage:") {
            message = text.strip_prefix("error: ").unwrap_or(&text).to_string();
        }
    }
    tips.push(format!("see '{help}'"));
    format!("error: {message} ({})", tips.join("; "))
}

/// A number option within `lo..=hi`, or the one-line error naming it.
fn in_range(option: &str, value: i64, lo: i64, hi: i64) -> Result<i64, String> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{option} must be between {lo} and {hi}, not {value}"
        ))
    }
}

fn load_scenario(args: &ScenarioArgs) -> Result<scenario::Scenario, String> {
    let max_items = MAX_ITEMS as i64;
    let workers = args
        .workers
        .map(|w| in_range("--workers", w, 1, MAX_WORKERS as i64))
        .transpose()?
        .map(|w| w as usize);
    let chunksize = args
        .chunksize
        .map(|c| in_range("--chunksize", c, 1, max_items))
        .transpose()?
        .map(|c| c as usize);
    let maxtasksperchild = args
        .maxtasksperchild
        .map(|m| in_range("--maxtasksperchild", m, 1, max_items))
        .transpose()?
        .map(|m| m as u32);
    let cost = args
        .cost
        .as_deref()
        .map(scenario::parse_duration)
        .transpose()
        .map_err(|e| format!("--cost: {e}"))?;
    let python_version = args
        .python_version
        .as_deref()
        .map(|v| PyVersion::parse(v).map_err(|e| format!("--python-version: {e}")))
        .transpose()?;
    let overrides = scenario::Overrides {
        python_version,
        platform: args.platform,
        workers,
        start_method: args.start_method,
        chunksize,
        maxtasksperchild,
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
fn internal_entry(args: &[OsString]) -> Option<i32> {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("__driver") => Some(engine::driver::main(engine::worker::CHANNEL_FD)),
        Some("__worker") => engine::worker::run(engine::worker::CHANNEL_FD),
        Some("__guard") => Some(engine::watch::guard::main(
            args.get(2).and_then(|a| a.to_str()).unwrap_or(""),
        )),
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
    // args_os: an argument that is not UTF-8 is clap's to refuse, where args() panicked.
    let argv: Vec<OsString> = std::env::args_os().collect();
    if let Some(code) = internal_entry(&argv) {
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    let argv = script_shorthand(argv);
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e, &argv),
    };
    match cli.command {
        None => match cli.tui.scenario.scenario.as_deref() {
            // `pooltop NAME`: a scenario, or a mistyped subcommand.
            Some(name) if scenario::Source::builtin(name).is_err() => fail(&format!(
                "'{name}' is neither a subcommand nor a built-in scenario (see 'pooltop --help', 'pooltop list')"
            )),
            _ => run_tui(cli.tui),
        },
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
        Some(Cmd::Watch(args)) => run_watch(args),
        Some(Cmd::Completions { shell }) => {
            use clap::CommandFactory;
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "pooltop", &mut out);
            ExitCode::SUCCESS
        }
        Some(Cmd::Man { subcommand, dir }) => match man_pages(subcommand.as_deref(), dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Some(Cmd::Bench(args)) => {
            let checked = in_range("--workers", args.workers, 1, MAX_WORKERS as i64)
                .and_then(|w| Ok((w, in_range("--tasks", args.tasks, 1, MAX_ITEMS as i64)?)));
            match checked {
                Ok((workers, tasks)) => {
                    bench::run(tasks as usize, workers as usize, args.start_method)
                }
                Err(e) => fail(&e),
            }
        }
    }
}

/// The manual: the main page or one subcommand's on standard output, or every page
/// written to a directory.
fn man_pages(subcommand: Option<&str>, dir: Option<PathBuf>) -> Result<(), String> {
    use clap::CommandFactory;
    let cli = Cli::command().name("pooltop");
    let page = |cmd: clap::Command| clap_mangen::Man::new(cmd);
    if let Some(dir) = dir {
        std::fs::create_dir_all(&dir).map_err(|e| format!("man --dir {}: {e}", dir.display()))?;
        clap_mangen::generate_to(cli, &dir)
            .map_err(|e| format!("man --dir {}: {e}", dir.display()))?;
        return Ok(());
    }
    let cmd = match subcommand {
        None => cli,
        Some(name) => {
            let sub = cli
                .find_subcommand(name)
                .ok_or_else(|| format!("man: no subcommand '{name}' (see 'pooltop --help')"))?
                .clone();
            sub.display_name(format!("pooltop-{name}"))
                .bin_name(format!("pooltop {name}"))
        }
    };
    match page(cmd).render(&mut std::io::stdout().lock()) {
        // A closed standard output (`pooltop man | head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("man: {e}")),
        _ => Ok(()),
    }
}

/// A Python script's name: `x.py` (`X.PY` too, as a file system may spell it).
fn is_script(arg: &str) -> bool {
    std::path::Path::new(arg)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("py"))
}

/// `pooltop my_script.py ARGS...` is `pooltop watch -- my_script.py ARGS...` (which runs
/// it with `python3`).
fn script_shorthand(argv: Vec<OsString>) -> Vec<OsString> {
    let is_script = argv
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|a| is_script(a) && !a.starts_with('-'));
    if !is_script {
        return argv;
    }
    let mut out = vec![argv[0].clone(), "watch".into(), "--".into()];
    out.extend(argv.into_iter().skip(1));
    out
}

/// The command to run: a script gets the interpreter, and `--python` replaces the
/// command's own Python; bad input is one line.
fn watch_command(args: &WatchArgs) -> Result<Vec<String>, String> {
    let mut argv = args.command.clone();
    if argv.first().is_some_and(|a| is_script(a)) {
        let python = match &args.python {
            Some(p) => p.clone(),
            None => engine::watch::default_python(),
        };
        argv.insert(0, python);
    } else if let Some(python) = &args.python
        && engine::watch::is_python(&argv)
    {
        argv[0].clone_from(python);
    }
    let program = argv.first().ok_or("watch: no command given")?;
    if find_program(program).is_none() {
        return Err(format!("watch: command not found: {program}"));
    }
    if engine::watch::is_python(&argv)
        && let Some(script) = engine::watch::script_of(&argv)
        && !script.is_file()
    {
        return Err(format!("watch: no such script: {}", script.display()));
    }
    Ok(argv)
}

/// Where `program` is, as `execvp` would find it.
fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        return runnable(&path).then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| runnable(p))
}

fn run_watch(args: WatchArgs) -> ExitCode {
    let argv = match watch_command(&args) {
        Ok(argv) => argv,
        Err(e) => return fail(&e),
    };
    let spec = engine::protocol::WatchSpec {
        argv,
        hook: !args.no_hook,
    };
    let scenario = scenario::watched(spec);
    if let Some(events) = args.events.as_deref() {
        let sink = match headless::EventSink::open(Some(events)) {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        return headless::run(scenario, sink, args.trace);
    }
    open_tui(&scenario, args.dashboard)
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
    open_tui(&scenario, args.dashboard)
}

fn open_tui(scenario: &scenario::Scenario, args: DashboardArgs) -> ExitCode {
    if let Err(e) = in_range("--refresh", args.refresh, 200, 60_000) {
        return fail(&format!("{e} (milliseconds)"));
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
    let refresh = std::time::Duration::from_millis(args.refresh.unsigned_abs());
    let palette = args.theme;
    tui::run(
        scenario,
        tui::Options {
            refresh,
            capture,
            palette,
        },
    )
}
