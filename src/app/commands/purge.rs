//! Retention: recordings whose time is up are deleted from the store, unless on hold, each
//! deletion traced with its hashes. A purge larger than `retention.max_purge_share` of the
//! store stops and waits for the head of service: the big deletion incidents in this field
//! came from one wrong click or setting. And no recording goes less than
//! `retention.min_days_after_collection` days after this service collected it, whatever its
//! date: the one brake that no camera clock or GPS date can release.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

use super::access::{self, Actor};
use super::recordings::store_file;
use super::table::Table;
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{HeldFor, KeptAfterCollection, PurgePlanned};
use crate::app::api::request::{Format, PurgeArgs};
use crate::base::config::Config;
use crate::base::error::Chain;
use crate::base::events;
use crate::custody::register::audit::{self, Action, NewEntry, SERVICE_AUTHOR};
use crate::custody::register::stored::{self, StoredRecording};
use crate::custody::register::{RegisterError, Tx, format_time, holds};

/// What a purge would delete now, and what it keeps because of holds.
#[derive(Debug, Clone)]
pub(crate) struct PurgePlan {
    /// Recordings whose trusted end (`evidence::trusted_time`) is before this are past
    /// their retention.
    pub cutoff: DateTime<Utc>,
    /// Past their retention and not held: to delete.
    pub delete: Vec<StoredRecording>,
    /// Past their retention but held: kept, with their procedures.
    pub held: Vec<(StoredRecording, Vec<String>)>,
    /// Past their retention but collected less than `retention.min_days_after_collection`
    /// days ago: kept, with their collection time.
    pub recent: Vec<(StoredRecording, DateTime<Utc>)>,
    /// The collection brake's length.
    pub min_days_after_collection: u32,
    /// Bytes to delete.
    pub bytes: u64,
    /// Bytes of every recording in the store.
    pub store_bytes: u64,
}

impl PurgePlan {
    /// The share of the store's recordings (in bytes) the purge deletes.
    pub fn share(&self) -> f64 {
        if self.store_bytes == 0 {
            0.0
        } else {
            self.bytes as f64 / self.store_bytes as f64
        }
    }

    /// Whether it needs the head of service's confirmation.
    pub(crate) fn needs_confirmation(&self, config: &Config) -> bool {
        self.share() > config.retention.max_purge_share
    }
}

/// Works out what a purge at `now` would delete.
pub(crate) fn plan_purge(
    conn: &Tx<'_>,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<PurgePlan, RegisterError> {
    let cutoff = now - Duration::days(i64::from(config.retention.days));
    let brake_days = config.retention.min_days_after_collection;
    let mut plan = PurgePlan {
        cutoff,
        delete: Vec::new(),
        held: Vec::new(),
        recent: Vec::new(),
        min_days_after_collection: brake_days,
        bytes: 0,
        store_bytes: stored::in_store_totals_at(conn, &stored::this_site(conn)?)?.bytes,
    };
    let mut held = holds::active_by_recording(conn)?;
    let mut recent = if brake_days == 0 {
        BTreeMap::new()
    } else {
        stored::collected_since(conn, now - Duration::days(i64::from(brake_days)))?
    };
    for r in stored::expired(conn, cutoff)? {
        if let Some(procedures) = held.remove(&r.id) {
            plan.held.push((r, procedures));
        } else if let Some(collected) = recent.remove(&r.id) {
            plan.recent.push((r, collected));
        } else {
            plan.bytes += r.bytes();
            plan.delete.push(r);
        }
    }
    Ok(plan)
}

