//! The integration tests, in one test binary: linking a binary (with aws-sdk-s3, ort and
//! the bundled SQLite) costs more than compiling its tests, so each file of this folder is
//! a module of one binary rather than a binary of its own. A test's name starts with its
//! file's: `cargo test --test integration faults::` runs `faults.rs`,
//! `cargo test --test integration -- --exact logging::child_logs_events` one test.
//!
//! Tests run on threads of one process, as many at once as there are CPUs: none may change
//! what the process shares (environment variables, working folder, umask); each takes its
//! own temporary folders; tests that share a machine-wide resource take its lock
//! (`common::UMOCKDEV`). Tests that need root are `#[ignore = "needs root"]`.
//!
//! Helpers: `common` (camera volumes, the daemon, operators, SeaweedFS, PostgreSQL), `desk`
//! (the register tests' desk), `journal` and `real_journald` (the logging tests'),
//! `crash_test` (the crash harness of `examples/crash_test`). Data: `umockdev/` (fake USB
//! devices), `faulty_device/` (a FUSE device with bad or stalled sectors),
//! `console_browser.py`.

mod common;
mod crash_test;
mod desk;
mod journal;
mod real_journald;

mod access;
mod anonymise;
mod audit_chain;
mod bad_sectors;
mod block_device;
mod camera_clock;
mod camera_logs;
mod cli;
mod codecs;
mod console;
mod console_browser;
mod consult_extract;
mod crash;
mod crash_daemon;
mod daemon;
mod damaged_volume;
mod errors;
mod exfat;
mod exfat_hostile;
mod faults;
mod fixtures_sanity;
mod force;
mod force_rebuild;
mod fuzz_smoke;
mod hostile;
mod ingest;
mod layers;
mod logging;
mod lying_clocks;
mod owner;
mod perception;
mod postgres_server;
mod register_down;
mod register_scale;
mod register_tls;
mod registers_e2e;
mod replica;
mod replica_daemon;
mod replica_parts;
mod replica_read;
mod report;
mod retention;
mod scrub;
mod scrub_daemon;
mod sidecar_memory;
mod sites;
mod stalled_device;
mod systemd;
mod udev_rule;
mod usb_identity;
