//! The SQLite register: cameras, ingest sessions, recordings and every state change; the
//! perception register, holds and the audit chain live in their own modules.
//!
//! The register is the truth the daemon resumes from after a crash, so every state change
//! is one committed transaction, in WAL mode with `synchronous=FULL` (durable per commit
//! across power loss; `NORMAL` is not). A collection and a wipe are traced in the audit
//! chain inside the transaction that commits them.

pub mod audit;
pub mod bench;
pub mod bounds;
pub mod camera_logs;
pub mod custody;
pub mod derived;
mod engine;
pub mod holds;
pub mod perception;
pub mod replica;
mod schema;
pub mod search;
pub mod stored;
#[cfg(test)]
pub(crate) mod testing;
mod usage;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::base::config::{Config, RegisterConfig};
use crate::base::digest::Digests;
use crate::camera::evidence::trusted_time::{CameraClock, TimeSource, TrustedTime};

pub(crate) use engine::PgTarget;
pub use engine::{Args, Conn, EngineKind, OptionalExtension, Row, Stmt};
pub use schema::CURRENT_VERSION;
pub(crate) use usage::StoredSince;

/// Why the register could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The file could not be opened or set up.
    #[error("cannot open the register {path}: {sqlite} ({advice})")]
    Open {
        /// The register file.
        path: PathBuf,
        /// What SQLite said: its words, not a source, since rusqlite's errors repeat
        /// their own source (see `base::error`).
        sqlite: rusqlite::Error,
        /// What to do, from the real cause (busy, permissions, a missing folder...).
        advice: String,
    },
    /// The register refused a state change itself (a trigger or a guarded update): the
    /// state machine forbids it (`wiped` is final), or another ingest running at the same
    /// time has already recorded this recording.
    #[error("recording {stem} (register id {id}) cannot become {to}: {why}; nothing was changed")]
    StateRefused {
        /// The row.
        id: RecordingId,
        /// The recording's stem.
        stem: String,
        /// The refused state.
        to: &'static str,
        /// Why, as the register says it.
        why: String,
    },
    /// The file was written by a newer sentinel-dock.
    #[error(
        "the register's schema is version {found}, newer than this build supports ({supported}): install the newer sentinel-dock, or restore a backup"
    )]
    TooNew {
        /// The version in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A query failed (disk full, file locked, corrupt database...).
    ///
    /// SQLite's words are in the message, not a source: rusqlite's errors repeat their own
    /// source (see `base::error`).
    #[error("register query failed: {0}{advice}", advice = sql_advice(.0))]
    Sql(rusqlite::Error),
    /// A migration left rows pointing at rows that do not exist; nothing was changed.
    #[error(
        "upgrading the register's schema would leave {dangling} rows pointing at missing rows; nothing was changed (restore a backup, or report the register's state)"
    )]
    Migration {
        /// Rows found by `PRAGMA foreign_key_check`.
        dangling: i64,
    },
    /// The audit chain does not hold, so an operation that would hide it was refused.
    #[error(
        "the audit chain is broken ({problems}); nothing was expired: investigate with `sentinel-dockctl audit verify`"
    )]
    ChainBroken {
        /// What `audit::verify` found.
        problems: String,
    },
    /// `[register]` names a PostgreSQL server in a way that cannot work.
    #[error("{what} cannot be used: {why}")]
    Config {
        /// The key.
        what: String,
        /// Why, and the fix.
        why: String,
    },
    /// The register's PostgreSQL server cannot be reached: down, restarting, or the
    /// network to it cut. Nothing was written; the service tries again by itself.
    #[error(
        "the register is unreachable ({server}): nothing was committed and nothing is wiped until it answers again; check the server and the network to it"
    )]
    Unreachable {
        /// The server and database, without a password.
        server: String,
        /// What the connection said.
        source: postgres::Error,
    },
    /// PostgreSQL refused or failed a query.
    #[error("register query failed on PostgreSQL")]
    Postgres(#[source] postgres::Error),
    /// A row callback used the connection it was reading from: a defect in the register.
    #[error("the register's connection was used while it was reading rows (a defect: report it)")]
    Reentrant,
    /// A stored value does not parse (the database was edited by hand?).
    #[error("register row {table}#{id} holds an unreadable {column}: `{value}`")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row.
        id: i64,
        /// The column.
        column: &'static str,
        /// What it holds.
        value: String,
    },
}

