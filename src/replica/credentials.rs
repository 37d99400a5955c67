//! The replica's access key, from an AWS shared-credentials file (`[default]` profile),
//! which must be readable by the service alone: the key can write evidence to the bucket.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::ReplicaError;

/// An S3 access key.
#[derive(Clone)]
pub struct Credentials {
    /// `aws_access_key_id`.
    pub access_key_id: String,
    /// `aws_secret_access_key`.
    pub secret_access_key: String,
    /// `aws_session_token`, when the key is temporary.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, not even in a debug print.
        write!(f, "Credentials({})", self.access_key_id)
    }
}

impl Credentials {
    /// Reads the `[default]` profile of `path`, refusing a file others may read.
    pub fn load(path: &Path) -> Result<Credentials, ReplicaError> {
        let bad = |message: String| ReplicaError::Credentials {
            path: path.to_path_buf(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| {
            bad(format!(
                "{e}; write the bucket's access key there ([default] aws_access_key_id = ..., aws_secret_access_key = ...), mode 0600, owned by the service's user"
            ))
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(bad(format!(
                "mode {:o} lets other users read the bucket's key: chmod 600 it",
                meta.permissions().mode() & 0o777
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        Credentials::parse(&text).map_err(bad)
    }

    /// The `[default]` profile of a shared-credentials file's text.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let mut section = String::new();
        let (mut id, mut secret, mut token) = (None, None, None);
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_string();
                continue;
            }
            if section != "default" {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = Some(value.trim().to_string());
            match key.trim() {
                "aws_access_key_id" => id = value,
                "aws_secret_access_key" => secret = value,
                "aws_session_token" => token = value,
                _ => {}
            }
        }
        match (id, secret) {
            (Some(access_key_id), Some(secret_access_key))
                if !access_key_id.is_empty() && !secret_access_key.is_empty() =>
            {
                Ok(Credentials {
                    access_key_id,
                    secret_access_key,
                    session_token: token,
                })
            }
            _ => Err(
                "no [default] profile with aws_access_key_id and aws_secret_access_key".to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Credentials;

    #[test]
    fn the_default_profile_is_read_and_others_ignored() {
        let text = "[other]\naws_access_key_id = X\n[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n";
        let c = Credentials::parse(text).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.as_str()),
            ("AK", "SK")
        );
        assert!(Credentials::parse("[other]\naws_access_key_id = X\n").is_err());
    }
}
