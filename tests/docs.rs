//! The README documents what the program does: every key of the key table has its row.

use pooltop::app::keys::BINDINGS;

#[test]
fn the_readme_lists_every_key_of_the_key_table() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| key | action |"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .collect();
    let labels: Vec<String> = BINDINGS
        .iter()
        .map(|b| format!("| `{}` |", b.label))
        .collect();
    for label in &labels {
        assert!(
            rows.iter().any(|r| r.starts_with(label.as_str())),
            "README's key table has no row {label}"
        );
    }
    assert_eq!(rows.len(), labels.len(), "README rows: {rows:#?}");
}
