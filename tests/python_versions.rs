//! pooltop's defaults for a Python version against that CPython itself: every interpreter
//! found here (`python3.X` on PATH, pyenv's versions) runs
//! `tests/python/versions/default_start_method.py`, and `pooltop run --python-version X.Y`
//! must start its pool the same way and name its workers alike.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{pooltop, write_scenario};

/// Interpreters on this machine within the versions pooltop knows, by `major.minor`.
fn interpreters() -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let mut candidates: Vec<PathBuf> = (8..=14)
        .map(|minor| PathBuf::from(format!("python3.{minor}")))
        .collect();
    if let Some(home) = std::env::var_os("HOME") {
        let versions = PathBuf::from(home).join(".pyenv/versions");
        if let Ok(dirs) = std::fs::read_dir(versions) {
            candidates.extend(dirs.flatten().map(|d| d.path().join("bin/python3")));
        }
    }
    for python in candidates {
        let Ok(out) = std::process::Command::new(&python)
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
        else {
            continue;
        };
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let known = version
            .strip_prefix("3.")
            .and_then(|m| m.parse::<u8>().ok())
            .is_some_and(|m| (8..=14).contains(&m));
        if out.status.success() && known && !found.iter().any(|(v, _)| *v == version) {
            found.push((version, python));
        }
    }
    found
}

/// What pooltop does under `--python-version`: the first worker's name and its start
/// method, from `--trace` ("[ForkPoolWorker-1 pid N ready: fork start took ...]").
fn pooltop_default(version: &str, platform: &str) -> (String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = r#"
[[step]]
do = "pool"
var = "pool"
processes = 1
[[step]]
do = "apply"
on = "pool"
func = "square"
args = [2]
[[step]]
do = "with-exit"
on = "pool"
"#;
    let file = write_scenario(dir.path(), "default.toml", text);
    let file = file.to_string_lossy();
    let run = pooltop(
        &[
            "run",
            "--file",
            &file,
            "--trace",
            "--python-version",
            version,
            "--platform",
            platform,
        ],
        Duration::from_secs(30),
    );
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let ready = run
        .stderr
        .lines()
        .find(|l| l.contains(" ready: "))
        .unwrap_or_else(|| panic!("no worker started: {}", run.stderr));
    let name = ready
        .split('[')
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let method = ready
        .split("ready: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_default()
        .to_string();
    (name, method)
}

#[test]
fn each_installed_python_starts_its_default_pool_as_pooltop_does_for_it() {
    let pythons = interpreters();
    assert!(!pythons.is_empty(), "python3 3.11 is on every machine here");
    let program = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/versions/default_start_method.py"
    );
    for (version, python) in pythons {
        let out = std::process::Command::new(&python)
            .arg(program)
            .output()
            .expect("run python");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let words: Vec<&str> = text.split_whitespace().collect();
        let [_, method, name] = words[..] else {
            panic!("{version}: {text}");
        };
        assert_eq!(
            pooltop_default(&version, "linux"),
            (name.to_string(), method.to_string()),
            "Python {version} ({})",
            python.display()
        );
    }
}

/// The versions and platforms no interpreter here can show, from CPython's own
/// `multiprocessing/context.py` (see the program's header): 3.14 on Linux starts a fork
/// server; macOS (since 3.8) and Windows spawn.
#[test]
fn newer_pythons_and_other_platforms_follow_cpythons_context_rules() {
    let cases = [
        ("3.14", "linux", "ForkServerPoolWorker-1", "forkserver"),
        ("3.13", "linux", "ForkPoolWorker-1", "fork"),
        ("3.12", "macos", "SpawnPoolWorker-1", "spawn"),
        ("3.14", "windows", "SpawnPoolWorker-1", "spawn"),
    ];
    for (version, platform, name, method) in cases {
        assert_eq!(
            pooltop_default(version, platform),
            (name.to_string(), method.to_string()),
            "{version} on {platform}"
        );
    }
}

