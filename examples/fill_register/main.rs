//! Builds a register at scale for `scripts/bench --register`: a year and more of eight
//! cameras' recordings, the perception register, dock events and the audit chain, with the
//! oldest recordings past their retention and their files in the store.
//!
//! Usage: fill_register --register FILE [--store DIR] [--recordings N] [--cameras N]
//!        [--due N] [--retention-days N] [--seed N] [--now RFC3339]
//! Prints a summary, then one JSON line for scripts.

mod fill;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::Parser;
use sentinel_dock::custody::register::Register;

/// Builds a register at scale (see the file's header).
#[derive(Parser, Debug)]
struct Args {
    /// The register to create (it must not exist).
    #[arg(long)]
    register: PathBuf,
    /// A store folder in which the due recordings' files are created (empty).
    #[arg(long)]
    store: Option<PathBuf>,
    /// Recordings in all.
    #[arg(long, default_value_t = 1_000_000)]
    recordings: u64,
    /// Cameras in service.
    #[arg(long, default_value_t = 8)]
    cameras: u32,
    /// The oldest recordings, past `--retention-days` now.
    #[arg(long, default_value_t = 100_000)]
    due: u64,
    /// The retention the purge will run with.
    #[arg(long, default_value_t = 360)]
    retention_days: u32,
    /// Seed of everything random.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The moment the register is made for (default: now).
    #[arg(long)]
    now: Option<DateTime<Utc>>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fill_register: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.register.exists() {
        bail!(
            "{} exists: give the name of a register to create",
            args.register.display()
        );
    }
    let plan = fill::Plan {
        recordings: args.recordings,
        cameras: args.cameras,
        due: args.due,
        retention_days: args.retention_days,
        now: args.now.unwrap_or_else(Utc::now),
        seed: args.seed,
        store: args.store,
    };
    let started = Instant::now();
    let register = Register::open(&args.register)
        .with_context(|| format!("creating {}", args.register.display()))?;
    let s = fill::fill(&args.register, &plan)?;
    drop(register);
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} recordings ({} due, {} of them held) from {} to {}, {} audit entries, {} files in the store, in {secs:.1} s",
        s.recordings,
        s.due,
        s.held_due,
        s.first_day.map(|d| d.to_string()).unwrap_or_default(),
        s.last_day.map(|d| d.to_string()).unwrap_or_default(),
        s.audit_entries,
        s.files
    );
    println!(
        "{}",
        serde_json::json!({
            "recordings": s.recordings, "due": s.due, "held_due": s.held_due,
            "audit_entries": s.audit_entries, "files": s.files, "seconds": secs,
            "first_day": s.first_day, "last_day": s.last_day,
            "retention_days": plan.retention_days, "now": plan.now,
        })
    );
    Ok(())
}