impl RegisterError {
    /// Whether the register could not be reached at all (PostgreSQL down or cut off), as
    /// opposed to refusing or failing the query: the service waits and tries again.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, RegisterError::Unreachable { .. })
    }

    /// What the engine said, without the register's own words around it.
    fn engine_words(&self) -> String {
        match self {
            RegisterError::Sql(e) => e.to_string(),
            RegisterError::Postgres(e) => e
                .as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().to_string()),
            other => other.to_string(),
        }
    }

    /// Whether the engine refused a change by a constraint or a trigger (the state
    /// machine, one row in flight): the register's rules, not a failure.
    fn is_constraint(&self) -> bool {
        match self {
            RegisterError::Sql(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
            }
            RegisterError::Postgres(e) => e
                .code()
                .is_some_and(|c| c.code().starts_with("23") || c.code() == "P0001"),
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for RegisterError {
    fn from(e: rusqlite::Error) -> RegisterError {
        RegisterError::Sql(e)
    }
}

/// What a technician can do about the SQLite errors that have a cause outside the service.
fn sql_advice(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            " (another process holds the register's write lock: another sentinel-dockd, or an open sqlite3 shell; close it, then dock the camera again)"
        }
        Some(ErrorCode::ReadOnly) => {
            " (the register or its folder is read-only to the service: check their owner and mode, and the file system's mount options)"
        }
        Some(ErrorCode::DiskFull) => " (the disk holding the register is full: free space on it)",
        _ => "",
    }
}

/// Where a recording is in its way through the system; the register stores it by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingState {
    /// Seen on a camera; not yet proven stored.
    Discovered,
    /// Stored, read back with matching hashes, and all integrity rules hold: may be wiped.
    Confirmed,
    /// Stored with its hashes, but an integrity rule failed: never wiped automatically.
    Quarantined,
    /// Confirmed, then removed from the camera.
    Wiped,
    /// Deleted from the store at the end of its retention; the row and its hashes stay.
    Purged,
}

impl RecordingState {
    /// The name stored in the register.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::Discovered => "discovered",
            RecordingState::Confirmed => "confirmed",
            RecordingState::Quarantined => "quarantined",
            RecordingState::Wiped => "wiped",
            RecordingState::Purged => "purged",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<RecordingState> {
        Some(match text {
            "discovered" => RecordingState::Discovered,
            "confirmed" => RecordingState::Confirmed,
            "quarantined" => RecordingState::Quarantined,
            "wiped" => RecordingState::Wiped,
            "purged" => RecordingState::Purged,
            _ => return None,
        })
    }
}

/// A camera arriving at or leaving the dock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockEvent {
    /// Its link appeared in the dock directory: the end of a shift (a return).
    Docked,
    /// Its link disappeared: taken from the dock (an issue, once attributed).
    Undocked,
}

impl DockEvent {
    /// The name stored in the register.
    pub fn as_str(self) -> &'static str {
        match self {
            DockEvent::Docked => "docked",
            DockEvent::Undocked => "undocked",
        }
    }
}

/// Row id of an ingest session.
pub(crate) type SessionId = i64;
/// Row id of a recording.
pub(crate) type RecordingId = i64;

/// What the camera says about itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct CameraIdentity {
    /// The camera's serial (USB serial string or `DEVICE.INI`).
    pub serial: String,
    /// Model from `DEVICE.INI`.
    pub model: Option<String>,
    /// Firmware from `DEVICE.INI`.
    pub firmware: Option<String>,
}

/// A stored file: its size, hashes and place relative to the store's root.
#[derive(Debug, Clone)]
pub struct FileFacts {
    /// Bytes.
    pub size: u64,
    /// BLAKE3 and SHA-256 of the bytes read from the camera (equal to the read-back).
    pub digests: Digests,
    /// Path relative to the store's root.
    pub path: String,
}

/// Position fixes of a recording, summarised.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GpsSummary {
    /// Fixes with a position.
    pub fixes: u32,
    /// Seconds reported without a fix.
    pub no_fix: u32,
    /// First fix: time, latitude, longitude.
    pub first: Option<(DateTime<Utc>, f64, f64)>,
    /// Last fix: time, latitude, longitude.
    pub last: Option<(DateTime<Utc>, f64, f64)>,
    /// Bounding box: min latitude, max latitude, min longitude, max longitude.
    pub bbox: Option<(f64, f64, f64, f64)>,
}

/// Everything learnt about a recording once its copy is proven, committed in one transaction.
#[derive(Debug, Clone)]
pub(crate) struct StoredFacts {
    /// End of the recording from the sidecar's trailer, when present.
    pub end: Option<DateTime<Utc>>,
    /// Pre-recording seconds from the sidecar's header, when present.
    pub prerecord_secs: Option<u32>,
    /// Duration of the video from its ISO BMFF structure, when readable.
    pub duration_secs: Option<f64>,
    /// The stored video, when the camera had one.
    pub video: Option<FileFacts>,
    /// The stored sidecar, when the camera had one.
    pub sidecar: Option<FileFacts>,
    /// Position fixes.
    pub gps: GpsSummary,
    /// Reported, not blocking (fixes out of window...).
    pub flags: Vec<String>,
    /// Why the recording is quarantined (empty when confirmed).
    pub reasons: Vec<String>,
    /// The time its retention counts from, checked against GPS and the docking; `None`:
    /// its end by the camera's clock (its start without a trailer).
    pub clock: Option<TrustedTime>,
}

