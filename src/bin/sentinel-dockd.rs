//! `sentinel-dockd`: the dock-side ingestion service (no subcommand: run it in the
//! foreground, as systemd does); `ingest` runs the pipeline once on one camera.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sentinel_dock::config::Config;
use sentinel_dock::ingest::{self, Options, ReadThrottle};
use sentinel_dock::service;

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
    /// Without a subcommand, the service runs in the foreground until SIGTERM.
    #[command(subcommand)]
    command: Option<Command>,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        // fatfs warns about harmless BPB details on every opening of a camera.
        init_logging("info,fatfs=error");
        return run_service(&cli.config);
    };
    init_logging("warn");
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sentinel-dockd: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match command {
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
    }
}

fn run_service(config: &std::path::Path) -> ExitCode {
    match service::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("sentinel-dockd cannot run: {e}");
            eprintln!("sentinel-dockd: {e}");
            ExitCode::from(if e.is_config() { EXIT_USAGE } else { 1 })
        }
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
        throttle: ReadThrottle::from_config(&config.simulate),
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

/// Logs go to stderr; `SENTINEL_DOCK_LOG` (e.g. `info`, `debug`) sets the level, `default` otherwise.
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SENTINEL_DOCK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
