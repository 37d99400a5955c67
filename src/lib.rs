//! sentinel-dock: dock-side evidence ingestion for police body-worn cameras.
//!
//! The library holds the whole engine in four layers, each using only those below it
//! (docs/architecture.md, "Layers"; `tests/integration/layers.rs` fails on an arrow that
//! points up). The binaries only parse arguments and report.

// 4. The application: ingest, api, commands, control, console, service, status.
pub mod app;

// 3. Beside custody, each on its own: the off-site copy and the training copies.
pub mod anonymise;
pub mod replica;

// 2. Custody: the store, the register, their opener, the scrub.
pub mod custody;

// 1. The camera: hostile input.
pub mod camera;

// 0. The foundation: settings, time, events, hashes.
pub mod base;
