//! `sentinel-dockctl`: asks the running `sentinel-dockd` over its control socket.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use sentinel_dock::config::Config;
use sentinel_dock::control::client::Client;
use sentinel_dock::control::protocol::{Request, Response};
use sentinel_dock::status::{self, StatusReport};

/// Exit status for usage and configuration errors.
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(version, about = "Operate the dock-side evidence ingestion service")]
struct Cli {
    /// The service's configuration file: the control socket is found from it.
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
    /// Each docked camera (waiting, ingesting, safe to undock, needs attention), the
    /// store's free space and how long it lasts, and the RAID.
    Status {
        /// One JSON document on standard output (with --watch, one a line, each second).
        #[arg(long)]
        json: bool,
        /// Redraw every second until interrupted.
        #[arg(long)]
        watch: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sentinel-dockctl: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let result = match cli.command {
        Command::Status { json, watch } => status(&config, json, watch),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sentinel-dockctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn status(config: &Config, json: bool, watch: bool) -> anyhow::Result<()> {
    let mut client = Client::connect(&config.control.socket)?;
    let redraw = watch && !json && std::io::stdout().is_terminal();
    loop {
        let report = ask_status(&mut client)?;
        let mut out = std::io::stdout().lock();
        if json {
            let text = if watch {
                serde_json::to_string(&report)
            } else {
                serde_json::to_string_pretty(&report)
            };
            writeln!(out, "{}", text.context("encoding the status as JSON")?)?;
        } else {
            if redraw {
                write!(out, "\x1b[H\x1b[2J")?; // home, clear: one screen redrawn in place
            }
            write!(out, "{}", status::render(&report))?;
            if watch && !redraw {
                writeln!(out)?;
            }
        }
        out.flush()?;
        if !watch {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn ask_status(client: &mut Client) -> anyhow::Result<StatusReport> {
    let (response, _) = client.call(&Request::Status {})?;
    match response {
        Response::Status(report) => Ok(*report),
        Response::Error(e) => bail!("sentinel-dockd refused: {} ({:?})", e.message, e.code),
    }
}
