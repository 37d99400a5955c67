//! The configuration of the long-running service: `[dock]`, `[control]`, `[status]`,
//! `[simulate]`, `[extract]`, `[scrub]`.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ByteSize, Config, ConfigError, invalid};

/// The longest path a Unix socket address holds (`sun_path`, without its final NUL).
const MAX_SOCKET_PATH: usize = 107;

/// `[dock]`: the folder where udev links each docked camera's block device, named by serial.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockConfig {
    /// false: this daemon has no dock (a force's head office): it serves the commands and
    /// the console only, and neither watches nor needs the dock folder.
    #[serde(default = "default_dock_enabled")]
    pub enabled: bool,
    /// The dock folder; relative paths are taken from the configuration file's folder.
    #[serde(default = "default_dock_path")]
    pub path: PathBuf,
    /// Serials of the cameras this dock serves.
    #[serde(default)]
    pub enrolled: Vec<String>,
    /// When true, a camera enrolled neither in `enrolled` nor in the register
    /// (`sentinel-dockctl camera enroll`) is reported and not ingested.
    #[serde(default)]
    pub enrolled_only: bool,
}

impl Default for DockConfig {
    fn default() -> Self {
        DockConfig {
            enabled: default_dock_enabled(),
            path: default_dock_path(),
            enrolled: Vec::new(),
            enrolled_only: false,
        }
    }
}

/// `[control]`: the service's Unix socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// The socket's path; relative paths are taken from the configuration file's folder.
    #[serde(default = "default_control_socket")]
    pub socket: PathBuf,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            socket: default_control_socket(),
        }
    }
}

/// `[status]`: sources of the status beyond the cameras.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// The kernel's md RAID report; an array listed there is shown, a degraded one warned about.
    #[serde(default = "default_mdstat")]
    pub mdstat: PathBuf,
}

impl Default for StatusConfig {
    fn default() -> Self {
        StatusConfig {
            mdstat: default_mdstat(),
        }
    }
}

/// `[simulate]`: makes every camera's video reads as slow as a USB 2.0 camera; 0 is off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateConfig {
    /// Bytes per second a video is read at; 0: as fast as the source allows.
    #[serde(default)]
    pub read_bytes_per_sec: ByteSize,
    /// Milliseconds each read request (up to 64 KiB) waits before its bytes come; 0: none.
    #[serde(default)]
    pub read_latency_ms: u32,
}

/// `[extract]`: where the daemon may write the bags of `sentinel-dockctl extract`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractConfig {
    /// Every `--to` must be this folder or inside it; relative paths are taken from the
    /// configuration file's folder.
    #[serde(default = "default_extract_root")]
    pub root: PathBuf,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            root: default_extract_root(),
        }
    }
}

/// `[scrub]`: how often the daemon reads the whole store back and compares it with the register.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrubConfig {
    /// Days between two scrubs (counted from the last one the audit register holds,
    /// whoever ran it); 0: never by itself, only `sentinel-dockctl scrub`.
    #[serde(default = "default_scrub_every_days")]
    pub every_days: u32,
}

impl Default for ScrubConfig {
    fn default() -> Self {
        ScrubConfig {
            every_days: default_scrub_every_days(),
        }
    }
}

fn default_scrub_every_days() -> u32 {
    7
}

fn default_extract_root() -> PathBuf {
    PathBuf::from("/var/lib/sentinel-dock-exports")
}

fn default_dock_enabled() -> bool {
    true
}

fn default_dock_path() -> PathBuf {
    PathBuf::from("/dev/sentinel-dock")
}

fn default_control_socket() -> PathBuf {
    PathBuf::from("/run/sentinel-dock/control.sock")
}

fn default_mdstat() -> PathBuf {
    PathBuf::from("/proc/mdstat")
}

