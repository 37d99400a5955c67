//! `sentinel-dockd`: the dock-side ingestion service (no subcommand: run it in the
//! foreground, as systemd does); `ingest` runs the pipeline once on one camera.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use sentinel_dock::app::ingest::{self, Options, ReadThrottle};
use sentinel_dock::app::{logging, service};
use sentinel_dock::base::config::Config;
use sentinel_dock::base::error::Chain;
use sentinel_dock::camera::usb;
use sentinel_dock::custody::opener;
use sentinel_dock::custody::register::Register;
use sentinel_dock::custody::scrub;
use sentinel_dock::custody::store::Store;

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
    /// Tell which camera is behind a block device, as its USB descriptors say.
    ///
    /// Exit status: 0 a SENTINEL camera (or a disk image, which has no USB identity);
    /// 1 refused (another vendor or product, a missing or unusable serial) or unreadable;
    /// 2 usage or configuration error.
    UsbIdentify {
        /// The camera's block device (whole disk or partition), e.g. /dev/sdb or a dock link.
        device: PathBuf,
        /// Print one JSON document on standard output: `device`, and `usb` (null for an image).
        #[arg(long)]
        json: bool,
    },
    /// Print the udev rule for the configured [usb] vendor_id and product_id.
    UdevRule,
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
    let program = match cli.command {
        None => logging::Program::Service,
        Some(_) => logging::Program::OneShot,
    };
    if let Err(e) = logging::init(program) {
        eprintln!("sentinel-dockd: {}", Chain(&e));
        return ExitCode::from(EXIT_USAGE);
    }
    let Some(command) = cli.command else {
        return run_service(&cli.config);
    };
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sentinel-dockd: {}", Chain(&e));
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
        Command::UsbIdentify { device, json } => match run_usb_identify(&config, &device, json) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("sentinel-dockd: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::UdevRule => {
            print!("{}", usb::udev_rule(&config.usb));
            ExitCode::SUCCESS
        }
        Command::Scrub { json } => match run_scrub(&config, json) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("sentinel-dockd: {e:#}");
                ExitCode::from(EXIT_UNFINISHED)
            }
        },
    }
}

/// Prints who the camera behind `device` is; a refusal is an error.
fn run_usb_identify(config: &Config, device: &Path, json: bool) -> anyhow::Result<()> {
    let identity = usb::identify(device, &config.usb, &config.profile)?;
    if json {
        let doc = serde_json::json!({ "device": device, "usb": identity });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    match identity {
        None => println!("{}: a disk image, no USB identity", device.display()),
        Some(id) => println!(
            "{}: SENTINEL camera {} (USB {:04x}:{:04x}, bus {:03} device {:03}, manufacturer {:?}, product {:?})",
            device.display(),
            id.serial,
            id.vendor_id,
            id.product_id,
            id.bus,
            id.address,
            id.manufacturer.unwrap_or_default(),
            id.product.unwrap_or_default(),
        ),
    }
    Ok(())
}

fn run_service(config: &std::path::Path) -> ExitCode {
    match service::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("sentinel-dockd cannot run: {}", Chain(&e));
            eprintln!("sentinel-dockd: {}", Chain(&e));
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
    let stopped = || {
        format!(
            "ingest of {} stopped; nothing unproven was wiped",
            source.display()
        )
    };
    // Its own owner of the store and register for this one run.
    let (store, mut register) = opener::open(
        &config.store,
        &config.register.path,
        &config.site.name,
        options.clock.now(),
    )
    .map_err(ingest::IngestError::from)
    .with_context(stopped)?;
    let report =
        ingest::ingest(config, &source, &store, &mut register, &options).with_context(stopped)?;
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
    let mut register = Register::open_at(path, &config.site.name)?;
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
