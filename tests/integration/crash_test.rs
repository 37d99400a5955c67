//! The crash harness of `examples/crash_test` (`scripts/crash-test` runs its long version),
//! shared by `crash.rs` (one-shot ingests) and `crash_daemon.rs` (the service).

#[path = "../../examples/crash_test/camera.rs"]
pub mod camera;
#[path = "../../examples/crash_test/check.rs"]
pub mod check;
#[path = "../../examples/crash_test/daemon.rs"]
pub mod daemon;
#[path = "../../examples/crash_test/oneshot.rs"]
pub mod oneshot;
#[path = "../../examples/crash_test/run.rs"]
pub mod run;
#[path = "../../examples/crash_test/scrub.rs"]
pub mod scrub;
