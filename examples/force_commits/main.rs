//! The commits of a force's docks for `scripts/bench --force`: N docks, each its own
//! thread, connection, camera and ingest session, ingest recordings at once on one
//! register (PostgreSQL or one SQLite file) through the ingest's own register calls
//! (`custody::register::bench`), and each `record_stored` (the commit of a recording) is
//! timed.
//!
//! Usage: force_commits (--url URI | --sqlite FILE) [--docks N] [--recordings N] [--tag T]
//!        force_commits (--url URI | --sqlite FILE) --schema-only
//! Prints a summary on stderr, then one JSON line (milliseconds) for scripts.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use chrono::Utc;
use clap::Parser;
use sentinel_dock::base::config::RegisterConfig;
use sentinel_dock::custody::register::Register;
use sentinel_dock::custody::register::bench::{BenchDock, Commit};

/// Times a force's docks committing at once (see the file's header).
#[derive(Parser, Debug)]
struct Args {
    /// A PostgreSQL register (libpq's URI).
    #[arg(long, conflicts_with = "sqlite", required_unless_present = "sqlite")]
    url: Option<String>,
    /// An SQLite register (created when missing).
    #[arg(long)]
    sqlite: Option<PathBuf>,
    /// Docks committing at once.
    #[arg(long, default_value_t = 10)]
    docks: u32,
    /// Recordings each dock ingests, one after the other.
    #[arg(long, default_value_t = 100)]
    recordings: u32,
    /// Part of each camera's serial, so that runs on one register use their own cameras.
    #[arg(long, default_value = "0")]
    tag: String,
    /// Only create (or migrate) the register's schema, then exit.
    #[arg(long)]
    schema_only: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("force_commits: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = RegisterConfig {
        path: args.sqlite.clone().unwrap_or_default(),
        url: args.url.clone(),
        password_file: None,
    };
    let name = args
        .url
        .clone()
        .or_else(|| args.sqlite.as_ref().map(|p| p.display().to_string()))
        .unwrap_or_default();
    // Made (or migrated) once before the docks start, as the first daemon would.
    Register::open_config(&config, "").with_context(|| format!("opening {name}"))?;
    if args.schema_only {
        return Ok(());
    }
    let start = Arc::new(Barrier::new(args.docks as usize));
    let began = Instant::now();
    let docks: Vec<_> = (0..args.docks)
        .map(|d| {
            let (config, start, tag) = (config.clone(), Arc::clone(&start), args.tag.clone());
            let recordings = args.recordings;
            std::thread::spawn(move || -> anyhow::Result<Vec<Commit>> {
                let camera = format!("SNTL-F{tag}-{:03}", d + 1);
                let register = Register::open_config(&config, "")?;
                let mut dock = BenchDock::dock(register, &camera, Utc::now())?;
                start.wait();
                let commits = (0..recordings)
                    .map(|_| dock.ingest_next())
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(|| format!("dock {} ({camera})", d + 1))?;
                dock.undock()?;
                Ok(commits)
            })
        })
        .collect();
    let mut all = Vec::new();
    for dock in docks {
        all.extend(
            dock.join()
                .map_err(|_| anyhow!("a dock's thread panicked"))??,
        );
    }
    let wall = began.elapsed().as_secs_f64();
    let ms = |f: fn(&Commit) -> Duration| {
        let mut v: Vec<f64> = all.iter().map(|c| f(c).as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let stored = ms(|c| c.stored);
    let discovered = ms(|c| c.discovered);
    let wiped = ms(|c| c.wiped);
    let q = |v: &[f64], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    anyhow::ensure!(!stored.is_empty(), "no recording was ingested");
    eprintln!(
        "{} docks x {} recordings on {name}: record_stored median {:.2} ms, p95 {:.2} ms, max {:.2} ms; {:.1} recordings/s",
        args.docks,
        args.recordings,
        q(&stored, 0.5),
        q(&stored, 0.95),
        q(&stored, 1.0),
        stored.len() as f64 / wall
    );
    println!(
        "{}",
        serde_json::json!({
            "docks": args.docks, "recordings": stored.len(), "wall_s": wall,
            "stored_median_ms": q(&stored, 0.5), "stored_p95_ms": q(&stored, 0.95),
            "stored_max_ms": q(&stored, 1.0),
            "discovered_median_ms": q(&discovered, 0.5), "wiped_median_ms": q(&wiped, 0.5),
        })
    );
    Ok(())
}
