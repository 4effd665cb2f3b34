//! Scenarios: the built-in ones under `assets/scenarios/` and user files in the same TOML
//! format, parsed, checked (errors name the file and line) and compiled for the driver.

mod compile;
pub mod rules;
mod watched;

use std::path::Path;

use serde::Deserialize;

use crate::engine::program::{Program, RunSettings};
use crate::engine::protocol::WatchSpec;

pub use compile::compile;
pub use watched::watched;

/// Built-in scenarios, compiled into the binary from `assets/scenarios/`.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "workshop",
        include_str!("../../assets/scenarios/workshop.toml"),
    ),
    (
        "squares-cubes",
        include_str!("../../assets/scenarios/squares-cubes.toml"),
    ),
    (
        "pool-map",
        include_str!("../../assets/scenarios/pool-map.toml"),
    ),
    (
        "four-processes",
        include_str!("../../assets/scenarios/four-processes.toml"),
    ),
    ("imap", include_str!("../../assets/scenarios/imap.toml")),
    (
        "imap-unordered",
        include_str!("../../assets/scenarios/imap-unordered.toml"),
    ),
    (
        "apply-async",
        include_str!("../../assets/scenarios/apply-async.toml"),
    ),
    (
        "starmap",
        include_str!("../../assets/scenarios/starmap.toml"),
    ),
    (
        "maxtasksperchild",
        include_str!("../../assets/scenarios/maxtasksperchild.toml"),
    ),
    (
        "terminate",
        include_str!("../../assets/scenarios/terminate.toml"),
    ),
    (
        "close-join",
        include_str!("../../assets/scenarios/close-join.toml"),
    ),
    (
        "worker-killed",
        include_str!("../../assets/scenarios/worker-killed.toml"),
    ),
];

/// Built-in lessons, from `assets/lessons/`: scenarios with an explanation and notes.
pub const LESSONS: &[(&str, &str)] = &[
    (
        "q1-processes",
        include_str!("../../assets/lessons/q1-processes.toml"),
    ),
    (
        "q2-threads-vs-processes",
        include_str!("../../assets/lessons/q2-threads-vs-processes.toml"),
    ),
    (
        "q3-two-processes",
        include_str!("../../assets/lessons/q3-two-processes.toml"),
    ),
    (
        "q4-pool-lifecycle",
        include_str!("../../assets/lessons/q4-pool-lifecycle.toml"),
    ),
    (
        "q5-pool-map",
        include_str!("../../assets/lessons/q5-pool-map.toml"),
    ),
    (
        "q6-four-processes",
        include_str!("../../assets/lessons/q6-four-processes.toml"),
    ),
    (
        "apply-vs-apply-async",
        include_str!("../../assets/lessons/apply-vs-apply-async.toml"),
    ),
    (
        "map-imap-imap-unordered",
        include_str!("../../assets/lessons/map-imap-imap-unordered.toml"),
    ),
    (
        "chunksize",
        include_str!("../../assets/lessons/chunksize.toml"),
    ),
    (
        "maxtasksperchild",
        include_str!("../../assets/lessons/maxtasksperchild.toml"),
    ),
    (
        "start-methods",
        include_str!("../../assets/lessons/start-methods.toml"),
    ),
    ("speedup", include_str!("../../assets/lessons/speedup.toml")),
];

/// The scenario `pooltop` opens when none is named.
pub const DEFAULT: &str = "workshop";

/// Most workers one pool may have, from `--workers` or a file's `processes`: beyond this
/// a class demo is a fork bomb.
pub const MAX_WORKERS: usize = 512;

/// Most items a scenario's map-like calls may have in all, and one benchmark's tasks:
/// ten million results are the most that fit comfortably in memory.
pub const MAX_ITEMS: u64 = 10_000_000;

/// Largest scenario file: the built-in ones are under 10 KiB, and a file is read whole.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Most steps a scenario may have: a lesson has a few dozen, and each step is a line on
/// the dashboard.
pub const MAX_STEPS: usize = 10_000;

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub title: Option<String>,
    pub about: Option<String>,
    /// Whose defaults apply: `python = "3.14"`.
    pub python: Option<String>,
    pub start_method: Option<String>,
    pub cost: Option<String>,
    pub cost_kind: Option<String>,
    pub lesson: Option<LessonMeta>,
    #[serde(default)]
    pub step: Vec<toml::Spanned<RawStep>>,
}

