//! A register at scale, written as the daemon and its operators would have written it over
//! a year and more: cameras issued to agents each shift and returned by docking, each
//! docking an ingest session storing and wiping the shift's recordings, each recording
//! attributed, consultations and extractions (with their holds) every day. Every audit
//! entry goes through `audit::append`, the chain's own hashing, so `audit verify` passes.
//!
//! Time is laid out around `Plan::now` so that exactly `Plan::due` recordings are past
//! `retention_days` (the oldest, before a day left empty) and the rest are not, whenever
//! on the same day (or the next, before 06:00) a purge runs.

#[path = "rows.rs"]
mod rows;
#[path = "shift.rs"]
mod shift;

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};

use anyhow::ensure;
use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Utc};
use rusqlite::{Connection, params};
use sentinel_dock::custody::register::audit::{self, Action, NewEntry};
use sentinel_dock::custody::register::format_time;
use sentinel_dock::custody::register::perception::{self, Agent};

use rows::Recording;
pub use rows::Rng;

/// What to build.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Recordings in all.
    pub recordings: u64,
    /// Cameras in service.
    pub cameras: u32,
    /// The oldest recordings, past their retention at `now`.
    pub due: u64,
    /// `retention.days` the purge will be run with.
    pub retention_days: u32,
    /// The moment the register is made for (the purge and the status run soon after).
    pub now: DateTime<Utc>,
    /// Seed of everything random.
    pub seed: u64,
    /// A store in which the due recordings' files are created (empty), so a purge removes
    /// real files.
    pub store: Option<PathBuf>,
}

/// What was built.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Recordings written.
    pub recordings: u64,
    /// Of them, past retention at `now`.
    pub due: u64,
    /// Of those, on hold (extracted): a purge keeps them.
    pub held_due: u64,
    /// Audit entries in the chain.
    pub audit_entries: i64,
    /// First day with recordings.
    pub first_day: Option<NaiveDate>,
    /// Last day with recordings.
    pub last_day: Option<NaiveDate>,
    /// Files created in the store.
    pub files: u64,
}

/// The head of service, who issues cameras; the agents consult and extract.
const HEAD: &str = "chef-pm";
const PURPOSES: [&str; 4] = ["administrative", "judicial", "disciplinary", "training"];

struct Segment {
    first: NaiveDate,
    days: u64,
    recordings: u64,
    due: bool,
}

/// A recording recent enough to be consulted or extracted.
struct Recent {
    id: i64,
    stem: String,
    camera: String,
    video_path: String,
    sha256: String,
    due: bool,
}

struct Writer<'p> {
    plan: &'p Plan,
    rng: Rng,
    agents: Vec<Agent>,
    serials: Vec<String>,
    seq: Vec<u32>,
    last: DateTime<Utc>,
    recent: VecDeque<Recent>,
    held: HashSet<i64>,
    summary: Summary,
}

/// Fills an empty register (just opened by `Register::open`, which made its schema)
/// according to `plan`, through a connection of its own on the file: a generator's bulk
/// SQL, never the service's door.
pub fn fill(register: &Path, plan: &Plan) -> anyhow::Result<Summary> {
    ensure!(plan.cameras >= 1, "at least one camera");
    ensure!(plan.recordings > plan.due, "more recordings than due ones");
    let segments = layout(plan)?;
    let mut conn = Connection::open(register)?;
    // Its audit entries are written by `audit::append`, which asks the connection's site:
    // the unnamed one of a single-site install.
    sentinel_dock::custody::register::define_site(&conn, "")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA foreign_keys=ON;")?;
    // A generator, not the service: durability per commit buys nothing here.
    conn.execute_batch("PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;")?;
    let first = segments[0].first;
    let mut w = Writer {
        plan,
        rng: Rng::new(plan.seed),
        agents: Vec::new(),
        serials: (0..plan.cameras)
            .map(|i| format!("SNTL-{:05}", 1 + i))
            .collect(),
        seq: vec![0; plan.cameras as usize],
        last: at(first.pred_opt().unwrap_or(first), 8, 0),
        recent: VecDeque::new(),
        held: HashSet::new(),
        summary: Summary::default(),
    };
    let tx = conn.transaction()?;
    w.setup(&tx)?;
    tx.commit()?;
    for segment in &segments {
        let shifts = segment.days * 2 * u64::from(plan.cameras);
        let (base, extra) = (segment.recordings / shifts, segment.recordings % shifts);
        let mut index = 0u64;
        for d in 0..segment.days {
            let day = segment.first + Days::new(d);
            let tx = conn.transaction()?;
            let mut counts = Vec::new();
            for _ in 0..2 * plan.cameras {
                counts.push(base + u64::from(index < extra));
                index += 1;
            }
            w.day(&tx, day, &counts, segment.due)?;
            tx.commit()?;
            w.summary.first_day.get_or_insert(day);
            w.summary.last_day = Some(day);
        }
    }
    w.summary.audit_entries = audit::head(&conn)?.seq;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA synchronous=FULL;")?;
    Ok(w.summary)
}

