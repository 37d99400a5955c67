//! The console end to end: the real `sentinel-dockd` ingesting real FAT images of the
//! fixture cameras, the real `sentinel-dockctl console` run as real Unix users (the
//! daemon knows each by SO_PEERCRED), asked over real HTTP on loopback.
//!
//! The browser's part (the player playing, seeking) is in `tests/console_browser.rs`;
//! here is everything a plain HTTP client can check: sessions, refusals and their traces,
//! search, the consultation traced before the first byte, Range requests, extraction, and
//! the dock page's live events.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::console::{Console, audit_count, csrf, http, read_until, rows, two_patrols};
use crate::common::operators::{People as P, Service, start};
use crate::common::*;

#[test]
#[ignore = "needs root"]
fn the_console_serves_the_registers_to_their_people_and_traces_every_access() {
    let s = start("", &[]);
    let P { head, tech, .. } = &s.people;
    two_patrols(&s, head);

    let mut console = Console::start(&s, head, &[]);
    // Without the session: 401, whatever the page; a wrong token opens nothing.
    for path in [
        "/dock",
        "/recordings",
        "/recordings/x/video",
        "/?token=0000",
    ] {
        let r = http(console.addr, "GET", path, None, &[], "");
        assert_eq!(r.status, 401, "{path}");
    }
    let cookie = console.session();
    // The token is spent: a second browser with the same URL gets nothing.
    let again = http(
        console.addr,
        "GET",
        &format!("/?token={}", console.token),
        None,
        &[],
        "",
    );
    assert_eq!(again.status, 401);
    // A new one-time link on request (SIGUSR1), without a restart: it opens one session,
    // the spent token stays spent, and the first session goes on.
    let pid = nix::unistd::Pid::from_raw(console.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGUSR1).unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut console.out, &mut line).unwrap();
    let renewed = line
        .trim()
        .split_once("/?token=")
        .map(|(_, t)| t.to_string())
        .unwrap_or_else(|| panic!("a new link, not {line:?}"));
    assert_ne!(renewed, console.token);
    let second = http(
        console.addr,
        "GET",
        &format!("/?token={renewed}"),
        None,
        &[],
        "",
    );
    assert_eq!(second.status, 303, "{}", second.text());
    assert_eq!(second.header("location"), Some("/recordings"));
    let reused = http(
        console.addr,
        "GET",
        &format!("/?token={renewed}"),
        None,
        &[],
        "",
    );
    assert_eq!(reused.status, 401, "a renewed token is used once too");
    assert_eq!(console.get(&cookie, "/dock").status, 200);
    // The favicon, linked from every page.
    let icon = http(console.addr, "GET", "/static/favicon.svg", None, &[], "");
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
    assert!(icon.text().starts_with("<svg"));

    // The dock page, then a docking seen live by its event stream.
    let dock = console.get(&cookie, "/dock");
    assert_eq!(dock.status, 200);
    let csp = dock.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(dock.text().contains("lang=\"fr\""), "French by default");
    let mut events = TcpStream::connect(console.addr).unwrap();
    write!(
        events,
        "GET /dock/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n"
    )
    .unwrap();
    s.dock(&[SERIAL, SERIAL_2]);
    let card = format!("data-camera=\"{SERIAL}\" data-state=\"safe\"");
    let seen = read_until(&mut events, &card, Duration::from_secs(30));
    assert!(
        seen.contains(&card),
        "the dock page's events never showed {card}: {seen}"
    );
    let dock = console.get(&cookie, "/dock").text();
    assert!(
        dock.contains(&format!("data-camera=\"{SERIAL_2}\" data-state=\"safe\"")),
        "{dock}"
    );
    // Each card names the agent who carried the camera until this docking.
    assert!(dock.contains("Agent Claire Martin (M100)"), "{dock}");
    assert!(dock.contains("Agent Paul Durand (M200)"), "{dock}");

    // Search by agent: M100 held SNTL-00007, so its two recordings and no other.
    let found = rows(&console.get(&cookie, "/recordings?agent=M100").text());
    let mut expected: Vec<String> = fixture_recordings(SERIAL_2)
        .iter()
        .map(|r| r.stem.clone())
        .collect();
    expected.sort();
    let mut got = found.clone();
    got.sort();
    assert_eq!(got, expected);
    // By a part of the name or of the matricule, in any case.
    for asked in ["martin", "MARTIN", "Claire", "m10", "m100"] {
        let mut by = rows(
            &console
                .get(&cookie, &format!("/recordings?agent={asked}"))
                .text(),
        );
        by.sort();
        assert_eq!(by, expected, "{asked}");
    }
    let durand = rows(&console.get(&cookie, "/recordings?agent=dur").text());
    assert_eq!(durand.len(), fixture_recordings(SERIAL).len(), "{durand:?}");
    let by_brigade = rows(&console.get(&cookie, "/recordings?brigade=Soir").text());
    assert_eq!(
        by_brigade.len(),
        fixture_recordings(SERIAL).len(),
        "{by_brigade:?}"
    );
    // Search by place: the first fix of SNTL-00042_..._0001 (45°02.778'N 5°03.594'E).
    let first = &fixture_recordings(SERIAL)[0].stem;
    let near = rows(
        &console
            .get(&cookie, "/recordings?near=45.0463%2C5.0599&radius=100")
            .text(),
    );
    assert!(near.contains(first), "{near:?}");
    assert!(
        near.iter().all(|r| r.starts_with(SERIAL)),
        "SNTL-00007 is 2 km away: {near:?}"
    );
    let far = console
        .get(&cookie, "/recordings?near=48.8566%2C2.3522&radius=1000")
        .text();
    assert!(rows(&far).is_empty() && far.contains("no-result"));

    // One recording: facts, track, custody; the player closed until a purpose is given.
    let page = console.get(&cookie, &format!("/recordings/{first}")).text();
    assert!(page.contains("<svg class=\"track\""), "{page}");
    assert!(
        page.contains("form id=\"consult\"") && !page.contains("<video"),
        "{page}"
    );
    let before = audit_count(&s, "consultation", first);
    let video = console.get(&cookie, &format!("/recordings/{first}/video"));
    assert_eq!(video.status, 403, "no video before a consultation");
    let stale = console.post(
        &cookie,
        &format!("/recordings/{first}/consult"),
        &[("csrf", "0"), ("purpose", "judicial"), ("reason", "PV 12")],
    );
    assert_eq!(
        stale.status, 403,
        "a form without its CSRF token is refused"
    );
    assert_eq!(audit_count(&s, "consultation", first), before);
    let token = csrf(&page);
    let opened = console.post(
        &cookie,
        &format!("/recordings/{first}/consult"),
        &[
            ("csrf", &token),
            ("purpose", "judicial"),
            ("reason", "PV 12"),
        ],
    );
    assert_eq!(opened.status, 303, "{}", opened.text());
    // Traced before the first byte is served.
    assert_eq!(audit_count(&s, "consultation", first), before + 1);
    let page = console.get(&cookie, &format!("/recordings/{first}")).text();
    assert!(
        page.contains(&format!("<video data-recording=\"{first}\"")),
        "{page}"
    );
    assert!(
        page.contains("PV 12"),
        "the custody timeline shows the consultation"
    );
    // The stored copy is the camera's original, byte for byte.
    let stored = fixture_recordings(SERIAL)[0].video.clone();
    let part = http(
        console.addr,
        "GET",
        &format!("/recordings/{first}/video"),
        Some(&cookie),
        &[("range", "bytes=100-199")],
        "",
    );
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", stored.len()).as_str())
    );
    assert_eq!(part.body, stored[100..200]);
    let whole = console.get(&cookie, &format!("/recordings/{first}/video"));
    assert_eq!(whole.status, 200);
    assert_eq!(sha256_hex(&whole.body), sha256_hex(&stored));

    // A judicial extraction without its requisition's date: refused by the console's
    // server in French (not only by the browser's `required`), and nothing is traced.
    let form = console.get(&cookie, "/extract").text();
    let extractions = audit_count(&s, "extraction", first);
    let refused = console.post(
        &cookie,
        "/extract",
        &[
            ("csrf", &csrf(&form)),
            ("recordings", first),
            ("purpose", "judicial"),
            ("requisition", "PV 2018/42"),
            ("opj", "Dupont, Commissariat de Romans"),
            ("date", ""),
            ("reason", "requisition"),
        ],
    );
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("exige la date de la réquisition"),
        "{}",
        refused.text()
    );
    assert_eq!(audit_count(&s, "extraction", first), extractions);
    // The French report's CSV: BOM, `;`, French headers.
    let csv = console.get(&cookie, "/report.csv?from=2018-03-12&to=2018-03-14");
    assert!(
        csv.body
            .starts_with("\u{feff}Indicateur;Valeur\r\n".as_bytes()),
        "{}",
        csv.text()
    );
    assert!(
        csv.text().contains("Vidéos enregistrées;"),
        "{}",
        csv.text()
    );

    // Extraction from the form: a bag the reference validator accepts.
    let done = console.post(
        &cookie,
        "/extract",
        &[
            ("csrf", &csrf(&form)),
            ("recordings", first),
            ("purpose", "judicial"),
            ("requisition", "PV 2018/42"),
            ("opj", "Dupont, Commissariat de Romans"),
            ("date", "2018-03-20"),
            ("procedure", ""),
            ("reason", "requisition"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let text = done.text();
    let at = text.find("data-bag=\"").unwrap() + 10;
    let bag = &text[at..at + text[at..].find('"').unwrap()];
    let check = Command::new(tool_path("bagit.py").unwrap())
        .args(["--validate", bag])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // English on request; the report and registers pages answer.
    let lang = console.post(
        &cookie,
        "/language",
        &[("csrf", &token), ("to", "en"), ("back", "/report")],
    );
    assert_eq!(lang.status, 303);
    let report = console
        .get(&cookie, "/report?from=2018-03-12&to=2018-03-14")
        .text();
    assert!(
        report.contains("lang=\"en\"") && report.contains("Activity report"),
        "{report}"
    );
    assert!(report.contains("<svg class=\"chart\""));
    let csv = console.get(&cookie, "/report.csv?from=2018-03-12&to=2018-03-14");
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.text().starts_with("Item,Value\r\n"), "{}", csv.text());
    let registers = console.get(&cookie, "/registers").text();
    assert!(registers.contains("data-intact=\"true\""), "{registers}");

    // A technician lands on the dock and sees nothing else; opening the pages his role may
    // not use writes no refusal (the console answers them itself), an act still does.
    let tconsole = Console::start(&s, tech, &[]);
    let entry = http(
        tconsole.addr,
        "GET",
        &format!("/?token={}", tconsole.token),
        None,
        &[],
        "",
    );
    assert_eq!(entry.header("location"), Some("/dock"));
    let tcookie = entry
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let tdock = tconsole.get(&tcookie, "/dock");
    assert_eq!(tdock.status, 200);
    let tdock = tdock.text();
    for page in ["/recordings", "/extract", "/registers", "/report"] {
        assert!(
            !tdock.contains(&format!("href=\"{page}\"")),
            "{page} in {tdock}"
        );
    }
    let refusals = |s: &Service| {
        s.daemon.query(&format!(
            "SELECT CAST(count(*) AS TEXT) FROM audit WHERE action = 'refusal' AND author = '{}'",
            tech.name
        ))[0]
            .parse::<u32>()
            .unwrap()
    };
    let before = refusals(&s);
    for page in [
        "/recordings".to_string(),
        format!("/recordings/{first}"),
        format!("/recordings/{first}/video"),
        "/registers".to_string(),
        "/report".to_string(),
        format!("/hold?recording={first}"),
    ] {
        let r = tconsole.get(&tcookie, &page);
        assert_eq!(r.status, 403, "{page}: {}", r.text());
        assert!(r.text().contains("not-for-role"), "{page}");
    }
    assert_eq!(refusals(&s), before, "opening pages writes no refusal");
    let r = tconsole.post(
        &tcookie,
        "/registers/hold",
        &[
            ("csrf", &csrf(&tdock)),
            ("recordings", first),
            ("procedure", "PV 1"),
            ("reason", "essai"),
        ],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("data-refused=\"true\""));
    assert_eq!(
        refusals(&s),
        before + 1,
        "a refused act is in the audit register"
    );

    // A kiosk serves the dock only.
    let kiosk = Console::start(&s, tech, &["--kiosk"]);
    let kcookie = kiosk.session();
    assert_eq!(kiosk.get(&kcookie, "/dock").status, 200);
    assert_eq!(kiosk.get(&kcookie, "/recordings").status, 404);

    // SIGTERM stops it.
    let pid = nix::unistd::Pid::from_raw(console.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = console.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the console did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_console_that_would_listen_beyond_loopback_is_refused_before_it_serves() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sentinel-dock.toml");
    std::fs::write(
        &config,
        "[store]\npath = \"store\"\n[register]\npath = \"r.sqlite\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel-dockctl"))
        .arg("--config")
        .arg(&config)
        .args(["console", "--no-browser", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(out.stdout.is_empty(), "no URL was printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--listen 0.0.0.0:0") && err.contains("loopback"),
        "{err}"
    );
}

/// A burst: 48 browsers on the search page at once for 5 s. The daemon closes control
/// connections beyond its 32 at once; the console queues its requests instead of opening
/// one a browser request, so no page is a 502.
#[test]
#[ignore = "needs root"]
fn a_burst_of_browsers_on_the_search_page_gets_no_5xx() {
    let s = start("", &[]);
    let P { head, .. } = &s.people;
    s.dock(&[SERIAL]);
    let console = Console::start(&s, head, &[]);
    let cookie = console.session();
    let addr = console.addr;
    let until = Instant::now() + Duration::from_secs(5);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let browsers: Vec<_> = (0..48)
            .map(|n| {
                let cookie = cookie.clone();
                scope.spawn(move || {
                    let mut seen = Vec::new();
                    let paths = [
                        "/recordings",
                        "/recordings?camera=SNTL-00042",
                        "/recordings?page=2",
                    ];
                    let mut i = n;
                    while Instant::now() < until {
                        seen.push(
                            http(addr, "GET", paths[i % paths.len()], Some(&cookie), &[], "")
                                .status,
                        );
                        i += 1;
                    }
                    seen
                })
            })
            .collect();
        browsers
            .into_iter()
            .flat_map(|b| b.join().unwrap())
            .collect()
    });
    let failed = statuses.iter().filter(|s| **s >= 500).count();
    assert!(
        statuses.len() > 100,
        "only {} requests answered",
        statuses.len()
    );
    assert_eq!(
        failed,
        0,
        "{failed} of {} requests answered 5xx; the daemon's log: {}",
        statuses.len(),
        s.daemon
            .log()
            .lines()
            .filter(|l| l.contains("connections already open"))
            .count()
    );
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}