/// `purge [--dry-run] [--confirm COUNT]`
pub fn purge(ctx: &mut Context<'_>, actor: &Actor, a: &PurgeArgs) -> Result<Reply, CommandError> {
    let plan = ctx
        .register
        .read()
        .and_then(|tx| plan_purge(&tx, ctx.config, ctx.clock.now()))?;
    if a.dry_run {
        return Ok(Reply::ok(
            describe(&plan, ctx.config),
            plan_json(&plan, false),
        ));
    }
    if plan.needs_confirmation(ctx.config) {
        let Some(count) = a.confirm else {
            return Err(CommandError::Invalid(format!(
                "this purge would delete {} recordings, {:.0}% of the store, more than retention.max_purge_share ({:.0}%): nothing was deleted. Check the list with `sentinel-dockctl purge --dry-run`; the head of service confirms with `sentinel-dockctl purge --confirm {}`",
                plan.delete.len(),
                plan.share() * 100.0,
                ctx.config.retention.max_purge_share * 100.0,
                plan.delete.len()
            )));
        };
        access::require(ctx, actor, "purge --confirm", access::HEAD_ONLY)?;
        if count != plan.delete.len() {
            return Err(CommandError::Invalid(format!(
                "--confirm {count} does not match the {} recordings to delete now: nothing was deleted; look again with --dry-run",
                plan.delete.len()
            )));
        }
    }
    let done = execute(ctx, &actor.author, &plan)?;
    Ok(Reply::ok(done.0, done.1))
}

/// The daemon's daily purge: deletes what is due unless the brake applies, in which case
/// it logs and waits for the head of service.
pub fn purge_due(ctx: &mut Context<'_>) -> Result<Reply, CommandError> {
    let plan = ctx
        .register
        .read()
        .and_then(|tx| plan_purge(&tx, ctx.config, ctx.clock.now()))?;
    if plan.needs_confirmation(ctx.config) {
        let message = format!(
            "daily purge stopped: {} recordings ({:.0}% of the store) are due, more than retention.max_purge_share; the head of service must confirm with `sentinel-dockctl purge --confirm {}`",
            plan.delete.len(),
            plan.share() * 100.0,
            plan.delete.len()
        );
        tracing::warn!(
            message_id = events::PURGE.id,
            event = events::PURGE.name,
            "{message}"
        );
        return Ok(Reply {
            success: false,
            ..Reply::ok(message, plan_json(&plan, false))
        });
    }
    let (message, data) = execute(ctx, SERVICE_AUTHOR, &plan)?;
    Ok(Reply::ok(message, data))
}

/// Recordings deleted per transaction. Each keeps its own `purged` state and its own
/// deletion entry, committed together before any of its files goes; a batch shares one
/// commit (one fsync of the register) and one fsync per store folder, where one per
/// recording made a purge of 100,000 recordings take minutes (docs/performance.md). A crash
/// loses at most the batch in hand: before its commit nothing of it happened; after, the
/// next purge removes the files left.
const BATCH: usize = 500;

/// Deletes the recordings of the plan, batch by batch: the register commits `purged` and
/// the audit entries first, then the files go (a crash between leaves files that the next
/// purge removes).
fn execute(
    ctx: &mut Context<'_>,
    author: &str,
    plan: &PurgePlan,
) -> Result<(String, PurgePlanned), CommandError> {
    let mut deleted = Vec::new();
    let mut problems = Vec::new();
    for batch in plan.delete.chunks(BATCH) {
        let committed = commit_deletions(ctx, author, batch, plan.cutoff)?;
        remove_files(ctx, &committed, &mut problems);
        deleted.extend(committed.iter().map(|r| r.stem.clone()));
    }
    let leftovers = ctx.register.read().and_then(|tx| stored::purged(&tx))?;
    remove_files(ctx, &leftovers.iter().collect::<Vec<_>>(), &mut problems);
    let message = format!(
        "{} recording(s) deleted ({} bytes), {} kept on hold, {} kept as collected less than retention.min_days_after_collection ({} days) ago{}",
        deleted.len(),
        plan.bytes,
        plan.held.len(),
        plan.recent.len(),
        plan.min_days_after_collection,
        if problems.is_empty() {
            String::new()
        } else {
            format!("; files not removed: {}", problems.join("; "))
        }
    );
    tracing::info!(
        message_id = events::PURGE.id,
        event = events::PURGE.name,
        "{message}"
    );
    let data = PurgePlanned {
        deleted: Some(deleted),
        problems: Some(problems),
        ..plan_json(plan, true)
    };
    Ok((message, data))
}

