//! The crash harness: ingests a camera with the real `sentinel-dockd`, SIGKILLs it at
//! seeded random moments, and checks after every kill that nothing was lost, nothing
//! half-written is visible, and the register is sound; then that a clean run finishes.
//! `--daemon` runs the service instead, with two cameras docked and undocked at random.
//!
//! Usage (scripts/crash-test wraps it):
//!   crash_test [--daemon [--read-mib-per-sec R]] [--iterations N] [--seed S] [--big-mib M]
//!              [--dockd PATH] [--work DIR] [--verbose]
//! Prints `N kills, V violations` and the seed; exits 1 on any violation, 2 on bad usage.

mod camera;
mod check;
mod daemon;
mod oneshot;
mod run;
mod scrub;

use std::path::PathBuf;
use std::process::ExitCode;

/// How the target is chosen.
struct Mode {
    daemon: bool,
    /// The one-shot ingest on an exFAT camera image (root: exfat-fuse lists it).
    exfat: bool,
    /// `[simulate] read_bytes_per_sec` for the daemon, in MiB/s (0: off).
    read_mib_per_sec: u64,
}

fn main() -> ExitCode {
    let (opts, mode) = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "crash-test: {e}\nusage: crash_test [--daemon [--read-mib-per-sec R] | --exfat] [--iterations N] [--seed S] [--big-mib M] [--dockd PATH] [--work DIR] [--verbose]"
            );
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "crash-test: {}seed {}, {} kills, large recording {} MiB, binary {}, work in {}",
        if mode.daemon {
            "daemon mode, "
        } else if mode.exfat {
            "exFAT camera, "
        } else {
            ""
        },
        opts.seed,
        opts.kills,
        opts.big_mib,
        opts.dockd.display(),
        opts.work.display()
    );
    let target: Box<dyn run::Target> = if mode.daemon {
        Box::new(daemon::Daemon {
            dockctl: opts.dockd.with_file_name("sentinel-dockctl"),
            dockd: opts.dockd.clone(),
            read_bytes_per_sec: mode.read_mib_per_sec << 20,
        })
    } else {
        Box::new(oneshot::OneShot {
            dockd: opts.dockd.clone(),
            exfat: mode.exfat,
        })
    };
    match run::run(&opts, target.as_ref()) {
        Ok(summary) => {
            for v in &summary.violations {
                eprintln!("VIOLATION: {v}");
            }
            eprintln!(
                "crash-test: {} cycle(s), {} run(s) finished before their kill, a clean run took {:.1} s; seen after kills: {} temp file(s), {} stored copies awaiting their commit, {} wipes awaiting their commit",
                summary.cycles,
                summary.finished_early,
                summary.clean_run_secs,
                summary.temp_files_seen,
                summary.stored_uncommitted_seen,
                summary.wiped_uncommitted_seen
            );
            if mode.daemon {
                eprintln!(
                    "crash-test: {} dockings and undockings while the daemon ran; {} scrubs asked beside the ingests, {} ran to the end",
                    summary.dock_changes, summary.scrubs_asked, summary.scrubs_done
                );
            }
            println!("seed {}", opts.seed);
            println!(
                "{} kills, {} violations",
                summary.kills,
                summary.violations.len()
            );
            if summary.violations.is_empty() {
                let _ = std::fs::remove_dir_all(&opts.work);
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "crash-test: kept {} for inspection; rerun with --seed {}",
                    opts.work.display(),
                    opts.seed
                );
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("crash-test: could not run: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<(run::Options, Mode), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/examples/crash_test → target/<profile>/sentinel-dockd
    let profile_dir = exe
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut opts = run::Options {
        kills: 50,
        seed: run::fresh_seed(),
        big_mib: 300,
        dockd: profile_dir.join("sentinel-dockd"),
        fixtures: manifest.join("fixtures"),
        work: std::env::temp_dir().join(format!("sentinel-crash-test-{}", std::process::id())),
        verbose: false,
    };
    let mut mode = Mode {
        daemon: false,
        exfat: false,
        read_mib_per_sec: 64,
    };
    while let Some(flag) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--iterations" => opts.kills = number(&value("--iterations")?)? as u32,
            "--seed" => opts.seed = number(&value("--seed")?)?,
            "--big-mib" => opts.big_mib = number(&value("--big-mib")?)?,
            "--dockd" => opts.dockd = PathBuf::from(value("--dockd")?),
            "--work" => opts.work = PathBuf::from(value("--work")?),
            "--verbose" => opts.verbose = true,
            "--daemon" => mode.daemon = true,
            "--exfat" => mode.exfat = true,
            "--read-mib-per-sec" => mode.read_mib_per_sec = number(&value("--read-mib-per-sec")?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !opts.dockd.is_file() {
        return Err(format!(
            "{} is not built (cargo build --bin sentinel-dockd)",
            opts.dockd.display()
        ));
    }
    Ok((opts, mode))
}

fn number(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a whole number"))
}
