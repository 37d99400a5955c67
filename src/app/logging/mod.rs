//! Where log events go: the journal with structured fields, or readable lines on stderr.
//!
//! Under systemd the service's events go to journald through its native protocol, each
//! field of an event a journal field: `camera_serial` becomes `CAMERA_SERIAL`, `message_id`
//! becomes `MESSAGE_ID` (which `journalctl -x` explains with `systemd/sentinel-dock.catalog`),
//! and a span's fields (`slot`, `camera_serial`...) are copied into every event inside it.
//! Anywhere else (a terminal, a test, `ingest` in a script) they are lines on stderr.
//!
//! An event of a kind listed in [`crate::base::events`] carries its id as a plain string:
//! `tracing::info!(message_id = events::CAMERA_DOCKED.id, camera_serial = %serial, "...")`.
//! (`?id` would quote it, and the journal would not recognise the id.)
//!
//! Environment:
//! - `SENTINEL_DOCK_LOG`: a level (`error`, `warn`, `info`, `debug`, `trace`) or
//!   directives (`info,sentinel_dock::camera::volume=debug`); by default `info` for the service,
//!   `warn` for one-shot commands such as `ingest`.
//! - `SENTINEL_DOCK_LOG_OUTPUT`: `auto` (default: the journal when `JOURNAL_STREAM` names
//!   stderr, as systemd sets it for a service), `journal` or `stderr`.

mod lines;
mod stream;

use tracing_journald::{Priority, PriorityMappings};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use stream::JOURNAL_STREAM;

/// The environment variable holding the log level or filter directives.
pub const LEVEL_VAR: &str = "SENTINEL_DOCK_LOG";
/// The environment variable choosing the output: `auto`, `journal` or `stderr`.
pub const OUTPUT_VAR: &str = "SENTINEL_DOCK_LOG_OUTPUT";
/// Where journald listens for native-protocol datagrams (fixed in tracing-journald).
pub(crate) const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Which kind of program is logging; it sets the level used when none is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// The long-running service: `info` by default, so the journal tells the day's story.
    Service,
    /// A one-shot command (`ingest`): `warn` by default, its report says the rest.
    OneShot,
}

impl Program {
    /// The filter used when `SENTINEL_DOCK_LOG` is unset or empty.
    ///
    /// fatfs warns about every layout quirk of a camera's boot sector ("reserved_sectors
    /// is not 1"): noise to a technician, and the volume layer reports what matters.
    pub(crate) fn default_level(self) -> &'static str {
        match self {
            Program::Service => "info,fatfs=error",
            Program::OneShot => "warn,fatfs=error",
        }
    }
}

/// The output asked for in `SENTINEL_DOCK_LOG_OUTPUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The journal when stderr is the journal's stream, stderr otherwise.
    Auto,
    /// The journal, whatever stderr is.
    Journal,
    /// Lines on stderr, whatever stderr is.
    Stderr,
}

/// Where `init` sent the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// journald, through its native protocol, with structured fields.
    Journal,
    /// Readable lines on standard error.
    Stderr,
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `SENTINEL_DOCK_LOG` holds something that is not a filter.
    #[error(
        "{LEVEL_VAR}={value:?} is not a log filter: {why}; use a level (error, warn, info, \
         debug, trace) or directives such as info,sentinel_dock::camera::volume=debug"
    )]
    Filter {
        /// The refused value.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// `SENTINEL_DOCK_LOG_OUTPUT` names no output.
    #[error("{OUTPUT_VAR}={value:?} is not a log output; use auto, journal or stderr")]
    Output {
        /// The refused value.
        value: String,
    },
    /// Another logger was installed first in this process.
    #[error("a logger is already installed in this process: {0}")]
    AlreadyInstalled(String),
}