/// Checks the keys only the service (`sentinel-dockd` without a subcommand) uses.
pub(super) fn validate(config: &Config) -> Result<(), ConfigError> {
    if config.dock.path.starts_with(&config.store.path) {
        return Err(invalid(
            "dock.path",
            "must be outside store.path: the store holds only recordings",
        ));
    }
    let serial = config.profile.serial_regex();
    if let Some(bad) = config.dock.enrolled.iter().find(|s| !serial.is_match(s)) {
        return Err(ConfigError::Invalid {
            key: "dock.enrolled",
            message: format!(
                "`{bad}` is not a camera serial: it must match profile.serial_pattern ({})",
                config.profile.serial_pattern
            ),
        });
    }
    if config.extract.root.starts_with(&config.store.path) {
        return Err(invalid(
            "extract.root",
            "must be outside store.path: bags are handed out, the store holds only recordings",
        ));
    }
    let socket_len = config.control.socket.as_os_str().len();
    if socket_len > MAX_SOCKET_PATH {
        return Err(ConfigError::Invalid {
            key: "control.socket",
            message: format!(
                "is {socket_len} bytes long; a Unix socket path holds at most {MAX_SOCKET_PATH}: choose a shorter path"
            ),
        });
    }
    if config.scrub.every_days > 366 {
        return Err(invalid(
            "scrub.every_days",
            "must be at most 366 (a scrub a year at least); 7 for weekly, 0 for never by itself",
        ));
    }
    if config.simulate.read_latency_ms > 10_000 {
        return Err(invalid(
            "simulate.read_latency_ms",
            "must be at most 10000 (10 s)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const MINIMAL: &str = "[store]\npath = \"/srv/store\"\n[register]\npath = \"reg.sqlite\"\n";

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        Config::from_toml(
            &format!("{MINIMAL}{extra}"),
            Path::new("/etc/sentinel-dock"),
        )
    }

    #[test]
    fn service_keys_default_and_resolve_relative_paths() {
        let c = parse("").unwrap();
        assert_eq!(c.dock.path, Path::new("/dev/sentinel-dock"));
        assert_eq!(
            c.control.socket,
            Path::new("/run/sentinel-dock/control.sock")
        );
        assert_eq!(c.status.mdstat, Path::new("/proc/mdstat"));
        assert_eq!(c.extract.root, Path::new("/var/lib/sentinel-dock-exports"));
        assert_eq!(c.ingest.max_parallel, 4);
        assert!(!c.dock.enrolled_only);
        assert!(c.dock.enabled);
        assert!(!parse("[dock]\nenabled = false\n").unwrap().dock.enabled);
        assert_eq!(c.simulate.read_bytes_per_sec, ByteSize(0));
        assert_eq!(c.scrub.every_days, 7);
        assert_eq!(
            parse("[scrub]\nevery_days = 0\n").unwrap().scrub.every_days,
            0
        );
        let c = parse(
            "[dock]\npath = \"dock\"\n[control]\nsocket = \"c.sock\"\n[extract]\nroot = \"out\"\n",
        )
        .unwrap();
        assert_eq!(c.dock.path, Path::new("/etc/sentinel-dock/dock"));
        assert_eq!(c.extract.root, Path::new("/etc/sentinel-dock/out"));
        assert_eq!(c.control.socket, Path::new("/etc/sentinel-dock/c.sock"));
    }

    #[test]
    fn bad_service_values_name_their_key() {
        let cases = [
            ("[ingest]\nmax_parallel = 0\n", "ingest.max_parallel"),
            ("[dock]\nenrolled = [\"../x\"]\n", "dock.enrolled"),
            ("[extract]\nroot = \"/srv/store/out\"\n", "extract.root"),
            ("[dock]\npath = \"/srv/store/dock\"\n", "dock.path"),
            (
                "[simulate]\nread_latency_ms = 60000\n",
                "simulate.read_latency_ms",
            ),
            ("[dock]\npaht = \"/x\"\n", "paht"),
            ("[scrub]\nevery_days = 400\n", "scrub.every_days"),
            ("[scrub]\nevery = 7\n", "every"),
        ];
        for (extra, key) in cases {
            let err = parse(extra).expect_err(extra);
            assert!(err.to_string().contains(key), "{extra}: {err}");
        }
        let long = format!("[control]\nsocket = \"/{}\"\n", "s".repeat(120));
        let err = parse(&long).unwrap_err();
        assert!(err.to_string().contains("control.socket"), "{err}");
    }

    #[test]
    fn simulate_takes_sizes_with_units() {
        let c = parse("[simulate]\nread_bytes_per_sec = \"35 MB\"\nread_latency_ms = 2\n").unwrap();
        assert_eq!(c.simulate.read_bytes_per_sec, ByteSize(35_000_000));
        assert_eq!(c.simulate.read_latency_ms, 2);
    }
}
