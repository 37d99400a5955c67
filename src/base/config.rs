//! The TOML configuration: store, register, camera profile, wipe, access roles, retention;
//! checked before use.
//!
//! One name per setting everywhere: the key in the file is the field name here, and every
//! key is documented in `config/sentinel-dock.toml`. Unknown keys are refused, because a
//! misspelt `reserve` silently falling back to its default is worse than an error.

use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Deserializer};

mod anonymise;
mod console;
mod quantity;
mod replica;
mod seconds;
mod service;
mod site;

pub use anonymise::AnonymiseConfig;
pub(crate) use console::{ConsoleConfig, Language};
pub(crate) use replica::{LockMode, MAX_PART, MIN_PART, ReplicaConfig};
pub use seconds::Seconds;
pub use site::SiteConfig;

pub(crate) use service::{
    ControlConfig, DockConfig, ExtractConfig, ScrubConfig, SimulateConfig, StatusConfig,
};

/// Why a configuration could not be used; each message names the key or file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read configuration file {path}")]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TOML is malformed, or a key is unknown or has a value of the wrong type.
    #[error("configuration file {path}: {message}")]
    Parse {
        /// The configuration file.
        path: PathBuf,
        /// The TOML parser's message, which names the key and line.
        message: String,
    },
    /// A key has a value of the right type that cannot be used.
    #[error("configuration key `{key}`: {message}")]
    Invalid {
        /// The dotted key, e.g. `profile.serial_pattern`.
        key: &'static str,
        /// What is wrong and what would be right.
        message: String,
    },
}

/// The whole configuration of a dock machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where stored recordings live.
    pub store: StoreConfig,
    /// Where the SQLite register lives.
    pub register: RegisterConfig,
    /// What a docked camera holds (folders, extensions, sidecar sentence, limits).
    #[serde(default)]
    pub profile: Profile,
    /// How confirmed recordings are removed from the camera.
    #[serde(default)]
    pub wipe: WipeConfig,
    /// How bytes are copied.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// Which USB devices are SENTINEL cameras.
    #[serde(default)]
    pub usb: UsbConfig,
    /// Which cameras are docked, and which may be ingested.
    #[serde(default)]
    pub dock: DockConfig,
    /// The Unix socket `sentinel-dockctl` talks to.
    #[serde(default)]
    pub control: ControlConfig,
    /// Where the status finds what it reports beyond the cameras.
    #[serde(default)]
    pub status: StatusConfig,
    /// A slowed-down camera, for tests, demos and benchmarks (off by default).
    #[serde(default)]
    pub simulate: SimulateConfig,
    /// Who may do what (R241-12): Unix user names per role.
    #[serde(default)]
    pub access: AccessConfig,
    /// How long recordings are kept, and the brake on large purges.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Where extraction bags may be written.
    #[serde(default)]
    pub extract: ExtractConfig,
    /// How often the daemon scrubs the store by itself.
    #[serde(default)]
    pub scrub: ScrubConfig,
    /// The S3 replica under Object Lock (none by default).
    #[serde(default)]
    pub replica: ReplicaConfig,
    /// The browser console's language and time zone.
    #[serde(default)]
    pub console: ConsoleConfig,
    /// How footage for training is anonymised (faces blurred, voices masked).
    #[serde(default)]
    pub anonymise: AnonymiseConfig,
    /// Which site of the force this daemon serves (unnamed: a single-site install).
    #[serde(default)]
    pub site: SiteConfig,
}

/// `[access]`: the Unix users of each role; anyone else is refused (and the refusal traced).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// The head of the municipal police (and the mayor): every register command.
    #[serde(default)]
    pub head: Vec<String>,
    /// Agents individually designated and authorised: consult, extract, attribute, hold...
    #[serde(default)]
    pub authorised: Vec<String>,
    /// Technicians: the service's status and the scrub, never a recording.
    #[serde(default)]
    pub technicians: Vec<String>,
}

