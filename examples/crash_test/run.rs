//! The crash loop: start the real binary on a camera, SIGKILL it at a seeded random moment,
//! check every invariant, start it again; once enough kills are done, let one run finish
//! and check that it leaves every recording stored once and the camera wiped.
//!
//! What is started is a [`Target`]. The one-shot `sentinel-dockd ingest` is [`OneShot`];
//! the daemon variant is another implementation: `spawn` starts `sentinel-dockd --config F`
//! watching a dock folder and links the camera there (docking and undocking at random
//! between kills), and `settled` says when the register shows the camera's session closed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::camera::{self, Camera, SourceKind, splitmix};
use crate::check::{self, HashCache, World};

/// What the harness was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kills to perform (each followed by a check).
    pub kills: u32,
    pub seed: u64,
    /// Size of the large generated recording.
    pub big_mib: u64,
    /// The `sentinel-dockd` binary to test.
    pub dockd: PathBuf,
    /// `fixtures/` of the repository.
    pub fixtures: PathBuf,
    /// Where cameras, stores and registers are made; kept when a violation is found.
    pub work: PathBuf,
    /// Print one line per kill.
    pub verbose: bool,
}

/// The figures of a harness run.
#[derive(Debug, Default)]
pub struct Summary {
    pub kills: u32,
    pub violations: Vec<String>,
    pub cycles: u32,
    /// Runs that ended by themselves before their kill came (each then checked as clean).
    pub finished_early: u32,
    pub temp_files_seen: usize,
    pub stored_uncommitted_seen: usize,
    pub wiped_uncommitted_seen: usize,
    /// Seconds a run without kill took on the first cycle.
    pub clean_run_secs: f64,
}

/// A process under test, started on one cycle's cell.
pub trait Target {
    /// Starts it on the camera `source`, with the cell's configuration.
    fn spawn(&self, cell: &Cell) -> std::io::Result<Child>;
    /// Whether a process that exited by itself with `status` finished cleanly.
    fn clean_exit(&self, status: ExitStatus) -> bool;
}

/// `sentinel-dockd --config F ingest --serial S SOURCE`.
pub struct OneShot {
    pub dockd: PathBuf,
}

