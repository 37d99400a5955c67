//! What a recording is: its file name, its NMEA sidecar, its ISO BMFF structure.
//!
//! Everything here parses bytes from the camera, which is hostile until proven otherwise:
//! no panics, every size bounded, no allocation sized by the input, no unbounded loops.
//! The parsers do no I/O, so the fuzz targets and tests feed them bytes in memory.

pub mod bmff;
pub(crate) mod camera_log;
pub mod name;
pub mod sidecar;
pub(crate) mod trusted_time;

pub use bmff::{BmffLimits, BmffProblem, BoxWalker, check_reader};

pub use name::{RecordingName, escape_name, parse_day_dir};
pub use sidecar::SidecarProblem;
pub(crate) use sidecar::SidecarReport;
