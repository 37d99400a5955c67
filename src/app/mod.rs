//! The application: what the daemon, `sentinel-dockctl` and the console do with the layers
//! below. Inside it, each group of modules uses only the groups above it here
//! (docs/architecture.md, "Layers"); `tests/integration/layers.rs` checks it.

// Who asks, how it is logged, and what crosses the socket.
pub mod api;
pub mod caller;
pub mod logging;

// What the service knows and does with one camera.
pub mod ingest;
pub mod status;

// The register commands, answering the api's requests.
pub mod commands;

// The daemon's socket, then the console that speaks through it.
pub mod control;

pub mod console;

// The daemon itself: the supervisor of every dock slot, the scrub, the anonymiser.
pub mod service;