impl Target for OneShot {
    fn spawn(&self, cell: &Cell) -> std::io::Result<Child> {
        let log = fs::File::create(cell.dir.join("last-run.log"))?;
        Command::new(&self.dockd)
            .arg("--config")
            .arg(&cell.config)
            .args(["ingest", "--serial", camera::SERIAL])
            .arg(&cell.source)
            .env("SENTINEL_DOCK_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
    }

    fn clean_exit(&self, status: ExitStatus) -> bool {
        status.code() == Some(0)
    }
}

/// One cycle's folder: a fresh camera copy, store, register and configuration.
pub struct Cell {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub source: PathBuf,
    pub kind: SourceKind,
    pub store: PathBuf,
    pub register: PathBuf,
}

impl Cell {
    fn new(work: &Path, index: u32, camera: &Camera, kind: SourceKind) -> Result<Cell, String> {
        let dir = work.join(format!("cycle-{index:03}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = dir.join("sentinel-dock.toml");
        let text =
            "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n";
        fs::write(&config, text).map_err(|e| e.to_string())?;
        let source = camera::place(camera, kind, &dir)?;
        Ok(Cell {
            store: dir.join("store"),
            register: dir.join("register.sqlite"),
            dir,
            config,
            source,
            kind,
        })
    }

    fn world<'a>(&'a self, camera: &'a Camera) -> World<'a> {
        World {
            recordings: &camera.recordings,
            source: &self.source,
            kind: self.kind,
            store: &self.store,
            register: &self.register,
        }
    }
}

/// How a started run ended.
enum Ended {
    Killed,
    Exited(ExitStatus),
}

/// Runs the whole harness: builds the camera, calibrates, then kills until `opts.kills`.
pub fn run(opts: &Options, target: &dyn Target) -> Result<Summary, String> {
    fs::create_dir_all(&opts.work).map_err(|e| format!("{}: {e}", opts.work.display()))?;
    let camera = camera::build(&opts.fixtures, &opts.work, opts.big_mib, opts.seed)?;
    let mut summary = Summary::default();
    let mut rng = opts.seed;
    let mut cache = HashCache::default();

    // Calibration: one run without a kill, which must already be clean, sets the time scale.
    let cell = Cell::new(&opts.work, 0, &camera, SourceKind::FatImage)?;
    let started = Instant::now();
    let status = match start_and_wait(target, &cell, None)? {
        Ended::Exited(status) => status,
        Ended::Killed => unreachable!("no kill was scheduled"),
    };
    summary.clean_run_secs = started.elapsed().as_secs_f64();
    finish_cycle(
        opts,
        target,
        &cell,
        &camera,
        status,
        &mut cache,
        &mut summary,
    );
    let mut scale = started.elapsed();

    let mut index = 1;
    while summary.kills < opts.kills && summary.violations.is_empty() {
        let kind = if index % 2 == 1 {
            SourceKind::FatImage
        } else {
            SourceKind::Directory
        };
        let cell = Cell::new(&opts.work, index, &camera, kind)?;
        summary.cycles += 1;
        // A few kills per cycle, so that runs resume from runs that were themselves cut.
        let per_cycle = 1 + splitmix(&mut rng) % 4;
        let mut status = None;
        for _ in 0..per_cycle {
            if summary.kills >= opts.kills {
                break;
            }
            let delay = kill_delay(&mut rng, scale);
            match start_and_wait(target, &cell, Some(delay))? {
                Ended::Killed => {
                    summary.kills += 1;
                    let mut found = Vec::new();
                    let seen = check::after_kill(&cell.world(&camera), &mut cache, &mut found);
                    summary.temp_files_seen += seen.temp_files;
                    summary.stored_uncommitted_seen += seen.stored_uncommitted;
                    summary.wiped_uncommitted_seen += seen.wiped_uncommitted;
                    if opts.verbose {
                        eprintln!(
                            "crash-test: kill {} at {:.3} s ({:?}, cycle {index}): {} temp file(s), {} violation(s)",
                            summary.kills,
                            delay.as_secs_f64(),
                            kind,
                            seen.temp_files,
                            found.len()
                        );
                    }
                    let when = format!(
                        "after kill {} at {:.3} s",
                        summary.kills,
                        delay.as_secs_f64()
                    );
                    blame(&mut summary, &cell, &when, found);
                    if !summary.violations.is_empty() {
                        return Ok(summary);
                    }
                }
                Ended::Exited(s) => {
                    summary.finished_early += 1;
                    // Runs get quicker once the caches are warm: keep the kills inside them.
                    scale = scale.min(delay);
                    status = Some(s);
                    break;
                }
            }
        }
        let status = match status {
            Some(s) => s,
            None => match start_and_wait(target, &cell, None)? {
                Ended::Exited(s) => s,
                Ended::Killed => unreachable!("no kill was scheduled"),
            },
        };
        finish_cycle(
            opts,
            target,
            &cell,
            &camera,
            status,
            &mut cache,
            &mut summary,
        );
        index += 1;
    }
    Ok(summary)
}

/// Checks the cell after a run that ended by itself, and removes it when all is well.
fn finish_cycle(
    opts: &Options,
    target: &dyn Target,
    cell: &Cell,
    camera: &Camera,
    status: ExitStatus,
    cache: &mut HashCache,
    summary: &mut Summary,
) {
    let mut found = Vec::new();
    if !target.clean_exit(status) {
        let log = fs::read_to_string(cell.dir.join("last-run.log")).unwrap_or_default();
        found.push(format!(
            "the run after the kills did not finish cleanly ({status}):\n{log}"
        ));
    }
    check::after_clean_run(&cell.world(camera), cache, &mut found);
    blame(summary, cell, "after the clean run", found);
    if summary.violations.is_empty() && !opts.verbose {
        let _ = fs::remove_dir_all(&cell.dir);
    }
}

fn blame(summary: &mut Summary, cell: &Cell, when: &str, found: Vec<String>) {
    for v in found {
        summary
            .violations
            .push(format!("{} ({when}): {v}", cell.dir.display()));
    }
}

/// A moment in the run: uniform over the whole run, or (one time in three) in its last
/// fifth, where the commits and the wipe happen in a few milliseconds each.
fn kill_delay(rng: &mut u64, scale: Duration) -> Duration {
    let unit = (splitmix(rng) >> 11) as f64 / (1u64 << 53) as f64;
    let span = scale.as_secs_f64() * 1.1;
    let secs = if splitmix(rng).is_multiple_of(3) {
        span * (0.8 + 0.2 * unit)
    } else {
        span * unit
    };
    Duration::from_secs_f64(secs)
}

/// Starts the target and, with a delay, SIGKILLs it then unless it ended before.
fn start_and_wait(
    target: &dyn Target,
    cell: &Cell,
    kill_after: Option<Duration>,
) -> Result<Ended, String> {
    let mut child = target
        .spawn(cell)
        .map_err(|e| format!("starting the target: {e}"))?;
    let started = Instant::now();
    // A run that never ends is a failure of its own: no camera may hang the service.
    let limit = Duration::from_secs(600);
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(Ended::Exited(status));
        }
        let elapsed = started.elapsed();
        if kill_after.is_some_and(|d| elapsed >= d) {
            // std's kill is SIGKILL, to this child's pid only.
            child.kill().map_err(|e| format!("kill: {e}"))?;
            child.wait().map_err(|e| e.to_string())?;
            return Ok(Ended::Killed);
        }
        if elapsed > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the target ran for more than {} s in {}",
                limit.as_secs(),
                cell.dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