/// The due recordings on the days before `now − retention − 1 day`, the others from the
/// day after that cut to yesterday, at the same density.
fn layout(plan: &Plan) -> anyhow::Result<Vec<Segment>> {
    let today = plan.now.date_naive();
    let cut = (plan.now - Duration::days(i64::from(plan.retention_days))).date_naive();
    let kept_first = cut + Days::new(1);
    let kept_days = (today - kept_first).num_days();
    ensure!(kept_days >= 1, "retention_days must be at least 2");
    let kept = plan.recordings - plan.due;
    let mut segments = Vec::new();
    if plan.due > 0 {
        let days = ((plan.due as f64 * kept_days as f64 / kept as f64).round() as u64).max(1);
        segments.push(Segment {
            first: cut - Days::new(days),
            days,
            recordings: plan.due,
            due: true,
        });
    }
    segments.push(Segment {
        first: kept_first,
        days: kept_days as u64,
        recordings: kept,
        due: false,
    });
    Ok(segments)
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, minute, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

impl Writer<'_> {
    /// The time of the next audit entry: never before the last one.
    fn stamp(&mut self, t: DateTime<Utc>) -> DateTime<Utc> {
        if t > self.last {
            self.last = t;
        }
        self.last
    }

    fn append(
        &mut self,
        conn: &Connection,
        entry: NewEntry,
        t: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let t = self.stamp(t);
        Ok(audit::append(conn, &entry, t)?.seq)
    }

    /// Agents and enrolled cameras, the day before the first shift.
    fn setup(&mut self, conn: &Connection) -> anyhow::Result<()> {
        let t = self.last;
        for i in 0..3 * self.plan.cameras {
            let agent = Agent {
                matricule: format!("PM-{:04}", 101 + i),
                name: format!("Agent {}", 101 + i),
                brigade: ["jour", "soir", "VTT"][i as usize % 3].to_string(),
                unix_user: (i < 4).then(|| format!("agent{}", i + 1)),
            };
            perception::insert_agent(conn, &agent, HEAD, t)?;
            let details = format!(
                "agent {} ({}, {}) added",
                agent.matricule, agent.name, agent.brigade
            );
            self.append(conn, NewEntry::new(HEAD, Action::Perception, details), t)?;
            self.agents.push(agent);
        }
        for serial in self.serials.clone() {
            perception::insert_enrolment(conn, &serial, Some("SENTINEL-BWC2"), HEAD, t)?;
            conn.execute(
                "INSERT INTO cameras (serial, model, firmware, first_seen, last_seen)
                 VALUES (?1, 'SENTINEL-BWC2', '2.3.1', ?2, ?2)",
                params![serial, format_time(t)],
            )?;
            let details = format!("camera {serial} enrolled");
            self.append(conn, NewEntry::new(HEAD, Action::Perception, details), t)?;
        }
        Ok(())
    }

    /// Two shifts: issues, recordings, returns by docking, ingests, attributions; between
    /// them the day's consultations and, one day in three, an extraction.
    fn day(
        &mut self,
        conn: &Connection,
        day: NaiveDate,
        counts: &[u64],
        due: bool,
    ) -> anyhow::Result<()> {
        let cameras = self.plan.cameras as usize;
        for shift in 0..2usize {
            let start = at(day, 6 + 8 * shift as u32, 0);
            let mut issues = Vec::new();
            for c in 0..cameras {
                issues.push(self.issue(
                    conn,
                    c,
                    shift,
                    day,
                    start + Duration::minutes(c as i64),
                )?);
            }
            for (c, issue) in issues.into_iter().enumerate() {
                let docked = start + Duration::minutes(450 + 2 * c as i64);
                let n = counts[shift * cameras + c];
                let shift = shift::Shift {
                    camera: c,
                    issue,
                    start,
                    docked,
                    recordings: n,
                    due,
                };
                self.shift(conn, &shift)?;
            }
            if shift == 0 {
                self.consultations(conn, start + Duration::hours(8))?;
                if day.ordinal().is_multiple_of(3) {
                    self.extraction(conn, day, start + Duration::hours(9))?;
                }
            }
        }
        Ok(())
    }

    fn issue(
        &mut self,
        conn: &Connection,
        c: usize,
        shift: usize,
        day: NaiveDate,
        t: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let cameras = self.plan.cameras as usize;
        let rota = (day.ordinal() as usize * 2 + shift) % 3;
        let agent = self.agents[(c + cameras * rota) % self.agents.len()].clone();
        let serial = self.serials[c].clone();
        let id = perception::insert_assignment(conn, &serial, &agent.matricule, t, HEAD)?;
        conn.execute(
            "INSERT INTO dock_events (camera, event, at, slot) VALUES (?1, 'undocked', ?2, ?1)",
            params![serial, format_time(t + Duration::seconds(20))],
        )?;
        let details = format!(
            "camera {serial} issued to agent {} ({}, {}) at {}",
            agent.matricule,
            agent.name,
            agent.brigade,
            format_time(t)
        );
        self.append(conn, NewEntry::new(HEAD, Action::Perception, details), t)?;
        Ok(id)
    }
}