/// What makes a scenario a lesson: which question it answers and what to read first.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonMeta {
    /// The assignment's question, e.g. "Q3".
    pub question: String,
    /// Place in the lesson list.
    #[serde(default)]
    pub order: u32,
    pub explanation: String,
}

/// One `[[step]]` table as written; which fields apply depends on `do`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    #[serde(rename = "do")]
    pub action: String,
    pub python: Option<String>,
    pub var: Option<String>,
    pub on: Option<String>,
    pub into: Option<String>,
    pub target: Option<String>,
    pub func: Option<String>,
    pub args: Option<Vec<toml::Value>>,
    pub items: Option<Vec<toml::Value>>,
    pub range: Option<Vec<i64>>,
    pub name: Option<String>,
    pub processes: Option<i64>,
    pub initializer: Option<String>,
    pub initargs: Option<Vec<toml::Value>>,
    pub maxtasksperchild: Option<i64>,
    pub chunksize: Option<i64>,
    pub timeout: Option<f64>,
    pub text: Option<String>,
    pub print: Option<bool>,
    pub seconds: Option<f64>,
    pub signal: Option<String>,
    pub worker: Option<toml::Value>,
    pub start_method: Option<String>,
    pub daemon: Option<bool>,
    pub callback: Option<String>,
    pub error_callback: Option<String>,
    /// What a lesson says about this line.
    pub say: Option<String>,
    /// Label the time this step takes (a lesson's measurements view).
    pub measure: Option<RawMeasure>,
}

/// `measure = "chunksize=1"`, or `measure = { label = "2 workers", workers = 2 }` when
/// the step compares pool sizes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawMeasure {
    Label(String),
    Table(MeasureTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureTable {
    pub label: String,
    pub workers: Option<usize>,
}

impl RawMeasure {
    pub fn compile(&self) -> crate::engine::program::Measure {
        use crate::engine::program::Measure;
        match self {
            RawMeasure::Label(label) => Measure {
                label: label.clone(),
                workers: None,
            },
            RawMeasure::Table(t) => Measure {
                label: t.label.clone(),
                workers: t.workers,
            },
        }
    }
}

/// A scenario ready to run, with what the front ends show about it.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    pub about: String,
    pub program: Program,
    pub lesson: Option<LessonMeta>,
    /// A real command to watch instead of a program to re-enact (`pooltop watch`).
    pub watch: Option<WatchSpec>,
    /// The CPython whose defaults the program follows, and why that one.
    pub rules: rules::Rules,
}

/// Where a scenario comes from, for error messages.
#[derive(Clone, Debug)]
pub struct Source {
    pub label: String,
    pub text: String,
}

impl Source {
    pub fn builtin(name: &str) -> Result<Source, String> {
        Source::embedded(BUILTIN, "scenarios", "scenario", name)
    }

    pub fn lesson(name: &str) -> Result<Source, String> {
        Source::embedded(LESSONS, "lessons", "lesson", name)
    }

    /// One of the files compiled in from `assets/<folder>/`.
    fn embedded(
        table: &[(&str, &str)],
        folder: &str,
        kind: &str,
        name: &str,
    ) -> Result<Source, String> {
        if let Some((n, text)) = table.iter().find(|(n, _)| *n == name) {
            Ok(Source {
                label: format!("assets/{folder}/{n}.toml"),
                text: text.to_string(),
            })
        } else {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "unknown {kind} '{name}' (built-in: {}; or --file PATH)",
                names.join(", ")
            ))
        }
    }

    /// Reads a scenario file. Only a regular file of at most [`MAX_FILE_BYTES`] is read:
    /// opening a FIFO blocks until a writer comes, and a device may never end.
    pub fn file(path: &Path) -> Result<Source, String> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let label = path.display().to_string();
        let fail = |e: &dyn std::fmt::Display| format!("{label}: {e}");
        // stat first, so that a FIFO is refused without being opened.
        let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
        check_regular(&meta, &label)?;
        // The path may have been replaced since: O_NONBLOCK keeps open() of a FIFO from
        // waiting, and the opened file is checked again.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| fail(&e))?;
        check_regular(&file.metadata().map_err(|e| fail(&e))?, &label)?;
        // The size is checked on what is read too: a file may grow, and /proc files say 0.
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(&e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(too_big(&label));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let (line, col) = line_col_bytes(e.as_bytes(), at);
            format!("{label}:{line}:{col}: not UTF-8 text")
        })?;
        Ok(Source { label, text })
    }

    fn default_name(&self) -> String {
        Path::new(&self.label)
            .file_stem()
            .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned())
    }
}

