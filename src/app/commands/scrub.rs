//! `scrub`: every stored file read back from disk and compared with the register
//! (`crate::custody::scrub`), and the run traced in the audit register: one `scrub` entry with the
//! counts and the problems by recording name. The daemon's weekly scrub is the same run,
//! traced under the service's name.

use std::collections::BTreeSet;

use chrono::Utc;

use super::access::Actor;
use super::{CommandError, Context, Reply};
use crate::app::api::replies::{self, Scrubbed};
use crate::app::api::request::ScrubArgs;
use crate::app::status::ScrubStatus;
use crate::base::clock::Clock;
use crate::base::error::Chain;
use crate::custody::register::audit::{self, Action, NewEntry};
use crate::custody::register::{Register, RegisterError, Tx, parse_time};
use crate::custody::scrub::{self, ScrubReport};
use crate::custody::store::Store;

/// Problems listed one by one in an audit entry's details; the recordings list holds all.
const DETAILED_PROBLEMS: usize = 100;

/// `scrub`: `success` is false when anything is wrong (sentinel-dockctl exits 1).
pub fn scrub(ctx: &mut Context<'_>, actor: &Actor, _: &ScrubArgs) -> Result<Reply, CommandError> {
    run_scrub(ctx.store, ctx.register, ctx.clock, &actor.author)
}

/// Scrubs the store for `author` and traces the run: a `scrub` entry with the counts and
/// the problems by recording, or a `failure` entry when the scrub could not run.
pub fn run_scrub(
    store: &Store,
    register: &mut Register,
    clock: &dyn Clock,
    author: &str,
) -> Result<Reply, CommandError> {
    let report = match scrub::scrub(store, register) {
        Ok(report) => report,
        Err(e) => {
            let why = format!(
                "scrub of {} could not run: {}",
                store.root().display(),
                Chain(&e)
            );
            let tx = register.write()?;
            audit::append(
                &tx,
                &NewEntry::new(author, Action::Failure, why),
                clock.now(),
            )?;
            tx.commit()?;
            return Err(CommandError::Invalid(format!(
                "{}; check the store's disks and the register, then scrub again",
                Chain(&e)
            )));
        }
    };
    let entry = NewEntry::new(author, Action::Scrub, details(&report)).about(&stems(&report));
    let tx = register.write()?;
    let traced = audit::append(&tx, &entry, clock.now())?;
    tx.commit()?;
    // Each problem is already an alarm (`events::SCRUB_PROBLEM`); this says who ran it.
    let problems = report.problems().count();
    if problems > 0 {
        tracing::warn!(
            audit_seq = traced.seq,
            "scrub by {author}: {problems} problem(s) in the store (audit entry #{}); the status shows it until a scrub finds none",
            traced.seq
        );
    } else {
        tracing::info!(
            audit_seq = traced.seq,
            "scrub by {author}: the store holds exactly what the register says ({} files read back)",
            report.files_checked
        );
    }
    let message = format!(
        "{}traced in the audit register as entry #{}\n",
        report.summary(),
        traced.seq
    );
    let success = report.is_clean();
    let data = replies::encode(&Scrubbed {
        clean: report.is_clean(),
        report,
        problems,
        audit_seq: traced.seq,
        at: traced.at,
        author: author.to_string(),
    });
    Ok(Reply {
        message,
        data,
        file: None,
        success,
    })
}

/// The last scrub the audit register traces, for the status.
pub fn last_scrub(conn: &Tx<'_>) -> Result<Option<ScrubStatus>, RegisterError> {
    let row = audit::latest_of(conn, Action::Scrub)?;
    Ok(row.map(|(seq, at, author, details)| ScrubStatus {
        at: parse_time(&at).unwrap_or_else(Utc::now),
        // The details open with the count; one that does not is no proof of a clean store.
        problems: details
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
        author,
        audit_seq: seq,
    }))
}

/// The entry's details: the count first (the status reads it back), then what was read,
/// then each problem by recording.
fn details(report: &ScrubReport) -> String {
    let problems: Vec<_> = report.problems().collect();
    let mut text = format!(
        "{} problem(s): {} changed, {} missing, {} unexpected, {} unreadable; {} file(s), {} bytes read back from disk in {}; {} temp file(s), {} awaiting their commit, {} held by the replica only",
        problems.len(),
        report.changed.len(),
        report.missing.len(),
        report.unexpected.len(),
        report.unreadable.len(),
        report.files_checked,
        report.bytes_checked,
        report.store.display(),
        report.temp_files.len(),
        report.awaiting_commit.len(),
        report.held_by_replica.len()
    );
    for (kind, p) in problems.iter().take(DETAILED_PROBLEMS) {
        text.push_str(&format!(
            "; {kind} {}: {}: {}",
            p.recording, p.path, p.detail
        ));
    }
    if problems.len() > DETAILED_PROBLEMS {
        text.push_str(&format!(
            "; and {} more (sentinel-dockctl scrub lists them all)",
            problems.len() - DETAILED_PROBLEMS
        ));
    }
    text
}

/// The recordings concerned by a problem, each once.
fn stems(report: &ScrubReport) -> Vec<String> {
    let stems: BTreeSet<&str> = report
        .problems()
        .map(|(_, p)| p.recording.as_str())
        .collect();
    stems.into_iter().map(String::from).collect()
}
