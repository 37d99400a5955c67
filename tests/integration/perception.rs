//! The perception register across shift changes: issues, returns by hand and by docking,
//! automatic attribution at each recording's start, and what needs an operator.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use crate::desk::*;
use sentinel_dock::custody::register::DockEvent;

/// Two agents share camera SNTL-00042 on 12 March 2018; the recordings of the fixture fall
/// on either side of the shift change, and two the next day fall outside any issue.
fn shift_change() -> Desk {
    let mut d = Desk::with_fixtures("");
    d.clock.set("2018-03-14T12:00:00Z");
    d.ok(
        HEAD,
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
    d.ok(
        HEAD,
        &[
            "agent",
            "add",
            "M200",
            "--name",
            "Paul Durand",
            "--brigade",
            "Soir",
            "--unix-user",
            AGENT,
        ],
    );
    d.ok(
        AGENT,
        &["camera", "enroll", "SNTL-00042", "--model", "BWC2"],
    );
    d.ok(
        AGENT,
        &[
            "issue",
            "SNTL-00042",
            "M100",
            "--at",
            "2018-03-12T06:00:00Z",
        ],
    );
    d.ok(
        AGENT,
        &["return", "SNTL-00042", "--at", "2018-03-12T14:45:00Z"],
    );
    d.ok(
        AGENT,
        &[
            "issue",
            "SNTL-00042",
            "M200",
            "--at",
            "2018-03-12T14:50:00+00:00",
        ],
    );
    // The daemon records the evening docking: that is the second agent's return.
    let dock = |d: &mut Desk, event, at: &str| {
        d.register
            .record_dock_event("SNTL-00042", event, "SNTL-00042", time(at))
            .unwrap();
    };
    dock(&mut d, DockEvent::Docked, "2018-03-12T22:00:00Z");
    // Taken from the dock the next morning without an issue, then docked again.
    dock(&mut d, DockEvent::Undocked, "2018-03-13T07:55:00Z");
    dock(&mut d, DockEvent::Docked, "2018-03-13T09:00:00Z");
    d
}

fn recordings_view(d: &mut Desk) -> serde_json::Value {
    let r = d.ok(
        HEAD,
        &[
            "register",
            "print",
            "--view",
            "recordings",
            "--camera",
            "SNTL-00042",
            "--format",
            "json",
        ],
    );
    r.data["rows"].clone()
}

fn row<'a>(rows: &'a serde_json::Value, stem: &str) -> &'a serde_json::Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["recording"] == stem)
        .unwrap_or_else(|| panic!("{stem} not printed: {rows}"))
}

#[test]
fn each_recording_goes_to_the_agent_who_held_the_camera_at_its_start() {
    let mut d = shift_change();
    let rows = recordings_view(&mut d);
    assert_eq!(rows.as_array().unwrap().len(), 4);
    let a1 = row(&rows, A1);
    assert_eq!(
        (a1["agent"].as_str(), a1["attribution"].as_str()),
        (Some("M100"), Some("automatic"))
    );
    assert_eq!(a1["name"], "Claire Martin");
    let a2 = row(&rows, A2);
    assert_eq!(
        (a2["agent"].as_str(), a2["attributed_by"].as_str()),
        (Some("M200"), Some("sentinel-dockd"))
    );
    for stem in [A3, A4] {
        assert_eq!(row(&rows, stem)["attribution"], "needs attention", "{stem}");
    }
    // Each automatic attribution is traced.
    let traced: Vec<_> = d
        .audit()
        .into_iter()
        .filter(|e| e.action == "attribution")
        .collect();
    assert_eq!(traced.len(), 2);
    assert!(traced[0].recordings.contains(A1) && traced[0].details.contains("M100"));
}

#[test]
fn recordings_with_no_holder_or_made_in_the_dock_are_listed_with_the_reason() {
    let mut d = shift_change();
    let r = d.ok(
        AGENT,
        &[
            "register",
            "print",
            "--view",
            "attention",
            "--format",
            "json",
        ],
    );
    let rows = &r.data["rows"];
    let why = |stem| row(rows, stem)["why"].as_str().unwrap().to_string();
    assert!(
        why(A3).contains("ended at 2018-03-12T22:00:00.000Z (docked)"),
        "{}",
        why(A3)
    );
    assert!(
        why(A4).contains("in the dock since 2018-03-13T09:00:00.000Z"),
        "{}",
        why(A4)
    );
    // The other camera was never enrolled nor issued: both its recordings need attention.
    assert!(why(B1).contains("never been issued"), "{}", why(B1));
    assert_eq!(rows.as_array().unwrap().len(), 4);
}

