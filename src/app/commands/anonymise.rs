//! `anonymise`: a derivative for training made from a stored recording (faces blurred,
//! voice masked, `crate::anonymise`), written into a folder for review, kept in the store's
//! `derived/` (write-once, read back) and in the register with its hashes; `--accept`
//! records the reviewer's decision. Each step is an audit entry; the original is only read.
//!
//! The daemon runs [`prepare`] on its registers desk (checks, the request traced), the
//! long [`make_traced`] on a thread of its own, and answers the caller when it ends.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::access::Actor;
use super::extract::destination;
use super::recordings::{one_line, resolve, store_file};
use super::{CommandError, Context, Reply};
use crate::anonymise::{
    self, AnonymiseError, Job, JobControl, Made, Original, VoiceKey, VoiceMode,
};
use crate::app::api::request::AnonymiseArgs;
use crate::base::clock::Clock;
use crate::base::digest::Digests;
use crate::base::error::{Chain, chain};
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::derived::{self, DerivedFile, NewDerivative};
use crate::custody::register::{Register, format_time};
use crate::custody::store::{Area, Store, StorePath};

/// Tries at drawing a voice key not used before (a collision is already unlikely).
const KEY_DRAWS: usize = 20;

/// An anonymisation checked and traced, ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What the pipeline makes.
    pub job: Job,
    /// Where the store keeps the video and the manifest.
    pub store_paths: [StorePath; 2],
    /// The caller, as the registers name them.
    pub author: String,
}

impl From<AnonymiseError> for CommandError {
    fn from(e: AnonymiseError) -> CommandError {
        CommandError::Invalid(chain(&e))
    }
}

/// Checks the request (the folder, the detector's files, the recording) and traces it:
/// nothing is written, and the original is not read, before this returns.
pub fn prepare(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &AnonymiseArgs,
) -> Result<Prepared, CommandError> {
    let reason = one_line("--reason", &a.reason)?;
    let (Some(name), Some(to)) = (&a.recording, &a.to) else {
        return Err(CommandError::Invalid(
            "anonymise needs a recording and --to DIR (or --accept STEM, or --cancel)".into(),
        ));
    };
    let dir = destination(ctx, to)?;
    anonymise::check_detector(&ctx.config.anonymise)?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let r = resolve(&tx, name)?;
    let video = match (&r.video, r.in_store()) {
        (Some(v), true) => v.clone(),
        _ => {
            return Err(CommandError::Invalid(format!(
                "{} has no video in the store (state {}): nothing to anonymise",
                r.stem,
                r.state.as_str()
            )));
        }
    };
    for file in anonymise::final_names(&r.stem) {
        if std::fs::symlink_metadata(dir.join(&file)).is_ok() {
            return Err(CommandError::Invalid(format!(
                "{} already holds {file}: give another folder (a derivative is never overwritten)",
                dir.display()
            )));
        }
    }
    let key = match a.voice {
        VoiceMode::Mask => Some(fresh_key(&tx)?),
        _ => None,
    };
    let details = format!(
        "register id {}, video {} (sha256 {}); to {}; voice {}; reason: {reason}",
        r.id,
        video.path,
        video.digests.sha256_hex(),
        dir.display(),
        a.voice.as_str()
    );
    let entry = NewEntry {
        purpose: "training".into(),
        recipients: actor.author.clone(),
        ..NewEntry::new(&actor.author, Action::Anonymisation, details)
    }
    .about(std::slice::from_ref(&r.stem));
    let seq = audit::append(&tx, &entry, now)?.seq;
    tx.commit()?;
    let day = r.start.date_naive();
    let place = |ext: &str| {
        StorePath::new(
            Area::Derived,
            day,
            &r.camera,
            &format!("{}-anon{seq}.{ext}", r.stem),
        )
        .map_err(|e| CommandError::Invalid(format!("derived file name: {}", Chain(&e))))
    };
    let store_paths = [place("mp4")?, place("json")?];
    let original = Original {
        stem: r.stem.clone(),
        register_id: r.id,
        path: store_file(ctx.store, &video.path)?,
        size: video.size,
        digests: video.digests,
    };
    let stored_as = store_paths
        .clone()
        .map(|p| p.relative().display().to_string());
    Ok(Prepared {
        job: Job {
            original,
            dir,
            audit_seq: seq,
            author: actor.author.clone(),
            reason,
            made_at: format_time(now),
            voice: a.voice,
            key,
            stored_as,
            settings: ctx.config.anonymise.clone(),
        },
        store_paths,
        author: actor.author.clone(),
    })
}

