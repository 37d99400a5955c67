//! Retention with a clock the test moves: what is due is shown first, held recordings are
//! kept, a purge of more than `retention.max_purge_share` waits for the head of service,
//! and each deletion removes the files and is traced with its hashes.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use crate::desk::*;
use sentinel_dock::app::commands::purge_due;

use crate::common;

fn stems(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().or(s["recording"].as_str()).unwrap().to_string())
        .collect()
}

#[test]
fn holds_are_kept_and_a_large_purge_waits_for_the_head_of_service() {
    let mut d = Desk::with_fixtures("");
    d.ok(
        AGENT,
        &[
            "hold",
            "--procedure",
            "P-17",
            "--reason",
            "complaint pending",
            A1,
        ],
    );
    // 30 days after 14 March 2018: everything that ended before then is due.
    d.clock.set("2018-04-13T00:00:00Z");
    let a2_video = d.video_path(A2);
    let a2_sha = common::sha256_hex(&std::fs::read(&a2_video).unwrap());

    let plan = d.ok(AGENT, &["purge", "--dry-run"]);
    assert_eq!(stems(&plan.data["delete"]), [B1, A2, A3, A4]);
    assert_eq!(stems(&plan.data["held"]), [A1]);
    assert_eq!(plan.data["bytes"], 341_454);
    assert_eq!(plan.data["store_bytes"], 500_279);
    assert!(
        plan.message.contains("keep: held for P-17"),
        "{}",
        plan.message
    );
    assert!(
        plan.message.contains("purge --confirm 4"),
        "{}",
        plan.message
    );
    assert!(a2_video.exists(), "a dry run deletes nothing");

    let err = d.fails(AGENT, &["purge"]);
    assert!(
        err.contains("68% of the store") && err.contains("retention.max_purge_share (25%)"),
        "{err}"
    );
    assert!(err.contains("--confirm 4"), "{err}");
    let err = d.fails(AGENT, &["purge", "--confirm", "4"]);
    assert!(err.contains("head of service"), "{err}");
    let err = d.fails(HEAD, &["purge", "--confirm", "3"]);
    assert!(err.contains("does not match the 4 recordings"), "{err}");
    assert!(
        a2_video.exists() && d.state(A2) == "wiped",
        "nothing deleted yet"
    );

    let done = d.ok(HEAD, &["purge", "--confirm", "4"]);
    assert_eq!(stems(&done.data["deleted"]), [B1, A2, A3, A4]);
    for stem in [B1, A2, A3, A4] {
        assert_eq!(d.state(stem), "purged", "{stem}");
    }
    assert!(!a2_video.exists());
    assert!(
        !d.store_path("recordings/2018-03-13").exists(),
        "emptied folders are removed"
    );
    assert_eq!(d.state(A1), "wiped");
    assert!(d.video_path(A1).exists(), "held: kept");
    let deletion = d
        .audit()
        .into_iter()
        .find(|e| e.action == "deletion" && e.recordings.contains(A2))
        .unwrap();
    assert_eq!(deletion.author, "chef-pm");
    assert!(deletion.details.contains(&a2_sha), "{}", deletion.details);
    assert!(
        deletion.details.contains("retention 30 days"),
        "{}",
        deletion.details
    );
    let err = d.fails(
        AGENT,
        &["consult", "--purpose", "judicial", "--reason", "late", A2],
    );
    assert!(err.contains("state purged"), "{err}");
    assert!(d.ok(HEAD, &["audit", "verify"]).success);

    // Released, A1 is due; alone it is most of what is left, so the daily purge waits.
    d.ok(
        HEAD,
        &[
            "release",
            "--procedure",
            "P-17",
            "--reason",
            "complaint closed",
            A1,
        ],
    );
    let daily = purge_due(&mut d.context()).unwrap();
    assert!(
        !daily.success && daily.message.contains("daily purge stopped"),
        "{}",
        daily.message
    );
    assert_eq!(d.state(A1), "wiped");
}

#[test]
fn the_daily_purge_deletes_what_is_due_under_the_brake_as_the_service() {
    let mut d = Desk::with_fixtures("[retention]\nmax_purge_share = 0.5\n");
    // Only 12 March is due: B1 and A1, A2 (286 753 of 500 279 bytes: 57%, over the brake).
    d.clock.set("2018-04-12T06:00:00Z");
    let daily = purge_due(&mut d.context()).unwrap();
    assert!(!daily.success);
    d.ok(HEAD, &["hold", "--procedure", "P-9", "--reason", "r", A2]);
    // Now B1 and A1: 192 175 bytes, 38%.
    let daily = purge_due(&mut d.context()).unwrap();
    assert!(daily.success, "{}", daily.message);
    assert_eq!(stems(&daily.data["deleted"]), [B1, A1]);
    let authors: Vec<String> = d
        .audit()
        .into_iter()
        .filter(|e| e.action == "deletion")
        .map(|e| e.author)
        .collect();
    assert_eq!(authors, ["sentinel-dockd", "sentinel-dockd"]);
    assert_eq!(d.state(A2), "wiped");
    // Nothing more is due: a second run deletes nothing.
    let again = purge_due(&mut d.context()).unwrap();
    assert_eq!(stems(&again.data["deleted"]).len(), 0);
}

#[test]
fn the_earlier_six_month_regime_keeps_them() {
    let mut d = Desk::with_fixtures("[retention]\ndays = 180\n");
    d.clock.set("2018-04-13T00:00:00Z");
    let plan = d.ok(HEAD, &["purge", "--dry-run"]);
    assert_eq!(stems(&plan.data["delete"]).len(), 0);
    d.clock.set("2018-09-10T00:00:00Z");
    let plan = d.ok(HEAD, &["purge", "--dry-run"]);
    assert_eq!(stems(&plan.data["delete"]), [B1, A1, A2, A3, A4]);
}
