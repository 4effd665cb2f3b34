//! The scenario of a watched command (`pooltop watch`): its name, and its script's lines
//! as the code pane's steps, where the hook marks the line the main process is on.

use crate::engine::program::{Op, Program, RunSettings, Step};
use crate::engine::protocol::WatchSpec;
use crate::engine::watch;

use super::Scenario;

/// Lines of a script shown at most (a longer script is cut, with a note).
const MAX_LINES: usize = 5000;

/// The scenario that watches `spec`'s command.
pub fn watched(spec: WatchSpec) -> Scenario {
    let script = watch::script_of(&spec.argv);
    let name = script
        .as_ref()
        .and_then(|s| s.file_name())
        .or_else(|| {
            spec.argv
                .first()
                .map(|a| std::path::Path::new(a.as_str()))
                .and_then(|p| p.file_name())
        })
        .map_or_else(|| "command".into(), |n| n.to_string_lossy().into_owned());
    let steps = script
        .as_ref()
        .and_then(|s| std::fs::read_to_string(s).ok())
        .map(|text| script_steps(&text))
        .unwrap_or_default();
    Scenario {
        name: name.clone(),
        title: spec.argv.join(" "),
        about: String::new(),
        program: Program {
            name,
            slots: Vec::new(),
            steps,
            settings: RunSettings::default(),
        },
        lesson: None,
        watch: Some(spec),
        rules: super::rules::Rules::default(),
    }
}

/// Each line of the script as one step, to read (the program runs by itself).
fn script_steps(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = text
        .lines()
        .take(MAX_LINES)
        .map(|line| Step {
            python: if line.is_empty() {
                " ".into()
            } else {
                line.replace('\t', "    ")
            },
            op: Op::Note,
            say: None,
            measure: None,
        })
        .collect();
    if text.lines().nth(MAX_LINES).is_some() {
        steps.push(Step {
            python: format!("# ... (the script goes on past {MAX_LINES} lines)"),
            op: Op::Note,
            say: None,
            measure: None,
        });
    }
    steps
}
