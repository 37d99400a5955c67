//! The register has one door: no file under `src/` outside `src/custody/register/` names the SQL
//! engine's crate or holds SQL, so that a second engine (PostgreSQL for a force) is one
//! more folder, not a hunt through the daemon (docs/architecture.md, "The register's door").

use std::path::{Path, PathBuf};

/// What betrays SQL or the engine: the crate's name, the keywords statements open with,
/// and `UPDATE ... SET` on one line of a string.
fn offences(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let upper = line.to_uppercase();
        let update_set = upper.contains("UPDATE ") && upper.contains(" SET ");
        let keyword = ["SELECT ", "INSERT INTO", "DELETE FROM", "PRAGMA "]
            .iter()
            .any(|k| line.contains(k));
        if line.contains("rusqlite") || keyword || (update_set && line.contains('"')) {
            found.push(format!("{}: {}", n + 1, line.trim()));
        }
    }
    found
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_file_outside_the_register_names_the_engine_or_holds_sql() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let register = src.join("custody").join("register");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(
        files.len() > 50,
        "the sources were not found under {}",
        src.display()
    );
    let mut bad = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&register)) {
        let text = std::fs::read_to_string(file).expect("a source file reads");
        for offence in offences(&text) {
            bad.push(format!("{}:{offence}", file.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "SQL or `rusqlite` outside src/custody/register/ (ask the register a typed question instead):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_forbids() {
    assert_eq!(offences("use rusqlite::Connection;").len(), 1);
    assert_eq!(
        offences(r#"conn.execute("DELETE FROM holds", ())"#).len(),
        1
    );
    assert_eq!(offences(r#"  "UPDATE recordings SET state = ?2""#).len(), 1);
    assert!(offences("// the selected recordings are updated; set aside").is_empty());
}
