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

use crate::common::console::{Console, audit_count, two_patrols};
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
    two_patrols(&s, head);
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

/// A night brigade's recordings at 00:30 Paris time, a named place, and the judicial
/// extraction's form, result and procès-verbal: the command line and the browser agree.
#[test]
#[ignore = "needs root"]
fn in_chromium_days_are_paris_days_places_are_named_and_a_judicial_extraction_has_its_record() {
    let places = "timezone = \"Europe/Paris\"\n[console.places]\n\"Poste de police\" = [45.0463, 5.0599]\n\"Gare de Lyon\" = [48.8443, 2.3744]";
    let s = start("", &[("console", places)]);
    let P { head, .. } = &s.people;
    // Issued, as in the test above: the cameras' 2018 clocks are then believed.
    for (serial, agent, name) in [
        (SERIAL, "M200", "Paul Durand"),
        (SERIAL_2, "M100", "Claire Martin"),
    ] {
        s.ok(
            head,
            &["agent", "add", agent, "--name", name, "--brigade", "Nuit"],
        );
        s.ok(head, &["camera", "enroll", serial]);
        s.ok(
            head,
            &["issue", serial, agent, "--at", "2018-03-12T06:00:00Z"],
        );
    }
    s.dock(&[SERIAL, SERIAL_2]);
    let stem = fixture_recordings(SERIAL)[0].stem.clone();
    let night: Vec<String> = fixture_recordings(SERIAL_2)
        .into_iter()
        .map(|r| r.stem)
        .take(2)
        .collect();
    let (inside, outside) = (&night[0], &night[1]);
    wait_until("both cameras' recordings in the register", || {
        !s.ok(head, &["search", "--camera", SERIAL_2]).is_empty()
            && !s.ok(head, &["search", "--camera", SERIAL]).is_empty()
    });
    // 00:30 in Paris on 30/11 and on 07/12 (UTC+1 in winter).
    for (recording, at) in [
        (inside, "2026-11-29T23:30:00.000Z"),
        (outside, "2026-12-06T23:30:00.000Z"),
    ] {
        rewrite_history(
            &s.daemon.path("register.sqlite"),
            "UPDATE recordings SET start_utc = ?1, end_utc = NULL WHERE stem = ?2",
            [at, recording.as_str()],
        );
    }
    let week = s.ok(
        head,
        &["search", "--from", "2026-11-30", "--to", "2026-12-06"],
    );
    assert!(
        week.contains(inside.as_str()) && !week.contains(outside.as_str()),
        "search 30/11..06/12 on the command line:\n{week}"
    );
    let seventh = s.ok(
        head,
        &["search", "--from", "2026-12-07", "--to", "2026-12-07"],
    );
    assert!(seventh.contains(outside.as_str()), "{seventh}");
    let near = s.ok(head, &["search", "--near", "Poste de police"]);
    assert!(near.contains(&stem), "{near}");

    let console = Console::start(&s, head, &[]);
    let base = format!("http://{}", console.addr);
    let args = serde_json::json!({
        "who": "local",
        "url": format!("{base}/?token={}", console.token),
        "base": base,
        "inside": inside,
        "outside": outside,
        "place": "Poste de police",
        "place_stem": stem,
        "far": "Gare de Lyon",
        "stem": stem,
        "shots": shots(),
    });
    let said = drive(args, |_| None);
    for check in [
        "Paris days (fr)",
        "Paris days (en)",
        "filter the search (fr)",
        "filter the search (en)",
        "required ones marked (fr)",
        "without its date (fr)",
        "without its date (en)",
        "north arrow (fr)",
        "north arrow (en)",
    ] {
        assert!(said.iter().any(|l| l.contains(check)), "{check}: {said:?}");
    }
    let bags: Vec<(&str, &str)> = said
        .iter()
        .filter_map(|l| l.strip_prefix("OK bag "))
        .filter_map(|l| l.rsplit_once(" ("))
        .collect();
    assert_eq!(bags.len(), 2, "{said:?}");
    require_tool("pdftotext");
    for (bag, lang) in bags {
        let lang = lang.trim_end_matches(')');
        let info = std::fs::read_to_string(format!("{bag}/bag-info.txt")).unwrap();
        assert!(info.contains("Requisition-Date: 2026-11-20\n"), "{info}");
        let check = Command::new(tool_path("bagit.py").unwrap())
            .args(["--validate", bag])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let read = Command::new("pdftotext")
            .args([
                "-enc",
                "UTF-8",
                &format!("{bag}/proces-verbal-extraction.pdf"),
                "-",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&read.stdout);
        for expected in [
            format!("Réquisition : PV 2026/118-{lang} du 20/11/2026"),
            "Officier de police judiciaire : Dupont, Commissariat de Romans".into(),
            stem.clone(),
            format!("Opérateur : {}", head.name),
        ] {
            assert!(text.contains(&expected), "{expected}:\n{text}");
        }
    }
}

/// Sites (issue 23): a single site's console offers no choice of site; once the register
/// holds a second site's recordings, the search offers the sites as a `<select>`, finds
/// one site's recordings and names each row's site, in both languages, and the dock page
/// names this daemon's site.
#[test]
#[ignore = "needs root"]
fn in_chromium_the_search_chooses_a_site_once_the_register_knows_several() {
    let mut s = start("", &[("site", "name = \"Poste Nord\"")]);
    let P { head, .. } = &s.people;
    s.dock(&[SERIAL]);
    {
        let console = Console::start(&s, head, &[]);
        let cookie = console.session();
        let page = console.get(&cookie, "/recordings").text();
        assert!(
            page.contains(SERIAL) && !page.contains("name=\"site\""),
            "{page}"
        );
        let dock = console.get(&cookie, "/dock").text();
        assert!(dock.contains("<strong>Poste Nord</strong>"), "{dock}");
    }
    // The same post's daemon, now the southern post's.
    s.daemon.signal(nix::sys::signal::Signal::SIGTERM);
    s.daemon.wait_exit(Duration::from_secs(10));
    let text = std::fs::read_to_string(s.daemon.config_path()).unwrap();
    s.daemon
        .write_config(&text.replace("Poste Nord", "Poste Sud"));
    s.daemon.restart();
    let P { head, .. } = &s.people;
    s.dock(&[SERIAL_2]);
    let south: Vec<String> = fixture_recordings(SERIAL_2)
        .into_iter()
        .map(|r| r.stem)
        .collect();

    let console = Console::start(&s, head, &[]);
    let base = format!("http://{}", console.addr);
    let args = serde_json::json!({
        "who": "sites",
        "url": format!("{base}/?token={}", console.token),
        "base": base,
        "sites": ["Poste Nord", "Poste Sud"],
        "site": "Poste Sud",
        "stems": south,
        "shots": shots(),
    });
    let said = drive(args, |_| None);
    for check in [
        "a site chosen (fr)",
        "a site chosen (en)",
        "the dock's site",
    ] {
        assert!(said.iter().any(|l| l.contains(check)), "{check}: {said:?}");
    }
}
