//! `extract`: recordings copied into a BagIt bag for a procedure. The request is traced and
//! the recordings held before any byte is copied; the bag is written, made durable and
//! verified before the audit register says it is done.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::access::Actor;
use super::bag::{self, PayloadFile};
use super::consult::ANONYMISE;
use super::extraction_record;
use super::holds::resolve_all;
use super::recordings::{one_line, store_file};
use super::{CommandError, Context, Reply};
use crate::app::api::replies::Extracted;
use crate::app::api::request::{ExtractArgs, Purpose};
use crate::base::error::Chain;
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::custody;
use crate::custody::register::format_time;
use crate::custody::register::holds;
use crate::custody::register::perception;
use crate::custody::register::stored::StoredRecording;

/// Who asked, for what, under which reference.
#[derive(Debug, Clone)]
struct Request {
    purpose: Purpose,
    /// The requisition's or the procedure's reference: the hold's procedure too.
    reference: String,
    /// For whom: the OPJ and service, or the recipient.
    recipients: String,
    /// `bag-info.txt` labels describing the request.
    labels: Vec<(String, String)>,
}

/// `extract --purpose P ... --to DIR RECORDING...`
pub fn extract(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &ExtractArgs,
) -> Result<Reply, CommandError> {
    let now = ctx.clock.now();
    let req = request(a, now.date_naive())?;
    let dest = destination(ctx, &a.to)?;
    let (recordings, files, seq) = trace_and_hold(ctx, actor, a, &req, &dest)?;

    // Traced and held: only now is anything copied out of the store.
    let stems: Vec<String> = recordings.iter().map(|r| r.stem.clone()).collect();
    let name = format!("extraction-{}-{seq:06}", now.format("%Y%m%dT%H%M%SZ"));
    let mut info = req.labels.clone();
    info.extend(bag_labels(actor, &recordings, seq, now));
    let record = record(ctx, actor, &req, &recordings, &files, seq, now)?;
    let tags = [(extraction_record::FILE, record)];
    let written = super::replica_read::stage_payload(ctx, &recordings, files)
        .and_then(|files| bag::write(&dest, &name, &files, &info, &tags, now.date_naive()));
    match written {
        Ok(bag) => completed(ctx, actor, &req, &stems, seq, bag),
        Err(e) => {
            let why = format!(
                "extraction #{seq} failed, no bag was left in {}: {}",
                dest.display(),
                Chain(&e)
            );
            let failure = NewEntry::new(&actor.author, Action::Failure, why).about(&stems);
            let tx = ctx.register.write()?;
            audit::append(&tx, &failure, ctx.clock.now())?;
            tx.commit()?;
            Err(e)
        }
    }
}

