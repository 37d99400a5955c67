//! sentinel-dock: dock-side evidence ingestion for police body-worn cameras.
//!
//! The library holds the whole engine; the binaries only parse arguments and report.

pub mod anonymise;
pub mod caller;
pub mod clock;
pub mod commands;
pub mod config;
pub mod console;
pub mod control;
pub mod digest;
pub mod dock;
pub mod events;
pub mod evidence;
pub mod ingest;
pub mod logging;
pub mod owner;
pub mod register;
pub mod replica;
pub mod replies;
pub mod scrub;
pub mod service;
pub mod status;
pub mod store;
pub mod usb;
pub mod volume;
