//! One synthetic recording as the ingest would have stored it: a name of the camera
//! profile's form, a duration and sizes of HD video, hashes, store paths, a GPS summary.

use chrono::{DateTime, Duration, Utc};
use rusqlite::params;
use sentinel_dock::custody::register::Conn;
use sentinel_dock::custody::register::format_time;

/// A small deterministic generator (splitmix64): the same seed gives the same register.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[low, high]`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// A fraction in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// About 3.5 GB an hour of HD video.
const VIDEO_BYTES_PER_SEC: f64 = 3.5e9 / 3600.0;
/// An RMC and a GGA sentence a second.
const SIDECAR_BYTES_PER_SEC: u64 = 150;
/// Where the town's patrols go (Romans-sur-Isère).
const TOWN: (f64, f64) = (45.0434, 5.0517);

/// A recording's facts, ready for its register row.
pub struct Recording {
    /// Camera serial.
    pub camera: String,
    /// `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`.
    pub stem: String,
    /// Start, including the pre-recording.
    pub start: DateTime<Utc>,
    /// End, from the sidecar's trailer.
    pub end: DateTime<Utc>,
    /// Video bytes.
    pub video_size: u64,
    /// Sidecar bytes.
    pub sidecar_size: u64,
    /// Stored paths, relative to the store's root.
    pub video_path: String,
    /// The sidecar's stored path.
    pub sidecar_path: String,
    /// Stored in quarantine (an integrity rule failed), never wiped.
    pub quarantined: bool,
    /// Hashes in hex: video BLAKE3, video SHA-256, sidecar BLAKE3, sidecar SHA-256.
    pub hashes: [String; 4],
    duration: u64,
    gps: Gps,
}

struct Gps {
    fixes: u64,
    no_fix: u64,
    first: (f64, f64),
    last: (f64, f64),
}

impl Recording {
    /// A recording of `camera` starting at `start` and lasting `duration` seconds.
    pub fn new(
        rng: &mut Rng,
        camera: &str,
        seq: u32,
        start: DateTime<Utc>,
        duration: u64,
    ) -> Recording {
        let stem = format!("{camera}_{}_{seq:04}", start.format("%Y%m%d_%H%M%S"));
        let quarantined = rng.between(0, 999) < 3;
        let area = if quarantined {
            "quarantine"
        } else {
            "recordings"
        };
        let folder = format!("{area}/{}/{camera}", start.format("%Y-%m-%d"));
        let spread = 0.95 + 0.1 * rng.unit();
        let no_fix = if rng.between(0, 9) == 0 {
            rng.between(5, 60).min(duration)
        } else {
            0
        };
        let first = (
            TOWN.0 + (rng.unit() - 0.5) * 0.04,
            TOWN.1 + (rng.unit() - 0.5) * 0.04,
        );
        let walk = duration as f64 * 2e-5;
        let last = (
            first.0 + (rng.unit() - 0.5) * walk,
            first.1 + (rng.unit() - 0.5) * walk,
        );
        let id = rng.next();
        Recording {
            camera: camera.to_string(),
            end: start + Duration::seconds(duration as i64),
            video_size: (duration as f64 * VIDEO_BYTES_PER_SEC * spread) as u64,
            sidecar_size: 120 + (duration + 10) * SIDECAR_BYTES_PER_SEC,
            video_path: format!("{folder}/{stem}.MP4"),
            sidecar_path: format!("{folder}/{stem}.NMEA"),
            hashes: ["video-b3", "video-sha", "nmea-b3", "nmea-sha"].map(|k| fake_hash(id, k)),
            stem,
            start,
            quarantined,
            duration,
            gps: Gps {
                fixes: duration + 10 - no_fix,
                no_fix,
                first,
                last,
            },
        }
    }

    /// Its state once ingested: `wiped`, or `quarantined`.
    pub fn state(&self) -> &'static str {
        if self.quarantined {
            "quarantined"
        } else {
            "wiped"
        }
    }

    /// Why it is quarantined, as the register's JSON list.
    pub fn reasons(&self) -> String {
        if self.quarantined {
            serde_json::json!([format!(
                "sha256-mismatch: the sidecar declares SHA-256 {} but the bytes read from the camera have {}",
                fake_hash(self.video_size, "declared"),
                self.hashes[1]
            )])
            .to_string()
        } else {
            "[]".into()
        }
    }

    /// Inserts its row as the ingest leaves it (stored, then wiped unless quarantined).
    pub fn insert(
        &self,
        conn: &Conn,
        session: i64,
        discovered: DateTime<Utc>,
        updated: DateTime<Utc>,
    ) -> Result<i64, sentinel_dock::custody::register::RegisterError> {
        let g = &self.gps;
        let (lat_lo, lat_hi) = (g.first.0.min(g.last.0), g.first.0.max(g.last.0));
        let (lon_lo, lon_hi) = (g.first.1.min(g.last.1), g.first.1.max(g.last.1));
        let fix_start = self.start + Duration::seconds(g.no_fix as i64);
        let mut stmt = conn.prepare_cached(
            "INSERT INTO recordings (camera, stem, session, state, start_utc, end_utc,
                prerecord_secs, duration_secs, video_size, video_blake3, video_sha256, video_path,
                sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, gps_fixes, gps_no_fix,
                gps_first_at, gps_first_lat, gps_first_lon, gps_last_at, gps_last_lat,
                gps_last_lon, gps_min_lat, gps_max_lat, gps_min_lon, gps_max_lon, flags, reasons,
                discovered_at, updated_at, retention_from, time_source, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 10, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, '[]', ?28, ?29, ?30,
                ?6, 'camera', ?5)",
        )?;
        stmt.execute(params![
            self.camera,
            self.stem,
            session,
            self.state(),
            format_time(self.start),
            format_time(self.end),
            self.duration as f64 + 0.04,
            self.video_size as i64,
            self.hashes[0],
            self.hashes[1],
            self.video_path,
            self.sidecar_size as i64,
            self.hashes[2],
            self.hashes[3],
            self.sidecar_path,
            g.fixes as i64,
            g.no_fix as i64,
            format_time(fix_start),
            g.first.0,
            g.first.1,
            format_time(self.end),
            g.last.0,
            g.last.1,
            lat_lo,
            lat_hi,
            lon_lo,
            lon_hi,
            self.reasons(),
            format_time(discovered),
            format_time(updated),
        ])?;
        conn.last_insert_rowid()
    }

    /// The details the ingest writes in its collection entry.
    pub fn collection_details(&self, session: i64, id: i64) -> String {
        let mut details = format!(
            "camera {}, ingest session {session}, register id {id}: stored {}",
            self.camera,
            if self.quarantined {
                "quarantined"
            } else {
                "confirmed"
            }
        );
        let files = [
            ("video", &self.video_path, self.video_size, 1, 0),
            ("sidecar", &self.sidecar_path, self.sidecar_size, 3, 2),
        ];
        for (what, path, size, sha, b3) in files {
            details.push_str(&format!(
                "; {what} {path} ({size} bytes, sha256 {}, blake3 {})",
                self.hashes[sha], self.hashes[b3]
            ));
        }
        if self.quarantined {
            let reasons: Vec<String> = serde_json::from_str(&self.reasons()).unwrap_or_default();
            details.push_str(&format!("; reasons: {}", reasons.join("; ")));
        }
        details
    }
}

/// 64 hex digits that look like a hash (BLAKE3 of a seed and a kind), so that every row
/// parses as the register's readers expect.
fn fake_hash(seed: u64, kind: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(kind.as_bytes());
    h.finalize().to_hex().to_string()
}
