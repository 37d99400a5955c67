//! Is standard error the journal? systemd says so in `JOURNAL_STREAM`.
//!
//! systemd sets `JOURNAL_STREAM=<device>:<inode>` (decimal) for a service whose output goes
//! to the journal. The variable is inherited by children whose stderr may be something
//! else (a pipe, a file), so it only counts when stderr's own device and inode match.

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

/// The environment variable systemd sets for services logging to the journal.
pub const JOURNAL_STREAM: &str = "JOURNAL_STREAM";

/// True when `JOURNAL_STREAM` names the file that standard error is.
pub(crate) fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os(JOURNAL_STREAM) else {
        return false;
    };
    let Some(value) = value.to_str() else {
        return false;
    };
    match stderr_identity() {
        Some((dev, ino)) => names_stream(value, dev, ino),
        None => false,
    }
}

/// Device and inode of standard error, when it is open.
fn stderr_identity() -> Option<(u64, u64)> {
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let metadata = std::fs::File::from(fd).metadata().ok()?;
    Some((metadata.dev(), metadata.ino()))
}

/// True when `value` is `<dev>:<ino>` in decimal and names this device and inode.
pub(crate) fn names_stream(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.trim().split_once(':') else {
        return false;
    };
    matches!((d.parse::<u64>(), i.parse::<u64>()), (Ok(d), Ok(i)) if d == dev && i == ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_device_and_inode_match() {
        assert!(names_stream("2049:1234", 2049, 1234));
        assert!(names_stream("2049:1234\n", 2049, 1234));
        assert!(!names_stream("2049:1235", 2049, 1234));
        assert!(!names_stream("2048:1234", 2049, 1234));
    }

    #[test]
    fn malformed_values_never_match() {
        for value in [
            "",
            ":",
            "2049",
            "2049:",
            ":1234",
            "x:1234",
            "2049:1234:5",
            "-1:1234",
        ] {
            assert!(!names_stream(value, 2049, 1234), "{value:?}");
        }
    }
}
