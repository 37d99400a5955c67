//! The registers end to end, as operators meet them: the real `sentinel-dockd` ingesting
//! real FAT images of the fixture cameras, and `sentinel-dockctl` run as real Unix users
//! (created with useradd), whom the daemon knows only by SO_PEERCRED. Roles against every
//! command, the docking as a return, consultation through a passed descriptor, extraction
//! to a bag the reference validator accepts, holds through a purge, the audit chain
//! tampered with by the sqlite3 tool, the reports.
//!
//! Creating users and running programs as them needs root: the tests are
//! `#[ignore = "needs root"]`, run by `scripts/test` as root with `--include-ignored`.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::operators::{People as P, Service, start};
use common::users::TestUser;
use common::*;
use desk::{A1, A2, A3, B1, B2};
use sentinel_dock::app::control::client::Client;
use sentinel_dock::app::control::protocol::{Request, Response};

use crate::common;
use crate::desk;

/// One command line per register command, as `who` would type it (`tag` keeps each
/// user's agents and procedures apart): the 14 commands of the CLI.
fn every_command(tag: &str, camera: &str, rec: &str, rec2: &str, home: &Path) -> Vec<Vec<String>> {
    let exports = "exports-placeholder";
    let out = home.join(format!("{rec}.mp4"));
    let agent = format!("M-{tag}");
    let lines: Vec<Vec<&str>> = vec![
        vec![
            "agent",
            "add",
            &agent,
            "--name",
            "Claire Martin",
            "--brigade",
            "Jour",
        ],
        vec!["camera", "enroll", camera],
        vec!["issue", camera, &agent, "--at", "2018-03-11T06:00:00Z"],
        vec!["return", camera, "--at", "2018-03-11T07:00:00Z"],
        vec!["attribute", rec, &agent, "--reason", "patrol sheet"],
        vec![
            "consult",
            "--purpose",
            "administrative",
            "--reason",
            "complaint 7",
            "--out",
            out.to_str().unwrap(),
            rec,
        ],
        vec![
            "extract",
            "--purpose",
            "disciplinary",
            "--reference",
            tag,
            "--recipient",
            "RH",
            "--to",
            exports,
            rec,
        ],
        vec!["hold", "--procedure", tag, "--reason", "inquiry", rec2],
        vec!["release", "--procedure", tag, "--reason", "closed", rec2],
        vec!["purge", "--dry-run"],
        vec!["audit", "verify"],
        vec!["report", "--from", "2018-03-12", "--to", "2018-03-14"],
        vec!["forecast"],
        vec!["register", "print"],
    ];
    lines
        .into_iter()
        .map(|l| l.into_iter().map(String::from).collect())
        .collect()
}

/// `every_command` with the export folder filled in.
fn commands_for(
    s: &Service,
    who: &TestUser,
    camera: &str,
    rec: &str,
    rec2: &str,
) -> Vec<Vec<String>> {
    let exports = s.daemon.path("exports");
    let mut lines = every_command(who.name, camera, rec, rec2, &s.home_of(who));
    for line in &mut lines {
        for arg in line.iter_mut() {
            if arg == "exports-placeholder" {
                *arg = exports.to_str().unwrap().to_string();
            }
        }
    }
    lines
}

fn strs(line: &[String]) -> Vec<&str> {
    line.iter().map(String::as_str).collect()
}