/// Command-line overrides of a scenario's settings.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--python-version` and `--platform`: whose defaults apply.
    pub python_version: Option<rules::PyVersion>,
    pub platform: Option<rules::Platform>,
    pub workers: Option<usize>,
    pub start_method: Option<crate::engine::program::StartMethod>,
    pub chunksize: Option<usize>,
    pub maxtasksperchild: Option<u32>,
    pub cost: Option<std::time::Duration>,
    pub cost_kind: Option<crate::workload::CostKind>,
}

fn check_regular(meta: &std::fs::Metadata, label: &str) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_file() {
        return if meta.len() > MAX_FILE_BYTES {
            Err(too_big(label))
        } else {
            Ok(())
        };
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    Err(format!(
        "{label}: {what}, not a regular file (a scenario is a TOML file)"
    ))
}

fn too_big(label: &str) -> String {
    format!("{label}: larger than 1 MiB (a scenario file is at most {MAX_FILE_BYTES} bytes)")
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    line_col_bytes(text.as_bytes(), offset)
}

/// 1-based line, and column counted in characters, of a byte offset in possibly broken
/// UTF-8.
fn line_col_bytes(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.split(|b| *b == b'\n').count();
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, col)
}

/// Where each line of a text starts. A step's line is looked up here rather than counted
/// from the top of the file for every step, which made loading quadratic in the steps
/// (40,000 steps took 36 s).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let ends = text.match_indices('\n').map(|(i, _)| i + 1);
        LineIndex {
            starts: std::iter::once(0).chain(ends).collect(),
        }
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

/// A message on one line: a control character a file or path brings in (a newline in a
/// key, a step's `do` or a file name) is written as its escape.
pub fn one_line(message: &str) -> String {
    if !message.chars().any(char::is_control) {
        return message.to_string();
    }
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Parses, checks and compiles a scenario; the error is one line naming file and line.
pub fn load(source: &Source, overrides: &Overrides) -> Result<Scenario, String> {
    load_checked(source, overrides).map_err(|e| one_line(&e))
}

fn load_checked(source: &Source, overrides: &Overrides) -> Result<Scenario, String> {
    if source.text.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(&source.label));
    }
    let file: ScenarioFile = toml::from_str(&source.text).map_err(|e| {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(&source.text, span.start);
                format!("{}:{line}:{col}: {message}", source.label)
            }
            None => format!("{}: {message}", source.label),
        }
    })?;
    if let Some(extra) = file.step.get(MAX_STEPS) {
        let (line, _) = line_col(&source.text, extra.span().start);
        return Err(format!(
            "{}:{line}: step {}: a scenario has at most {MAX_STEPS} steps (this one has {})",
            source.label,
            MAX_STEPS + 1,
            file.step.len()
        ));
    }
    let rules = scenario_rules(&file, overrides).map_err(|e| format!("{}: {e}", source.label))?;
    let settings =
        settings(&file, overrides, &rules).map_err(|e| format!("{}: {e}", source.label))?;
    let program = compile(source, &file, settings, overrides)?;
    Ok(Scenario {
        name: file.name.clone().unwrap_or_else(|| source.default_name()),
        title: file.title.clone().unwrap_or_default(),
        about: file
            .about
            .clone()
            .or_else(|| file.lesson.as_ref().map(|l| l.explanation.clone()))
            .unwrap_or_default(),
        program,
        lesson: file.lesson.clone(),
        watch: None,
        rules,
    })
}

fn scenario_rules(file: &ScenarioFile, o: &Overrides) -> Result<rules::Rules, String> {
    let from_file = file
        .python
        .as_deref()
        .map(|v| rules::PyVersion::parse(v).map_err(|e| format!("python: {e}")))
        .transpose()?;
    rules::Rules::choose(o.python_version, from_file, o.platform)
}

