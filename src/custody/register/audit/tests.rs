//! The chain on a real register (SQLite, or PostgreSQL: see `register::testing`): intact,
//! tampered through SQL, expired, appended by many writers at once.

use chrono::{DateTime, Duration, Utc};

use super::verify::Problem;
use super::*;
use crate::custody::register::Register;
use crate::custody::register::testing::drop_trigger;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test time")
}

fn register_with(n: usize) -> (tempfile::TempDir, Register) {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = crate::custody::register::testing::open_at(&dir.path().join("r.sqlite")).unwrap();
    let start = at("2023-01-01T00:00:00Z");
    for i in 0..n {
        let tx = reg.write().unwrap();
        let entry = NewEntry::new("chef-pm", Action::Consultation, format!("entry {i}"))
            .about(&[format!("SNTL-00042_20230101_000000_{i:04}")]);
        append(&tx, &entry, start + Duration::days(100 * i as i64)).unwrap();
        tx.commit().unwrap();
    }
    (dir, reg)
}

/// Several daemons append to one chain at once (a force's docks on one PostgreSQL): each
/// entry must follow the head it read, so that the chain neither forks nor skips.
#[test]
fn many_writers_at_once_append_one_chain_with_no_fork_and_no_gap() {
    const WRITERS: usize = 6;
    const EACH: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    let mut reg = crate::custody::register::testing::open_at(&path).unwrap();
    let start = at("2026-12-01T08:00:00Z");
    let go = std::sync::Arc::new(std::sync::Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (path, go) = (path.clone(), go.clone());
            std::thread::spawn(move || {
                let mut reg = crate::custody::register::testing::open_at(&path).unwrap();
                go.wait();
                for i in 0..EACH {
                    let entry = NewEntry::new("dock", Action::Consultation, format!("{w}/{i}"));
                    reg.in_write(|tx| append(tx, &entry, start + Duration::seconds(i as i64)))
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("a writer panicked");
    }
    let tx = reg.read().unwrap();
    let v = verify(&tx, None).unwrap();
    assert!(v.is_intact(), "{}", v.describe());
    let seqs: Vec<i64> = entries(&tx, 0).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=(WRITERS * EACH) as i64).collect::<Vec<_>>());
}

#[test]
fn an_intact_chain_verifies_and_links_from_genesis() {
    let (_dir, mut reg) = register_with(4);
    let conn = reg.connection();
    let rows = entries(conn, 0).unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].prev_hash, GENESIS);
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    let v = verify(conn, None).unwrap();
    assert!(v.is_intact(), "{}", v.describe());
    assert_eq!(v.head, head(conn).unwrap());
    assert_eq!(v.head.seq, 4);
}

#[test]
fn the_triggers_refuse_an_update_or_delete_by_mistake() {
    let (_dir, mut reg) = register_with(2);
    let conn = reg.connection();
    let err = conn
        .execute("UPDATE audit SET author = 'x' WHERE seq = 1", ())
        .unwrap_err();
    assert!(
        crate::base::error::chain(&err).contains("append-only"),
        "{err}"
    );
    let err = conn
        .execute("DELETE FROM audit WHERE seq = 1", ())
        .unwrap_err();
    assert!(
        crate::base::error::chain(&err).contains("append-only"),
        "{err}"
    );
}

#[test]
fn a_changed_field_is_named_by_its_sequence_number() {
    let (_dir, mut reg) = register_with(4);
    let conn = reg.connection();
    conn.execute_batch(&format!(
        "{}; UPDATE audit SET purpose = 'training' WHERE seq = 2;",
        drop_trigger(conn, "audit_append_only", "audit")
    ))
    .unwrap();
    let v = verify(conn, None).unwrap();
    assert_eq!(v.problems, [Problem::Changed { seq: 2 }]);
}

#[test]
fn a_logged_head_catches_a_truncated_or_rewritten_chain() {
    let (_dir, mut reg) = register_with(3);
    let conn = reg.connection();
    let logged = head(conn).unwrap();
    assert!(verify(conn, Some(&logged)).unwrap().is_intact());
    conn.execute_batch(&format!(
        "{}; DELETE FROM audit WHERE seq = 3;",
        drop_trigger(conn, "audit_no_delete", "audit")
    ))
    .unwrap();
    // The rows alone still link: only the head logged outside shows the loss.
    let v = verify(conn, None).unwrap();
    assert!(v.is_intact());
    let v = verify(conn, Some(&logged)).unwrap();
    assert_eq!(
        v.problems,
        [Problem::HeadMismatch {
            seq: 3,
            logged: logged.hash.clone(),
            found: None
        }]
    );
    assert!(v.describe().contains("#3"), "{}", v.describe());
}

#[test]
fn expiry_drops_old_entries_behind_a_checkpoint_and_the_rest_still_verifies() {
    let (_dir, mut reg) = register_with(5); // entries 100 days apart from 2023-01-01
    let tx = reg.write().unwrap();
    let dropped_hash = entries(&tx, 0).unwrap()[1].hash.clone();
    let cp = expire(&tx, at("2023-06-01T00:00:00Z"), at("2026-06-01T00:00:00Z"))
        .unwrap()
        .expect("two entries are older");
    tx.commit().unwrap();
    assert_eq!(cp.dropped, (1, 2));
    assert_eq!(cp.anchor_hash, dropped_hash);
    assert_eq!(cp.entry_seq, 6);
    let conn = reg.connection();
    let rows = entries(conn, 0).unwrap();
    assert_eq!(rows.first().unwrap().seq, 3);
    assert_eq!(rows.last().unwrap().action, "expiry");
    let v = verify(conn, None).unwrap();
    assert!(v.is_intact(), "{}", v.describe());
    assert_eq!(v.starts_after, 2);

    // Moving the anchor to hide more removals is caught by the checkpoint entry.
    conn.execute_batch(&format!(
        "{}; DELETE FROM audit WHERE seq = 3;
         UPDATE audit_anchor SET last_dropped_seq = 3,
             last_dropped_hash = (SELECT prev_hash FROM audit WHERE seq = 4);",
        drop_trigger(conn, "audit_no_delete", "audit")
    ))
    .unwrap();
    let v = verify(conn, None).unwrap();
    assert!(
        matches!(v.problems.as_slice(), [Problem::Anchor { .. }]),
        "{:?}",
        v.problems
    );
}