/// One transaction for a batch: each recording still due and not held → `purged` and its
/// own deletion entry. Returns those committed (the others are kept).
fn commit_deletions<'a>(
    ctx: &mut Context<'_>,
    author: &str,
    batch: &'a [StoredRecording],
    cutoff: DateTime<Utc>,
) -> Result<Vec<&'a StoredRecording>, CommandError> {
    let now = ctx.clock.now();
    let days = ctx.config.retention.days;
    let tx = ctx.register.write()?;
    let mut committed = Vec::new();
    for r in batch {
        let current = stored::by_id(&tx, r.id)?;
        if !current.is_some_and(|c| c.in_store()) || !holds::active(&tx, r.id)?.is_empty() {
            continue; // held or changed since the plan: kept
        }
        stored::mark_purged(&tx, r.id, &format!("retention of {days} days over"), now)?;
        let entry = NewEntry {
            purpose: "retention".into(),
            ..NewEntry::new(author, Action::Deletion, deletion_details(r, days, cutoff))
        }
        .about(std::slice::from_ref(&r.stem));
        audit::append(&tx, &entry, now)?;
        committed.push(r);
    }
    tx.commit()?;
    Ok(committed)
}

fn deletion_details(r: &StoredRecording, days: u32, cutoff: DateTime<Utc>) -> String {
    let mut details = format!(
        "register id {}, camera {}, ended {} (retention {days} days counted from {} by the {} clock: before {}) deleted from the store",
        r.id,
        r.camera,
        format_time(r.end.unwrap_or(r.start)),
        format_time(r.retention_from.unwrap_or(r.start)),
        r.time_source.as_deref().unwrap_or("camera"),
        format_time(cutoff)
    );
    for (what, f) in [("video", &r.video), ("sidecar", &r.sidecar)] {
        if let Some(f) = f {
            details.push_str(&format!(
                "; {what} {} ({} bytes, sha256 {}, blake3 {})",
                f.path,
                f.size,
                f.digests.sha256_hex(),
                f.digests.blake3_hex()
            ));
        }
    }
    details
}

/// Removes the purged recordings' files that are still there, then makes the removals
/// durable: each folder touched is fsynced once (and pruned when empty). A folder already
/// gone (pruned by an earlier purge) is looked at once, not once per file. What cannot be
/// removed is named in `problems`.
fn remove_files(ctx: &Context<'_>, recordings: &[&StoredRecording], problems: &mut Vec<String>) {
    let mut folders: BTreeMap<PathBuf, bool> = BTreeMap::new();
    let mut touched = BTreeSet::new();
    for r in recordings {
        for f in [&r.video, &r.sidecar].into_iter().flatten() {
            let path = match store_file(ctx.store, &f.path) {
                Ok(path) => path,
                Err(e) => {
                    problems.push(format!("{}: {}", r.stem, Chain(&e)));
                    break;
                }
            };
            let Some(folder) = path.parent().map(Path::to_path_buf) else {
                continue;
            };
            let exists = *folders
                .entry(folder.clone())
                .or_insert_with(|| folder.is_dir());
            if !exists {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => {
                    touched.insert(folder);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    problems.push(format!("{}: removing {}: {e}", r.stem, path.display()));
                    break;
                }
            }
        }
    }
    for folder in touched {
        if let Err(e) = sync_and_prune(&folder, ctx.store.root()) {
            problems.push(format!(
                "syncing the folder {}: {}",
                folder.display(),
                Chain(&e)
            ));
        }
    }
}