fn settings(
    file: &ScenarioFile,
    o: &Overrides,
    rules: &rules::Rules,
) -> Result<RunSettings, String> {
    use clap::ValueEnum;
    // A pool or Process without a start method of its own gets the rules' default.
    let start_method = match (&o.start_method, &file.start_method) {
        (Some(m), _) => *m,
        (None, Some(s)) => ValueEnum::from_str(s, false)
            .map_err(|_| format!("start_method '{s}' is not fork, spawn or forkserver"))?,
        (None, None) => rules.default_start_method(),
    };
    let per_item = match (&o.cost, &file.cost) {
        (Some(d), _) => *d,
        (None, Some(s)) => parse_duration(s)?,
        (None, None) => std::time::Duration::ZERO,
    };
    let kind = match (&o.cost_kind, &file.cost_kind) {
        (Some(k), _) => *k,
        (None, Some(s)) => ValueEnum::from_str(s, false)
            .map_err(|_| format!("cost_kind '{s}' is not spin or sleep"))?,
        (None, None) => crate::workload::CostKind::default(),
    };
    Ok(RunSettings {
        start_method,
        cost: crate::workload::Cost { per_item, kind },
        workers: o.workers,
        chunksize: o.chunksize,
        maxtasksperchild: o.maxtasksperchild,
    })
}

/// `20ms`, `1.5s`, `0`: a duration as the command line and scenario files write it.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    // humantime has no fractions ("1.5s"); plain seconds are read here first.
    let fractional = t
        .strip_suffix('s')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0);
    let d = match fractional {
        Some(secs) => std::time::Duration::from_secs_f64(secs.min(1e9)),
        None => humantime::parse_duration(t)
            .map_err(|_| format!("'{text}' is not a duration (try 20ms, 1.5s or 0)"))?,
    };
    if d > std::time::Duration::from_hours(1) {
        return Err(format!("'{text}' is longer than an hour per item"));
    }
    Ok(d)
}

/// `(name, question, title)` for every built-in lesson, in teaching order.
pub fn lessons() -> Vec<(String, String, String)> {
    let mut out: Vec<(u32, String, String, String)> = LESSONS
        .iter()
        .map(|(name, text)| {
            let file = toml::from_str::<ScenarioFile>(text).ok();
            let lesson = file
                .as_ref()
                .and_then(|f| f.lesson.clone())
                .unwrap_or_default();
            let title = file.and_then(|f| f.title).unwrap_or_default();
            (lesson.order, name.to_string(), lesson.question, title)
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, n, q, t)| (n, q, t)).collect()
}

/// `name  title` for every built-in scenario.
pub fn list() -> Vec<(String, String)> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            let title = toml::from_str::<ScenarioFile>(text)
                .ok()
                .and_then(|f| f.title)
                .unwrap_or_default();
            (name.to_string(), title)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_compiles() {
        for (name, _) in BUILTIN {
            let src = Source::builtin(name).expect("builtin");
            let s = load(&src, &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name);
            assert!(!s.program.steps.is_empty());
        }
    }

    #[test]
    fn every_lesson_compiles_and_explains_itself() {
        for (name, _) in LESSONS {
            let src = Source::lesson(name).expect("lesson");
            let s = load(&src, &Overrides::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
            let lesson = s
                .lesson
                .unwrap_or_else(|| panic!("{name} has no [lesson] table"));
            assert!(lesson.question.starts_with('Q'), "{name}");
            assert!(lesson.explanation.len() > 100, "{name}");
        }
        assert_eq!(lessons().len(), LESSONS.len());
    }

    #[test]
    fn durations_parse_like_the_cli_says() {
        assert_eq!(
            parse_duration("20ms"),
            Ok(std::time::Duration::from_millis(20))
        );
        assert_eq!(
            parse_duration("1.5s"),
            Ok(std::time::Duration::from_millis(1500))
        );
        assert_eq!(parse_duration("0"), Ok(std::time::Duration::ZERO));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-3ms").is_err());
    }

    #[test]
    fn syntax_errors_name_file_and_line() {
        let src = Source {
            label: "bad.toml".into(),
            text: "name = \"x\"\n[[step]]\ndo = \n".into(),
        };
        let err = load(&src, &Overrides::default()).unwrap_err();
        assert!(err.starts_with("bad.toml:3:"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