#[test]
fn expiry_refuses_to_hide_a_broken_chain() {
    let (_dir, mut reg) = register_with(3);
    let conn = reg.connection();
    conn.execute_batch(&format!(
        "{}; UPDATE audit SET details = 'x' WHERE seq = 1;",
        drop_trigger(conn, "audit_append_only", "audit")
    ))
    .unwrap();
    let tx = reg.write().unwrap();
    let err = expire(&tx, at("2030-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z")).unwrap_err();
    assert!(
        crate::base::error::chain(&err).contains("entry #1 was changed"),
        "{err}"
    );
}

#[test]
fn appending_after_expiry_of_everything_continues_from_the_anchor() {
    let (_dir, mut reg) = register_with(2);
    let tx = reg.write().unwrap();
    let cp = expire(&tx, at("2030-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z"))
        .unwrap()
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(cp.dropped, (1, 2));
    let conn = reg.connection();
    let rows = entries(conn, 0).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].seq, 3);
    assert_eq!(rows[0].prev_hash, cp.anchor_hash);
    assert!(verify(conn, None).unwrap().is_intact());
}

/// A writer the test reads back: what the log would have received.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_head_goes_to_the_log_with_its_message_id() {
    let (_dir, mut reg) = register_with(3);
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let head = tracing::subscriber::with_default(subscriber, || {
        log_head(reg.connection(), "daily").unwrap()
    });
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(head.seq, 3);
    assert!(
        text.contains(&format!(
            "message_id=\"{}\"",
            crate::base::events::AUDIT_HEAD.id
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("audit_hash={}", head.hash)),
        "{text}"
    );
    assert!(
        text.contains("audit_seq=3") && text.contains("occasion=\"daily\""),
        "{text}"
    );
}

/// Three years of a busy service is well under 100 000 entries; appending them one
/// transaction each and verifying them must stay quick. Run with `--ignored` to measure.
#[test]
#[ignore = "measurement: cargo test --lib audit_volume -- --ignored --nocapture"]
fn audit_volume() {
    let dir = tempfile::tempdir().unwrap();
    let mut reg = crate::custody::register::testing::open_at(&dir.path().join("r.sqlite")).unwrap();
    let n = 20_000;
    let started = std::time::Instant::now();
    let at0 = at("2023-01-01T00:00:00Z");
    for i in 0..n {
        let tx = reg.write().unwrap();
        let entry = NewEntry::new("chef-pm", Action::Consultation, "x".repeat(200))
            .about(&[format!("SNTL-00042_20230101_000000_{:04}", i % 10_000)]);
        append(&tx, &entry, at0 + Duration::seconds(i)).unwrap();
        tx.commit().unwrap();
    }
    let appended = started.elapsed();
    let started = std::time::Instant::now();
    let v = verify(reg.connection(), None).unwrap();
    let verified = started.elapsed();
    assert!(v.is_intact());
    eprintln!(
        "{n} entries: appended in {appended:?} ({:?} each, one fsynced transaction each), verified in {verified:?}",
        appended / n as u32
    );
}

/// Entries written at a named site carry it inside their hash, beside entries of the
/// unnamed site (every entry written before sites), and the chain verifies; a site
/// changed by hand afterwards is found.
#[test]
fn an_entrys_site_is_covered_by_its_hash() {
    let (_dir, mut reg) = register_with(2);
    reg.set_site("Poste Nord").unwrap();
    let tx = reg.write().unwrap();
    let entry = NewEntry::new("chef-pm", Action::Consultation, "at the north post");
    let written = append(&tx, &entry, at("2023-09-01T00:00:00Z")).unwrap();
    tx.commit().unwrap();
    assert_eq!(written.site, "Poste Nord");
    let conn = reg.connection();
    let rows = entries(conn, 0).unwrap();
    let sites: Vec<&str> = rows.iter().map(|e| e.site.as_str()).collect();
    assert_eq!(sites, ["", "", "Poste Nord"]);
    // The same fields at another site hash differently: the site is in the hash.
    let elsewhere = AuditEntry {
        site: "Poste Sud".into(),
        ..rows[2].clone()
    };
    assert_ne!(elsewhere.computed_hash(), rows[2].hash);
    assert!(verify(conn, None).unwrap().is_intact());

    conn.execute_batch(&format!(
        "{}; UPDATE audit SET site = 'Poste Sud' WHERE seq = 3;",
        drop_trigger(conn, "audit_append_only", "audit")
    ))
    .unwrap();
    let v = verify(conn, None).unwrap();
    assert_eq!(v.problems, [Problem::Changed { seq: 3 }]);
    // An entry of the unnamed site given a site by hand is found too.
    conn.execute("UPDATE audit SET site = 'Poste Nord' WHERE seq = 1", ())
        .unwrap();
    let v = verify(conn, None).unwrap();
    assert!(v.problems.contains(&Problem::Changed { seq: 1 }), "{v:?}");
}