/// A voice key no derivative has used.
fn fresh_key(conn: &crate::custody::register::Tx<'_>) -> Result<VoiceKey, CommandError> {
    for _ in 0..KEY_DRAWS {
        let key = VoiceKey::draw()?;
        if !derived::key_used(conn, key.pitch, key.formant)? {
            return Ok(key);
        }
    }
    Err(CommandError::Invalid(
        "no unused voice key found in 20 draws: the random source is broken".into(),
    ))
}

/// Makes, stores and registers the derivative; a failure is traced and leaves nothing.
pub(crate) fn make_traced(
    store: &Store,
    register: &mut Register,
    clock: &dyn Clock,
    prepared: &Prepared,
    control: &Arc<JobControl>,
) -> Result<Reply, CommandError> {
    let job = &prepared.job;
    let result = anonymise::make(job, control)
        .map_err(CommandError::from)
        .and_then(|made| complete(store, register, clock, prepared, made));
    if let Err(e) = &result {
        let why = format!(
            "anonymisation #{} of {} failed, nothing was kept: {}",
            job.audit_seq,
            job.original.stem,
            Chain(e)
        );
        let failure = NewEntry::new(&prepared.author, Action::Failure, why)
            .about(std::slice::from_ref(&job.original.stem));
        let tx = register.write()?;
        audit::append(&tx, &failure, clock.now())?;
        tx.commit()?;
    }
    result
}

/// Stores the video and the manifest (read back), names the three files in the folder,
/// and registers the derivative with its completion entry, in one transaction.
fn complete(
    store: &Store,
    register: &mut Register,
    clock: &dyn Clock,
    prepared: &Prepared,
    made: Made,
) -> Result<Reply, CommandError> {
    let job = &prepared.job;
    let cleanup = Cleanup(vec![
        made.video.clone(),
        made.sheet.clone(),
        made.manifest.clone(),
    ]);
    let video = store_copy(
        store,
        &made.video,
        &prepared.store_paths[0],
        &made.video_digests,
    )?;
    let manifest = store_copy(
        store,
        &made.manifest,
        &prepared.store_paths[1],
        &made.manifest_digests.1,
    )?;
    let [video_name, sheet_name, manifest_name] = anonymise::final_names(&job.original.stem);
    let finals = [
        (&made.video, job.dir.join(&video_name)),
        (&made.sheet, job.dir.join(&sheet_name)),
        (&made.manifest, job.dir.join(&manifest_name)),
    ];
    for (hidden, last) in &finals {
        // Readable by the export folder's group (its setgid bit gave it), as a bag's files
        // are: the service's umask (0077) would leave them to the service alone.
        std::fs::set_permissions(hidden, std::fs::Permissions::from_mode(0o440)).map_err(
            |source| CommandError::Io {
                what: "setting the mode of the derivative's file".into(),
                path: hidden.to_path_buf(),
                source,
            },
        )?;
        // A hard link never replaces a file; the hidden name goes afterwards.
        std::fs::hard_link(hidden, last).map_err(|source| CommandError::Io {
            what: "naming the derivative's file".into(),
            path: last.clone(),
            source,
        })?;
    }
    drop(cleanup);
    std::fs::File::open(&job.dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| CommandError::Io {
            what: "making the derivative's names durable in".into(),
            path: job.dir.clone(),
            source,
        })?;
    let record = NewDerivative {
        recording: job.original.register_id,
        made_by: prepared.author.clone(),
        audit_seq: job.audit_seq,
        video: video.clone(),
        manifest: manifest.clone(),
        model_sha256: made.record.detector.model_sha256.clone(),
        voice: job.voice.as_str().into(),
        key: job
            .key
            .filter(|_| job.voice == VoiceMode::Mask)
            .map(|k| (k.pitch, k.formant)),
    };
    let details = format!(
        "anonymisation #{} of {} made: {} frames ({} with faces found, {} blurred whole); video {} sha256 {}; manifest {} sha256 {}; model sha256 {}; voice {}{}",
        job.audit_seq,
        job.original.stem,
        made.record.frames,
        made.record.frames_with_faces,
        made.record.frames_blurred_whole,
        video.path,
        video.digests.sha256_hex(),
        manifest.path,
        manifest.digests.sha256_hex(),
        record.model_sha256,
        record.voice,
        record
            .key
            .map(|(p, f)| format!(" (pitch x{p}, formants x{f})"))
            .unwrap_or_default()
    );
    let now = clock.now();
    let tx = register.write()?;
    let id = derived::insert(&tx, &record, now)?;
    let entry = NewEntry {
        purpose: "training".into(),
        recipients: prepared.author.clone(),
        ..NewEntry::new(&prepared.author, Action::AnonymisationCompleted, details)
    }
    .about(std::slice::from_ref(&job.original.stem));
    let traced = audit::append(&tx, &entry, now)?;
    tx.commit()?;
    let path = job.dir.join(&video_name);
    Ok(Reply::ok(
        format!(
            "{}: anonymised derivative #{id} made ({} frames, {} with faces found, {} blurred whole; audit entry #{}). Review {} before accepting it with `sentinel-dockctl anonymise --accept {} --reason TEXT`\n{}",
            job.original.stem,
            made.record.frames,
            made.record.frames_with_faces,
            made.record.frames_blurred_whole,
            traced.seq,
            job.dir.join(&sheet_name).display(),
            job.original.stem,
            path.display()
        ),
        json!({
            "recording": job.original.stem,
            "derivative_id": id,
            "audit_seq": traced.seq,
            "video": path,
            "contact_sheet": job.dir.join(&sheet_name),
            "manifest": job.dir.join(&manifest_name),
            "stored_video": video.path,
            "stored_manifest": manifest.path,
            "sha256": video.digests.sha256_hex(),
            "frames": made.record.frames,
            "frames_with_faces": made.record.frames_with_faces,
            "frames_blurred_whole": made.record.frames_blurred_whole,
        }),
    ))
}

