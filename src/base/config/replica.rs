//! `[replica]`: the S3 object store (with Object Lock) every proven recording is copied to.

use std::path::PathBuf;

use serde::Deserialize;

use super::{ByteSize, ConfigError, invalid};

/// `[replica]`: unset `endpoint` means no replica (the default).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaConfig {
    /// The S3 endpoint, `http://` or `https://`; `None`: no replica.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The bucket, created by the operator with Object Lock (and so versioning) enabled.
    #[serde(default)]
    pub bucket: String,
    /// The S3 region the signatures name.
    #[serde(default = "default_region")]
    pub region: String,
    /// An AWS shared-credentials file (`[default]` profile), mode 0600.
    #[serde(default = "default_credentials")]
    pub credentials: PathBuf,
    /// This site's name: every key is `PREFIX/<store layout path>`.
    #[serde(default)]
    pub prefix: String,
    /// The Object Lock mode of every object written.
    #[serde(default)]
    pub lock_mode: LockMode,
    /// What must be proven before the camera is wiped.
    #[serde(default)]
    pub wipe_after: WipeAfter,
    /// Upload bandwidth cap in bytes per second; 0: none.
    #[serde(default)]
    pub max_bytes_per_sec: ByteSize,
    /// Files above this size go up as a multipart upload, in parts of this size (larger
    /// when 10,000 parts would not hold the file).
    #[serde(default = "default_part_size")]
    pub part_size: ByteSize,
}

/// S3's smallest part (all but the last part of an upload).
pub(crate) const MIN_PART: u64 = 5 << 20;
/// S3's largest part, and largest single PUT.
pub(crate) const MAX_PART: u64 = 5 << 30;

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            endpoint: None,
            bucket: String::new(),
            region: default_region(),
            credentials: default_credentials(),
            prefix: String::new(),
            lock_mode: LockMode::default(),
            wipe_after: WipeAfter::default(),
            max_bytes_per_sec: ByteSize(0),
            part_size: default_part_size(),
        }
    }
}

/// The Object Lock retention mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// Nobody, not even the bucket's owner, can delete or shorten before retain-until.
    #[default]
    Compliance,
    /// Users with the bypass permission can; for trials.
    Governance,
}

impl LockMode {
    /// The name S3 uses.
    pub(crate) fn as_s3(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }
}

/// `wipe_after`: which proof the camera's wipe waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WipeAfter {
    /// The local store's read-back (the default).
    #[default]
    Local,
    /// The local store's and the replica's proofs both.
    Replica,
}

fn default_region() -> String {
    "us-east-1".to_string()
}

fn default_part_size() -> ByteSize {
    ByteSize(64 << 20)
}

fn default_credentials() -> PathBuf {
    PathBuf::from("/etc/sentinel-dock/replica.credentials")
}

impl ReplicaConfig {
    /// Whether a replica is configured.
    pub fn enabled(&self) -> bool {
        self.endpoint.is_some()
    }

    /// Whether the camera's wipe waits for the replica's proof.
    pub(crate) fn holds_wipe(&self) -> bool {
        self.enabled() && self.wipe_after == WipeAfter::Replica
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(MIN_PART..=MAX_PART).contains(&self.part_size.0) {
            return Err(invalid(
                "replica.part_size",
                "must be between 5 MiB and 5 GiB (S3's limits on a part), e.g. \"64 MiB\"",
            ));
        }
        let Some(endpoint) = &self.endpoint else {
            if self.wipe_after == WipeAfter::Replica {
                return Err(invalid(
                    "replica.wipe_after",
                    "is \"replica\" but replica.endpoint is unset: set the endpoint, or wipe_after = \"local\"",
                ));
            }
            return Ok(());
        };
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(invalid(
                "replica.endpoint",
                "must be an http:// or https:// URL, e.g. \"https://s3.example.org\"",
            ));
        }
        if !valid_bucket(&self.bucket) {
            return Err(invalid(
                "replica.bucket",
                "must name the bucket (3 to 63 lower-case letters, digits, dots or hyphens), created with Object Lock enabled",
            ));
        }
        if self.region.trim().is_empty() {
            return Err(invalid(
                "replica.region",
                "must name a region, e.g. \"us-east-1\"",
            ));
        }
        let prefix_ok = !self.prefix.is_empty()
            && self.prefix.len() <= 64
            && self
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !prefix_ok {
            return Err(invalid(
                "replica.prefix",
                "must be this site's name (1 to 64 letters, digits, - or _), e.g. \"romans\"",
            ));
        }
        Ok(())
    }
}

fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::base::config::Config;

    fn parse(replica: &str) -> Result<Config, String> {
        let text =
            format!("[store]\npath = \"/s\"\n[register]\npath = \"/r.db\"\n[replica]\n{replica}");
        Config::from_toml(&text, Path::new("/etc/sentinel-dock")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_replica_names_its_bucket_and_site_and_a_bad_value_names_the_key() {
        let ok = parse("endpoint = \"http://127.0.0.1:8333\"\nbucket = \"evidence\"\nprefix = \"romans\"\nwipe_after = \"replica\"\nmax_bytes_per_sec = \"10 MB\"").unwrap();
        assert!(ok.replica.holds_wipe());
        assert_eq!(ok.replica.max_bytes_per_sec.0, 10_000_000);
        assert_eq!(ok.replica.part_size.0, 64 << 20, "the default part");
        assert_eq!(
            ok.replica.credentials,
            Path::new("/etc/sentinel-dock/replica.credentials")
        );
        for (text, key) in [
            (
                "endpoint = \"s3.example.org\"\nbucket = \"evidence\"\nprefix = \"romans\"",
                "replica.endpoint",
            ),
            (
                "endpoint = \"http://x\"\nprefix = \"romans\"",
                "replica.bucket",
            ),
            (
                "endpoint = \"http://x\"\nbucket = \"evidence\"",
                "replica.prefix",
            ),
            (
                "endpoint = \"http://x\"\nbucket = \"evidence\"\nprefix = \"a/b\"",
                "replica.prefix",
            ),
            ("wipe_after = \"replica\"", "replica.wipe_after"),
            ("part_size = \"4 MiB\"", "replica.part_size"),
            ("part_size = \"6 GiB\"", "replica.part_size"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = parse("lock_mode = \"forever\"").unwrap_err();
        assert!(err.contains("lock_mode"), "{err}");
    }
}