impl AccessConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let roles: [(&'static str, &Vec<String>); 3] = [
            ("access.head", &self.head),
            ("access.authorised", &self.authorised),
            ("access.technicians", &self.technicians),
        ];
        let mut seen: Vec<(&str, &'static str)> = Vec::new();
        for (key, users) in roles {
            for user in users {
                let plain = !user.is_empty()
                    && user.len() <= 32
                    && !user.starts_with('-')
                    && user
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
                if !plain {
                    return Err(ConfigError::Invalid {
                        key,
                        message: format!(
                            "`{user}` is not a Unix user name (1 to 32 ASCII letters, digits, `_`, `-` or `.`)"
                        ),
                    });
                }
                if let Some((_, other)) = seen.iter().find(|(u, _)| u == user) {
                    return Err(ConfigError::Invalid {
                        key,
                        message: format!(
                            "user `{user}` is also listed in {other}: a user has one role, remove it from one list"
                        ),
                    });
                }
                seen.push((user, key));
            }
        }
        Ok(())
    }
}

/// `[retention]`: when stored recordings are deleted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days a recording is kept after its end (30 since 2022; 180 under the earlier regime).
    #[serde(default = "default_retention_days")]
    pub days: u32,
    /// The largest share of the store's recordings (in bytes) one purge may delete without
    /// the head of service's explicit confirmation.
    #[serde(default = "default_max_purge_share")]
    pub max_purge_share: f64,
    /// Days no recording is purged after its collection by this service (the register's
    /// `discovered_at`, on the service's clock), whatever its date: a brake no camera clock
    /// or GPS date can release. 0 turns it off.
    #[serde(default = "default_min_days_after_collection")]
    pub min_days_after_collection: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            days: default_retention_days(),
            max_purge_share: default_max_purge_share(),
            min_days_after_collection: default_min_days_after_collection(),
        }
    }
}

/// A week: the legal month is a maximum, and a recording kept a week longer than its date
/// says is a delay the register traces, while one deleted minutes after the camera was
/// wiped (its clock and GPS both wrong) is lost for good.
fn default_min_days_after_collection() -> u32 {
    7
}

fn default_retention_days() -> u32 {
    30
}

fn default_max_purge_share() -> f64 {
    0.25
}

fn default_raid_overhead() -> f64 {
    2.0
}

/// `[store]`: the RAID store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Root of the store; relative paths are taken from the configuration file's folder.
    pub path: PathBuf,
    /// Free space that must remain after copying a camera's recordings.
    #[serde(default = "default_reserve")]
    pub reserve: ByteSize,
    /// Raw disk bytes per byte stored (2.0 for RAID 1), for the storage forecasts.
    #[serde(default = "default_raid_overhead")]
    pub raid_overhead: f64,
    /// The store's disk's mount point: when it is not mounted, nothing is created, copied
    /// or wiped (unset: no check). `path`, and `register.path` if under it, lie inside.
    #[serde(default)]
    pub mount: Option<PathBuf>,
}

/// `[register]`: the SQLite register, or a force's on PostgreSQL.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterConfig {
    /// The register's SQLite file; relative paths are taken from the configuration file's folder.
    #[serde(default = "default_register_path")]
    pub path: PathBuf,
    /// A PostgreSQL register instead of the SQLite file (libpq's URI); exclusive with `path`.
    #[serde(default)]
    pub url: Option<String>,
    /// A file holding the PostgreSQL password, when the URI's authentication needs one.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// `[wipe]`: what removing a confirmed recording from the camera means.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WipeConfig {
    /// `delete` removes the directory entries; `overwrite` zeroes the file's clusters first.
    #[serde(default)]
    pub mode: WipeMode,
}

/// How a recording is removed from the camera.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WipeMode {
    /// Remove the directory entries and free the clusters.
    #[default]
    Delete,
    /// Write zeros over the file's clusters, then delete it.
    Overwrite,
}

/// `[ingest]`: how bytes move from the camera to the store.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Size of one read from the camera; also bounds memory per copy.
    #[serde(default = "default_copy_buffer")]
    pub copy_buffer: ByteSize,
    /// How many docked cameras the service ingests at once; the others wait their turn.
    #[serde(default = "default_max_parallel")]
    pub max_parallel: u32,
    /// How long a read from the camera's device may take before the camera is "not
    /// responding": its ingest ends, nothing unproven is wiped, the stuck read is abandoned.
    #[serde(default = "default_read_timeout")]
    pub read_timeout: Seconds,
    /// How far a camera's clock may be from GPS time and the docking before its recordings'
    /// times are not trusted (`evidence::trusted_time`).
    #[serde(default = "default_clock_tolerance")]
    pub clock_tolerance: Seconds,
    /// Size of the regions a copy is proven by (written out, read back from disk) while
    /// the rest of it is still being written.
    #[serde(default = "default_proof_region")]
    pub proof_region: ByteSize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            copy_buffer: default_copy_buffer(),
            max_parallel: default_max_parallel(),
            read_timeout: default_read_timeout(),
            clock_tolerance: default_clock_tolerance(),
            proof_region: default_proof_region(),
        }
    }
}

