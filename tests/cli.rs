//! The command line's own outputs: completions and manual pages generated from the clap
//! definitions, and the theme option and its environment variable.

mod common;

use std::time::Duration;

use common::pooltop;

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, mark) in [
        ("bash", "_pooltop()"),
        ("zsh", "#compdef pooltop"),
        ("fish", "complete -c pooltop"),
    ] {
        let run = pooltop(&["completions", shell], Duration::from_secs(10));
        assert_eq!(run.status, Some(0), "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(mark), "{shell}");
        assert!(run.stdout.contains("watch"), "{shell}: the subcommands");
        assert!(
            run.stdout.contains("high-contrast"),
            "{shell}: the theme's values"
        );
    }
    let run = pooltop(&["completions", "tcsh"], Duration::from_secs(10));
    assert_eq!(run.status, Some(2));
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn the_manual_has_a_page_for_pooltop_and_each_subcommand() {
    let run = pooltop(&["man"], Duration::from_secs(10));
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert!(run.stdout.starts_with(".ie") || run.stdout.contains(".TH pooltop 1"));
    let page = pooltop(&["man", "run"], Duration::from_secs(10));
    assert!(page.stdout.contains(".TH pooltop-run 1"), "{}", page.stdout);
    assert!(page.stdout.contains("events"), "the options are described");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let out_s = out.to_string_lossy().into_owned();
    let all = pooltop(&["man", "--dir", &out_s], Duration::from_secs(10));
    assert_eq!(all.status, Some(0), "{}", all.stderr);
    for page in [
        "pooltop.1",
        "pooltop-run.1",
        "pooltop-tui.1",
        "pooltop-watch.1",
    ] {
        assert!(out.join(page).is_file(), "{page}");
    }
    let bad = pooltop(&["man", "frob"], Duration::from_secs(10));
    assert_eq!(bad.status, Some(2));
    assert_eq!(
        bad.stderr,
        "pooltop: man: no subcommand 'frob' (see 'pooltop --help')\n"
    );
}

#[test]
fn a_bad_theme_is_one_line_whether_option_or_environment() {
    let run = pooltop(&["tui", "--theme", "neon"], Duration::from_secs(10));
    assert_eq!(run.status, Some(2));
    assert!(
        run.stderr
            .contains("possible values: dark, light, high-contrast")
    );
    assert_eq!(run.stderr.lines().count(), 1);
    let out = common::command()
        .env("POOLTOP_THEME", "neon")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pooltop: error: invalid value 'neon' for '--theme <THEME>' [possible values: dark, light, high-contrast] (see 'pooltop --help')\n"
    );
}

/// The theme reaches the real renderer: a high-contrast screenshot has heavy borders.
#[test]
fn the_theme_reaches_a_screenshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shot = dir.path().join("hc.svg");
    let shot_s = shot.to_string_lossy().into_owned();
    let out = common::command()
        .args(["tui", "pool-map", "--screenshot", &shot_s, "--after", "0"])
        .env("POOLTOP_THEME", "high-contrast")
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&shot).expect("svg");
    assert!(svg.contains('┏') || svg.contains('━'), "heavy borders");
}
