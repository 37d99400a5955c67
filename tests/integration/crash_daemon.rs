//! Crashes of the service: the short version of the crash harness's daemon mode
//! (`scripts/crash-test --daemon` runs the long one). The real `sentinel-dockd` watches a
//! dock folder; two cameras' FAT images are linked in and out at seeded random moments,
//! the daemon is SIGKILLed at random and restarted, and after every kill the cameras, the
//! store and the register are checked; each cycle ends with a clean run (every camera
//! safe to undock, SIGTERM exits 0) that must leave everything stored once and wiped.

use std::path::PathBuf;

use crate::common::{fail_keeping_cells, fixtures_dir};

use crate::crash_test::{daemon, run};

#[test]
fn twenty_kills_of_the_daemon_with_cameras_docked_and_undocked_at_random_lose_nothing() {
    // A new seed each run explores more; the seed is printed to replay a failure with
    // SENTINEL_CRASH_SEED=S or `scripts/crash-test --daemon --seed S`.
    let seed = run::fresh_seed();
    let work = tempfile::tempdir().unwrap();
    let opts = run::Options {
        kills: 20,
        seed,
        big_mib: 32,
        dockd: PathBuf::from(env!("CARGO_BIN_EXE_sentinel-dockd")),
        fixtures: fixtures_dir(),
        work: work.path().join("crash"),
        verbose: false,
    };
    let target = daemon::Daemon {
        dockd: opts.dockd.clone(),
        dockctl: PathBuf::from(env!("CARGO_BIN_EXE_sentinel-dockctl")),
        read_bytes_per_sec: 64 << 20,
    };
    let summary = run::run(&opts, &target).unwrap();
    println!("seed {seed}");
    println!(
        "{} kills, {} violations; {} dockings and undockings",
        summary.kills,
        summary.violations.len(),
        summary.dock_changes
    );
    fail_keeping_cells(seed, "crash-daemon", &opts.work, &summary.violations);
    assert!(summary.kills >= 20);
    // The cameras really came and went while the daemon ran.
    assert!(summary.dock_changes >= 10, "{summary:?}");
}