/// `[usb]`: the USB ids of the cameras; the udev rule (`sentinel-dockd udev-rule`) uses the same.
///
/// The defaults, 1209:0001, are pid.codes' shared test ids, standing in for the fictional
/// SENTINEL vendor: a real dock must set the vendor's own ids.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsbConfig {
    /// The cameras' USB vendor id (`idVendor`), written in hex in the file: `0x1209`.
    pub vendor_id: u16,
    /// The cameras' USB product id (`idProduct`), written in hex in the file: `0x0001`.
    pub product_id: u16,
}

impl Default for UsbConfig {
    fn default() -> Self {
        UsbConfig {
            vendor_id: 0x1209,
            product_id: 0x0001,
        }
    }
}

/// `[profile]`: what a docked camera looks like; the defaults are the built-in `sentinel-v1`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profile {
    /// The profile's name, recorded with each ingest session.
    pub name: String,
    /// The FAT volume label the camera's volume carries (checked, reported when different).
    pub volume_label: String,
    /// The identity file at the volume's root (`[device] serial=..., model=..., firmware=...`).
    pub device_ini: String,
    /// The folder at the root holding one folder per recording day.
    pub recordings_dir: String,
    /// The camera's own log folder: never wiped; copied at each docking.
    pub logs_dir: String,
    /// The on-camera consultations' log in `logs_dir` (L241-2 CSI).
    pub playback_log: String,
    /// The camera's events' log in `logs_dir` (power, recordings, clock set, storage errors).
    pub events_log: String,
    /// The firmware's other log in `logs_dir`: copied, not parsed.
    pub system_log: String,
    /// The most bytes read of each log; a larger one is read up to this, flagged truncated.
    pub max_log_bytes: ByteSize,
    /// Extension of the video files, without the dot.
    pub video_extension: String,
    /// Extension of the sidecar files, without the dot.
    pub sidecar_extension: String,
    /// The proprietary NMEA sentence of the sidecar's header and trailer, without `$`.
    pub sentence: String,
    /// What a camera serial must look like; anything else is refused as a name.
    pub serial_pattern: String,
    /// Allowed difference between the video's duration and the sidecar's end minus start.
    pub duration_tolerance_secs: u32,
    /// Allowed difference for position fixes outside the recording's time window.
    pub fix_tolerance_secs: u32,
    /// The longest pre-recording a camera may declare.
    pub max_prerecord_secs: u32,
    /// The largest video accepted; bigger is refused as impossible, not copied.
    pub max_video_bytes: ByteSize,
    /// The largest sidecar accepted (a sidecar is read whole into memory to be parsed).
    pub max_sidecar_bytes: ByteSize,
    /// The most entries read from any one directory of the volume.
    pub max_dir_entries: u32,
    /// The longest time spent reading the volume's directories before giving up on it.
    pub scan_deadline_secs: u32,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "sentinel-v1".into(),
            volume_label: "SENTINEL".into(),
            device_ini: "DEVICE.INI".into(),
            recordings_dir: "DCIM".into(),
            logs_dir: "LOG".into(),
            playback_log: "PLAYBACK.LOG".into(),
            events_log: "EVENTS.LOG".into(),
            system_log: "SYSTEM.LOG".into(),
            max_log_bytes: ByteSize(4 << 20),
            video_extension: "MP4".into(),
            sidecar_extension: "NMEA".into(),
            sentence: "PSNTL".into(),
            serial_pattern: "^[A-Z0-9][A-Z0-9-]{0,31}$".into(),
            duration_tolerance_secs: 2,
            fix_tolerance_secs: 2,
            max_prerecord_secs: 60,
            max_video_bytes: ByteSize(64 << 30),
            max_sidecar_bytes: ByteSize(64 << 20),
            max_dir_entries: 20_000,
            scan_deadline_secs: 60,
        }
    }
}

