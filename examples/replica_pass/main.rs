//! Replicates what the register's replica queue holds, pass after pass, until nothing is
//! due, for `scripts/bench --replica`: uploads, HEAD and read-back proofs, audit entries,
//! as the daemon's uploader does.
//!
//! Usage: replica_pass --config FILE
//! Prints one JSON line: recordings replicated, failures, seconds.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::Parser;
use sentinel_dock::base::config::Config;
use sentinel_dock::custody::register::Register;
use sentinel_dock::replica::{Bucket, ReplicaQueue, Uploader};

/// Replicates the queue (see the file's header).
#[derive(Parser)]
struct Args {
    /// The configuration with its `[replica]` section.
    #[arg(long)]
    config: PathBuf,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replica_pass: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config::load(&args.config)?;
    if !config.replica.enabled() {
        bail!("{} has no [replica] endpoint", args.config.display());
    }
    let mut register = Register::open(&config.register.path)?;
    let bucket = Bucket::connect(&config.replica)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    let start = Instant::now();
    register.in_write(|tx| ReplicaQueue::queue_unqueued(tx, Utc::now()))?;
    let (mut replicated, mut failed) = (0, 0);
    loop {
        let pass =
            runtime.block_on(Uploader::new(&bucket, &config).pass(&mut register, Utc::now()))?;
        replicated += pass.replicated.len();
        failed += pass.failed.len();
        if !pass.failed.is_empty() {
            bail!("replication failed: {:?}", pass.failed);
        }
        if pass.replicated.is_empty() && pass.expired.is_empty() {
            break;
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "replicated": replicated,
            "failed": failed,
            "secs": start.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