/// Hidden files removed when dropped.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Copies `from` into the store at `at`; the store reads it back against `digests`.
fn store_copy(
    store: &Store,
    from: &Path,
    at: &StorePath,
    digests: &Digests,
) -> Result<DerivedFile, CommandError> {
    let io = |what: &str, path: &Path, source| CommandError::Io {
        what: what.into(),
        path: path.to_path_buf(),
        source,
    };
    let mut source =
        std::fs::File::open(from).map_err(|e| io("reading the derivative's file", from, e))?;
    let mut pending = store.create(at).map_err(|e| {
        CommandError::Invalid(format!(
            "the store cannot take the derivative: {}",
            Chain(&e)
        ))
    })?;
    let size = std::io::copy(&mut source, &mut pending)
        .and_then(|n| pending.flush().map(|()| n))
        .map_err(|e| io("writing into the store", from, e))?;
    let persisted = pending.persist(digests).map_err(|e| {
        CommandError::Invalid(format!("the derivative could not be stored: {}", Chain(&e)))
    })?;
    let path = persisted
        .path()
        .strip_prefix(store.root())
        .map(|p| p.display().to_string())
        .map_err(|_| {
            CommandError::Invalid("the store placed the derivative outside itself".into())
        })?;
    Ok(DerivedFile {
        path,
        size,
        digests: *digests,
    })
}

/// `anonymise --accept STEM --reason TEXT`: the latest derivative, read back from the
/// store against the register, is accepted for training.
pub fn accept(
    ctx: &mut Context<'_>,
    actor: &Actor,
    stem: &str,
    reason: &str,
) -> Result<Reply, CommandError> {
    let reason = one_line("--reason", reason)?;
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let r = resolve(&tx, stem)?;
    let Some(d) = derived::latest(&tx, r.id)? else {
        return Err(CommandError::Invalid(format!(
            "{} has no anonymised derivative to accept: make one with `sentinel-dockctl anonymise {} --reason TEXT --to DIR`",
            r.stem, r.stem
        )));
    };
    for file in [&d.video, &d.manifest] {
        let path = store_file(ctx.store, &file.path)?;
        let found = ctx.store.read_back(&path).map_err(|e| {
            CommandError::Invalid(format!(
                "the stored derivative cannot be read back: {}",
                Chain(&e)
            ))
        })?;
        if found != file.digests {
            return Err(CommandError::Invalid(format!(
                "the stored derivative {} differs from the register (sha256 {} now, {} registered): it is not accepted; run `sentinel-dockctl scrub` and make a new one",
                file.path,
                found.sha256_hex(),
                file.digests.sha256_hex()
            )));
        }
    }
    derived::accept(&tx, d.id, &actor.author, &reason, now)?;
    let details = format!(
        "derivative #{} of {} accepted for training: video {} sha256 {}; reason: {reason}",
        d.id,
        r.stem,
        d.video.path,
        d.video.digests.sha256_hex()
    );
    let entry = NewEntry {
        purpose: "training".into(),
        ..NewEntry::new(&actor.author, Action::AnonymisationAccepted, details)
    }
    .about(std::slice::from_ref(&r.stem));
    let traced = audit::append(&tx, &entry, now)?;
    tx.commit()?;
    Ok(Reply::ok(
        format!(
            "{}: derivative #{} accepted for training (audit entry #{}); `consult --purpose training` now shows it, and only it",
            r.stem, d.id, traced.seq
        ),
        json!({"recording": r.stem, "derivative_id": d.id, "audit_seq": traced.seq, "sha256": d.video.digests.sha256_hex()}),
    ))
}