impl Profile {
    /// The compiled serial pattern (validated when the configuration was loaded).
    pub(crate) fn serial_regex(&self) -> Regex {
        // Validated in `Config::validate`; a built-in profile's pattern always compiles.
        Regex::new(&self.serial_pattern).unwrap_or_else(|_| Regex::new("^$").expect("literal"))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        Regex::new(&self.serial_pattern).map_err(|e| ConfigError::Invalid {
            key: "profile.serial_pattern",
            message: format!("not a valid regular expression: {e}"),
        })?;
        if !self.serial_pattern.starts_with('^') || !self.serial_pattern.ends_with('$') {
            return Err(invalid(
                "profile.serial_pattern",
                "must be anchored with ^ and $, so that a serial is matched whole",
            ));
        }
        let names: [(&'static str, &str); 10] = [
            ("profile.volume_label", &self.volume_label),
            ("profile.device_ini", &self.device_ini),
            ("profile.recordings_dir", &self.recordings_dir),
            ("profile.logs_dir", &self.logs_dir),
            ("profile.playback_log", &self.playback_log),
            ("profile.events_log", &self.events_log),
            ("profile.system_log", &self.system_log),
            ("profile.video_extension", &self.video_extension),
            ("profile.sidecar_extension", &self.sidecar_extension),
            ("profile.sentence", &self.sentence),
        ];
        for (key, value) in names {
            let plain = !value.is_empty()
                && value.len() <= 32
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
            if !plain || value.starts_with('.') {
                return Err(invalid(
                    key,
                    "must be 1 to 32 ASCII letters, digits, `_`, `-` or `.`, not starting with `.`",
                ));
            }
        }
        if self
            .video_extension
            .eq_ignore_ascii_case(&self.sidecar_extension)
        {
            return Err(invalid(
                "profile.sidecar_extension",
                "must differ from profile.video_extension",
            ));
        }
        if self.max_dir_entries == 0 {
            return Err(invalid("profile.max_dir_entries", "must be at least 1"));
        }
        if self.scan_deadline_secs == 0 {
            return Err(invalid("profile.scan_deadline_secs", "must be at least 1"));
        }
        // A log is read whole into memory to be parsed.
        if !(1 << 10..=64 << 20).contains(&self.max_log_bytes.0) {
            return Err(invalid(
                "profile.max_log_bytes",
                "must be 1 KiB to 64 MiB (the camera truncates its logs at 1 MiB)",
            ));
        }
        Ok(())
    }
}

pub(crate) fn invalid(key: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.to_string(),
    }
}

fn default_reserve() -> ByteSize {
    ByteSize(1 << 30)
}

fn default_copy_buffer() -> ByteSize {
    ByteSize(1 << 20)
}

/// The proof region when none is configured (`ingest.proof_region`'s default).
pub(crate) const DEFAULT_PROOF_REGION: u64 = 32 << 20;

fn default_proof_region() -> ByteSize {
    ByteSize(DEFAULT_PROOF_REGION)
}

fn default_max_parallel() -> u32 {
    4
}

fn default_read_timeout() -> Seconds {
    Seconds(30)
}

/// Two minutes: a sound camera drifts seconds a week and is docked every shift, the fixes
/// place a recording within seconds, and a dock machine's own clock stays within seconds
/// a day; yet it is short beside a shift, so a clock off by more cannot date a recording
/// into another agent's issue unnoticed.
fn default_clock_tolerance() -> Seconds {
    Seconds(120)
}