/// The procès-verbal's PDF: the request, and each recording with its agent and custody as
/// the register holds them now (the extraction and its hold included).
fn record(
    ctx: &mut Context<'_>,
    actor: &Actor,
    req: &Request,
    recordings: &[StoredRecording],
    files: &[PayloadFile],
    seq: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<u8>, CommandError> {
    let tx = ctx.register.read()?;
    let mut items = Vec::new();
    for r in recordings {
        let mut history = custody::state_changes(&tx, r.id)?;
        history.extend(custody::audit_entries(&tx, &r.stem)?);
        history.sort_by(|x, y| x.at.cmp(&y.at));
        let prefix = format!("{}/", r.camera);
        let mine = [&r.video, &r.sidecar];
        items.push(extraction_record::Item {
            stem: r.stem.clone(),
            camera: r.camera.clone(),
            start: r.start,
            end: r.end,
            agent: perception::attribution(&tx, r.id)?.map(|a| a.agent),
            files: files
                .iter()
                .filter(|f| f.name.starts_with(&prefix))
                .filter(|f| mine.into_iter().flatten().any(|m| m.path == f.facts.path))
                .map(|f| (f.name.clone(), f.facts.clone()))
                .collect(),
            custody: history,
        });
    }
    drop(tx);
    // The hold's entry is appended right after the extraction's, in the same transaction.
    let hold = (req.purpose != Purpose::Training).then_some(seq + 1);
    Ok(extraction_record::pdf(&extraction_record::Record {
        purpose: req.purpose,
        labels: &req.labels,
        operator: &actor.author,
        at: now,
        audit: (seq, hold),
        items: &items,
        tz: ctx.config.console.timezone,
    }))
}

/// One transaction: the extraction's audit entry, and the holds for its procedure.
/// Returns the recordings, the files to copy and the entry's sequence number.
fn trace_and_hold(
    ctx: &mut Context<'_>,
    actor: &Actor,
    a: &ExtractArgs,
    req: &Request,
    dest: &Path,
) -> Result<(Vec<StoredRecording>, Vec<PayloadFile>, i64), CommandError> {
    let now = ctx.clock.now();
    let tx = ctx.register.write()?;
    let recordings = resolve_all(&tx, &a.recordings)?;
    let files = payload(ctx.store, &recordings)?;
    let stems: Vec<String> = recordings.iter().map(|r| r.stem.clone()).collect();
    let ids: Vec<String> = recordings.iter().map(|r| r.id.to_string()).collect();
    let labels: Vec<String> = req
        .labels
        .iter()
        .map(|(l, v)| format!("{l}: {v}"))
        .collect();
    let details = format!(
        "{}; register ids {}; to {}",
        labels.join("; "),
        ids.join(", "),
        dest.display()
    );
    let entry = NewEntry {
        purpose: req.purpose.as_str().into(),
        recipients: req.recipients.clone(),
        ..NewEntry::new(&actor.author, Action::Extraction, details)
    }
    .about(&stems);
    let seq = audit::append(&tx, &entry, now)?.seq;
    if req.purpose != Purpose::Training {
        let why = format!("extraction #{seq}");
        for r in &recordings {
            holds::place(&tx, r.id, &req.reference, &actor.author, &why, now)?;
        }
        let held = format!("held for procedure {} by extraction #{seq}", req.reference);
        let entry = NewEntry::new(&actor.author, Action::Hold, held).about(&stems);
        audit::append(&tx, &entry, now)?;
    }
    tx.commit()?;
    Ok((recordings, files, seq))
}

/// The bag is durable and verified: the audit register says so, and the chain's head goes
/// to the journal.
fn completed(
    ctx: &mut Context<'_>,
    actor: &Actor,
    req: &Request,
    stems: &[String],
    seq: i64,
    bag: bag::WrittenBag,
) -> Result<Reply, CommandError> {
    let details = format!(
        "extraction #{seq} written and verified: {} ({} bytes in {} files; manifest-sha256.txt sha256 {})",
        bag.path.display(),
        bag.oxum.0,
        bag.oxum.1,
        bag.manifest_sha256
    );
    let done = NewEntry {
        purpose: req.purpose.as_str().into(),
        recipients: req.recipients.clone(),
        ..NewEntry::new(&actor.author, Action::ExtractionCompleted, details)
    }
    .about(stems);
    let tx = ctx.register.write()?;
    let completed = audit::append(&tx, &done, ctx.clock.now())?;
    tx.commit()?;
    let head = ctx
        .register
        .read()
        .and_then(|tx| audit::log_head(&tx, "extraction"))?;
    let mut message = format!("{}\n", bag.path.display());
    if req.purpose == Purpose::Training {
        message.push_str(&format!("{ANONYMISE}\n"));
    }
    let data = Extracted {
        bag: bag.path,
        recordings: stems.to_vec(),
        audit_seq: seq,
        completed_seq: completed.seq,
        audit_head: head.to_string(),
        payload_oxum: format!("{}.{}", bag.oxum.0, bag.oxum.1),
        manifest_sha256: bag.manifest_sha256,
        held_for: (req.purpose != Purpose::Training).then(|| req.reference.clone()),
    };
    Ok(Reply::ok(message, data))
}

/// Checks what each purpose requires: a judicial extraction, the OPJ's requisition.
fn request(a: &ExtractArgs, today: NaiveDate) -> Result<Request, CommandError> {
    let mut labels = vec![("Purpose".to_string(), a.purpose.as_str().to_string())];
    let (reference, recipients) = if a.purpose == Purpose::Judicial {
        if a.reference.is_some() || a.recipient.is_some() {
            return Err(CommandError::Invalid(
                "a judicial extraction is made on a requisition: give --requisition and --opj, not --reference or --recipient".into(),
            ));
        }
        let (Some(requisition), Some(opj)) = (&a.requisition, &a.opj) else {
            return Err(CommandError::Invalid(
                "a judicial extraction needs the OPJ's written requisition: --requisition REF --opj \"NAME, SERVICE\" (and --requisition-date YYYY-MM-DD)".into(),
            ));
        };
        let reference = one_line("--requisition", requisition)?;
        let (name, service) = opj
            .split_once(',')
            .map(|(n, s)| (n.trim(), s.trim()))
            .filter(|(n, s)| !n.is_empty() && !s.is_empty())
            .ok_or_else(|| CommandError::Invalid(format!("--opj `{opj}` must be \"NAME, SERVICE\", e.g. \"Dupont, Commissariat de Romans\"")))?;
        let (name, service) = (one_line("--opj", name)?, one_line("--opj", service)?);
        // The bag is a legal record: the requisition's own date, never a default.
        let date = a.requisition_date.ok_or_else(|| {
            CommandError::Invalid(
                "a judicial extraction needs the date written on the OPJ's requisition: give --requisition-date YYYY-MM-DD".into(),
            )
        })?;
        if date > today {
            return Err(CommandError::Invalid(format!(
                "the requisition date {date} is after today ({today}): give the date written on the requisition"
            )));
        }
        labels.push(("Requisition-Reference".into(), reference.clone()));
        labels.push(("Requisition-Date".into(), date.to_string()));
        labels.push(("OPJ-Name".into(), name.clone()));
        labels.push(("OPJ-Service".into(), service.clone()));
        (reference, format!("{name}, {service}"))
    } else {
        if a.requisition.is_some() || a.opj.is_some() {
            return Err(CommandError::Invalid(format!(
                "--requisition and --opj are for judicial extractions; a {} extraction gives --reference and --recipient",
                a.purpose.as_str()
            )));
        }
        let reference = a.reference.as_deref().ok_or_else(|| {
            CommandError::Invalid(format!(
                "a {} extraction needs its procedure's reference: --reference REF",
                a.purpose.as_str()
            ))
        })?;
        let recipient = a.recipient.as_deref().ok_or_else(|| {
            CommandError::Invalid(
                "an extraction needs its recipient: --recipient \"NAME, SERVICE\"".into(),
            )
        })?;
        let (reference, recipient) = (
            one_line("--reference", reference)?,
            one_line("--recipient", recipient)?,
        );
        labels.push(("Procedure-Reference".into(), reference.clone()));
        labels.push(("Recipient".into(), recipient.clone()));
        (reference, recipient)
    };
    labels.push(("External-Identifier".into(), reference.clone()));
    if let Some(reason) = &a.reason {
        labels.push(("Reason".into(), one_line("--reason", reason)?));
    }
    if a.purpose == Purpose::Training {
        labels.push(("Anonymisation-Required".into(), ANONYMISE.into()));
    }
    Ok(Request {
        purpose: a.purpose,
        reference,
        recipients,
        labels,
    })
}

/// The folder the bag goes in: it must exist, be inside `extract.root` (the daemon never
/// writes where the technician did not say it may), and not be inside the store.
pub(super) fn destination(ctx: &Context<'_>, to: &Path) -> Result<PathBuf, CommandError> {
    let root_key = &ctx.config.extract.root;
    let root = std::fs::canonicalize(root_key).map_err(|e| {
        CommandError::Invalid(format!(
            "the export folder {} (extract.root) cannot be used: {e}; the technician creates it (README: \"The export folder\")",
            root_key.display()
        ))
    })?;
    let dest = std::fs::canonicalize(to).map_err(|source| CommandError::Io {
        what: "--to must be an existing folder;".into(),
        path: to.to_path_buf(),
        source,
    })?;
    if !dest.is_dir() {
        return Err(CommandError::Invalid(format!(
            "--to {} is not a folder",
            to.display()
        )));
    }
    if !dest.starts_with(&root) {
        return Err(CommandError::Invalid(format!(
            "--to {} is outside the export folder {} (extract.root): give that folder or one inside it",
            to.display(),
            root.display()
        )));
    }
    let store =
        std::fs::canonicalize(ctx.store.root()).unwrap_or_else(|_| ctx.store.root().to_path_buf());
    if dest.starts_with(&store) {
        return Err(CommandError::Invalid(format!(
            "--to {} is inside the store: write the bag to removable media or an export folder",
            to.display()
        )));
    }
    Ok(dest)
}

/// The videos and sidecars to copy, each under `data/<camera>/`.
fn payload(
    store: &crate::custody::store::Store,
    recordings: &[StoredRecording],
) -> Result<Vec<PayloadFile>, CommandError> {
    let mut files = Vec::new();
    for r in recordings {
        if !r.in_store() || r.video.is_none() {
            return Err(CommandError::Invalid(format!(
                "{} has no video in the store (state {}): nothing was extracted",
                r.stem,
                r.state.as_str()
            )));
        }
        for facts in [&r.video, &r.sidecar].into_iter().flatten() {
            let source = store_file(store, &facts.path)?;
            let file_name = source
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(PayloadFile {
                name: format!("{}/{file_name}", r.camera),
                source,
                facts: facts.clone(),
                staged: None,
            });
        }
    }
    Ok(files)
}

/// The chain-of-custody labels: who extracted, when, under which audit entry, and each
/// recording's camera, times, register id and hashes as proven at collection.
fn bag_labels(
    actor: &Actor,
    recordings: &[StoredRecording],
    seq: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, String)> {
    let mut labels = vec![
        ("Extracted-By".to_string(), actor.author.clone()),
        ("Extracted-At".to_string(), format_time(now)),
        ("Audit-Entry".to_string(), seq.to_string()),
        (
            "Bag-Software-Agent".to_string(),
            format!("sentinel-dock {}", env!("CARGO_PKG_VERSION")),
        ),
    ];
    for r in recordings {
        let mut line = format!(
            "{}; camera {}; register id {}; start {}; end {}",
            r.stem,
            r.camera,
            r.id,
            format_time(r.start),
            r.end.map(format_time).unwrap_or_else(|| "unknown".into())
        );
        for (what, f) in [("video", &r.video), ("sidecar", &r.sidecar)] {
            if let Some(f) = f {
                line.push_str(&format!(
                    "; {what} {} bytes sha256 {} blake3 {}",
                    f.size,
                    f.digests.sha256_hex(),
                    f.digests.blake3_hex()
                ));
            }
        }
        labels.push(("Recording".to_string(), line));
    }
    labels
}
