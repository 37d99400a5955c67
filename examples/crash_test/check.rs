//! The invariants checked after every kill and after the clean run that ends a cycle,
//! by reading the camera (mtools or the folder), the store (plain file reads) and the
//! register (SQLite) directly: nothing here trusts the project's own code.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::camera::{self, FileSpec, RecordingSpec, SourceKind};

/// What one check saw besides violations, for the figures.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    /// Hidden temp files a crash left in the store (removed at the next start).
    pub temp_files: usize,
    /// Recordings whose stored copy had its final name but whose register row was not yet
    /// committed (the crash fell between the rename and the commit).
    pub stored_uncommitted: usize,
    /// Recordings removed from the camera whose row still says `confirmed` (the crash fell
    /// between the wipe and its commit).
    pub wiped_uncommitted: usize,
}

/// One register row, as stored.
#[derive(Debug)]
struct Row {
    state: String,
    video: Option<(String, String, String, i64)>,
    sidecar: Option<(String, String, String, i64)>,
}

/// Stored file hashes, cached by (path, inode, size, mtime): stored files are write-once.
#[derive(Default)]
pub struct HashCache(HashMap<(PathBuf, u64, u64, i64), (String, String)>);

impl HashCache {
    fn hashes(&mut self, path: &Path) -> std::io::Result<(String, String)> {
        let m = fs::metadata(path)?;
        let key = (path.to_path_buf(), m.ino(), m.len(), m.mtime_nsec());
        if let Some(h) = self.0.get(&key) {
            return Ok(h.clone());
        }
        let (_, sha, b3) = camera::hash_file(path)?;
        self.0.insert(key, (sha.clone(), b3.clone()));
        Ok((sha, b3))
    }
}

/// One camera as a check sees it: what it held when it was made, and where it is now.
pub struct Source<'a> {
    pub recordings: &'a [RecordingSpec],
    pub path: &'a Path,
    pub kind: SourceKind,
}

/// Everything one check needs to look at: the cameras, the store, the register.
pub struct World<'a> {
    pub sources: Vec<Source<'a>>,
    pub store: &'a Path,
    pub register: &'a Path,
}

impl World<'_> {
    fn recordings(&self) -> impl Iterator<Item = &RecordingSpec> {
        self.sources.iter().flat_map(|s| s.recordings.iter())
    }
}

/// Checks the invariants that must hold at any instant, crash or not; returns what was
/// seen, and pushes one sentence per violation.
pub fn after_kill(w: &World<'_>, cache: &mut HashCache, violations: &mut Vec<String>) -> Seen {
    let mut seen = Seen::default();
    let mut present = Vec::new();
    for source in &w.sources {
        match camera::present(source.path, source.kind) {
            Ok(p) => present.push(p),
            Err(e) => {
                violations.push(format!("the camera cannot be listed: {e}"));
                return seen;
            }
        }
    }
    let visible = store_files(w, cache, &mut seen, violations);
    let rows = match register_rows(w.register, violations) {
        Some(rows) => rows,
        None => return seen,
    };
    for (source, present) in w.sources.iter().zip(&present) {
        check_camera(source, present, &visible, &rows, &mut seen, violations);
    }
    seen
}

