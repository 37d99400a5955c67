//! The audit register as an inspector meets it: filled by a real ingest and real
//! operations, then tampered with through the `sqlite3` command-line tool; `audit verify`
//! names the entry changed, inserted or removed, and fails.

use crate::desk::*;
use common::require_tool;

use crate::common;

/// A register with a real history: two cameras ingested (collections and wipes), an
/// attribution pass, consultations.
fn history() -> Desk {
    require_tool("sqlite3");
    let mut d = Desk::with_fixtures("");
    d.ok(
        AGENT,
        &[
            "consult",
            "--purpose",
            "administrative",
            "--reason",
            "complaint 7",
            A1,
        ],
    );
    d.ok(
        HEAD,
        &[
            "consult",
            "--purpose",
            "disciplinary",
            "--reason",
            "file 3",
            A2,
        ],
    );
    d
}

fn verify(d: &mut Desk) -> (bool, String) {
    let r = d.ok(HEAD, &["audit", "verify"]);
    (r.success, r.message)
}

#[test]
fn the_ingest_traces_each_collection_and_wipe_and_the_chain_holds() {
    let mut d = history();
    let trail = d.audit();
    let count = |action: &str| trail.iter().filter(|e| e.action == action).count();
    assert_eq!(count("collection"), 6);
    assert_eq!(count("wipe"), 6);
    let collected = trail
        .iter()
        .find(|e| e.action == "collection" && e.recordings.contains(A1))
        .unwrap();
    assert_eq!(collected.author, "sentinel-dockd");
    let sha = common::sha256_hex(&std::fs::read(d.video_path(A1)).unwrap());
    assert!(
        collected.details.contains(&sha) && collected.details.contains("stored confirmed"),
        "{}",
        collected.details
    );
    let (ok, message) = verify(&mut d);
    assert!(ok, "{message}");
    assert!(
        message.starts_with("audit chain intact: 14 entries"),
        "{message}"
    );
}

#[test]
fn a_row_changed_with_sqlite3_is_named() {
    let mut d = history();
    d.sqlite3(
        "DROP TRIGGER audit_append_only; UPDATE audit SET purpose = 'training' WHERE seq = 13;",
    );
    let (ok, message) = verify(&mut d);
    assert!(!ok);
    assert!(message.contains("entry #13 was changed"), "{message}");
    assert_eq!(message.lines().count(), 2, "one problem only:\n{message}");
}

#[test]
fn a_row_deleted_with_sqlite3_is_named() {
    let mut d = history();
    d.sqlite3("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 4;");
    let (ok, message) = verify(&mut d);
    assert!(!ok);
    assert!(
        message.contains("entry #4 was removed: entry #5 follows entry #3"),
        "{message}"
    );
}

#[test]
fn a_row_inserted_with_sqlite3_is_named() {
    let mut d = history();
    // Make room after entry 6 by renumbering the rest, then slip a plausible entry in,
    // linked to entry 6 as a careful forger would.
    d.sqlite3(
        "DROP TRIGGER audit_append_only;
         UPDATE audit SET seq = -seq WHERE seq > 6;
         UPDATE audit SET seq = 1 - seq WHERE seq < 0;
         INSERT INTO audit (seq, at, author, action, purpose, recipients, recordings, details, prev_hash, hash)
         SELECT 7, at, 'chef-pm', 'consultation', 'judicial', '', '[]', 'nothing to see',
                hash, '0000000000000000000000000000000000000000000000000000000000000001'
         FROM audit WHERE seq = 6;",
    );
    let (ok, message) = verify(&mut d);
    assert!(!ok);
    assert!(message.contains("entry #7 was inserted"), "{message}");
}

#[test]
fn the_appended_row_of_a_naive_forger_is_named() {
    let mut d = history();
    d.sqlite3(
        "INSERT INTO audit (seq, at, author, action, prev_hash, hash)
         SELECT seq + 1, at, 'chef-pm', 'consultation', hash, hash FROM audit
         ORDER BY seq DESC LIMIT 1;",
    );
    let (ok, message) = verify(&mut d);
    assert!(!ok);
    assert!(message.contains("entry #15 was changed"), "{message}");
}

#[test]
fn a_chain_rewritten_whole_is_caught_by_the_head_logged_to_the_journal() {
    let mut d = history();
    let logged = {
        let conn = &d.conn();
        sentinel_dock::custody::register::audit::log_head(conn, "daily").unwrap()
    };
    let head = logged.to_string();
    let r = d.ok(HEAD, &["audit", "verify", "--head", &head]);
    assert!(r.success, "{}", r.message);
    // Dropping the last entries leaves a chain that links perfectly: only the logged
    // head shows it.
    d.sqlite3("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq >= 13;");
    assert!(verify(&mut d).0);
    let r = d.ok(HEAD, &["audit", "verify", "--head", &head]);
    assert!(!r.success);
    assert!(
        r.message.contains("entry #14 (logged to the journal"),
        "{}",
        r.message
    );
    let err = d.fails(HEAD, &["audit", "verify", "--head", "14"]);
    assert!(err.contains("SEQ:HASH"), "{err}");
}

#[test]
fn after_three_years_the_daily_upkeep_expires_entries_and_the_chain_still_verifies() {
    let mut d = history(); // written on 15 March 2018
    d.clock.set("2021-03-10T00:00:00Z");
    d.ok(
        HEAD,
        &["consult", "--purpose", "judicial", "--reason", "late", B2],
    );
    d.clock.set("2021-03-16T00:00:00Z");
    let r = sentinel_dock::app::commands::daily(&mut d.context()).unwrap();
    let checkpoint = &r.data["audit_checkpoint"];
    assert_eq!(
        checkpoint["dropped"],
        serde_json::json!([1, 14]),
        "{}",
        r.message
    );
    let trail = d.audit();
    assert_eq!(trail[0].seq, 15, "the 2021 consultation stays");
    assert!(
        trail
            .iter()
            .any(|e| e.action == "expiry" && e.details.contains("\"dropped_count\":14"))
    );
    let (ok, message) = verify(&mut d);
    assert!(ok, "{message}");
    assert!(message.contains("entries after #14"), "{message}");
}
