//! The layers of `src/` point down: no module uses one from a layer above it, and none uses a
//! sibling of its own layer (docs/architecture.md, "Layers"). The fuzz targets use only the
//! camera and the foundation. This is the check CI runs; it reads the sources as text, so a
//! new arrow fails here before anyone has to see it in a review.

use std::path::{Path, PathBuf};

/// Each part of the crate, bottom first: a file under `prefix` is in that part, and may use
/// only its own part and the parts of a lower rank.
const PARTS: &[(&str, u32)] = &[
    ("base", 0),
    ("camera", 1),
    ("custody", 2),
    ("replica", 3),
    ("anonymise", 3),
    ("app::api", 4),
    ("app::caller", 4),
    ("app::logging", 4),
    ("app::ingest", 5),
    ("app::status", 5),
    ("app::commands", 6),
    ("app::control", 7),
    ("app::console", 8),
    ("app::service", 9),
];

/// The part a module path (`app::ingest::wipe`, `camera`) belongs to, with its rank.
fn part_of(path: &str) -> Option<(&'static str, u32)> {
    PARTS
        .iter()
        .filter(|(prefix, _)| path == *prefix || path.starts_with(&format!("{prefix}::")))
        .max_by_key(|(prefix, _)| prefix.len())
        .copied()
}

/// The module path of a source file (`src/app/ingest/wipe.rs` → `app::ingest::wipe`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|c| c != "mod")
        .collect();
    parts.join("::")
}

/// Every path a text names after `root::` (`crate` in the library, `sentinel_dock` in the
/// fuzz targets), with the line it is on. A grouped `root::{` is returned as its first name
/// with `{` so that it is reported, not missed.
fn paths_named(text: &str, root: &str) -> Vec<(usize, String)> {
    let needle = format!("{root}::");
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(&needle) {
            let before = rest[..at].chars().last();
            rest = &rest[at + needle.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
                .collect();
            found.push((n + 1, path.trim_end_matches(':').to_string()));
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

/// The arrows of one file that break the rule, as readable lines.
fn wrong_arrows(module: &str, text: &str, root: &str, max_rank: Option<u32>) -> Vec<String> {
    let here = part_of(module);
    let mut wrong = Vec::new();
    for (line, path) in paths_named(text, root) {
        let (path, grouped) = match path.split_once('{') {
            Some((before, _)) => (before.trim_end_matches(':').to_string(), true),
            None => (path, false),
        };
        if grouped && part_of(&path).is_none_or(|(p, _)| path.len() < p.len()) {
            wrong.push(format!(
                "{line}: `{root}::{path}::{{` groups paths of several layers: write one `use` a layer so that each arrow is seen"
            ));
            continue;
        }
        let Some((there, rank)) = part_of(&path) else {
            wrong.push(format!(
                "{line}: `{root}::{path}` is in no layer: add it to PARTS here and to docs/architecture.md"
            ));
            continue;
        };
        let allowed = match (here, max_rank) {
            (Some((mine, my_rank)), _) => there == mine || rank < my_rank,
            (None, Some(max)) => rank <= max,
            (None, None) => true,
        };
        if !allowed {
            let who = here.map_or("this file", |(mine, _)| mine);
            wrong.push(format!(
                "{line}: {who} uses `{there}` (`{root}::{path}`), which is not below it"
            ));
        }
    }
    wrong
}

#[test]
fn no_module_uses_one_above_it_or_beside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.retain(|f| !f.starts_with(src.join("bin")) && !f.ends_with("lib.rs"));
    assert!(
        files.len() > 100,
        "the sources were not found under {}",
        src.display()
    );
    let mut bad = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("a source file reads");
        // A folder's `mod.rs` above the parts (`app`) only declares them.
        if part_of(&module).is_none() && !paths_named(&text, "crate").is_empty() {
            bad.push(format!("{}: in no layer (add it to PARTS)", file.display()));
            continue;
        }
        for arrow in wrong_arrows(&module, &text, "crate", None) {
            bad.push(format!("{}:{arrow}", file.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "arrows that do not point down (docs/architecture.md, \"Layers\"):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_fuzz_targets_use_only_the_camera_and_the_foundation() {
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    let mut files = Vec::new();
    sources(&targets, &mut files);
    assert!(
        !files.is_empty(),
        "no fuzz target under {}",
        targets.display()
    );
    let mut bad = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a fuzz target reads");
        for arrow in wrong_arrows("", &text, "sentinel_dock", Some(1)) {
            bad.push(format!("{}:{arrow}", file.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "fuzz targets beyond the camera layer:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_forbids() {
    // Up, beside, grouped and unknown are refused; down and within are not.
    let up = wrong_arrows(
        "camera::volume::fat",
        "use crate::custody::store::Store;",
        "crate",
        None,
    );
    assert_eq!(up.len(), 1, "{up:?}");
    let beside = wrong_arrows(
        "replica::bucket",
        "use crate::anonymise::Model;",
        "crate",
        None,
    );
    assert_eq!(beside.len(), 1, "{beside:?}");
    let grouped = wrong_arrows(
        "app::ingest",
        "use crate::{base::clock, camera::volume};",
        "crate",
        None,
    );
    assert_eq!(grouped.len(), 1, "{grouped:?}");
    let unknown = wrong_arrows(
        "app::ingest",
        "let x = crate::elsewhere::thing();",
        "crate",
        None,
    );
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    let one_part = wrong_arrows(
        "app::service",
        "use crate::app::commands::{self, Context};",
        "crate",
        None,
    );
    assert!(one_part.is_empty(), "{one_part:?}");
    let inner = wrong_arrows(
        "app::console::pages::search",
        "use crate::app::commands::Context;",
        "crate",
        None,
    );
    assert_eq!(inner.len(), 0, "{inner:?}");
    let down = wrong_arrows(
        "app::service::slot",
        "use crate::app::ingest::Session;\nuse crate::base::config::Config; // crate::camera::usb",
        "crate",
        None,
    );
    assert!(down.is_empty(), "{down:?}");
    let fuzz = wrong_arrows(
        "",
        "use sentinel_dock::custody::register::Register;",
        "sentinel_dock",
        Some(1),
    );
    assert_eq!(fuzz.len(), 1, "{fuzz:?}");
    // A path inside another identifier (`my_crate::x`) is not the crate.
    assert!(paths_named("use my_crate::app::x;", "crate").is_empty());
    assert_eq!(
        module_of(Path::new("src"), Path::new("src/app/ingest/mod.rs")),
        "app::ingest"
    );
}
