//! `sentinel-dockd`: the dock-side ingestion service; `ingest` runs the pipeline once.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sentinel_dock::config::Config;
use sentinel_dock::ingest::{self, Options};
use sentinel_dock::register::Register;
use sentinel_dock::scrub;
use sentinel_dock::store::Store;

/// Exit status for usage and configuration errors.
const EXIT_USAGE: u8 = 2;
/// Exit status when an ingest could not finish; nothing unproven was wiped.
const EXIT_UNFINISHED: u8 = 3;

#[derive(Parser)]
#[command(version, about = "Dock-side evidence ingestion for body-worn cameras")]
struct Cli {
    /// The configuration file (TOML); see config/sentinel-dock.toml for every key.
    #[arg(
        long,
        global = true,
        default_value = "/etc/sentinel-dock/sentinel-dock.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest one camera once: verify, copy, prove, register, then wipe what is proven.
    ///
    /// Exit status: 0 every recording confirmed and wiped; 1 finished, but some recordings
    /// are quarantined or left on the camera; 2 usage or configuration error; 3 could not
    /// finish (source unreadable, store full...), nothing unproven wiped.
    Ingest {
        /// A block device or disk image holding the camera's FAT volume, or the folder where it is mounted.
        source: PathBuf,
        /// Print one JSON document describing the result on standard output.
        #[arg(long)]
        json: bool,
        /// The camera's USB serial string, when known; it must agree with DEVICE.INI.
        #[arg(long)]
        serial: Option<String>,
    },
    /// Read every stored file back from disk and compare it with the register.
    ///
    /// Reports changed, missing, unexpected and unreadable files by recording name. Exit
    /// status: 0 the store holds exactly what the register says; 1 problems found (each
    /// also logged as an alarm); 2 configuration error; 3 the scrub could not run.
    Scrub {
        /// Print one JSON document describing the result on standard output.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sentinel-dockd: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match cli.command {
        Command::Ingest {
            source,
            json,
            serial,
        } => match run_ingest(&config, source, json, serial) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("sentinel-dockd: {e:#}");
                ExitCode::from(EXIT_UNFINISHED)
            }
        },
        Command::Scrub { json } => match run_scrub(&config, json) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("sentinel-dockd: {e:#}");
                ExitCode::from(EXIT_UNFINISHED)
            }
        },
    }
}

fn run_ingest(
    config: &Config,
    source: PathBuf,
    json: bool,
    serial: Option<String>,
) -> anyhow::Result<u8> {
    let options = Options {
        usb_serial: serial,
        ..Options::default()
    };
    let report = ingest::ingest(config, &source, &options).with_context(|| {
        format!(
            "ingest of {} stopped; nothing unproven was wiped",
            source.display()
        )
    })?;
    eprint!("{}", report.summary());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the JSON report")?
        );
    }
    Ok(report.exit_code())
}

fn run_scrub(config: &Config, json: bool) -> anyhow::Result<u8> {
    let store =
        Store::open_existing(&config.store.path).context("opening the store to scrub it")?;
    let path = &config.register.path;
    // Register::open would create an empty register, and every stored file would then
    // look unexpected: a missing register is its own error.
    anyhow::ensure!(
        path.is_file(),
        "the register {} does not exist: check register.path, or restore it from a backup",
        path.display()
    );
    let mut register = Register::open(path)?;
    let report = scrub::scrub(&store, &mut register)?;
    eprint!("{}", report.summary());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the JSON report")?
        );
    }
    Ok(if report.is_clean() { 0 } else { 1 })
}

/// Logs go to stderr; `SENTINEL_DOCK_LOG` (e.g. `info`, `debug`) sets the level, `warn` by default.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENTINEL_DOCK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
