//! sentinel-dock: dock-side evidence ingestion for police body-worn cameras.
//!
//! The library holds the whole engine; the binaries only parse arguments and report.

pub mod clock;
pub mod config;
pub mod digest;
pub mod events;
pub mod evidence;
pub mod ingest;
pub mod register;
pub mod scrub;
pub mod store;
pub mod volume;