impl Config {
    /// Reads, parses and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::from_toml(&text, base).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks TOML text; relative paths are resolved against `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = absolute(base);
        if config.register.url.is_some() && names_register_path(text) {
            return Err(invalid(
                "register.url",
                "and register.path are exclusive: keep url for a PostgreSQL register, or path for an SQLite file",
            ));
        }
        config.store.path = base.join(&config.store.path);
        config.register.path = base.join(&config.register.path);
        config.register.password_file = config.register.password_file.map(|p| base.join(p));
        config.store.mount = config.store.mount.map(|m| base.join(m));
        config.dock.path = base.join(&config.dock.path);
        config.control.socket = base.join(&config.control.socket);
        config.status.mdstat = base.join(&config.status.mdstat);
        config.extract.root = base.join(&config.extract.root);
        config.replica.credentials = base.join(&config.replica.credentials);
        config.anonymise.model = base.join(&config.anonymise.model);
        config.anonymise.runtime = base.join(&config.anonymise.runtime);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.anonymise.validate()?;
        if self.store.path.as_os_str().is_empty() {
            return Err(invalid("store.path", "must name the store's folder"));
        }
        if let Some(url) = &self.register.url
            && !(url.starts_with("postgresql://") || url.starts_with("postgres://"))
        {
            return Err(invalid(
                "register.url",
                "must be a PostgreSQL URI (postgresql:///sentinel?host=/run/postgresql&user=sentinel-dock); leave it unset for the SQLite register at register.path",
            ));
        }
        if self.register.password_file.is_some() && self.register.url.is_none() {
            return Err(invalid(
                "register.password_file",
                "is PostgreSQL's password: set register.url too, or remove it",
            ));
        }
        if self.register.url.is_none() && self.register.path.starts_with(&self.store.path) {
            return Err(invalid(
                "register.path",
                "must be outside store.path: the store holds only recordings",
            ));
        }
        if let Some(mount) = &self.store.mount
            && !self.store.path.starts_with(mount)
        {
            return Err(invalid(
                "store.mount",
                "must be the mount point of the disk holding store.path (store.path lies under it), or be left unset",
            ));
        }
        let buffer = self.ingest.copy_buffer.0;
        if !(4096..=(64 << 20)).contains(&buffer) {
            return Err(invalid(
                "ingest.copy_buffer",
                "must be between 4 KiB and 64 MiB",
            ));
        }
        let region = self.ingest.proof_region.0;
        if !(1 << 20..=1 << 30).contains(&region) || !region.is_multiple_of(1 << 20) {
            return Err(invalid(
                "ingest.proof_region",
                "must be a whole number of MiB between 1 MiB and 1 GiB, e.g. \"32 MiB\"",
            ));
        }
        if !(1.0..=16.0).contains(&self.store.raid_overhead) {
            return Err(invalid(
                "store.raid_overhead",
                "must be between 1.0 (no redundancy) and 16.0; 2.0 for RAID 1, 1.5 for RAID 5 on 3 disks",
            ));
        }
        if !(1..=3660).contains(&self.retention.days) {
            return Err(invalid(
                "retention.days",
                "must be between 1 and 3660; the law asks 30 (180 under the earlier regime)",
            ));
        }
        let share = self.retention.max_purge_share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(invalid(
                "retention.max_purge_share",
                "must be a fraction above 0 and at most 1, e.g. 0.25",
            ));
        }
        // Longer than `retention.days` is allowed: it only keeps recordings longer (a test
        // bench with a one-day retention still keeps a week).
        if self.retention.min_days_after_collection > 366 {
            return Err(invalid(
                "retention.min_days_after_collection",
                "must be between 0 and 366 days; 7 keeps every recording at least a week after its collection",
            ));
        }
        self.access.validate()?;
        if self.usb.vendor_id == 0 {
            return Err(invalid(
                "usb.vendor_id",
                "must be the cameras' USB vendor id (0x0000 is not a vendor), e.g. 0x1209",
            ));
        }
        if !(1..=64).contains(&self.ingest.max_parallel) {
            return Err(invalid("ingest.max_parallel", "must be between 1 and 64"));
        }
        if !(1..=3_600).contains(&self.ingest.read_timeout.0) {
            return Err(invalid(
                "ingest.read_timeout",
                "must be between 1 s and 1 h (how long one camera read may take; \"30 s\" is the default)",
            ));
        }
        if !(1..=86_400).contains(&self.ingest.clock_tolerance.0) {
            return Err(invalid(
                "ingest.clock_tolerance",
                "must be between 1 s and 24 h, e.g. \"2 min\"",
            ));
        }
        self.profile.validate()?;
        self.replica.validate()?;
        self.site.validate()?;
        service::validate(self)
    }
}

impl std::fmt::Debug for RegisterConfig {
    /// A password written in the URI despite the advice is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterConfig")
            .field("path", &self.path)
            .field("url", &self.url.as_deref().map(without_password))
            .field("password_file", &self.password_file)
            .finish()
    }
}