/// The per-recording invariants of one camera against the store and the register.
fn check_camera(
    source: &Source<'_>,
    present: &[String],
    visible: &BTreeMap<String, PathBuf>,
    rows: &BTreeMap<String, Vec<Row>>,
    seen: &mut Seen,
    violations: &mut Vec<String>,
) {
    for rec in source.recordings {
        let on_camera = |f: &FileSpec| present.contains(&f.volume_path);
        let (video_there, sidecar_there) = (on_camera(&rec.video), on_camera(&rec.sidecar));
        let row = match rows.get(&rec.stem).map(Vec::as_slice) {
            None | Some([]) => None,
            Some([row]) => Some(row),
            Some(more) => {
                violations.push(format!(
                    "{}: {} register rows, one expected",
                    rec.stem,
                    more.len()
                ));
                continue;
            }
        };
        let stored = |f: &FileSpec| visible.get(&f.name).cloned();
        let (video_copy, sidecar_copy) = (stored(&rec.video), stored(&rec.sidecar));
        match row.map(|r| r.state.as_str()) {
            Some("confirmed") | Some("wiped") => {
                let row = row.expect("matched Some");
                check_facts(
                    &rec.stem,
                    "video",
                    &rec.video,
                    row.video.as_ref(),
                    &video_copy,
                    violations,
                );
                check_facts(
                    &rec.stem,
                    "sidecar",
                    &rec.sidecar,
                    row.sidecar.as_ref(),
                    &sidecar_copy,
                    violations,
                );
                if row.state == "wiped" && (video_there || sidecar_there) {
                    violations.push(format!(
                        "{}: the register says wiped, the camera still holds it",
                        rec.stem
                    ));
                }
                if row.state == "confirmed" && !(video_there && sidecar_there) {
                    seen.wiped_uncommitted += 1;
                }
            }
            Some("discovered") | None => {
                if !(video_there && sidecar_there) {
                    violations.push(format!(
                        "{}: gone from the camera (video {}, sidecar {}) but the register does not hold it as confirmed",
                        rec.stem,
                        if video_there { "kept" } else { "gone" },
                        if sidecar_there { "kept" } else { "gone" },
                    ));
                }
                if row.is_some_and(|r| r.video.is_some() || r.sidecar.is_some()) {
                    violations.push(format!(
                        "{}: a discovered row already holds file facts",
                        rec.stem
                    ));
                }
                if video_copy.is_some() || sidecar_copy.is_some() {
                    seen.stored_uncommitted += 1;
                }
            }
            Some(other) => violations.push(format!(
                "{}: register state `{other}` after a crash of an ingest of good recordings",
                rec.stem
            )),
        }
    }
}

/// Checks what a clean run must leave: every recording stored once and wiped, the camera
/// holding only what is not evidence, no temp file left.
pub fn after_clean_run(w: &World<'_>, cache: &mut HashCache, violations: &mut Vec<String>) {
    let before = violations.len();
    let seen = after_kill(w, cache, violations);
    if seen.temp_files > 0 {
        violations.push(format!(
            "{} temp file(s) left after a clean run",
            seen.temp_files
        ));
    }
    for source in &w.sources {
        let present = camera::present(source.path, source.kind).unwrap_or_default();
        for rec in source.recordings {
            for f in [&rec.video, &rec.sidecar] {
                if present.contains(&f.volume_path) {
                    violations.push(format!(
                        "{}: still on the camera after a clean run",
                        f.volume_path
                    ));
                }
            }
        }
        for keep in ["DEVICE.INI", "LOG/camera.log"] {
            if !present.iter().any(|p| p == keep) {
                violations.push(format!(
                    "{keep} was removed from {}: it is not evidence",
                    source.path.display()
                ));
            }
        }
    }
    let total = w.recordings().count();
    if let Some(rows) = register_rows(w.register, violations) {
        let states: Vec<&str> = rows.values().flatten().map(|r| r.state.as_str()).collect();
        if states.len() != total || states.iter().any(|s| *s != "wiped") {
            violations.push(format!(
                "after a clean run the register holds {states:?}, expected {total} rows `wiped`"
            ));
        }
    }
    let mut files = Vec::new();
    walk(w.store, w.store, &mut files);
    let expected = 2 * total;
    if violations.len() == before && files.len() != expected {
        violations.push(format!(
            "after a clean run the store holds {} files, expected {expected}: {files:?}",
            files.len()
        ));
    }
}

/// The store's visible files by name, each checked complete; temp files counted.
fn store_files(
    w: &World<'_>,
    cache: &mut HashCache,
    seen: &mut Seen,
    violations: &mut Vec<String>,
) -> BTreeMap<String, PathBuf> {
    let specs: HashMap<&str, &FileSpec> = w
        .recordings()
        .flat_map(|r| {
            [
                (r.video.name.as_str(), &r.video),
                (r.sidecar.name.as_str(), &r.sidecar),
            ]
        })
        .collect();
    let mut files = Vec::new();
    walk(w.store, w.store, &mut files);
    let mut visible = BTreeMap::new();
    for relative in files {
        let name = relative.rsplit('/').next().unwrap_or("").to_string();
        // A temp file a kill left (a recording's, or the store identity's on a first start
        // killed before its rename): never under a recording's name, removed or rewritten
        // by the next start.
        if (name.starts_with('.') && name.contains(".partial-"))
            || relative == sentinel_dock::custody::store::IDENTITY_TEMP_FILE
        {
            seen.temp_files += 1;
            continue;
        }
        // The owner's lock and the store's identity, in the root: not evidence.
        if [
            sentinel_dock::custody::store::LOCK_FILE,
            sentinel_dock::custody::store::IDENTITY_FILE,
        ]
        .contains(&relative.as_str())
        {
            continue;
        }
        let path = w.store.join(&relative);
        let Some(spec) = specs.get(name.as_str()) else {
            violations.push(format!(
                "store: {relative} is visible but is no recording's file"
            ));
            continue;
        };
        if !relative.starts_with("recordings/") {
            violations.push(format!(
                "store: {relative} is outside recordings/ (a good recording quarantined?)"
            ));
        }
        match cache.hashes(&path) {
            Ok((sha, b3)) if sha == spec.sha256 && b3 == spec.blake3 => {}
            Ok(_) => violations.push(format!(
                "store: {relative} is visible under its final name but does not hold the camera's bytes (partial or altered)"
            )),
            Err(e) => violations.push(format!("store: {relative} cannot be read: {e}")),
        }
        let mode = fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        if mode != 0o444 {
            violations.push(format!("store: {relative} has mode {mode:o}, not 444"));
        }
        if visible.insert(name, relative.clone().into()).is_some() {
            violations.push(format!(
                "store: {relative}: the same recording file is stored twice"
            ));
        }
    }
    visible
}

