//! `sentinel-dockctl`: asks the running `sentinel-dockd` over its control socket: the
//! status, and the register commands of `commands::Command`, each run by the daemon for the
//! caller the kernel names (SO_PEERCRED), if the caller's role allows it.
//!
//! Exit status: 0 done; 1 the command ran and found something wrong (`audit verify` on a
//! broken chain, a `scrub` that found problems); 2 usage or configuration error; 3 refused,
//! failed (a purge above `retention.max_purge_share` without `--confirm`, say), or the
//! service could not be reached: the message says which.

use std::io::{IsTerminal, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, Subcommand};
use sentinel_dock::app::api::replies::{self, Consulted};
use sentinel_dock::app::api::request::Command;
use sentinel_dock::app::console;
use sentinel_dock::app::control::client::Client;
use sentinel_dock::app::control::copy_out::CopyOut;
use sentinel_dock::app::control::protocol::{CommandReply, Request, Response};
use sentinel_dock::app::status::{self, StatusReport};
use sentinel_dock::base::config::Config;

#[derive(Parser)]
#[command(
    version,
    about = "Operate the dock-side evidence ingestion service",
    after_help = "Exit status: 0 done; 1 the command ran and found something wrong (audit verify on a broken chain, a scrub that found problems); 2 usage or configuration error; 3 refused, failed, or the service could not be reached (the message says which)."
)]
struct Cli {
    /// The service's configuration file: the control socket is found from it.
    #[arg(
        long,
        global = true,
        default_value = "/etc/sentinel-dock/sentinel-dock.toml"
    )]
    config: PathBuf,
    /// Print JSON for programs: the status document, or the command's data.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Ctl,
}

#[derive(Subcommand)]
enum Ctl {
    /// Each docked camera (waiting, ingesting, safe to undock, needs attention), the
    /// store's free space and how long it lasts, and the RAID.
    Status {
        /// Redraw every second until interrupted (with --json, one document a line).
        #[arg(long)]
        watch: bool,
    },
    /// The console in a browser, on this machine only: prints its URL (with a one-time
    /// token) first, opens it, and serves until interrupted. It asks the service as you.
    Console {
        /// Where to listen: a loopback address (a random port on 127.0.0.1 by default).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Print the URL without opening a browser.
        #[arg(long)]
        no_browser: bool,
        /// Serve only the dock page (a screen beside the dock).
        #[arg(long)]
        kiosk: bool,
    },
    #[command(flatten)]
    Register(Command),
}