/// A recording as the register knows it.
#[derive(Debug, Clone)]
pub struct RecordingRow {
    /// Row id.
    pub id: RecordingId,
    /// Camera serial.
    pub camera: String,
    /// `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`.
    pub stem: String,
    /// Current state.
    pub state: RecordingState,
    /// The stored video's size and hashes, once stored.
    pub video: Option<FileFacts>,
    /// The stored sidecar's size and hashes, once stored.
    pub sidecar: Option<FileFacts>,
    /// Reported flags.
    pub flags: Vec<String>,
    /// Quarantine reasons.
    pub reasons: Vec<String>,
}

/// What a store adopted in place of a lost one replaced ([`Register::adopt_store`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    /// The lost store's identity, when one was recorded.
    pub lost: Option<String>,
    /// This site's stored recordings (confirmed, quarantined or wiped).
    pub held: u64,
    /// How many of them the replica holds, proven.
    pub replicated: u64,
}

/// Where the register is and the site that writes to it: what each thread of the service
/// needs to open its own connection.
#[derive(Debug, Clone)]
pub struct Location {
    /// `[register]`.
    pub config: RegisterConfig,
    /// This daemon's site (`[site] name`).
    pub site: String,
}

impl Location {
    /// The register a configuration names.
    pub fn of(config: &Config) -> Location {
        Location {
            config: config.register.clone(),
            site: config.site.name.clone(),
        }
    }

    /// Opens a connection to it (see [`Register::open_config`]).
    pub fn open(&self) -> Result<Register, RegisterError> {
        Register::open_config(&self.config, &self.site)
    }

    /// The register named for people, without a password: the SQLite file, or the
    /// PostgreSQL server, database and user.
    pub fn describe(&self) -> String {
        match PgTarget::of(&self.config, &self.site) {
            None => format!("SQLite file {}", self.config.path.display()),
            Some(target) => target.describe(),
        }
    }

    /// The SQLite file, when the register is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.config
            .url
            .is_none()
            .then_some(self.config.path.as_path())
    }
}

/// The register, open on one SQLite file or a PostgreSQL database.
pub struct Register {
    conn: Conn,
}

/// One transaction on the register, from [`Register::write`] or [`Register::read`]: the
/// register's query functions (`stored::by_id(&tx, ..)`, `audit::append(&tx, ..)`) run
/// on it; [`Tx::commit`] makes its changes durable, dropping it rolls them back (a read
/// transaction ends by a commit). Only the register's folder sees the SQL engine behind it.
pub struct Tx<'a> {
    conn: &'a Conn,
    open: bool,
    commit_on_drop: bool,
}

impl<'a> Tx<'a> {
    fn begin(conn: &'a Conn, write: bool) -> Result<Tx<'a>, RegisterError> {
        conn.begin(write)?;
        Ok(Tx {
            conn,
            open: true,
            commit_on_drop: !write,
        })
    }

    /// Commits the transaction: its changes are durable once this returns `Ok`.
    pub fn commit(mut self) -> Result<(), RegisterError> {
        self.open = false;
        self.conn.commit()
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: a failed end leaves the connection to the engine,
            // which ends the transaction with the connection at the latest.
            let _ = if self.commit_on_drop {
                self.conn.commit()
            } else {
                self.conn.rollback()
            };
        }
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        self.conn
    }
}

/// Formats a time the way every register column holds it: RFC 3339, UTC, milliseconds.
pub fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses a time as the register holds it (any RFC 3339 time is accepted).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// What to do about a register that cannot be opened, from what is really wrong.
fn open_advice(path: &Path, e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            "another process held the register's lock for longer than the wait: another \
             sentinel-dockd or an open sqlite3 shell; close it, then try again"
                .into()
        }
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => format!(
            "the register or its folder {} is not writable by this user: check their owner and mode",
            folder.display()
        ),
        Some(ErrorCode::DiskFull) => {
            "the disk holding the register is full: free space on it".into()
        }
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            "the file is not a readable SQLite register: check register.path, or restore a backup"
                .into()
        }
        _ if !folder.is_dir() => format!(
            "its folder {} does not exist: create it (owned by the service user) or fix register.path",
            folder.display()
        ),
        _ if nix::unistd::access(folder, nix::unistd::AccessFlags::W_OK).is_err() => format!(
            "its folder {} is not writable by this user: check its owner and mode",
            folder.display()
        ),
        _ => "check register.path and the disk holding it".into(),
    }
}

