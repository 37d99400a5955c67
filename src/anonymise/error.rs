//! Why an anonymisation did not happen; each message names the thing and the fix.

use std::path::PathBuf;

/// Why an anonymisation stopped (nothing is left under a final name when it does).
#[derive(Debug, thiserror::Error)]
pub enum AnonymiseError {
    /// The model or the runtime library is not where the configuration says.
    #[error(
        "`[anonymise] {key}` {path} cannot be read, nothing was made: install it with scripts/install-deps (or reinstall the sentinel-dock package), or set {key} to where it is"
    )]
    Missing {
        /// The configuration key.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The model or the runtime library is not the pinned one.
    #[error(
        "`[anonymise] {key}` {path} is not the pinned file (its SHA-256 is {found}, the pinned one {pinned}): nothing was made. Reinstall it with scripts/install-deps (or the sentinel-dock package); never use an unchecked detector"
    )]
    Different {
        /// The configuration key.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Its SHA-256.
        found: String,
        /// The pinned SHA-256.
        pinned: String,
    },
    /// The ONNX runtime failed.
    #[error("face detector: {0}")]
    Runtime(String),
    /// The model did not behave as CenterFace does.
    #[error("face detector model: {0}")]
    Model(String),
    /// The original cannot be read as a video.
    #[error("the original {path} cannot be anonymised: {why}")]
    Video {
        /// The stored original.
        path: PathBuf,
        /// ffprobe's or ffmpeg's words.
        why: String,
    },
    /// A tool (ffmpeg, ffprobe) could not be run.
    #[error("cannot run {name} (install Debian's ffmpeg package)")]
    Tool {
        /// The program.
        name: &'static str,
        /// What the OS said.
        source: std::io::Error,
    },
    /// ffmpeg failed.
    #[error("ffmpeg failed {what}: {why}")]
    Ffmpeg {
        /// What it was doing.
        what: &'static str,
        /// The end of its messages.
        why: String,
    },
    /// A file of the derivative could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Someone cancelled it (`sentinel-dockctl anonymise --cancel`).
    #[error("the anonymisation was cancelled by {by}: nothing was kept")]
    Cancelled {
        /// Who cancelled.
        by: String,
    },
}
