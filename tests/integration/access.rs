//! Every role against every register command (R241-12): the head of service and the
//! authorised agents are let through; technicians and anyone not configured are refused,
//! with the role needed, and every refusal is in the audit register before it is returned.

use crate::desk::*;
use sentinel_dock::app::commands::CommandError;

/// One command line per register command; arguments valid enough to get past parsing.
fn every_command(out: &str) -> Vec<Vec<String>> {
    let lines: Vec<Vec<&str>> = vec![
        vec!["agent", "add", "M1", "--name", "N", "--brigade", "B"],
        vec!["camera", "enroll", "SNTL-00042"],
        vec!["issue", "SNTL-00042", "M1", "--at", "2018-03-12T06:00:00Z"],
        vec!["return", "SNTL-00042"],
        vec!["attribute", A1, "M1", "--reason", "r"],
        vec![
            "consult",
            "--purpose",
            "administrative",
            "--reason",
            "r",
            A1,
        ],
        vec![
            "extract",
            "--purpose",
            "disciplinary",
            "--reference",
            "D-1",
            "--recipient",
            "RH",
            "--to",
            out,
            A1,
        ],
        vec!["hold", "--procedure", "P", "--reason", "r", A1],
        vec!["release", "--procedure", "P", "--reason", "r", A1],
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

fn run(d: &mut Desk, user: &str, line: &[String]) -> Result<(), CommandError> {
    let line: Vec<&str> = line.iter().map(String::as_str).collect();
    d.run(user, &line).map(|_| ())
}

#[test]
fn the_list_covers_every_command_of_the_cli() {
    let out = "/tmp";
    let names: Vec<&str> = every_command(out)
        .iter()
        .map(|l| {
            let line: Vec<&str> = l.iter().map(String::as_str).collect();
            command(&line).name()
        })
        .collect();
    assert_eq!(names.len(), 14);
    let unique: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), 14, "{names:?}");
}

#[test]
fn technicians_and_strangers_are_refused_every_command_and_each_refusal_is_traced() {
    let mut d = Desk::with_fixtures("");
    let out = d.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for user in [TECH, STRANGER] {
        for line in every_command(path_str(&out)) {
            let before = d.audit().len();
            let err = run(&mut d, user, &line).expect_err("must be refused");
            let CommandError::Refused {
                needed, command, ..
            } = &err
            else {
                panic!("{line:?} as {user}: not a refusal: {err}");
            };
            assert!(line.join(" ").starts_with(command.as_str()), "{command}");
            let text = err.to_string();
            assert!(
                needed.contains("head of service ([access] head)")
                    && needed.contains("authorised agent ([access] authorised)"),
                "{text}"
            );
            assert!(
                text.contains(user) && text.contains("recorded in the audit register"),
                "{text}"
            );
            let trail = d.audit();
            assert_eq!(
                trail.len(),
                before + 1,
                "{line:?} as {user}: one refusal entry"
            );
            let entry = trail.last().unwrap();
            assert_eq!(entry.action, "refusal");
            assert_eq!(entry.author, user);
            assert!(
                entry.details.contains(&format!("`{command}` refused")),
                "{}",
                entry.details
            );
            if line[0] == "consult" || line[0] == "extract" {
                assert!(
                    entry.recordings.contains(A1),
                    "the recordings asked for are named"
                );
            }
        }
    }
    // Nothing was released: no consultation or extraction entry, no bag.
    assert!(
        d.audit()
            .iter()
            .all(|e| e.action == "refusal" || e.action == "collection" || e.action == "wipe")
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}

#[test]
fn the_head_of_service_and_authorised_agents_are_let_through_every_command() {
    for user in [HEAD, AGENT] {
        let mut d = Desk::with_fixtures("");
        d.clock.set("2018-03-14T12:00:00Z");
        let out = d.dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        for line in every_command(path_str(&out)) {
            // In this order every command has what it needs, so each one succeeds.
            run(&mut d, user, &line).unwrap_or_else(|e| panic!("{line:?} as {user}: {e}"));
        }
        assert!(d.audit().iter().all(|e| e.action != "refusal"));
    }
}

#[test]
fn confirming_a_large_purge_needs_the_head_of_service_and_the_refusal_is_traced() {
    let mut d = Desk::with_fixtures("");
    d.clock.set("2018-06-01T00:00:00Z");
    let err = d.fails(AGENT, &["purge", "--confirm", "6"]);
    assert!(
        err.contains("may not run `purge --confirm`") && err.contains("head of service"),
        "{err}"
    );
    let entry = d.audit().pop().unwrap();
    assert_eq!(
        (entry.action.as_str(), entry.author.as_str()),
        ("refusal", AGENT)
    );
    assert_eq!(d.state(A1), "wiped", "nothing was deleted");
}
