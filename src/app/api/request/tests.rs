//! The command lines of the issue parse, and travel as JSON.

use super::*;
use clap::Parser;

#[derive(Parser)]
struct Ctl {
    #[command(subcommand)]
    command: Command,
}

fn parse(args: &[&str]) -> Command {
    let mut all = vec!["sentinel-dockctl"];
    all.extend_from_slice(args);
    Ctl::try_parse_from(all)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .command
}

#[test]
fn the_issues_syntax_parses() {
    let c = parse(&[
        "issue",
        "SNTL-00042",
        "M123",
        "--at",
        "2026-11-26T06:00:00Z",
    ]);
    let Command::Issue(a) = &c else { panic!() };
    assert_eq!(a.at, Some("2026-11-26T06:00:00Z".parse().unwrap()));
    let c = parse(&[
        "extract",
        "--purpose",
        "judicial",
        "--requisition",
        "PV-2026-118",
        "--opj",
        "Dupont, Commissariat de Romans",
        "--to",
        "/tmp/out",
        "SNTL-00042_20180312_143015_0001",
        "SNTL-00042_20180312_150102_0002",
    ]);
    assert_eq!(c.name(), "extract");
    assert_eq!(c.recordings().len(), 2);
    let c = parse(&[
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--format",
        "csv",
    ]);
    assert_eq!(c.name(), "report");
    for args in [
        &["agent", "add", "M1", "--name", "A B", "--brigade", "Nuit"][..],
        &["camera", "enroll", "SNTL-00042"],
        &["return", "SNTL-00042"],
        &["attribute", "S", "M1", "--reason", "r"],
        &["consult", "--purpose", "training", "--reason", "r", "S"],
        &["hold", "--procedure", "P", "--reason", "r", "S"],
        &["release", "--procedure", "P", "--reason", "r", "S"],
        &["purge", "--dry-run"],
        &["audit", "verify"],
        &["forecast"],
        &["register", "print", "--camera", "S", "--view", "attention"],
    ] {
        let c = parse(args);
        assert!(args.join(" ").starts_with(c.name()), "{args:?}");
    }
}

#[test]
fn a_command_travels_as_json_and_back() {
    let c = parse(&["consult", "--purpose", "judicial", "--reason", "PV 12", "S"]);
    let text = serde_json::to_string(&c).unwrap();
    assert!(text.contains("\"command\":\"consult\""), "{text}");
    assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), c);
    let c = parse(&["agent", "add", "M1", "--name", "A", "--brigade", "B"]);
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), c);
}

#[test]
fn a_bad_time_names_the_format() {
    let err = Ctl::try_parse_from(["x", "issue", "S", "M", "--at", "yesterday"])
        .err()
        .unwrap();
    assert!(err.to_string().contains("RFC 3339"), "{err}");
}
