use super::*;

/// What the OS would say.
fn os() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::NotFound)
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read the thing /x (check it is there)")]
struct Inner {
    source: std::io::Error,
}

#[derive(Debug, thiserror::Error)]
#[error("ingest of /dev/sdz stopped")]
struct Outer(#[from] Inner);

/// The old style: the cause in the message and as the source.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the thing /x: {source}")]
struct Repeating {
    source: std::io::Error,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct Transparent(#[from] Inner);

#[test]
fn the_chain_says_each_cause_once_in_order() {
    let e = Outer(Inner { source: os() });
    let text = chain(&e);
    assert_eq!(
        text,
        format!(
            "ingest of /dev/sdz stopped: cannot read the thing /x (check it is there): {}",
            os()
        )
    );
    assert_eq!(Chain(&e).to_string(), text);
    assert_eq!(format!("{:?}", Chain(&e)), text, "Debug is the same line");
    assert_eq!(repeated_source(&e).map(|e| e.to_string()), None);
}

#[test]
fn a_lone_error_is_its_own_chain() {
    assert_eq!(chain(&os()), os().to_string());
}

#[test]
fn transparent_speaks_for_its_cause_once() {
    let e = Transparent(Inner { source: os() });
    assert_eq!(
        chain(&e),
        format!("cannot read the thing /x (check it is there): {}", os())
    );
    assert!(repeated_source(&e).is_none());
}

#[test]
fn a_message_that_repeats_its_source_is_found_and_not_hidden() {
    let e = Outer(Inner { source: os() });
    assert!(repeated_source(&e).is_none());
    let bad = Repeating { source: os() };
    let found = repeated_source(&bad).map(|e| e.to_string());
    assert_eq!(found, Some(bad.to_string()));
    // The chain shows the repetition rather than removing it: no dedupe.
    assert_eq!(chain(&bad).matches(&os().to_string()).count(), 2);
}

/// The `#[error(...)]` attributes of `text` whose format string names the error's own
/// source: `{source}`, the field marked `#[source]` or `#[from]`, or `{0}` when that
/// field is the first of a tuple. Each as `line: attribute`.
fn repeats_in_source(text: &str) -> Vec<String> {
    let marked = regex::Regex::new(
        r"#\[(?:source|from)\]\s*(?:///[^\n]*\s*)*(?:pub(?:\([^)]*\))?\s+)?(\w+)\s*:",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let named_source = regex::Regex::new(r"(?:^|[\s,{])(?:pub(?:\([^)]*\))?\s+)?source\s*:")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("#[error(").map(|i| i + from) {
        let attribute = balanced(&text[at + "#[error".len()..]);
        let after = at + "#[error".len() + attribute.len();
        from = after;
        let Some(format) = first_string(attribute) else {
            continue; // transparent
        };
        let body = item_body(&text[after..]);
        let mut sources: Vec<String> = marked
            .captures_iter(body)
            .map(|c| c[1].to_string())
            .collect();
        if named_source.is_match(body) {
            sources.push("source".into());
        }
        if body.starts_with('(') {
            let fields = top_level_fields(&body[1..body.len().saturating_sub(1)]);
            for (i, field) in fields.iter().enumerate() {
                if field.contains("#[source]") || field.contains("#[from]") {
                    sources.push(i.to_string());
                }
            }
        }
        if sources
            .iter()
            .any(|s| format.contains(&format!("{{{s}}}")) || format.contains(&format!("{{{s}:")))
        {
            let line = text[..at].lines().count() + 1;
            found.push(format!("{line}: #[error{attribute}]"));
        }
    }
    found
}

/// The first string literal in `text`, its escapes left as written.
fn first_string(text: &str) -> Option<&str> {
    let start = text.find('"')? + 1;
    let mut escaped = false;
    for (i, c) in text[start..].char_indices() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '"') => return Some(&text[start..start + i]),
            _ => escaped = false,
        }
    }
    None
}

/// From an opening `(` or `{`, the text up to and including its match; strings are
/// skipped so that a parenthesis in a message does not count.
fn balanced(text: &str) -> &str {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &text[..=i];
                }
            }
            _ => {}
        }
    }
    text
}