#[test]
#[ignore = "needs root"]
fn technicians_and_strangers_are_refused_every_register_command_and_each_refusal_is_traced() {
    let s = start("", &[]);
    s.dock(&[SERIAL, SERIAL_2]);
    let mode = fs::metadata(s.daemon.path("control.sock")).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o666, "anyone may connect; SO_PEERCRED decides");
    let P { tech, stranger, .. } = &s.people;

    // Status: technicians see it; someone not configured is refused, and traced.
    let status = s.ok(tech, &["status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(doc["cameras"].as_array().unwrap().len(), 2);
    s.refused(stranger, &["status"]);

    for user in [tech, stranger] {
        let lines = commands_for(&s, user, SERIAL, A1, A2);
        assert_eq!(lines.len(), 14);
        for line in &lines {
            let err = s.refused(user, &strs(line));
            let name = desk::command(&strs(line)).name();
            assert!(err.contains(&format!("may not run `{name}`")), "{err}");
        }
        // A refused consultation leaves no file behind.
        let home = s.home_of(user);
        assert!(
            fs::read_dir(&home).unwrap().next().is_none(),
            "files left in {}",
            home.display()
        );
    }
    let refusals = |who: &str| {
        s.count(&format!(
            "SELECT count(*) FROM audit WHERE action = 'refusal' AND author = '{who}'"
        ))
    };
    assert_eq!(refusals("sdtest-tech"), 14);
    assert_eq!(
        refusals("sdtest-stranger"),
        15,
        "14 commands and the status"
    );
    let traced: String = s
        .daemon
        .register()
        .query_row(
            "SELECT details FROM audit WHERE action = 'refusal' AND author = 'sdtest-stranger' AND details LIKE '`consult`%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        traced.contains(&format!("(uid {})", stranger.uid)),
        "{traced}"
    );
    // Nothing a refused command asked for happened.
    assert_eq!(s.count("SELECT count(*) FROM agents"), 0);
    assert_eq!(
        s.count("SELECT count(*) FROM audit WHERE action IN ('consultation', 'extraction')"),
        0
    );
    assert!(
        fs::read_dir(s.daemon.path("exports"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
#[ignore = "needs root"]
fn the_head_and_authorised_agents_run_every_register_command_as_themselves() {
    // The 2018 fixtures are due at once only without the collection brake.
    let s = start("", &[("retention", "min_days_after_collection = 0")]);
    s.dock(&[SERIAL, SERIAL_2]);
    let P { head, agent, .. } = &s.people;
    for (who, camera, rec, rec2) in [(head, SERIAL, A1, A2), (agent, SERIAL_2, B1, B2)] {
        for line in commands_for(&s, who, camera, rec, rec2) {
            let out = s.ok(who, &strs(&line));
            if line[0] == "extract" {
                let bag = PathBuf::from(out.trim());
                assert!(bag.starts_with(s.daemon.path("exports")), "{out}");
                assert!(bag.join("bagit.txt").is_file());
            }
        }
        let copy = s.home_of(who).join(format!("{rec}.mp4"));
        assert_eq!(
            fs::read(&copy).unwrap(),
            fs::read(s.stored_video(rec)).unwrap()
        );
        assert_eq!(
            s.state(rec),
            "wiped",
            "in the store, on hold for its extraction"
        );
        let authored = s.count(&format!(
            "SELECT count(*) FROM audit WHERE author = '{}' AND action IN ('perception', 'attribution', 'consultation', 'extraction', 'extraction-completed', 'hold', 'release')",
            who.name
        ));
        assert!(authored >= 8, "{} wrote {authored} entries", who.name);
    }
    // Confirming a purge above retention.max_purge_share is the head's alone.
    let err = s.refused(agent, &["purge", "--confirm", "2"]);
    assert!(err.contains("head of service"), "{err}");
    assert_eq!(
        s.count("SELECT count(*) FROM recordings WHERE state = 'purged'"),
        0
    );
    assert_eq!(
        s.count("SELECT count(*) FROM audit WHERE action = 'refusal'"),
        1
    );
}

#[test]
#[ignore = "needs root"]
fn a_docking_is_the_return_and_each_recording_goes_to_the_agent_who_held_its_camera() {
    // Only cameras enrolled in the register are ingested: none is listed in the file.
    let s = start("", &[("dock", "enrolled_only = true")]);
    // The daily upkeep ran once the daemon was ready: the chain's head is in the journal.
    s.daemon.wait_event(sentinel_dock::base::events::AUDIT_HEAD);
    assert!(s.daemon.log().contains("(daily)"), "{}", s.daemon.log());
    let P { head, agent, .. } = &s.people;
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
    s.ok(agent, &["camera", "enroll", SERIAL, "--model", "BWC2"]);
    // The day shift, returned by hand at the shift change; then the evening shift.
    s.ok(
        agent,
        &["issue", SERIAL, "M100", "--at", "2018-03-12T06:00:00Z"],
    );
    s.ok(agent, &["return", SERIAL, "--at", "2018-03-12T14:45:00Z"]);
    s.ok(
        agent,
        &["issue", SERIAL, "M200", "--at", "2018-03-12T14:50:00Z"],
    );
    let held = s.ctl(agent, &["issue", SERIAL, "M100"]);
    assert_eq!(held.code, 3, "{}", held.stderr);
    assert!(
        held.stderr.contains("held by agent M200"),
        "{}",
        held.stderr
    );

    // The evening agent docks the camera: its return. The other camera is not enrolled.
    s.dock(&[SERIAL]);
    let image = build_fat_image(
        &CameraSpec::fixture(SERIAL_2),
        &s.daemon.path("cameras"),
        Layout::Superfloppy,
    );
    s.daemon.dock(SERIAL_2, &image);
    s.daemon.wait_state(SERIAL_2, "not-enrolled");
    assert_eq!(
        s.count("SELECT count(*) FROM recordings WHERE camera = 'SNTL-00007'"),
        0
    );

    // The daemon attributed the new recordings after the ingest, by itself.
    let attributed = || s.count("SELECT count(*) FROM attributions WHERE kind = 'automatic'");
    let deadline = std::time::Instant::now() + common::daemon::PATIENCE;
    while attributed() < 4 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(attributed(), 4, "log:\n{}", s.daemon.log());
    assert_eq!(
        s.count(
            "SELECT count(*) FROM audit WHERE action = 'attribution' AND author = 'sentinel-dockd'"
        ),
        4
    );

    let print = |view: &str| -> serde_json::Value {
        let text = s.ok(
            agent,
            &[
                "register", "print", "--camera", SERIAL, "--view", view, "--format", "json",
            ],
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let issues = print("issues");
    let rows = issues.as_array().expect("a JSON table");
    assert_eq!(rows.len(), 2, "{issues}");
    assert_eq!(
        (rows[0]["agent"].as_str(), rows[0]["ended"].as_str()),
        (Some("M100"), Some("returned by hand"))
    );
    assert_eq!(
        (rows[1]["agent"].as_str(), rows[1]["ended"].as_str()),
        (Some("M200"), Some("docked"))
    );
    let docked_at = &s
        .daemon
        .query("SELECT at FROM dock_events WHERE camera = 'SNTL-00042' AND event = 'docked'")[0];
    assert_eq!(rows[1]["ended_at"].as_str(), Some(docked_at.as_str()));
    let recordings = print("recordings");
    let agent_of = |stem: &str| {
        recordings
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["recording"] == stem)
            .unwrap_or_else(|| panic!("{stem} not printed: {recordings}"))["agent"]
            .as_str()
            .map(String::from)
    };
    assert_eq!(agent_of(A1).as_deref(), Some("M100"));
    assert_eq!(agent_of(A2).as_deref(), Some("M200"));
    assert_eq!(agent_of(A3).as_deref(), Some("M200"));
    // Returned by the docking: the camera may leave again.
    s.ok(agent, &["issue", SERIAL, "M100"]);
}

#[test]
#[ignore = "needs root"]
fn a_consultation_is_traced_before_the_caller_receives_the_file_and_the_copy_is_the_callers_alone()
{
    // root stands for an authorised agent here, to hold the passed descriptor in-process.
    let s = start(", \"root\"", &[]);
    s.dock(&[SERIAL]);
    let stored = fs::read(s.stored_video(A1)).unwrap();
    let fixture = fixture_recordings(SERIAL)
        .into_iter()
        .find(|r| r.stem == A1)
        .unwrap();
    assert_eq!(stored, fixture.video);

    // The descriptor arrives with the answer; at that moment the entry is committed.
    let consult = desk::command(&["consult", "--purpose", "judicial", "--reason", "PV 12", A1]);
    let mut client = Client::connect(&s.daemon.path("control.sock")).unwrap();
    let (response, fd) = client.call(&Request::Command(consult)).unwrap();
    let entries = s.count(&format!(
        "SELECT count(*) FROM audit WHERE action = 'consultation' AND author = 'root' AND purpose = 'judicial' AND recordings LIKE '%{A1}%'"
    ));
    assert_eq!(
        entries, 1,
        "traced before the file is in the caller's hands"
    );
    assert!(
        matches!(response, Response::Reply(ref r) if r.file),
        "{response:?}"
    );
    let mut passed = fs::File::from(fd.expect("a descriptor"));
    let mut bytes = Vec::new();
    passed.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, stored);

    // As operators do it: a copy the caller alone may read, written by the caller's process.
    let agent = &s.people.agent;
    let out = s.home_of(agent).join("a1.mp4");
    let text = s.ok(
        agent,
        &[
            "consult",
            "--purpose",
            "disciplinary",
            "--reason",
            "course 3",
            "--out",
            out.to_str().unwrap(),
            A1,
        ],
    );
    assert!(text.contains("readable by you alone"), "{text}");
    let meta = fs::metadata(&out).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o600, agent.uid, agent.gid)
    );
    assert_eq!(fs::read(&out).unwrap(), stored);
    assert_eq!(
        s.count(&format!("SELECT count(*) FROM audit WHERE action = 'consultation' AND author = 'sdtest-agent' AND purpose = 'disciplinary' AND recordings LIKE '%{A1}%'")),
        1
    );
    // An existing file is never overwritten, and nothing is asked of the daemon.
    let again = s.ctl(
        agent,
        &[
            "consult",
            "--purpose",
            "disciplinary",
            "--reason",
            "r",
            "--out",
            out.to_str().unwrap(),
            A1,
        ],
    );
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("new file name"), "{}", again.stderr);
    assert_eq!(
        s.count("SELECT count(*) FROM audit WHERE action = 'consultation'"),
        2
    );
    // Standard output, for a pipe to a player.
    let piped = s.daemon.dockctl(
        Some(agent),
        &[
            "consult",
            "--purpose",
            "administrative",
            "--reason",
            "r",
            A1,
        ],
    );
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert_eq!(piped.stdout, stored);
}

#[test]
#[ignore = "needs root"]
fn an_extracted_recording_is_bagged_for_the_validator_held_and_kept_through_a_purge() {
    // The 2018 fixtures are due at once only without the collection brake.
    let s = start("", &[("retention", "min_days_after_collection = 0")]);
    require_tool("bagit.py");
    s.dock(&[SERIAL, SERIAL_2]);
    let P {
        head,
        agent,
        stranger,
        ..
    } = &s.people;
    // The export folder as the README sets it up: the service writes, the operators'
    // group reads, and the setgid bit gives each bag that group.
    let exports = s.daemon.path("exports");
    nix::unistd::chown(&exports, None, Some(head.gid.into())).unwrap();
    fs::set_permissions(&exports, fs::Permissions::from_mode(0o2750)).unwrap();

    let outside = s.ctl(
        head,
        &[
            "extract",
            "--purpose",
            "judicial",
            "--requisition",
            "PV-1",
            "--opj",
            "Dupont, Commissariat de Romans",
            "--requisition-date",
            "2026-11-20",
            "--to",
            "/tmp",
            A1,
        ],
    );
    assert_eq!(outside.code, 3);
    assert!(
        outside.stderr.contains("extract.root"),
        "{}",
        outside.stderr
    );

    let out = s.ok(
        head,
        &[
            "extract",
            "--purpose",
            "judicial",
            "--requisition",
            "PV-2026-118",
            "--opj",
            "Dupont, Commissariat de Romans",
            "--requisition-date",
            "2026-11-20",
            "--to",
            exports.to_str().unwrap(),
            A1,
            A2,
        ],
    );
    let bag = PathBuf::from(out.lines().next().unwrap());
    assert!(bag.starts_with(&exports), "{out}");
    let check = Command::new("bagit.py")
        .arg("--validate")
        .arg(&bag)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bagit.py --validate: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let info = fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    assert!(
        info.contains("Requisition-Reference: PV-2026-118") && info.contains("OPJ-Name: Dupont"),
        "{info}"
    );
    // The operators' group reads the bag; other users do not.
    let video = bag.join("data").join(SERIAL).join(format!("{A1}.MP4"));
    let meta = fs::metadata(&video).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.gid()), (0o440, head.gid));
    let read_as = |user: &TestUser| {
        use std::os::unix::process::CommandExt;
        Command::new("cat")
            .arg(&video)
            .uid(user.uid)
            .gid(user.gid)
            .output()
            .unwrap()
    };
    assert_eq!(read_as(head).stdout, fs::read(s.stored_video(A1)).unwrap());
    assert!(!read_as(stranger).status.success());

    // Every fixture is from 2018, long past the 30 days: all but the two held are due.
    assert_eq!(
        s.count(
            "SELECT count(*) FROM holds WHERE procedure_ref = 'PV-2026-118' AND released_at IS NULL"
        ),
        2
    );
    let plan = s.ok(agent, &["purge", "--dry-run"]);
    let line_of = |stem: &str| {
        plan.lines()
            .find(|l| l.contains(stem))
            .unwrap_or_else(|| panic!("{stem}: {plan}"))
            .to_string()
    };
    assert!(line_of(B1).contains("delete"), "{plan}");
    assert!(line_of(A1).contains("keep: held for PV-2026-118"), "{plan}");
    let braked = s.ctl(agent, &["purge"]);
    assert_eq!(braked.code, 3, "{}", braked.stdout);
    assert!(braked.stderr.contains("--confirm 4"), "{}", braked.stderr);
    s.refused(agent, &["purge", "--confirm", "4"]);
    s.ok(head, &["purge", "--confirm", "4"]);
    for stem in [A1, A2] {
        assert_eq!(s.state(stem), "wiped", "{stem} held: still in the store");
        assert!(s.stored_video(stem).is_file());
    }
    for stem in [A3, B1, B2] {
        assert_eq!(s.state(stem), "purged");
        assert!(!s.stored_video(stem).exists());
    }
    assert_eq!(
        s.count("SELECT count(*) FROM audit WHERE action = 'deletion'"),
        4
    );
    let check = Command::new("bagit.py")
        .arg("--validate")
        .arg(&bag)
        .output()
        .unwrap();
    assert!(check.status.success(), "the bag outlives the purge");
}

