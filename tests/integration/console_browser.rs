//! The console in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver by `tests/console_browser.py` (Debian's
//! `python3-selenium`), against the real daemon ingesting the fixture cameras and the real
//! console, each started and stopped here.
//!
//! Set CONSOLE_SCREENSHOTS=DIR to keep the screenshots of each page in both languages
//! (`docs/console/` holds the ones the README shows), and CONSOLE_AXE=path/to/axe.min.js
//! (npm's `axe-core`, not a Debian package) to require no axe-core violation on any page.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::console::{Console, audit_count};
use crate::common::operators::{People as P, Service, start};
use crate::common::*;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/integration/console_browser.py"
);

/// Runs the script for one console; answers its requests (`DOCK-NOW`, `CONSULTED`) with
/// `answer`, and returns its "OK" lines.
fn drive(args: serde_json::Value, mut answer: impl FnMut(&str) -> Option<String>) -> Vec<String> {
    require_tool("chromium");
    require_tool("chromedriver");
    let mut child = Command::new("/usr/bin/python3")
        .arg(SCRIPT)
        .arg(args.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs (scripts/install-deps installs python3-selenium)");
    let mut stdin = child.stdin.take().unwrap();
    let mut said = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        eprintln!("browser: {line}");
        if let Some(reply) = answer(&line) {
            writeln!(stdin, "{reply}").unwrap();
            stdin.flush().unwrap();
        }
        said.push(line);
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the browser script failed: {said:?}");
    assert_eq!(said.last().map(String::as_str), Some("DONE"), "{said:?}");
    said.into_iter().filter(|l| l.starts_with("OK")).collect()
}

fn shots() -> Option<String> {
    std::env::var("CONSOLE_SCREENSHOTS").ok().map(|dir| {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::canonicalize(dir).unwrap().display().to_string()
    })
}

fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs root"]
fn in_chromium_the_console_finds_plays_seeks_and_refuses_as_the_roles_say() {
    let s = start("", &[]);
    let P { head, tech, .. } = &s.people;
    s.ok(
        head,
        &[
            "agent",
            "add",
            "M100",
            "--name",
            "Claire Martin",
            "--brigade",
            "Jour",
        ],
    );
    s.ok(
        head,
        &[
            "agent",
            "add",
            "M200",
            "--name",
            "Paul Durand",
            "--brigade",
            "Soir",
        ],
    );
    for serial in [SERIAL, SERIAL_2] {
        s.ok(head, &["camera", "enroll", serial]);
    }
    s.ok(
        head,
        &["issue", SERIAL_2, "M100", "--at", "2018-03-12T06:00:00Z"],
    );
    s.ok(
        head,
        &["issue", SERIAL, "M200", "--at", "2018-03-12T06:00:00Z"],
    );
    s.dock(&[SERIAL_2]);
    let stem = fixture_recordings(SERIAL)[0].stem.clone();
    let by_agent: Vec<String> = fixture_recordings(SERIAL_2)
        .into_iter()
        .map(|r| r.stem)
        .collect();

    let console = Console::start(&s, head, &[]);
    let base = format!("http://{}", console.addr);
    let args = serde_json::json!({
        "who": "head",
        "url": format!("{base}/?token={}", console.token),
        "base": base,
        "camera": SERIAL,
        "agent": "M100",
        "by_agent": by_agent,
        "place": [45.0463, 5.0599],
        "stem": stem,
        "shots": shots(),
        "axe": std::env::var("CONSOLE_AXE").ok(),
    });
    let said = drive(args, |line| match line {
        "DOCK-NOW" => {
            dock_one(&s);
            Some("docked".into())
        }
        "CONSULTED" => {
            wait_until("the consultation's audit entry", || {
                audit_count(&s, "consultation", &stem) == 1
            });
            Some("traced".into())
        }
        _ => None,
    });
    for check in [
        "without a reload",
        "by agent and by place (fr)",
        "plays (fr)",
        "206 (fr)",
        "plays (en)",
        "206 (en)",
        "part of the name",
        "kept for a procedure, confirmed",
        "released from the list",
        "the extraction confirmed",
        "plain words (fr)",
        "plain words (en)",
        "375 px (fr)",
        "375 px (en)",
        "favicon",
    ] {
        assert!(said.iter().any(|l| l.contains(check)), "{check}: {said:?}");
    }
    let entry = s.daemon.query(&format!(
        "SELECT purpose || ' ' || details FROM audit WHERE action = 'consultation' AND recordings LIKE '%{stem}%'"
    ));
    assert!(
        entry[0].starts_with("judicial") && entry[0].contains("PV 2018/42 navigateur"),
        "{entry:?}"
    );
    // What the browser did is in the registers: the hold kept, the release, the extraction.
    let acts = s.daemon.query(
        "SELECT action || ' ' || details FROM audit WHERE action IN ('hold', 'release', 'extraction-completed') ORDER BY seq",
    );
    assert!(
        acts.iter()
            .any(|a| a.starts_with("hold held for procedure PV 2018/77: plainte"))
            && acts
                .iter()
                .any(|a| a.starts_with("release hold for procedure PV 2018/77 released"))
            && acts.iter().any(|a| a.starts_with("extraction-completed")),
        "{acts:?}"
    );

    let tconsole = Console::start(&s, tech, &[]);
    let refusals = || {
        s.daemon.query(&format!(
            "SELECT CAST(count(*) AS TEXT) FROM audit WHERE action = 'refusal' AND author = '{}'",
            tech.name
        ))[0]
            .parse::<u32>()
            .unwrap()
    };
    let before = refusals();
    let tbase = format!("http://{}", tconsole.addr);
    let args = serde_json::json!({
        "who": "technician",
        "url": format!("{tbase}/?token={}", tconsole.token),
        "base": tbase,
        "stem": stem,
        "shots": shots(),
    });
    let said = drive(args, |line| match line {
        // Opening the console's pages writes no refusal into the audit register.
        "OPENED" => Some(if refusals() == before {
            "no refusal".into()
        } else {
            format!("{} refusals written", refusals() - before)
        }),
        _ => None,
    });
    for check in ["lands on the dock", "no refusal", "refused, in French"] {
        assert!(said.iter().any(|l| l.contains(check)), "{check}: {said:?}");
    }
    assert_eq!(
        refusals(),
        before + 1,
        "the technician's refused act is traced"
    );
}

fn dock_one(s: &Service) {
    s.dock(&[SERIAL]);
}
