//! One camera's shift as the registers keep it: its recordings stored and wiped at the
//! docking that returns it, each attributed to the agent who held it; and the day's
//! consultations and extractions.

use std::fs;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rusqlite::params;
use sentinel_dock::custody::register::Conn;
use sentinel_dock::custody::register::audit::{Action, NewEntry, SERVICE_AUTHOR};
use sentinel_dock::custody::register::perception::{self, Attribution};
use sentinel_dock::custody::register::{format_time, holds};

use super::{HEAD, PURPOSES, Recent, Recording, Writer};

/// A camera's shift: which camera, its issue, when it went out and came back, how many
/// recordings it brought, and whether they are past retention now.
#[derive(Debug, Clone, Copy)]
pub(super) struct Shift {
    pub camera: usize,
    pub issue: i64,
    pub start: DateTime<Utc>,
    pub docked: DateTime<Utc>,
    pub recordings: u64,
    pub due: bool,
}

/// How many recent recordings operators pick from (a few days' worth).
const RECENT: usize = 8_000;
/// The store's write rate during an ingest, for the register's times.
const INGEST_BYTES_PER_SEC: f64 = 90e6;

impl Writer<'_> {
    /// One camera's shift: out from its issue, docked with its recordings, each ingested
    /// and then attributed.
    pub(super) fn shift(&mut self, conn: &Conn, s: &Shift) -> anyhow::Result<()> {
        let recordings = self.recordings(s.camera, s.start, s.recordings);
        let (stored, t) = self.ingest(conn, s, &recordings)?;
        for (r, id) in recordings.into_iter().zip(stored) {
            self.attribute(conn, &r, id, s.issue, s.start, t)?;
            self.summary.recordings += 1;
            self.summary.due += u64::from(s.due);
            if !r.quarantined {
                self.recent.push_back(Recent {
                    id,
                    sha256: r.hashes[1].clone(),
                    stem: r.stem,
                    camera: r.camera,
                    video_path: r.video_path,
                    due: s.due,
                });
            }
        }
        while self.recent.len() > RECENT {
            self.recent.pop_front();
        }
        Ok(())
    }

    /// The docking and its ingest session: each recording stored (and its files made when
    /// due). Returns their ids and when the session ended.
    fn ingest(
        &mut self,
        conn: &Conn,
        s: &Shift,
        recordings: &[Recording],
    ) -> anyhow::Result<(Vec<i64>, DateTime<Utc>)> {
        let serial = self.serials[s.camera].clone();
        let docked = format_time(s.docked);
        conn.execute(
            "INSERT INTO dock_events (camera, event, at, slot) VALUES (?1, 'docked', ?2, ?1)",
            params![serial, docked],
        )?;
        conn.execute(
            "UPDATE cameras SET last_seen = ?2 WHERE serial = ?1",
            params![serial, docked],
        )?;
        let began = s.docked + Duration::seconds(2);
        conn.execute(
            "INSERT INTO sessions (camera, source, profile, started_at) VALUES (?1, ?2, 'sentinel-v1', ?3)",
            params![serial, format!("/dev/sentinel-dock/{serial}"), format_time(began)],
        )?;
        let session = conn.last_insert_rowid()?;
        let listed = began + Duration::seconds(1);
        let mut t = listed;
        let mut stored = Vec::new();
        for r in recordings {
            t += Duration::milliseconds((r.video_size as f64 / INGEST_BYTES_PER_SEC * 1e3) as i64);
            stored.push(self.store_one(conn, r, session, listed, t)?);
            if s.due {
                self.create_files(r)?;
            }
        }
        let outcome = if recordings.iter().any(|r| r.quarantined) {
            "attention"
        } else {
            "complete"
        };
        t += Duration::milliseconds(300);
        conn.execute(
            "UPDATE sessions SET finished_at = ?2, outcome = ?3 WHERE id = ?1",
            params![session, format_time(t), outcome],
        )?;
        Ok((stored, t + Duration::seconds(1)))
    }

    /// `n` recordings spread over the shift's patrol time (06:10 to 13:30, or 14:10 to 21:30).
    fn recordings(&mut self, c: usize, start: DateTime<Utc>, n: u64) -> Vec<Recording> {
        let window = 7 * 3600 + 20 * 60;
        let slot = window / n.max(1);
        let mut out = Vec::new();
        for k in 0..n {
            let longest = (slot * 4 / 5).clamp(1, 900);
            let duration = self.rng.between(longest.min(20), longest);
            let offset = self.rng.between(0, slot.saturating_sub(duration));
            let begin = start + Duration::seconds((600 + k * slot + offset) as i64);
            self.seq[c] = self.seq[c] % 9999 + 1;
            let serial = self.serials[c].clone();
            out.push(Recording::new(
                &mut self.rng,
                &serial,
                self.seq[c],
                begin,
                duration,
            ));
        }
        out
    }

    /// The rows and entries of one recording's ingest: discovered, stored, wiped.
    fn store_one(
        &mut self,
        conn: &Conn,
        r: &Recording,
        session: i64,
        listed: DateTime<Utc>,
        t: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let wiped_at = t + Duration::milliseconds(200);
        let id = r.insert(
            conn,
            session,
            listed,
            if r.quarantined { t } else { wiped_at },
        )?;
        let reasons: Vec<String> = serde_json::from_str(&r.reasons())?;
        let stored_state = if r.quarantined {
            "quarantined"
        } else {
            "confirmed"
        };
        let wipe = "video and sidecar removed from the camera (Delete)";
        let mut events = vec![
            (listed, "discovered", String::new()),
            (t, stored_state, reasons.join("; ")),
        ];
        if !r.quarantined {
            events.push((wiped_at, "wiped", wipe.to_string()));
        }
        let mut stmt = conn.prepare_cached(
            "INSERT INTO recording_events (recording, session, at, state, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (when, state, detail) in &events {
            stmt.execute(params![id, session, format_time(*when), state, detail])?;
        }
        let about = std::slice::from_ref(&r.stem);
        let entry = NewEntry::new(
            SERVICE_AUTHOR,
            Action::Collection,
            r.collection_details(session, id),
        );
        self.append(conn, entry.about(about), t)?;
        if !r.quarantined {
            let details = format!(
                "camera {}, ingest session {session}, register id {id}: {wipe}",
                r.camera
            );
            let entry = NewEntry::new(SERVICE_AUTHOR, Action::Wipe, details).about(about);
            self.append(conn, entry, wiped_at)?;
        }
        Ok(id)
    }

    /// The automatic attribution `commands::attribute_pending` writes after an ingest.
    fn attribute(
        &mut self,
        conn: &Conn,
        r: &Recording,
        id: i64,
        issue: i64,
        issued: DateTime<Utc>,
        t: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let agent: String = conn.query_row(
            "SELECT agent FROM assignments WHERE id = ?1",
            params![issue],
            |row| row.get(0),
        )?;
        let reason = format!(
            "camera {} issued to agent {agent} at {} (issue #{issue}), not returned at the start {}",
            r.camera,
            format_time(issued),
            format_time(r.start)
        );
        let t = self.stamp(t);
        let attribution = Attribution {
            agent: agent.clone(),
            kind: "automatic".into(),
            assignment: Some(issue),
            by: SERVICE_AUTHOR.into(),
            at: format_time(t),
            reason: reason.clone(),
        };
        perception::insert_attribution(conn, id, &attribution)?;
        let details = format!("{} attributed to agent {agent}: {reason}", r.stem);
        let entry = NewEntry::new(SERVICE_AUTHOR, Action::Attribution, details);
        self.append(conn, entry.about(std::slice::from_ref(&r.stem)), t)?;
        Ok(())
    }

    /// Three consultations of recent recordings, one purpose after another.
    pub(super) fn consultations(&mut self, conn: &Conn, t: DateTime<Utc>) -> anyhow::Result<()> {
        for k in 0..3 {
            let Some(r) = self.pick() else { return Ok(()) };
            let purpose = PURPOSES[self.rng.between(0, 3) as usize];
            let user = format!("agent{}", 1 + k % 4);
            let mut details = format!(
                "register id {}, camera {}, video {} (sha256 {}); reason: complaint {}-{}",
                r.id,
                r.camera,
                r.video_path,
                r.sha256,
                t.format("%Y"),
                self.rng.between(1, 999)
            );
            if purpose == "training" {
                details.push_str("; training use: the footage must be anonymised (faces, voices, plates) before it is shown");
            }
            let entry = NewEntry {
                purpose: purpose.into(),
                recipients: user.clone(),
                ..NewEntry::new(&user, Action::Consultation, details)
            };
            self.append(conn, entry.about(&[r.stem]), t + Duration::minutes(7 * k))?;
        }
        Ok(())
    }

    /// A judicial extraction on an OPJ's requisition: asked, held, written.
    pub(super) fn extraction(
        &mut self,
        conn: &Conn,
        day: NaiveDate,
        t: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let Some(r) = self.pick() else { return Ok(()) };
        let requisition = format!("PV-{}-{:03}", day.format("%Y"), day.ordinal());
        let recipients = "OPJ Dupont, Commissariat de Romans".to_string();
        let about = std::slice::from_ref(&r.stem);
        let asked = format!(
            "requisition {requisition}; 1 recording(s) to /var/lib/sentinel-dock-exports/{requisition}"
        );
        let entry = NewEntry {
            purpose: "judicial".into(),
            recipients: recipients.clone(),
            ..NewEntry::new(HEAD, Action::Extraction, asked)
        };
        let seq = self.append(conn, entry.about(about), t)?;
        let t = self.stamp(t);
        let why = format!("extraction #{seq}");
        let placed = holds::place(conn, r.id, &requisition, HEAD, &why, t)?;
        // A recording extracted twice is one recording kept.
        if placed && r.due && self.held.insert(r.id) {
            self.summary.held_due += 1;
        }
        let held = format!("{} held for {requisition} (extraction #{seq})", r.stem);
        self.append(
            conn,
            NewEntry::new(HEAD, Action::Hold, held).about(about),
            t,
        )?;
        let done = format!(
            "extraction #{seq} written and verified: bag /var/lib/sentinel-dock-exports/{requisition}, {} sha256 {}",
            r.video_path, r.sha256
        );
        let entry = NewEntry {
            purpose: "judicial".into(),
            recipients,
            ..NewEntry::new(HEAD, Action::ExtractionCompleted, done)
        };
        self.append(conn, entry.about(about), t + Duration::minutes(2))?;
        Ok(())
    }

    fn pick(&mut self) -> Option<Recent> {
        if self.recent.is_empty() {
            return None;
        }
        let i = self.rng.between(0, self.recent.len() as u64 - 1) as usize;
        self.recent.get(i).map(|r| Recent {
            id: r.id,
            stem: r.stem.clone(),
            camera: r.camera.clone(),
            video_path: r.video_path.clone(),
            sha256: r.sha256.clone(),
            due: r.due,
        })
    }

    /// Empty files in the store where the register says a due recording is: the purge
    /// removes files by name and does not read them.
    fn create_files(&mut self, r: &Recording) -> anyhow::Result<()> {
        let Some(root) = &self.plan.store else {
            return Ok(());
        };
        for rel in [&r.video_path, &r.sidecar_path] {
            let path = root.join(rel);
            if let Some(folder) = path.parent() {
                fs::create_dir_all(folder)
                    .with_context(|| format!("creating {}", folder.display()))?;
            }
            fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            self.summary.files += 1;
        }
        Ok(())
    }
}