/// fsyncs a folder after removals; removes it when empty (serial, then day folder) and
/// fsyncs its parent, never above the store's areas.
fn sync_and_prune(folder: &Path, root: &Path) -> io::Result<()> {
    fs::File::open(folder)?.sync_all()?;
    let mut dir = folder.to_path_buf();
    for _ in 0..2 {
        let Some(parent) = dir.parent().map(Path::to_path_buf) else {
            break;
        };
        if parent == root || !dir.starts_with(root) || fs::remove_dir(&dir).is_err() {
            break;
        }
        fs::File::open(&parent)?.sync_all()?;
        dir = parent;
    }
    Ok(())
}

fn describe(plan: &PurgePlan, config: &Config) -> String {
    let mut t = Table::new(&[
        "recording",
        "camera",
        "ended",
        "counted from",
        "bytes",
        "action",
    ]);
    // One row per recording, its action last: the same columns whatever the action.
    let row = |r: &StoredRecording, action: String| {
        vec![
            r.stem.clone(),
            r.camera.clone(),
            format_time(r.end.unwrap_or(r.start)),
            counted_from(r),
            r.bytes().to_string(),
            action,
        ]
    };
    for r in &plan.delete {
        t.push(row(r, "delete".into()));
    }
    for (r, procedures) in &plan.held {
        t.push(row(r, format!("keep: held for {}", procedures.join(", "))));
    }
    for (r, collected) in &plan.recent {
        let reason = brake_reason(*collected, plan.min_days_after_collection);
        t.push(row(r, format!("keep: {reason}")));
    }
    let brake = if plan.needs_confirmation(config) {
        format!(
            "\nMore than retention.max_purge_share ({:.0}%): the head of service must confirm with `sentinel-dockctl purge --confirm {}`.",
            config.retention.max_purge_share * 100.0,
            plan.delete.len()
        )
    } else {
        String::new()
    };
    format!(
        "Dry run: retention {} days, recordings whose trusted end is before {}.\n{}{} to delete ({} of {} bytes, {:.1}% of the store), {} kept on hold, {} kept as collected less than retention.min_days_after_collection ({} days) ago.{brake}\n",
        config.retention.days,
        format_time(plan.cutoff),
        t.render(Format::Table),
        plan.delete.len(),
        plan.bytes,
        plan.store_bytes,
        plan.share() * 100.0,
        plan.held.len(),
        plan.recent.len(),
        plan.min_days_after_collection
    )
}

/// When the collection brake lets a recording go.
fn purgeable_from(collected: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    collected + Duration::days(i64::from(days))
}

/// Why the collection brake keeps a recording, naming the setting.
fn brake_reason(collected: DateTime<Utc>, days: u32) -> String {
    format!(
        "collected {}, less than retention.min_days_after_collection ({days} days) ago: purgeable from {}",
        format_time(collected),
        format_time(purgeable_from(collected, days))
    )
}

/// The trusted time a recording's retention counts from, and its clock.
fn counted_from(r: &StoredRecording) -> String {
    r.retention_from
        .map(|t| {
            format!(
                "{} ({})",
                format_time(t),
                r.time_source.as_deref().unwrap_or("camera")
            )
        })
        .unwrap_or_default()
}

fn plan_json(plan: &PurgePlan, executed: bool) -> PurgePlanned {
    PurgePlanned {
        executed,
        cutoff: format_time(plan.cutoff),
        delete: plan.delete.iter().map(|r| r.stem.clone()).collect(),
        held: plan
            .held
            .iter()
            .map(|(r, p)| HeldFor {
                recording: r.stem.clone(),
                procedures: p.clone(),
            })
            .collect(),
        kept_after_collection: plan
            .recent
            .iter()
            .map(|(r, collected)| KeptAfterCollection {
                recording: r.stem.clone(),
                collected_at: format_time(*collected),
                purgeable_from: format_time(purgeable_from(
                    *collected,
                    plan.min_days_after_collection,
                )),
                reason: brake_reason(*collected, plan.min_days_after_collection),
            })
            .collect(),
        bytes: plan.bytes,
        store_bytes: plan.store_bytes,
        share: plan.share(),
        deleted: None,
        problems: None,
    }
}