/// Runs a setup step that needs the database's lock once more when a concurrent opener
/// held it: SQLite does not call the busy handler for every lock (switching to WAL, or a
/// snapshot gone stale), so waiting is done here, within the same bound.
fn retry_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    use rusqlite::ErrorCode;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match step() {
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

impl Register {
    /// Opens (creating if needed) the register and brings its schema up to date; safe
    /// when several processes do it at once.
    pub fn open(path: &Path) -> Result<Register, RegisterError> {
        let open_err = |sqlite: rusqlite::Error| RegisterError::Open {
            path: path.to_path_buf(),
            advice: open_advice(path, &sqlite),
            sqlite,
        };
        let mut conn = rusqlite::Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // The pragmas are per connection: set them on every open, before anything else.
        let mode: String =
            retry_busy(|| conn.query_row("PRAGMA journal_mode=WAL", (), |r| r.get(0)))
                .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(open_err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode is {mode}, WAL is required"
            ))));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(open_err)?;
        let mut migrated = schema::migrate(&mut conn);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while is_busy(&migrated) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            migrated = schema::migrate(&mut conn);
        }
        migrated?;
        // Every query function prepares its statement through the cache; the register
        // has fewer distinct statements than this, so none is prepared twice.
        conn.set_prepared_statement_cache_capacity(256);
        let conn = Conn::sqlite(conn);
        // A single-site install's: every INSERT that records a site calls `site()`.
        conn.set_site("")?;
        Ok(Register { conn })
    }

    /// Opens the SQLite register, as [`Register::open`], for a daemon of `site`.
    pub fn open_at(path: &Path, site: &str) -> Result<Register, RegisterError> {
        let mut register = Register::open(path)?;
        register.set_site(site)?;
        Ok(register)
    }

    /// Names the site this connection writes (`[site] name`, '' for a single-site
    /// install): the recordings, sessions, dock events and audit entries it inserts carry
    /// it. Their SQL asks the connection's `site()`, so that it stays the same on every
    /// engine.
    pub fn set_site(&mut self, site: &str) -> Result<(), RegisterError> {
        self.conn.set_site(site)
    }

    /// Opens the register `[register]` names: the SQLite file at `path`, or the PostgreSQL
    /// database at `url`; `site` is the site this daemon writes as (`[site] name`).
    pub fn open_config(config: &RegisterConfig, site: &str) -> Result<Register, RegisterError> {
        match PgTarget::of(config, site) {
            None => {
                let register = Register::open(&config.path)?;
                register.conn.set_site(site)?;
                Ok(register)
            }
            Some(target) => Register::open_postgres(&target),
        }
    }

    /// Connects to a PostgreSQL register and brings its schema up to date; safe when
    /// several daemons do it at once (the migration holds an advisory lock).
    pub(crate) fn open_postgres(target: &PgTarget) -> Result<Register, RegisterError> {
        let conn = Conn::postgres(target)?;
        schema::migrate_postgres(&conn)?;
        Ok(Register { conn })
    }

    /// The register's connection, for tools and tests that query it by the register's
    /// own functions (`stored::by_stem(&conn, ..)`) outside a transaction.
    pub fn into_connection(self) -> Conn {
        self.conn
    }

    /// Which engine holds this register.
    pub fn engine(&self) -> EngineKind {
        self.conn.kind()
    }

    /// The identity of this site's store the register records, if any (see
    /// `store::IDENTITY_FILE`): each site's dock has its own store.
    pub(crate) fn store_identity(&self) -> Result<Option<String>, RegisterError> {
        self.conn
            .query_row(
                "SELECT identity FROM store_identities WHERE site = site()",
                (),
                |r| r.get(0),
            )
            .optional()
    }

    /// Records this site's store identity the first time; afterwards only the same one is
    /// accepted (or a new store adopted by [`Register::adopt_store`]).
    pub(crate) fn record_store_identity(
        &mut self,
        identity: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        self.conn.execute(
            "INSERT INTO store_identities (site, identity, recorded_at) VALUES (site(), ?1, ?2)
             ON CONFLICT (site) DO NOTHING",
            params![identity, format_time(at)],
        )?;
        Ok(())
    }

    /// Records a new, empty store as this site's in place of a lost one (a dock machine
    /// rebuilt), traced in the audit chain with what the lost store held: the recordings
    /// stay registered, and are read from the replica from then on.
    pub(crate) fn adopt_store(
        &mut self,
        identity: &str,
        author: &str,
        at: DateTime<Utc>,
    ) -> Result<Adoption, RegisterError> {
        let tx = self.write()?;
        let lost: Option<String> = tx
            .query_row(
                "SELECT identity FROM store_identities WHERE site = site()",
                (),
                |r| r.get(0),
            )
            .optional()?;
        let (held, replicated): (i64, i64) = tx.query_row(
            "SELECT count(*),
                    coalesce(sum(CASE WHEN q.state = 'replicated' THEN 1 ELSE 0 END), 0)
             FROM recordings r LEFT JOIN replica_queue q ON q.recording = r.id
             WHERE r.site = site() AND r.state IN ('confirmed', 'quarantined', 'wiped')",
            (),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.execute(
            "INSERT INTO store_identities (site, identity, recorded_at) VALUES (site(), ?1, ?2)
             ON CONFLICT (site) DO UPDATE SET identity = excluded.identity,
                                             recorded_at = excluded.recorded_at",
            params![identity, format_time(at)],
        )?;
        let adoption = Adoption {
            lost,
            held: held.max(0) as u64,
            replicated: replicated.max(0) as u64,
        };
        let details = format!(
            "store {identity} adopted in place of {}: {} recordings were in the lost store, {} of them proven in the replica",
            adoption.lost.as_deref().unwrap_or("none recorded"),
            adoption.held,
            adoption.replicated
        );
        audit::append(
            &tx,
            &audit::NewEntry::new(author, audit::Action::StoreAdopted, details),
            at,
        )?;
        tx.commit()?;
        Ok(adoption)
    }

    /// Starts a write transaction that takes the write lock at once (`BEGIN IMMEDIATE`):
    /// an audit entry reads the chain's head and appends after it, and no other writer
    /// may append in between.
    pub fn write(&mut self) -> Result<Tx<'_>, RegisterError> {
        Tx::begin(&self.conn, true)
    }

    /// Starts a read transaction (`BEGIN DEFERRED`, which takes no write lock): the
    /// register's queries a command asks read one consistent snapshot; dropped, it ends
    /// (by a commit, so that nothing is lost should a write slip into it).
    pub fn read(&mut self) -> Result<Tx<'_>, RegisterError> {
        Tx::begin(&self.conn, false)
    }

    /// Runs `change` in one write transaction (`BEGIN IMMEDIATE`), committed when it
    /// succeeds and rolled back when it fails.
    pub fn in_write<T>(
        &mut self,
        change: impl FnOnce(&Tx<'_>) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let tx = self.write()?;
        let out = change(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Records that a camera was seen, creating it on first sight.
    pub(crate) fn upsert_camera(
        &mut self,
        camera: &CameraIdentity,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        let at = format_time(at);
        self.conn.execute(
            "INSERT INTO cameras (serial, model, firmware, first_seen, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(serial) DO UPDATE SET
                model = coalesce(excluded.model, cameras.model),
                firmware = coalesce(excluded.firmware, cameras.firmware),
                last_seen = excluded.last_seen",
            params![camera.serial, camera.model, camera.firmware, at],
        )?;
        Ok(())
    }

    /// Opens an ingest session for a camera and a source.
    pub(crate) fn begin_session(
        &mut self,
        camera: &str,
        source: &str,
        profile: &str,
        at: DateTime<Utc>,
    ) -> Result<SessionId, RegisterError> {
        self.conn.execute(
            "INSERT INTO sessions (camera, source, profile, started_at, site)
             VALUES (?1, ?2, ?3, ?4, site())",
            params![camera, source, profile, format_time(at)],
        )?;
        self.conn.last_insert_rowid()
    }

    /// Closes an ingest session with its outcome (`complete`, `attention`, `failed: ...`).
    pub(crate) fn finish_session(
        &mut self,
        session: SessionId,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        self.conn.execute(
            "UPDATE sessions SET finished_at = ?2, outcome = ?3 WHERE id = ?1",
            params![session, format_time(at), outcome],
        )?;
        Ok(())
    }

    /// The recordings of a camera with this stem, oldest first (more than one after a conflict).
    pub(crate) fn recordings_by_stem(
        &self,
        camera: &str,
        stem: &str,
    ) -> Result<Vec<RecordingRow>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, camera, stem, state, video_size, video_blake3, video_sha256, video_path,
                    sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, flags, reasons
             FROM recordings WHERE camera = ?1 AND stem = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![camera, stem], read_row)?;
        rows.map(|r| r?.into_row()).collect()
    }

    /// The recordings of a camera in one state, oldest first.
    pub(crate) fn recordings_in_state(
        &self,
        camera: &str,
        state: RecordingState,
    ) -> Result<Vec<RecordingRow>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, camera, stem, state, video_size, video_blake3, video_sha256, video_path,
                    sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, flags, reasons
             FROM recordings WHERE camera = ?1 AND state = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![camera, state.as_str()], read_row)?;
        rows.map(|r| r?.into_row()).collect()
    }

    /// One recording by id.
    pub fn recording(&self, id: RecordingId) -> Result<Option<RecordingRow>, RegisterError> {
        self.conn
            .query_row(
                "SELECT id, camera, stem, state, video_size, video_blake3, video_sha256, video_path,
                        sidecar_size, sidecar_blake3, sidecar_sha256, sidecar_path, flags, reasons
                 FROM recordings WHERE id = ?1",
                params![id],
                read_row,
            )
            .optional()?
            .map(RawRow::into_row)
            .transpose()
    }

    /// Records a recording seen on a camera, before anything is copied; returns the row
    /// already in flight for it (left by an interrupted run, or another ingest's), if any.
    pub(crate) fn insert_discovered(
        &mut self,
        session: SessionId,
        camera: &str,
        stem: &str,
        start: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<RecordingId, RegisterError> {
        // Under the write lock, so that two ingests of one camera at once share one row
        // (the trigger `recordings_one_in_flight` refuses a second).
        let tx = self.write()?;
        let in_flight: Option<RecordingId> = tx
            .query_row(
                "SELECT id FROM recordings WHERE camera = ?1 AND stem = ?2 AND state = 'discovered'
                 ORDER BY id LIMIT 1",
                params![camera, stem],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = in_flight {
            // Left in flight at another site (the camera taken there mid-ingest and docked
            // here): it is stored here now, so this site's scrub and purge answer for it.
            tx.execute(
                "UPDATE recordings SET site = site() WHERE id = ?1 AND site != site()",
                params![id],
            )?;
            tx.commit()?;
            return Ok(id);
        }
        let at = format_time(at);
        tx.execute(
            "INSERT INTO recordings (camera, stem, session, state, start_utc, recorded_at,
                discovered_at, updated_at, site)
             VALUES (?1, ?2, ?3, 'discovered', ?4, ?4, ?5, ?5, site())",
            params![camera, stem, session, format_time(start), at],
        )?;
        let id = tx.last_insert_rowid()?;
        insert_event(&tx, id, Some(session), &at, RecordingState::Discovered, "")?;
        tx.commit()?;
        Ok(id)
    }

    /// Commits a proven copy: the recording becomes `confirmed` or `quarantined` with its
    /// facts, and its collection is traced in the audit chain in the same transaction.
    pub(crate) fn record_stored(
        &mut self,
        id: RecordingId,
        session: SessionId,
        state: RecordingState,
        facts: &StoredFacts,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        let now = at;
        let tx = self.write()?;
        let at = format_time(at);
        let video = facts.video.as_ref();
        let sidecar = facts.sidecar.as_ref();
        let gps = &facts.gps;
        let first = gps.first;
        let last = gps.last;
        let bbox = gps.bbox;
        let clock = facts.clock.as_ref();
        let changed = tx.execute_refusable(
            "UPDATE recordings SET state = ?2, end_utc = ?3, prerecord_secs = ?4, duration_secs = ?5,
                video_size = ?6, video_blake3 = ?7, video_sha256 = ?8, video_path = ?9,
                sidecar_size = ?10, sidecar_blake3 = ?11, sidecar_sha256 = ?12, sidecar_path = ?13,
                gps_fixes = ?14, gps_no_fix = ?15,
                gps_first_at = ?16, gps_first_lat = ?17, gps_first_lon = ?18,
                gps_last_at = ?19, gps_last_lat = ?20, gps_last_lon = ?21,
                gps_min_lat = ?22, gps_max_lat = ?23, gps_min_lon = ?24, gps_max_lon = ?25,
                flags = ?26, reasons = ?27, updated_at = ?28,
                retention_from = coalesce(?29, ?3, start_utc), time_source = ?30,
                clock_offset_secs = ?31, recorded_at = coalesce(?32, start_utc)
             WHERE id = ?1 AND state = 'discovered'",
            params![
                id,
                state.as_str(),
                facts.end.map(format_time),
                facts.prerecord_secs,
                facts.duration_secs,
                video.map(|f| f.size as i64),
                video.map(|f| f.digests.blake3_hex()),
                video.map(|f| f.digests.sha256_hex()),
                video.map(|f| f.path.clone()),
                sidecar.map(|f| f.size as i64),
                sidecar.map(|f| f.digests.blake3_hex()),
                sidecar.map(|f| f.digests.sha256_hex()),
                sidecar.map(|f| f.path.clone()),
                gps.fixes,
                gps.no_fix,
                first.map(|f| format_time(f.0)),
                first.map(|f| f.1),
                first.map(|f| f.2),
                last.map(|f| format_time(f.0)),
                last.map(|f| f.1),
                last.map(|f| f.2),
                bbox.map(|b| b.0),
                bbox.map(|b| b.1),
                bbox.map(|b| b.2),
                bbox.map(|b| b.3),
                json_list(&facts.flags),
                json_list(&facts.reasons),
                at,
                clock.map(|c| format_time(c.retention_from)),
                clock.map_or(TimeSource::Camera, |c| c.source).as_str(),
                clock.and_then(|c| c.gps_offset).map(|o| o.num_seconds()),
                clock.map(|c| format_time(c.recorded_at)),
            ],
        );
        refused_unless_one(&tx, changed, id, state)?;
        let detail = facts.reasons.join("; ");
        insert_event(&tx, id, Some(session), &at, state, &detail)?;
        audit::append(&tx, &collection_entry(&tx, id, session, state, facts)?, now)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a state change with no new facts (e.g. `wiped`), with a detail for the
    /// trace; a wipe is also traced in the audit chain, in the same transaction.
    pub(crate) fn record_state(
        &mut self,
        id: RecordingId,
        session: SessionId,
        state: RecordingState,
        detail: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        let now = at;
        let tx = self.write()?;
        let at = format_time(at);
        let changed = tx.execute_refusable(
            "UPDATE recordings SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, state.as_str(), at],
        );
        refused_unless_one(&tx, changed, id, state)?;
        insert_event(&tx, id, Some(session), &at, state, detail)?;
        if state == RecordingState::Wiped {
            let (camera, stem) = camera_and_stem(&tx, id)?;
            let entry = audit::NewEntry::new(
                audit::SERVICE_AUTHOR,
                audit::Action::Wipe,
                format!("camera {camera}, ingest session {session}, register id {id}: {detail}"),
            )
            .about(&[stem]);
            audit::append(&tx, &entry, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the camera's clock as measured at this docking (ingest session).
    pub(crate) fn record_camera_clock(
        &mut self,
        session: SessionId,
        clock: &CameraClock,
    ) -> Result<(), RegisterError> {
        self.conn.execute(
            "UPDATE sessions SET clock_offset_secs = ?2, clock_offset_basis = ?3, clock_wrong = ?4
             WHERE id = ?1",
            params![
                session,
                clock.offset_secs,
                clock.basis.as_str(),
                clock.wrong
            ],
        )?;
        Ok(())
    }

    /// Records a camera docked or undocked at a dock slot (the link's name).
    pub fn record_dock_event(
        &mut self,
        camera: &str,
        event: DockEvent,
        slot: &str,
        at: DateTime<Utc>,
    ) -> Result<(), RegisterError> {
        self.conn.execute(
            "INSERT INTO dock_events (camera, event, at, slot, site)
             VALUES (?1, ?2, ?3, ?4, site())",
            params![camera, event.as_str(), format_time(at), slot],
        )?;
        Ok(())
    }

    /// A camera's dock events, oldest first: (event, time, slot).
    pub fn dock_events(
        &self,
        camera: &str,
    ) -> Result<Vec<(String, String, String)>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT event, at, slot FROM dock_events WHERE camera = ?1 ORDER BY at, id",
        )?;
        let rows = stmt.query_map(params![camera], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The underlying connection, for the register's own tests.
    #[cfg(test)]
    pub(crate) fn connection(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// The recordings that hold stored files, or will (those still `discovered`), by id:
    /// what a scrub expects to find in this site's store.
    pub(crate) fn recordings_with_files(&self) -> Result<Vec<RecordingId>, RegisterError> {
        let mut stmt = self.conn.prepare(
            "SELECT id FROM recordings
             WHERE (video_path IS NOT NULL OR sidecar_path IS NOT NULL OR state = 'discovered')
               AND site = site()
             ORDER BY id",
        )?;
        let rows = stmt.query_map((), |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The state changes of one recording, oldest first: (time, state, detail).
    pub fn events(&self, id: RecordingId) -> Result<Vec<(String, String, String)>, RegisterError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at, state, detail FROM recording_events WHERE recording = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether a step failed only because a concurrent opener held the lock.
fn is_busy(result: &Result<(), RegisterError>) -> bool {
    use rusqlite::ErrorCode;
    matches!(result, Err(RegisterError::Sql(e)) if matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    ))
}

/// Turns a state change the register refused (a trigger, or a guarded update that
/// changed no row) into [`RegisterError::StateRefused`], naming the state found.
fn refused_unless_one(
    tx: &Conn,
    changed: Result<usize, RegisterError>,
    id: RecordingId,
    to: RecordingState,
) -> Result<(), RegisterError> {
    let why = match changed {
        Ok(1) => return Ok(()),
        Ok(_) => None,
        Err(e) if e.is_constraint() => Some(e.engine_words()),
        Err(e) => return Err(e),
    };
    let found: Option<(String, String)> = tx
        .query_row(
            "SELECT stem, state FROM recordings WHERE id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (stem, state) = found.unwrap_or_else(|| ("?".into(), "missing".into()));
    Err(RegisterError::StateRefused {
        id,
        stem,
        to: to.as_str(),
        why: why.unwrap_or_else(|| {
            format!("it is {state} already (another ingest running at the same time?), and the state machine goes only forward")
        }),
    })
}

/// The audit entry of a collection: the recording, its state, hashes and stored paths.
fn collection_entry(
    tx: &Conn,
    id: RecordingId,
    session: SessionId,
    state: RecordingState,
    facts: &StoredFacts,
) -> Result<audit::NewEntry, RegisterError> {
    let (camera, stem) = camera_and_stem(tx, id)?;
    let mut details = format!(
        "camera {camera}, ingest session {session}, register id {id}: stored {}",
        state.as_str()
    );
    for (what, file) in [("video", &facts.video), ("sidecar", &facts.sidecar)] {
        if let Some(f) = file {
            details.push_str(&format!(
                "; {what} {} ({} bytes, sha256 {}, blake3 {})",
                f.path,
                f.size,
                f.digests.sha256_hex(),
                f.digests.blake3_hex()
            ));
        }
    }
    if !facts.reasons.is_empty() {
        details.push_str(&format!("; reasons: {}", facts.reasons.join("; ")));
    }
    Ok(
        audit::NewEntry::new(audit::SERVICE_AUTHOR, audit::Action::Collection, details)
            .about(&[stem]),
    )
}

/// A recording's camera and stem, as the audit entries name it.
pub(crate) fn camera_and_stem(
    conn: &Conn,
    id: RecordingId,
) -> Result<(String, String), RegisterError> {
    conn.query_row(
        "SELECT camera, stem FROM recordings WHERE id = ?1",
        params![id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

fn insert_event(
    tx: &Conn,
    recording: RecordingId,
    session: Option<SessionId>,
    at: &str,
    state: RecordingState,
    detail: &str,
) -> Result<(), RegisterError> {
    tx.execute(
        "INSERT INTO recording_events (recording, session, at, state, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![recording, session, at, state.as_str(), detail],
    )?;
    Ok(())
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A row as SQLite returns it, before its text columns are checked.
struct RawRow {
    id: i64,
    camera: String,
    stem: String,
    state: String,
    video: RawFile,
    sidecar: RawFile,
    flags: String,
    reasons: String,
}

type RawFile = (Option<i64>, Option<String>, Option<String>, Option<String>);

fn read_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        camera: r.get(1)?,
        stem: r.get(2)?,
        state: r.get(3)?,
        video: (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?),
        sidecar: (r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?),
        flags: r.get(12)?,
        reasons: r.get(13)?,
    })
}

impl RawRow {
    fn into_row(self) -> Result<RecordingRow, RegisterError> {
        let id = self.id;
        let corrupt = |column: &'static str, value: &str| RegisterError::Corrupt {
            table: "recordings",
            id,
            column,
            value: value.to_string(),
        };
        let state =
            RecordingState::parse(&self.state).ok_or_else(|| corrupt("state", &self.state))?;
        let file =
            |raw: RawFile, column: &'static str| -> Result<Option<FileFacts>, RegisterError> {
                match raw {
                    (Some(size), Some(b3), Some(sha), Some(path)) => {
                        let digests =
                            Digests::from_hex(&b3, &sha).ok_or_else(|| corrupt(column, &b3))?;
                        let size =
                            u64::try_from(size).map_err(|_| corrupt(column, &size.to_string()))?;
                        Ok(Some(FileFacts {
                            size,
                            digests,
                            path,
                        }))
                    }
                    _ => Ok(None),
                }
            };
        let list = |text: &str, column: &'static str| -> Result<Vec<String>, RegisterError> {
            serde_json::from_str(text).map_err(|_| corrupt(column, text))
        };
        Ok(RecordingRow {
            id,
            camera: self.camera,
            stem: self.stem,
            state,
            video: file(self.video, "video")?,
            sidecar: file(self.sidecar, "sidecar")?,
            flags: list(&self.flags, "flags")?,
            reasons: list(&self.reasons, "reasons")?,
        })
    }
}

/// The steps of SQLite's plan for `sql` with `params` (`EXPLAIN QUERY PLAN`'s details),
/// for the tests that keep the queries run at scale on their indexes.
#[cfg(test)]
pub(crate) fn query_plan(conn: &Conn, sql: &str, params: impl Args) -> Vec<String> {
    assert_eq!(
        conn.kind(),
        EngineKind::Sqlite,
        "query plans are SQLite's: open this test's register with Register::open"
    );
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("the query compiles");
    stmt.query_map(params, |r| r.get::<_, String>(3))
        .expect("the plan is read")
        .collect::<Result<_, _>>()
        .expect("the plan is read")
}

#[cfg(test)]
mod tests;
