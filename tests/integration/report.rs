//! The report the service sends upward, on a known data set: the two fixture cameras
//! (6 recordings, 500 279 bytes with their sidecars, recorded on 12, 13 and 14 March
//! 2018), known consultations and extractions.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use crate::desk::*;

/// The known data set, its days counted in `tz` (`[console] timezone`).
fn known_activity_in(tz: &str) -> Desk {
    let mut d = Desk::with_fixtures(&format!("[console]\ntimezone = \"{tz}\"\n"));
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
    d.ok(HEAD, &["camera", "enroll", "SNTL-00042"]);
    d.ok(
        HEAD,
        &[
            "issue",
            "SNTL-00042",
            "M100",
            "--at",
            "2018-03-12T06:00:00Z",
        ],
    );
    for (purpose, stem) in [
        ("administrative", A1),
        ("administrative", A2),
        ("judicial", A3),
    ] {
        d.ok(
            AGENT,
            &["consult", "--purpose", purpose, "--reason", "r", stem],
        );
    }
    // Training sees only an accepted anonymised derivative (issue 11): B1 has none, so
    // this is refused (traced as a refusal) and counts as no consultation.
    let training = ["consult", "--purpose", "training", "--reason", "r", B1];
    assert!(d.run(AGENT, &training).is_err());
    let out = d.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let to = path_str(&out).to_string();
    d.ok(
        AGENT,
        &[
            "extract",
            "--purpose",
            "judicial",
            "--requisition",
            "PV-1",
            "--opj",
            "Dupont, SRPJ",
            "--requisition-date",
            "2018-03-14",
            "--to",
            &to,
            A1,
        ],
    );
    d.ok(
        AGENT,
        &[
            "extract",
            "--purpose",
            "disciplinary",
            "--reference",
            "D-2",
            "--recipient",
            "RH",
            "--to",
            &to,
            A4,
        ],
    );
    // Refused, and outside the period: neither counts.
    d.fails(
        TECH,
        &["consult", "--purpose", "judicial", "--reason", "r", A1],
    );
    d.clock.set("2018-03-20T09:00:00Z");
    d.ok(
        AGENT,
        &["consult", "--purpose", "disciplinary", "--reason", "r", A2],
    );
    d
}

/// The known data set on UTC days: its figures below were counted by hand that way.
fn known_activity() -> Desk {
    known_activity_in("UTC")
}

/// The report's days are the operator's (`[console] timezone`), as the search's: a night
/// brigade's recording at 00:59 in Paris belongs to the 15th, not to the 14th (UTC).
#[test]
fn the_report_counts_the_operators_days_not_utc_days() {
    let mut d = known_activity_in("Europe/Paris");
    let report = |d: &mut Desk, from: &str, to: &str| {
        d.ok(
            HEAD,
            &["report", "--from", from, "--to", to, "--format", "json"],
        )
        .data
    };
    // SNTL-00007_20180314_235957 started at 23:59:57Z, 00:59:57 in Paris on the 15th.
    let week = report(&mut d, "2018-03-12", "2018-03-14");
    assert_eq!(week["videos"], 5, "{week}");
    assert_eq!(week["days_of_use"], 2, "{week}");
    let fifteenth = report(&mut d, "2018-03-15", "2018-03-15");
    assert_eq!(fifteenth["videos"], 1, "{fifteenth}");
    assert_eq!(fifteenth["days_of_use"], 1, "{fifteenth}");
    // In UTC the same recording is the 14th's.
    let mut utc = known_activity();
    assert_eq!(report(&mut utc, "2018-03-12", "2018-03-14")["videos"], 6);
    assert_eq!(report(&mut utc, "2018-03-15", "2018-03-15")["videos"], 0);
}