/// Sets up logging for the whole process from the environment; call once, first thing.
///
/// When the journal is wanted but cannot be reached, the events go to stderr instead, and
/// the first of them says why: a service must never lose its log for want of journald.
pub fn init(program: Program) -> Result<Destination, LogError> {
    let filter = parse_filter(std::env::var(LEVEL_VAR).ok().as_deref(), program)?;
    let output = parse_output(std::env::var(OUTPUT_VAR).ok().as_deref())?;
    let want_journal = match output {
        Output::Auto => stream::stderr_is_journal(),
        Output::Journal => true,
        Output::Stderr => false,
    };
    let unreachable = if want_journal {
        match journal_layer() {
            Ok(journal) => {
                tracing_subscriber::registry()
                    .with(filter)
                    .with(journal)
                    .try_init()
                    .map_err(|e| LogError::AlreadyInstalled(e.to_string()))?;
                return Ok(Destination::Journal);
            }
            Err(e) => Some(e),
        }
    } else {
        None
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(lines::layer())
        .try_init()
        .map_err(|e| LogError::AlreadyInstalled(e.to_string()))?;
    if let Some(e) = unreachable {
        tracing::warn!(
            "the journal cannot be reached at {JOURNAL_SOCKET} ({e}); logging to standard \
             error instead: check that systemd-journald is running"
        );
    }
    Ok(Destination::Stderr)
}

/// The journald layer: field names as they are (no `F_` prefix), syslog-like priorities.
fn journal_layer() -> std::io::Result<tracing_journald::Layer> {
    // tracing-journald maps info to NOTICE by default; the journal's convention (and
    // `journalctl -p info`) wants info at INFO and debug at DEBUG.
    let priorities = PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    };
    Ok(tracing_journald::layer()?
        .with_field_prefix(None)
        .with_priority_mappings(priorities))
}

/// The filter from `SENTINEL_DOCK_LOG`'s value; unset or blank means the program's default.
///
/// A bare word that is not a level is refused: EnvFilter would take it for a module name
/// and silently log nothing else (`SENTINEL_DOCK_LOG=verbose`).
pub(crate) fn parse_filter(value: Option<&str>, program: Program) -> Result<EnvFilter, LogError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else {
        return Ok(EnvFilter::new(program.default_level()));
    };
    let refuse = |why: String| LogError::Filter {
        value: value.to_owned(),
        why,
    };
    for directive in value.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let bare = !directive.contains('=') && !directive.contains('[');
        if bare && directive.parse::<LevelFilter>().is_err() {
            return Err(refuse(format!(
                "{directive:?} is not a level (to name a module, write {directive}=debug)"
            )));
        }
    }
    EnvFilter::builder()
        .parse(value)
        .map_err(|e| refuse(e.to_string()))
}

/// The output from `SENTINEL_DOCK_LOG_OUTPUT`'s value; unset or blank means `auto`.
pub(crate) fn parse_output(value: Option<&str>) -> Result<Output, LogError> {
    match value.map(str::trim).unwrap_or("") {
        "" | "auto" => Ok(Output::Auto),
        "journal" => Ok(Output::Journal),
        "stderr" => Ok(Output::Stderr),
        other => Err(LogError::Output {
            value: other.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_blank_level_is_the_programs_default() {
        let service = parse_filter(None, Program::Service).unwrap();
        assert_eq!(service.max_level_hint(), Some(LevelFilter::INFO));
        let one_shot = parse_filter(Some("  "), Program::OneShot).unwrap();
        assert_eq!(one_shot.max_level_hint(), Some(LevelFilter::WARN));
    }

    #[test]
    fn levels_and_directives_are_accepted() {
        let debug = parse_filter(Some("debug"), Program::OneShot).unwrap();
        assert_eq!(debug.max_level_hint(), Some(LevelFilter::DEBUG));
        let mixed = parse_filter(
            Some("warn,sentinel_dock::camera::volume=trace"),
            Program::Service,
        );
        assert_eq!(mixed.unwrap().max_level_hint(), Some(LevelFilter::TRACE));
        assert!(parse_filter(Some("INFO"), Program::Service).is_ok());
    }

    #[test]
    fn a_bare_word_that_is_no_level_is_refused_with_the_fix() {
        let err = parse_filter(Some("verbose"), Program::Service).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("SENTINEL_DOCK_LOG=\"verbose\""),
            "{message}"
        );
        assert!(message.contains("verbose=debug"), "{message}");
        let err = parse_filter(Some("info,chatty"), Program::Service).unwrap_err();
        assert!(
            err.to_string().contains("\"chatty\" is not a level"),
            "{err}"
        );
    }

    #[test]
    fn a_malformed_directive_is_refused() {
        let err = parse_filter(Some("sentinel_dock=loud"), Program::Service).unwrap_err();
        assert!(matches!(err, LogError::Filter { .. }), "{err}");
    }

    #[test]
    fn outputs_parse_and_unknown_ones_are_refused() {
        assert_eq!(parse_output(None).unwrap(), Output::Auto);
        assert_eq!(parse_output(Some("")).unwrap(), Output::Auto);
        assert_eq!(parse_output(Some("journal")).unwrap(), Output::Journal);
        assert_eq!(parse_output(Some("stderr")).unwrap(), Output::Stderr);
        let err = parse_output(Some("syslog")).unwrap_err();
        assert!(
            err.to_string().contains("use auto, journal or stderr"),
            "{err}"
        );
    }
}