/// `python = "3.14"` in a scenario file picks that version's defaults; the command line
/// wins over the file, and `POOLTOP_PYTHON_VERSION` applies where the file is silent.
#[test]
fn a_scenario_file_names_its_python_and_the_command_line_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let steps = "[[step]]\ndo = \"pool\"\nvar = \"pool\"\nprocesses = 1\n[[step]]\ndo = \"apply\"\non = \"pool\"\nfunc = \"square\"\nargs = [2]\n[[step]]\ndo = \"with-exit\"\non = \"pool\"\n";
    let pinned = write_scenario(
        dir.path(),
        "pinned.toml",
        &format!("python = \"3.14\"\n{steps}"),
    );
    let silent = write_scenario(dir.path(), "silent.toml", steps);
    let first_worker = |file: &std::path::Path, extra: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(common::BIN);
        cmd.args(["run", "--file"])
            .arg(file)
            .arg("--trace")
            .args(extra);
        match env {
            Some(v) => cmd.env("POOLTOP_PYTHON_VERSION", v),
            None => cmd.env_remove("POOLTOP_PYTHON_VERSION"),
        };
        let out = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{err}");
        let heading = err.lines().nth(1).unwrap_or_default().to_string();
        let ready = err
            .lines()
            .find(|l| l.contains(" ready: "))
            .unwrap_or_default()
            .to_string();
        (heading, ready)
    };
    let (heading, ready) = first_worker(&pinned, &[], Some("3.11"));
    assert!(
        heading.contains("Python 3.14 rules (the scenario says so)"),
        "{heading}"
    );
    assert!(ready.contains("ForkServerPoolWorker-1"), "{ready}");
    let (heading, ready) = first_worker(&pinned, &["--python-version", "3.12"], None);
    assert!(
        heading.contains("Python 3.12 rules (--python-version)"),
        "{heading}"
    );
    assert!(ready.contains("ForkPoolWorker-1"), "{ready}");
    let (heading, ready) = first_worker(&silent, &[], Some("3.14"));
    assert!(heading.contains("(POOLTOP_PYTHON_VERSION)"), "{heading}");
    assert!(ready.contains("ForkServerPoolWorker-1"), "{ready}");
    let bad = write_scenario(
        dir.path(),
        "bad.toml",
        &format!("python = \"4.0\"\n{steps}"),
    );
    let out = std::process::Command::new(common::BIN)
        .args(["run", "--file"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("python: pooltop knows Python 3.8 to 3.14, not 4.0")
    );
}

/// The `python3` version is cached while nothing that picks the interpreter changes:
/// a second run reads the cache (shown here by a forged entry being believed), and a
/// change of `PYENV_VERSION` asks `python3` again.
#[test]
fn the_python3_version_is_cached_until_the_interpreter_choice_changes() {
    let cache = tempfile::tempdir().expect("tempdir");
    let heading = |pyenv_version: &str| {
        let out = std::process::Command::new(common::BIN)
            .args(["run", "pool-map", "--cost", "0", "--trace"])
            .env("XDG_CACHE_HOME", cache.path())
            .env("PYENV_VERSION", pyenv_version)
            .env_remove("POOLTOP_PYTHON_VERSION")
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        err.lines().nth(1).unwrap_or_default().to_string()
    };
    let asked = heading("");
    assert!(asked.contains("(python3 on PATH)"), "{asked}");
    let file = cache.path().join("pooltop/python3");
    let entry = std::fs::read_to_string(&file).expect("cached");
    let (key, version) = entry.trim_end().rsplit_once('\t').expect("key and version");
    assert!(
        asked.contains(&format!("Python {version} rules")),
        "{asked}"
    );
    let forged = if version == "3.14" { "3.9" } else { "3.14" };
    std::fs::write(&file, format!("{key}\t{forged}\n")).expect("forge");
    let read = heading("");
    assert!(
        read.contains(&format!("Python {forged} rules")),
        "the cache is read: {read}"
    );
    // The same interpreter named another way (pyenv's name for it is its full version;
    // without pyenv the variable changes nothing but the key).
    let full = std::process::Command::new("python3")
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    assert_eq!(heading(&full), asked, "another choice asks python3 again");
}