fn check_facts(
    stem: &str,
    what: &str,
    spec: &FileSpec,
    facts: Option<&(String, String, String, i64)>,
    copy: &Option<PathBuf>,
    violations: &mut Vec<String>,
) {
    let Some((path, sha, b3, size)) = facts else {
        violations.push(format!("{stem}: confirmed without {what} facts"));
        return;
    };
    if *sha != spec.sha256 || *b3 != spec.blake3 || *size as u64 != spec.size {
        violations.push(format!(
            "{stem}: the register's {what} hashes or size differ from the camera's"
        ));
    }
    // The visible copy was already proven equal to the camera's bytes in `store_files`.
    match copy {
        Some(p) if p.to_string_lossy() == *path => {}
        Some(p) => violations.push(format!(
            "{stem}: the register's {what} path {path} is not where its copy is ({})",
            p.display()
        )),
        None => violations.push(format!(
            "{stem}: confirmed, but its {what} copy {path} is not in the store"
        )),
    }
}

/// Opens the register as the next start would and checks its integrity; its rows by stem.
fn register_rows(path: &Path, violations: &mut Vec<String>) -> Option<BTreeMap<String, Vec<Row>>> {
    if !path.exists() {
        return Some(BTreeMap::new()); // killed before the register was created
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let result = (|| -> rusqlite::Result<BTreeMap<String, Vec<Row>>> {
        let conn = Connection::open_with_flags(path, flags)?;
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if integrity != "ok" {
            violations.push(format!("register: PRAGMA integrity_check says {integrity}"));
        }
        let fk: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
        if fk != 0 {
            violations.push(format!("register: {fk} foreign key violation(s)"));
        }
        let has_table: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'recordings'",
            [],
            |r| r.get(0),
        )?;
        let mut rows: BTreeMap<String, Vec<Row>> = BTreeMap::new();
        if has_table == 0 {
            return Ok(rows); // killed before the first migration committed
        }
        let mut stmt = conn.prepare(
            "SELECT stem, state, video_path, video_sha256, video_blake3, video_size,
                    sidecar_path, sidecar_sha256, sidecar_blake3, sidecar_size
             FROM recordings ORDER BY id",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            let file = |i: usize| -> rusqlite::Result<Option<(String, String, String, i64)>> {
                let path: Option<String> = r.get(i)?;
                Ok(match path {
                    Some(p) => Some((p, r.get(i + 1)?, r.get(i + 2)?, r.get(i + 3)?)),
                    None => None,
                })
            };
            let row = Row {
                state: r.get(1)?,
                video: file(2)?,
                sidecar: file(6)?,
            };
            rows.entry(r.get(0)?).or_default().push(row);
        }
        Ok(rows)
    })();
    match result {
        Ok(rows) => Some(rows),
        Err(e) => {
            violations.push(format!(
                "register {} cannot be read after the crash: {e}",
                path.display()
            ));
            None
        }
    }
}

/// Every file below `dir` (folders excluded), relative to `root`, sorted.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            // The owner's lock and the store's identity, in the root: not evidence.
            let owner_file = [
                sentinel_dock::custody::store::LOCK_FILE,
                sentinel_dock::custody::store::IDENTITY_FILE,
            ]
            .iter()
            .any(|f| rel == Path::new(f));
            if !owner_file {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
}