/// The fields of the item (variant or struct) that follows an attribute: `{...}` or
/// `(...)`, or empty for a unit variant.
fn item_body(text: &str) -> &str {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix(']') {
            rest = after;
        } else if trimmed.starts_with("//") || trimmed.starts_with("#[") {
            rest = trimmed.split_once('\n').map_or("", |(_, r)| r);
        } else {
            rest = trimmed;
            break;
        }
    }
    match rest.find(['{', '(', ',', ';']) {
        Some(i) if matches!(rest.as_bytes()[i], b'{' | b'(') => balanced(&rest[i..]),
        _ => "",
    }
}

/// A tuple's fields, split on the commas outside brackets.
fn top_level_fields(text: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                fields.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(&text[start..]);
    fields
}

/// Every `.rs` file under `dir`.
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
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
fn no_message_repeats_its_source() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let here = src.join("base").join("error");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(
        files.len() > 50,
        "the sources were not found under {}",
        src.display()
    );
    let mut bad = Vec::new();
    let mut seen = 0;
    for file in files.iter().filter(|f| !f.starts_with(&here)) {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        seen += text.matches("#[error(").count();
        for offence in repeats_in_source(&text) {
            bad.push(format!("{}:{offence}", file.display()));
        }
    }
    assert!(seen > 100, "only {seen} #[error] attributes were found");
    assert!(
        bad.is_empty(),
        "messages that repeat their source (the chain says it: leave it out of the message, see base::error):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_source_check_sees_what_it_forbids() {
    let named = "#[error(\"cannot open {path}: {source}; check it\")]\n    Open {\n        /// The file.\n        path: PathBuf,\n        /// The OS.\n        source: io::Error,\n    },";
    assert_eq!(repeats_in_source(named).len(), 1);
    let marked = "#[error(\"camera {path}: {error}\")]\n    Volume {\n        path: PathBuf,\n        /// Why.\n        #[source]\n        error: VolumeError,\n    },";
    assert_eq!(repeats_in_source(marked).len(), 1);
    let tuple = "    /// The store.\n    #[error(\"store: {0}\")]\n    Store(#[from] StoreError),";
    assert_eq!(repeats_in_source(tuple).len(), 1);
    let second = "#[error(\"{0} failed: {1:?}\")]\n    Two(String, #[source] io::Error),";
    assert_eq!(repeats_in_source(second).len(), 1);
    let on_struct = "#[derive(Debug, thiserror::Error)]\n#[error(\"reading {len} bytes: {source}\")]\npub struct Unreadable {\n    pub len: u64,\n    #[source]\n    pub source: io::Error,\n}";
    assert_eq!(repeats_in_source(on_struct).len(), 1);
    // What the rule allows: the source left to the chain, a cause kept as words, advice
    // computed from the source, transparency, a field that is no source.
    let fine = [
        "#[error(\"cannot open {path} (check it)\")]\n    Open {\n        path: PathBuf,\n        source: io::Error,\n    },",
        "#[error(\"store\")]\n    Store(#[from] StoreError),",
        "#[error(\"query failed: {0}{advice}\", advice = hint(.0))]\n    Sql(engine::Error),",
        "#[error(\"storing {path} failed ({})\", advice(.source))]\n    Io {\n        path: PathBuf,\n        source: io::Error,\n    },",
        "#[error(transparent)]\n    Config(#[from] ConfigError),",
        "#[error(\"camera source {source_path}\")]\n    Volume {\n        source_path: PathBuf,\n        #[source]\n        error: VolumeError,\n    },",
        "#[error(\"the {source_name} serial `{serial}` is bad\")]\n    BadSerial {\n        source_name: &'static str,\n        serial: String,\n    },",
    ];
    for text in fine {
        assert_eq!(repeats_in_source(text), Vec::<String>::new(), "{text}");
    }
}