#[test]
fn the_report_on_a_known_data_set_gives_exact_figures() {
    let mut d = known_activity();
    let r = d.ok(
        HEAD,
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
    let expected = serde_json::json!({
        "from": "2018-03-12", "to": "2018-03-14", "days": 3, "days_of_use": 3,
        "videos": 6, "bytes": 500_279, "videos_in_store": 6, "bytes_in_store": 500_279,
        "bytes_per_day": 500_279.0 / 3.0, "retention_days": 30,
        // 500 279 / 3 a day, kept 30 days, on RAID 1 (x2).
        "needed_for_retention": 10_005_580,
        "consultations": { "administrative": 2, "judicial": 1, "disciplinary": 0, "training": 0 },
        // The fixture cameras keep no PLAYBACK.LOG: none on the camera, counted apart.
        "on_camera_consultations": 0,
        "extractions": { "administrative": 0, "judicial": 1, "disciplinary": 1, "training": 0 },
        "training": 0,
    });
    assert_eq!(r.data, expected);
    let printed: serde_json::Value = serde_json::from_str(&r.message).unwrap();
    assert_eq!(printed, expected);

    let one_day = d.ok(
        HEAD,
        &[
            "report",
            "--from",
            "2018-03-13",
            "--to",
            "2018-03-13",
            "--format",
            "json",
        ],
    );
    assert_eq!(one_day.data["videos"], 2);
    assert_eq!(one_day.data["bytes"], 162_991);
    assert_eq!(one_day.data["days_of_use"], 1);
    assert_eq!(one_day.data["needed_for_retention"], 9_779_460);
    assert_eq!(one_day.data["consultations"]["administrative"], 0);

    let later = d.ok(
        HEAD,
        &[
            "report",
            "--from",
            "2018-03-15",
            "--to",
            "2018-03-31",
            "--format",
            "json",
        ],
    );
    assert_eq!(later.data["consultations"]["disciplinary"], 1);
    assert_eq!(later.data["videos"], 0);
}

#[test]
fn the_report_prints_as_a_table_and_as_csv() {
    let mut d = known_activity();
    let csv = d
        .ok(
            AGENT,
            &[
                "report",
                "--from",
                "2018-03-12",
                "--to",
                "2018-03-14",
                "--format",
                "csv",
            ],
        )
        .message;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "item,value");
    assert!(lines.contains(&"days of use,3"), "{csv}");
    assert!(lines.contains(&"videos recorded,6"), "{csv}");
    assert!(lines.contains(&"extractions: disciplinary,1"), "{csv}");
    assert!(
        lines.contains(&"training (consultations and extractions),0"),
        "{csv}"
    );
    let table = d
        .ok(
            AGENT,
            &["report", "--from", "2018-03-12", "--to", "2018-03-14"],
        )
        .message;
    let needed = table
        .lines()
        .find(|l| l.starts_with("storage needed for the retention period"))
        .unwrap();
    assert!(
        needed.ends_with("10005580 bytes (9.5 MiB) (30 days at 166760 bytes (162.9 KiB) a day, RAID overhead 2.0)"),
        "{table}"
    );
    let err = d.fails(
        AGENT,
        &["report", "--from", "2018-03-14", "--to", "2018-03-12"],
    );
    assert!(err.contains("is before the first day"), "{err}");
}

#[test]
fn the_forecast_compares_30_and_180_days() {
    let mut d = known_activity();
    let r = d.ok(
        HEAD,
        &[
            "forecast",
            "--from",
            "2018-03-12",
            "--to",
            "2018-03-14",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.data["needed_30_days"]["stored_bytes"], 5_002_790);
    assert_eq!(r.data["needed_30_days"]["raw_disk_bytes"], 10_005_580);
    assert_eq!(r.data["needed_180_days"]["stored_bytes"], 30_016_740);
    assert_eq!(r.data["needed_180_days"]["raw_disk_bytes"], 60_033_480);
    assert_eq!(r.data["raid_overhead"], 2.0);
    let table = d
        .ok(
            HEAD,
            &["forecast", "--from", "2018-03-12", "--to", "2018-03-14"],
        )
        .message;
    assert!(table.contains("needed for 180 days"), "{table}");
}