/// A URI's `user:password@` with the password hidden.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_string(),
    }
}

fn default_register_path() -> PathBuf {
    PathBuf::from("/var/lib/sentinel-dock/register.sqlite")
}

/// Whether the configuration's text sets `[register] path` itself (not its default).
fn names_register_path(text: &str) -> bool {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("register").and_then(|r| r.get("path")).cloned())
        .is_some()
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A number of bytes, written in the file as an integer or as `"64 MiB"`, `"2GB"`, `"512k"`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<ByteSize, String> {
        let text = text.trim();
        let (number, unit) = quantity::split(text, "a size such as \"512 MiB\" or \"2 GB\"")?;
        let multiplier: u64 = match unit.as_str() {
            "" | "b" => 1,
            "k" | "kib" => 1 << 10,
            "kb" => 1_000,
            "m" | "mib" => 1 << 20,
            "mb" => 1_000_000,
            "g" | "gib" => 1 << 30,
            "gb" => 1_000_000_000,
            "t" | "tib" => 1 << 40,
            "tb" => 1_000_000_000_000,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}`: use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB"
                ));
            }
        };
        number
            .checked_mul(multiplier)
            .map(ByteSize)
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ByteSize, D::Error> {
        quantity::deserialize(deserializer, ByteSize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/sentinel-dock"))
    }

    const MINIMAL: &str = "[store]\npath = \"/srv/store\"\n[register]\npath = \"reg.sqlite\"\n";

    #[test]
    fn minimal_file_takes_every_default() {
        let c = parse(MINIMAL).expect("minimal config");
        assert_eq!(c.store.path, Path::new("/srv/store"));
        assert_eq!(c.register.path, Path::new("/etc/sentinel-dock/reg.sqlite"));
        assert_eq!(c.profile.name, "sentinel-v1");
        assert_eq!(c.wipe.mode, WipeMode::Delete);
        assert_eq!(c.store.reserve, ByteSize(1 << 30));
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse(&format!("{MINIMAL}[wipe]\nmod = \"delete\"\n")).unwrap_err();
        assert!(err.to_string().contains("mod"), "{err}");
    }

    #[test]
    fn bad_wipe_mode_is_named() {
        let err = parse(&format!("{MINIMAL}[wipe]\nmode = \"shred\"\n")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("shred") && text.contains("delete"), "{text}");
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!("512 MiB".parse::<ByteSize>(), Ok(ByteSize(512 << 20)));
        assert_eq!("2GB".parse::<ByteSize>(), Ok(ByteSize(2_000_000_000)));
        assert!("2 parsecs".parse::<ByteSize>().is_err());
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.ingest.copy_buffer, ByteSize(1 << 20));
        let c = parse(&MINIMAL.replace("[register]", "reserve = 4096\n[register]")).unwrap();
        assert_eq!(c.store.reserve, ByteSize(4096));
    }

    #[test]
    fn a_proof_region_not_in_whole_mib_is_refused_by_name() {
        for bad in ["\"1500 KiB\"", "\"512 KiB\"", "\"2 GiB\""] {
            let err = parse(&format!("{MINIMAL}[ingest]\nproof_region = {bad}\n")).unwrap_err();
            assert!(err.to_string().contains("ingest.proof_region"), "{err}");
        }
        let c = parse(&format!("{MINIMAL}[ingest]\nproof_region = \"4 MiB\"\n")).unwrap();
        assert_eq!(c.ingest.proof_region, ByteSize(4 << 20));
    }

    #[test]
    fn a_detection_cadence_the_hold_cannot_cover_is_refused_by_name() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.anonymise.detect_every, 2);
        for bad in [
            "detect_every = 0",
            "detect_every = 5",
            "detect_every = 3\nhold_frames = 1",
        ] {
            let err = parse(&format!("{MINIMAL}[anonymise]\n{bad}\n")).unwrap_err();
            assert!(
                err.to_string().contains("anonymise.detect_every"),
                "{bad}: {err}"
            );
        }
        let c = parse(&format!(
            "{MINIMAL}[anonymise]\ndetect_every = 1\nhold_frames = 0\n"
        ))
        .unwrap();
        assert_eq!(c.anonymise.detect_every, 1);
    }

    #[test]
    fn unanchored_serial_pattern_is_refused() {
        let err = parse(&format!("{MINIMAL}[profile]\nserial_pattern = \"SNTL\"\n")).unwrap_err();
        assert!(err.to_string().contains("profile.serial_pattern"), "{err}");
    }

    #[test]
    fn path_like_folder_names_are_refused() {
        let err = parse(&format!(
            "{MINIMAL}[profile]\nrecordings_dir = \"../etc\"\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("profile.recordings_dir"), "{err}");
    }

    #[test]
    fn roles_and_retention_parse_and_default() {
        let c = parse(MINIMAL).unwrap();
        assert!(c.access.head.is_empty() && c.access.authorised.is_empty());
        assert_eq!(c.retention.days, 30);
        let c = parse(&format!(
            "{MINIMAL}[access]\nhead = [\"chef\"]\nauthorised = [\"agent1\", \"agent2\"]\n[retention]\ndays = 180\n"
        ))
        .unwrap();
        assert_eq!(c.access.authorised, ["agent1", "agent2"]);
        assert_eq!(c.retention.days, 180);
    }

    #[test]
    fn a_user_in_two_roles_is_refused_by_name() {
        let err = parse(&format!(
            "{MINIMAL}[access]\nhead = [\"chef\"]\ntechnicians = [\"chef\"]\n"
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("chef") && text.contains("access.head"),
            "{text}"
        );
    }

    #[test]
    fn bad_retention_and_overhead_are_named() {
        let err = parse(&format!("{MINIMAL}[retention]\nmax_purge_share = 1.5\n")).unwrap_err();
        assert!(
            err.to_string().contains("retention.max_purge_share"),
            "{err}"
        );
        let err = parse(&format!("{MINIMAL}[retention]\ndays = 0\n")).unwrap_err();
        assert!(err.to_string().contains("retention.days"), "{err}");
        let err = parse(&format!(
            "{MINIMAL}[retention]\nmin_days_after_collection = 400\n"
        ))
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("retention.min_days_after_collection"),
            "{err}"
        );
        let err =
            parse(&MINIMAL.replace("[register]", "raid_overhead = 0.5\n[register]")).unwrap_err();
        assert!(err.to_string().contains("store.raid_overhead"), "{err}");
        let err = parse(&format!("{MINIMAL}[access]\nhead = [\"a b\"]\n")).unwrap_err();
        assert!(err.to_string().contains("access.head"), "{err}");
    }

    #[test]
    fn usb_ids_are_read_in_hex_and_checked() {
        let c = parse(&format!(
            "{MINIMAL}[usb]\nvendor_id = 0x1d6b\nproduct_id = 0x0104\n"
        ))
        .unwrap();
        assert_eq!((c.usb.vendor_id, c.usb.product_id), (0x1d6b, 0x0104));
        let err = parse(&format!("{MINIMAL}[usb]\nvendor_id = 0x10000\n")).unwrap_err();
        assert!(err.to_string().contains("vendor_id"), "{err}");
        let err = parse(&format!("{MINIMAL}[usb]\nvendor_id = 0\n")).unwrap_err();
        assert!(err.to_string().contains("usb.vendor_id"), "{err}");
    }

    #[test]
    fn a_postgresql_register_takes_url_alone() {
        let pg = "[store]\npath = \"/srv/store\"\n[register]\nurl = \"postgresql:///sentinel?host=/run/postgresql&user=sentinel-dock\"\npassword_file = \"pg.pass\"\n";
        let c = parse(pg).expect("a PostgreSQL register");
        assert_eq!(
            c.register.password_file.as_deref(),
            Some(Path::new("/etc/sentinel-dock/pg.pass"))
        );
        let both = pg.replace("[register]\n", "[register]\npath = \"r.sqlite\"\n");
        let err = parse(&both).unwrap_err();
        assert!(err.to_string().contains("exclusive"), "{err}");
        let err = parse(&pg.replace("postgresql:///", "mysql:///")).unwrap_err();
        assert!(err.to_string().contains("register.url"), "{err}");
        let err = parse(&format!("{MINIMAL}password_file = \"p\"\n")).unwrap_err();
        assert!(err.to_string().contains("register.password_file"), "{err}");
    }

    #[test]
    fn a_password_in_the_url_is_never_printed() {
        let pg = "[store]\npath = \"/srv/store\"\n[register]\nurl = \"postgresql://dock:s3cret@db/sentinel?sslmode=require\"\n";
        let shown = format!("{:?}", parse(pg).unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("postgresql://dock:***@db/sentinel?sslmode=require"),
            "{shown}"
        );
    }

    #[test]
    fn register_inside_store_is_refused() {
        let err = parse("[store]\npath = \"/s\"\n[register]\npath = \"/s/r.db\"\n").unwrap_err();
        assert!(err.to_string().contains("register.path"), "{err}");
    }
}

#[cfg(test)]
mod documented_defaults {
    use super::*;

    /// `config/sentinel-dock.toml` documents every key: it must parse, and hold the defaults.
    #[test]
    fn the_documented_file_parses_and_matches_the_defaults() {
        let text = include_str!("../../config/sentinel-dock.toml");
        let c = Config::from_toml(text, Path::new("/")).expect("documented config parses");
        let d = Profile::default();
        assert_eq!(c.profile.serial_pattern, d.serial_pattern);
        assert_eq!(c.profile.max_video_bytes, d.max_video_bytes);
        assert_eq!(c.profile.max_sidecar_bytes, d.max_sidecar_bytes);
        assert_eq!(
            (
                &c.profile.playback_log,
                &c.profile.events_log,
                &c.profile.system_log
            ),
            (&d.playback_log, &d.events_log, &d.system_log)
        );
        assert_eq!(c.profile.max_log_bytes, d.max_log_bytes);
        assert_eq!(c.profile.max_dir_entries, d.max_dir_entries);
        assert_eq!(c.profile.scan_deadline_secs, d.scan_deadline_secs);
        assert_eq!(c.store.reserve, default_reserve());
        assert_eq!(c.ingest.copy_buffer, default_copy_buffer());
        assert_eq!(c.wipe.mode, WipeMode::default());
        assert_eq!(c.store.raid_overhead, default_raid_overhead());
        // Unset by default; the packaged file names the RAID's mount point.
        assert_eq!(c.store.mount.as_deref(), Some(c.store.path.as_path()));
        assert_eq!(c.retention.days, default_retention_days());
        assert_eq!(c.retention.max_purge_share, default_max_purge_share());
        assert_eq!(
            c.retention.min_days_after_collection,
            default_min_days_after_collection()
        );
        let console = ConsoleConfig::default();
        assert_eq!(
            (c.console.language, c.console.timezone),
            (console.language, console.timezone)
        );
        // Nobody is let in until the service names its people.
        let none = Vec::<String>::new();
        assert_eq!(
            (&c.access.head, &c.access.authorised, &c.access.technicians),
            (&none, &none, &none)
        );
        assert_eq!(c.usb, UsbConfig::default());
        assert_eq!(c.ingest.max_parallel, default_max_parallel());
        assert_eq!(c.ingest.read_timeout, default_read_timeout());
        assert_eq!(c.ingest.clock_tolerance, default_clock_tolerance());
        assert_eq!(c.ingest.proof_region, default_proof_region());
        let (dock, control, status) = (
            DockConfig::default(),
            ControlConfig::default(),
            StatusConfig::default(),
        );
        assert_eq!(c.dock.path, dock.path);
        assert_eq!(c.dock.enrolled, dock.enrolled);
        assert_eq!(c.dock.enrolled_only, dock.enrolled_only);
        assert_eq!(c.control.socket, control.socket);
        assert_eq!(c.status.mdstat, status.mdstat);
        assert_eq!(c.extract.root, ExtractConfig::default().root);
        let simulate = SimulateConfig::default();
        assert_eq!(c.simulate.read_bytes_per_sec, simulate.read_bytes_per_sec);
        assert_eq!(c.simulate.read_latency_ms, simulate.read_latency_ms);
        assert_eq!(c.scrub, ScrubConfig::default());
        assert_eq!(c.scrub.every_days, 7);
        assert_eq!(c.replica, ReplicaConfig::default());
        assert_eq!(c.anonymise, super::AnonymiseConfig::default());
        assert_eq!(c.site, SiteConfig::default());
        assert_eq!(c.dock.enabled, dock.enabled);
    }
}
