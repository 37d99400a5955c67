//! Who held the camera at an on-camera consultation, on a real SQLite register: the camera's
//! clock trusted, corrected by a GPS-measured offset, or not used at all.

use super::*;
use crate::custody::register::Register;
use crate::custody::register::perception::{
    Agent, insert_agent, insert_assignment, insert_enrolment, set_returned,
};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test time")
}

/// Camera S enrolled on the 11th; M1 holds it 06:00 to 14:30 (returned by hand), M2 from
/// 14:45; docked at 22:00.
fn register(dir: &std::path::Path) -> Register {
    let mut reg = Register::open(&dir.join("r.sqlite")).expect("register");
    let tx = reg.write().expect("write");
    let conn = &tx;
    for m in ["M1", "M2"] {
        let agent = Agent {
            matricule: m.into(),
            name: m.into(),
            brigade: "B".into(),
            unix_user: None,
        };
        insert_agent(conn, &agent, "t", at("2018-03-11T00:00:00Z")).expect("agent");
    }
    insert_enrolment(conn, "S", None, "t", at("2018-03-11T00:00:00Z")).expect("enrol");
    let first = insert_assignment(conn, "S", "M1", at("2018-03-12T06:00:00Z"), "t").expect("issue");
    set_returned(conn, first, at("2018-03-12T14:30:00Z"), "t").expect("return");
    insert_assignment(conn, "S", "M2", at("2018-03-12T14:45:00Z"), "t").expect("issue");
    tx.commit().expect("commit");
    reg
}

fn times(clock: Option<&CameraClock>) -> Times<'_> {
    Times {
        docked_at: at("2018-03-12T22:00:00Z"),
        since: Some((at("2018-03-11T00:00:00Z"), "its enrolment")),
        tolerance: Duration::seconds(300),
        clock,
    }
}

fn clock(offset_secs: i64, basis: OffsetBasis) -> CameraClock {
    CameraClock {
        serial: "S".into(),
        offset_secs,
        basis,
        wrong: true,
        flagged: 1,
    }
}

#[test]
fn a_right_clock_names_the_agent_of_the_issue_at_that_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = register(dir.path());
    let h = holder(
        &reg.read().expect("read"),
        "S",
        at("2018-03-12T14:00:00Z"),
        &times(None),
    )
    .expect("holder");
    assert_eq!(h.agent.as_deref(), Some("M1"), "{}", h.how);
    let h = holder(
        &reg.read().expect("read"),
        "S",
        at("2018-03-12T14:35:00Z"),
        &times(None),
    )
    .expect("holder");
    assert_eq!(h.agent, None, "between two issues: {}", h.how);
    assert!(
        h.how.contains("ended at 2018-03-12T14:30:00.000Z"),
        "{}",
        h.how
    );
}

/// A camera one hour ahead of GPS dates at 15:00 a consultation made at 14:00: corrected, it
/// falls in M1's issue, not in M2's where its own clock would put it.
#[test]
fn a_clock_found_wrong_against_gps_is_corrected_by_its_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = register(dir.path());
    let ahead = clock(3600, OffsetBasis::Gps);
    let h = holder(
        &reg.read().expect("read"),
        "S",
        at("2018-03-12T15:00:00Z"),
        &times(Some(&ahead)),
    )
    .expect("holder");
    assert_eq!(h.agent.as_deref(), Some("M1"), "{}", h.how);
    assert!(
        h.how.contains("offset +3600 s against GPS")
            && h.how.contains("corrected to 2018-03-12T14:00:00.000Z"),
        "{}",
        h.how
    );
}

/// Without GPS the camera's time is not used: with two issues since its enrolment, who held
/// it cannot be told; with one (docked since M1's), that one.
#[test]
fn a_clock_wrong_without_gps_falls_back_to_the_one_issue_since_the_last_docking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut reg = register(dir.path());
    let wrong = clock(-86_400 * 365, OffsetBasis::Docking);
    let h = holder(
        &reg.read().expect("read"),
        "S",
        at("2017-03-12T15:00:00Z"),
        &times(Some(&wrong)),
    )
    .expect("holder");
    assert_eq!(h.agent, None, "{}", h.how);
    assert!(
        h.how
            .contains("issued 2 times since its enrolment (agents M1, M2)"),
        "{}",
        h.how
    );
    let mut t = times(Some(&wrong));
    t.since = Some((at("2018-03-12T14:40:00Z"), "its previous docking"));
    let h = holder(
        &reg.read().expect("read"),
        "S",
        at("2017-03-12T15:00:00Z"),
        &t,
    )
    .expect("holder");
    assert_eq!(h.agent.as_deref(), Some("M2"), "{}", h.how);
    assert!(
        h.how.contains("attributed to the issue this docking ended"),
        "{}",
        h.how
    );
}