#[test]
#[ignore = "needs root"]
fn audit_verify_holds_then_names_a_row_changed_with_sqlite3_and_the_reports_come_through_the_socket()
 {
    let s = start("", &[]);
    require_tool("sqlite3");
    s.dock(&[SERIAL, SERIAL_2]);
    let P { head, agent, .. } = &s.people;
    let home = s.home_of(agent);
    s.ok(
        agent,
        &[
            "consult",
            "--purpose",
            "disciplinary",
            "--reason",
            "file 3",
            "--out",
            home.join("x").to_str().unwrap(),
            A2,
        ],
    );
    let intact = s.ok(head, &["audit", "verify"]);
    assert!(intact.starts_with("audit chain intact"), "{intact}");

    let seq = s.count("SELECT seq FROM audit WHERE action = 'consultation'");
    let tamper = Command::new("sqlite3")
        .arg(s.daemon.path("register.sqlite"))
        .arg(format!("DROP TRIGGER audit_append_only; UPDATE audit SET purpose = 'training' WHERE seq = {seq};"))
        .output()
        .unwrap();
    assert!(
        tamper.status.success(),
        "{}",
        String::from_utf8_lossy(&tamper.stderr)
    );
    let broken = s.ctl(head, &["audit", "verify"]);
    assert_eq!(broken.code, 1, "{}{}", broken.stdout, broken.stderr);
    assert!(
        broken.stdout.contains(&format!("entry #{seq} was changed")),
        "{}",
        broken.stdout
    );

    // The report sent upward and the forecast, in each format.
    let csv = s.ok(
        agent,
        &[
            "report",
            "--from",
            "2018-03-12",
            "--to",
            "2018-03-14",
            "--format",
            "csv",
        ],
    );
    assert!(csv.lines().count() >= 2, "{csv}");
    let json = s.ok(
        agent,
        &[
            "report",
            "--from",
            "2018-03-12",
            "--to",
            "2018-03-14",
            "--format",
            "json",
        ],
    );
    let doc: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(!doc.is_null());
    let data = s.ok(
        agent,
        &[
            "--json",
            "report",
            "--from",
            "2018-03-12",
            "--to",
            "2018-03-14",
        ],
    );
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert!(data.is_object(), "{data}");
    let table = s.ok(
        head,
        &["report", "--from", "2018-03-12", "--to", "2018-03-14"],
    );
    assert!(table.to_lowercase().contains("consultation"), "{table}");
    let forecast = s.ok(head, &["forecast"]);
    assert!(
        forecast.contains("30") && forecast.contains("180"),
        "{forecast}"
    );
}