#[test]
fn an_operator_attributes_by_hand_with_a_reason_kept_with_the_author() {
    let mut d = shift_change();
    let err = d.fails(AGENT, &["attribute", A3, "M100", "--reason", "  "]);
    assert!(err.contains("--reason is empty"), "{err}");
    let err = d.fails(AGENT, &["attribute", A3, "M999", "--reason", "x"]);
    assert!(err.contains("no agent with matricule `M999`"), "{err}");
    d.ok(
        AGENT,
        &[
            "attribute",
            A3,
            "M100",
            "--reason",
            "patrol sheet of 13 March: Martin took it early",
        ],
    );
    let rows = recordings_view(&mut d);
    let a3 = row(&rows, A3);
    assert_eq!(a3["agent"], "M100");
    assert_eq!(a3["attribution"], "manual");
    // The author is the Unix user and, since the perception register knows it, the agent.
    assert_eq!(a3["attributed_by"], "brigadier1 (agent M200)");
    assert!(a3["reason"].as_str().unwrap().contains("patrol sheet"));
    let entry = d
        .audit()
        .into_iter()
        .find(|e| e.action == "attribution" && e.recordings.contains(A3))
        .unwrap();
    assert_eq!(entry.author, "brigadier1 (agent M200)");
    assert!(
        entry.details.contains("by hand to agent M100") && entry.details.contains("patrol sheet")
    );
    let left = d.ok(
        AGENT,
        &[
            "register",
            "print",
            "--view",
            "attention",
            "--camera",
            "SNTL-00042",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        left.data["rows"].as_array().unwrap().len(),
        1,
        "only A4 still needs attention"
    );
}

#[test]
fn issues_and_returns_that_contradict_the_register_are_refused_with_the_fix() {
    let mut d = shift_change();
    let err = d.fails(
        AGENT,
        &[
            "issue",
            "SNTL-00042",
            "M100",
            "--at",
            "2018-03-12T16:00:00Z",
        ],
    );
    assert!(
        err.contains("held by agent M200 since 2018-03-12T14:50:00.000Z")
            && err.contains("return SNTL-00042"),
        "{err}"
    );
    let err = d.fails(
        AGENT,
        &[
            "issue",
            "SNTL-00042",
            "M100",
            "--at",
            "2018-03-12T05:00:00Z",
        ],
    );
    assert!(err.contains("later issue"), "{err}");
    let err = d.fails(
        AGENT,
        &["return", "SNTL-00042", "--at", "2018-03-12T23:00:00Z"],
    );
    assert!(
        err.contains("in the dock since 2018-03-12T22:00:00.000Z"),
        "{err}"
    );
    let err = d.fails(
        AGENT,
        &["return", "SNTL-00042", "--at", "2018-03-12T05:00:00Z"],
    );
    assert!(err.contains("not issued"), "{err}");
    let err = d.fails(AGENT, &["issue", "SNTL-00007", "M100"]);
    assert!(
        err.contains("not enrolled") && err.contains("camera enroll SNTL-00007"),
        "{err}"
    );
    let err = d.fails(
        AGENT,
        &[
            "issue",
            "SNTL-00042",
            "M100",
            "--at",
            "2030-01-01T00:00:00Z",
        ],
    );
    assert!(err.contains("in the future"), "{err}");
    let err = d.fails(
        HEAD,
        &["agent", "add", "M100", "--name", "X", "--brigade", "Y"],
    );
    assert!(
        err.contains("already exists (Claire Martin, Jour)"),
        "{err}"
    );
    let err = d.fails(HEAD, &["camera", "enroll", "../etc"]);
    assert!(err.contains("profile.serial_pattern"), "{err}");
    // After the docking, the camera is free again: the next shift gets it.
    d.ok(
        AGENT,
        &[
            "issue",
            "SNTL-00042",
            "M100",
            "--at",
            "2018-03-14T06:00:00Z",
        ],
    );
}

#[test]
fn the_register_prints_per_camera_or_agent_by_period_as_table_csv_or_json() {
    let mut d = shift_change();
    let table = d
        .ok(HEAD, &["register", "print", "--camera", "SNTL-00042"])
        .message;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("issue  camera"), "{table}");
    assert_eq!(lines.len(), 4, "header, rule, two issues:\n{table}");
    assert!(
        lines[2].contains("Claire Martin") && lines[2].contains("returned by hand"),
        "{table}"
    );
    assert!(
        lines[3].contains("Paul Durand") && lines[3].contains("docked"),
        "{table}"
    );

    let csv = d
        .ok(
            HEAD,
            &["register", "print", "--agent", "M200", "--format", "csv"],
        )
        .message;
    let csv_lines: Vec<&str> = csv.lines().collect();
    assert_eq!(csv_lines.len(), 2, "{csv}");
    assert_eq!(
        csv_lines[1],
        "2,SNTL-00042,M200,Paul Durand,Soir,2018-03-12T14:50:00.000Z,brigadier1 (agent M200),2018-03-12T22:00:00.000Z,docked,1"
    );
    let json = d.ok(
        HEAD,
        &[
            "register",
            "print",
            "--from",
            "2018-03-13",
            "--to",
            "2018-03-13",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        json.data["rows"].as_array().unwrap().len(),
        0,
        "no issue overlaps 13 March"
    );
    let by_agent = d.ok(
        HEAD,
        &[
            "register",
            "print",
            "--view",
            "recordings",
            "--agent",
            "M100",
            "--format",
            "json",
        ],
    );
    let stems: Vec<&str> = by_agent.data["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["recording"].as_str().unwrap())
        .collect();
    assert_eq!(stems, [A1]);
}