/// How a run ended.
enum Outcome {
    Done,
    /// The command ran and found something wrong (exit 1).
    Unsuccessful,
    /// Nothing was asked: the command line cannot be used as given (exit 2).
    Usage(anyhow::Error),
    /// Refused, failed or unreachable (exit 3).
    Failed(anyhow::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match Config::load(&cli.config) {
        Err(e) => Outcome::Usage(e.into()),
        Ok(config) => match cli.command {
            Ctl::Status { watch } => match status(&config, cli.json, watch) {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::Failed(e),
            },
            Ctl::Register(command) => register(&config, cli.json, command),
            Ctl::Console {
                listen,
                no_browser,
                kiosk,
            } => {
                let options = console::Options {
                    listen,
                    open_browser: !no_browser,
                    kiosk,
                };
                match console::run(config, options) {
                    Ok(()) => Outcome::Done,
                    Err(e @ console::ConsoleError::NotLoopback(_)) => Outcome::Usage(e.into()),
                    Err(e) => Outcome::Failed(e.into()),
                }
            }
        },
    };
    let (code, error) = match outcome {
        Outcome::Done => (0, None),
        Outcome::Unsuccessful => (1, None),
        Outcome::Usage(e) => (2, Some(e)),
        Outcome::Failed(e) => (3, Some(e)),
    };
    if let Some(e) = error {
        eprintln!("sentinel-dockctl: {e:#}");
    }
    ExitCode::from(code)
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
    let (response, _) = client.call(&Request::Status)?;
    match response {
        Response::Status(report) => Ok(*report),
        Response::Error(e) => bail!("{}", e.message),
        Response::Reply(_) => bail!("sentinel-dockd answered a status request with something else"),
    }
}

/// A register command: prepared here (the consultation's output file, an absolute `--to`),
/// run by the daemon, its answer printed.
fn register(config: &Config, json: bool, mut command: Command) -> Outcome {
    let mut copy_out = None;
    match &mut command {
        Command::Consult(a) => match consult_output(a.out.take()) {
            Ok(out) => copy_out = Some(out),
            Err(e) => return Outcome::Usage(e),
        },
        // The daemon does not share the caller's working folder.
        Command::Extract(a) => match std::path::absolute(&a.to) {
            Ok(to) => a.to = to,
            Err(e) => return Outcome::Usage(anyhow!("--to {}: {e}", a.to.display())),
        },
        Command::Anonymise(a) => {
            if let Some(to) = &a.to {
                match std::path::absolute(to) {
                    Ok(abs) => a.to = Some(abs),
                    Err(e) => return Outcome::Usage(anyhow!("--to {}: {e}", to.display())),
                }
            }
        }
        _ => {}
    }
    let answer = ask(config, command);
    let (reply, fd) = match answer {
        Ok(answer) => answer,
        Err(e) => {
            if let Some(out) = copy_out {
                out.discard();
            }
            return Outcome::Failed(e);
        }
    };
    let printed = match copy_out {
        Some(out) => deliver(out, fd, &reply, json),
        None => print_reply(&mut std::io::stdout().lock(), &reply, json),
    };
    match printed {
        Err(e) => Outcome::Failed(e),
        Ok(()) if reply.success => Outcome::Done,
        Ok(()) => Outcome::Unsuccessful,
    }
}

/// `--out FILE` (a new file, 0600), `--out -` (standard output), or nothing: standard
/// output when it is not a terminal (a recording is not for a terminal).
fn consult_output(out: Option<PathBuf>) -> anyhow::Result<CopyOut> {
    match out {
        Some(path) if path == Path::new("-") => Ok(CopyOut::Stdout),
        Some(path) => Ok(CopyOut::create(&path)?),
        None if std::io::stdout().is_terminal() => bail!(
            "consult writes the recording to a file: give --out FILE (a new file only you can read), or --out - to write it to standard output"
        ),
        None => Ok(CopyOut::Stdout),
    }
}

fn ask(config: &Config, command: Command) -> anyhow::Result<(CommandReply, Option<OwnedFd>)> {
    let mut client = Client::connect(&config.control.socket)?;
    let (response, fd) = client.call(&Request::Command(command))?;
    match response {
        Response::Reply(reply) => Ok((reply, fd)),
        Response::Error(e) => bail!("{}", e.message),
        Response::Status(_) => bail!("sentinel-dockd answered a command with a status"),
    }
}

/// Writes the consulted recording where asked; the reply goes to standard output, or to
/// standard error when standard output carries the recording.
fn deliver(
    out: CopyOut,
    fd: Option<OwnedFd>,
    reply: &CommandReply,
    json: bool,
) -> anyhow::Result<()> {
    let Some(fd) = fd else {
        out.discard();
        bail!(
            "sentinel-dockd traced the consultation but passed no file: {}",
            reply.message
        );
    };
    let consulted: Consulted = match replies::decode(&reply.data) {
        Ok(c) => c,
        Err(e) => {
            out.discard();
            return Err(e.into());
        }
    };
    let file = match &out {
        CopyOut::File { path, .. } => Some(path.clone()),
        CopyOut::Stdout => None,
    };
    let copied = out.fill(fd, consulted.size, &consulted.sha256)?;
    match file {
        Some(path) => {
            let mut stdout = std::io::stdout().lock();
            print_reply(&mut stdout, reply, json)?;
            if !json {
                writeln!(
                    stdout,
                    "written to {} ({copied} bytes, readable by you alone)",
                    path.display()
                )?;
            }
            Ok(())
        }
        None => print_reply(&mut std::io::stderr().lock(), reply, json),
    }
}

fn print_reply(out: &mut impl Write, reply: &CommandReply, json: bool) -> anyhow::Result<()> {
    if json {
        let text = serde_json::to_string_pretty(&reply.data).context("encoding the answer")?;
        writeln!(out, "{text}")?;
    } else if reply.message.ends_with('\n') {
        write!(out, "{}", reply.message)?;
    } else {
        writeln!(out, "{}", reply.message)?;
    }
    Ok(())
}
