//! The crash loop: start the real binary on a camera, SIGKILL it at a seeded random moment,
//! check every invariant, start it again; once enough kills are done, let one run finish
//! and check that it leaves every recording stored once and the camera wiped.
//!
//! What is started is a [`Target`]: the one-shot `sentinel-dockd ingest`
//! (`crate::oneshot::OneShot`), or the daemon (`crate::daemon::Daemon`), which docks and undocks its cameras at random
//! between kills and is finished when every camera is safe to undock. The checks
//! (`check.rs`) look at the cameras, the store and the register, whoever wrote them.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::camera::{self, Camera, SourceKind, splitmix};
use super::check::{self, HashCache, Source, World};

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
    /// Dockings and undockings done while the target ran (the daemon mode's).
    pub dock_changes: u64,
    /// Scrubs asked beside the ingests (the daemon mode's), and those that ran to the end.
    pub scrubs_asked: u64,
    pub scrubs_done: u64,
}

/// How a run that ended by itself ended: `Err` says why it was not clean (with its log).
pub type Finished = Result<(), String>;

/// What the harness starts, cycle after cycle.
pub trait Target {
    /// The serials of the cameras it is given (the first gets the large recording).
    fn serials(&self) -> &'static [&'static str];
    /// How cycle `index` presents the cameras.
    fn kind(&self, index: u32) -> SourceKind;
    /// Configuration lines beyond `[store]` and `[register]`.
    fn config(&self) -> String;
    /// Whether its cameras need an exFAT image too.
    fn exfat(&self) -> bool {
        false
    }
    /// Starts one run on the cell. With `kill_at`, the harness kills it then, and whatever
    /// the target does at random in a run (docking, undocking) happens before.
    fn start(
        &self,
        cell: &Cell,
        rng: &mut u64,
        kill_at: Option<Duration>,
    ) -> Result<Box<dyn Running>, String>;
}

/// A run in progress.
pub trait Running {
    /// Moves the run on at `elapsed` since its start; `Some` once it has finished by itself.
    fn poll(&mut self, elapsed: Duration) -> Result<Option<Finished>, String>;
    /// SIGKILLs the process (its pid only) and waits for it.
    fn kill(&mut self) -> Result<(), String>;
    /// Dockings and undockings done so far.
    fn dock_changes(&self) -> u64 {
        0
    }
    /// Scrubs asked, and scrubs that ran to the end (clean or not).
    fn scrubs(&self) -> (u64, u64) {
        (0, 0)
    }
    /// What the run itself saw go wrong, whether it finished or was killed (a false alarm
    /// of a scrub run beside the ingests, say); taken once the run has ended.
    fn violations(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// One cycle's folder: fresh camera copies, store, register and configuration.
pub struct Cell {
    pub dir: PathBuf,
    pub config: PathBuf,
    /// Each camera's copy, in the target's order of serials.
    pub sources: Vec<PathBuf>,
    pub kind: SourceKind,
    pub store: PathBuf,
    pub register: PathBuf,
}

impl Cell {
    fn new(
        work: &Path,
        index: u32,
        cameras: &[Camera],
        kind: SourceKind,
        extra_config: &str,
    ) -> Result<Cell, String> {
        let dir = work.join(format!("cycle-{index:03}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = dir.join("sentinel-dock.toml");
        let text = format!(
            "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n{extra_config}"
        );
        fs::write(&config, text).map_err(|e| e.to_string())?;
        let sources = cameras
            .iter()
            .map(|camera| camera::place(camera, kind, &dir))
            .collect::<Result<_, _>>()?;
        Ok(Cell {
            store: dir.join("store"),
            register: dir.join("register.sqlite"),
            dir,
            config,
            sources,
            kind,
        })
    }

    fn world<'a>(&'a self, cameras: &'a [Camera]) -> World<'a> {
        World {
            sources: cameras
                .iter()
                .zip(&self.sources)
                .map(|(camera, path)| Source {
                    recordings: &camera.recordings,
                    path,
                    kind: self.kind,
                })
                .collect(),
            store: &self.store,
            register: &self.register,
        }
    }
}

/// How a started run ended.
enum Ended {
    Killed,
    Finished(Finished),
}

/// What the loop carries from cycle to cycle.
struct Harness<'a> {
    opts: &'a Options,
    target: &'a dyn Target,
    cameras: Vec<Camera>,
    rng: u64,
    cache: HashCache,
    summary: Summary,
}

/// A seed for a run: `SENTINEL_CRASH_SEED` replays one; otherwise a new one each run (it is
/// printed, so a failure can be replayed with `--seed S`).
pub fn fresh_seed() -> u64 {
    std::env::var("SENTINEL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        })
}

/// Runs the whole harness: builds the cameras, calibrates, then kills until `opts.kills`.
pub fn run(opts: &Options, target: &dyn Target) -> Result<Summary, String> {
    fs::create_dir_all(&opts.work).map_err(|e| format!("{}: {e}", opts.work.display()))?;
    let mut cameras = Vec::new();
    for (i, serial) in target.serials().iter().enumerate() {
        // The first camera holds the large recording; the others a quarter of it.
        let mib = if i == 0 {
            opts.big_mib
        } else {
            (opts.big_mib / 4).max(1)
        };
        cameras.push(camera::build(
            &opts.fixtures,
            &opts.work,
            serial,
            mib,
            opts.seed,
            target.exfat(),
        )?);
    }
    let mut h = Harness {
        opts,
        target,
        cameras,
        rng: opts.seed,
        cache: HashCache::default(),
        summary: Summary::default(),
    };

    // Calibration: one run without a kill, which must already be clean, sets the time scale.
    let cell = h.cell(0)?;
    let started = Instant::now();
    let finished = h.finish(&cell)?;
    h.summary.clean_run_secs = started.elapsed().as_secs_f64();
    h.finish_cycle(&cell, finished);
    let mut scale = started.elapsed();

    let mut index = 1;
    while h.summary.kills < opts.kills && h.summary.violations.is_empty() {
        let cell = h.cell(index)?;
        h.summary.cycles += 1;
        // A few kills per cycle, so that runs resume from runs that were themselves cut.
        let per_cycle = 1 + splitmix(&mut h.rng) % 4;
        let mut finished = None;
        for _ in 0..per_cycle {
            if h.summary.kills >= opts.kills {
                break;
            }
            let delay = kill_delay(&mut h.rng, scale);
            match h.start_and_wait(&cell, Some(delay))? {
                Ended::Killed => {
                    h.after_kill(&cell, index, delay);
                    if !h.summary.violations.is_empty() {
                        return Ok(h.summary);
                    }
                }
                Ended::Finished(f) => {
                    h.summary.finished_early += 1;
                    // Runs get quicker once the caches are warm: keep the kills inside them.
                    scale = scale.min(delay);
                    finished = Some(f);
                    break;
                }
            }
        }
        let finished = match finished {
            Some(f) => f,
            None => h.finish(&cell)?,
        };
        h.finish_cycle(&cell, finished);
        index += 1;
    }
    Ok(h.summary)
}

impl Harness<'_> {
    fn cell(&self, index: u32) -> Result<Cell, String> {
        let kind = self.target.kind(index);
        Cell::new(
            &self.opts.work,
            index,
            &self.cameras,
            kind,
            &self.target.config(),
        )
    }

    /// A run without a kill, to its end.
    fn finish(&mut self, cell: &Cell) -> Result<Finished, String> {
        match self.start_and_wait(cell, None)? {
            Ended::Finished(f) => Ok(f),
            Ended::Killed => unreachable!("no kill was scheduled"),
        }
    }

    /// Checks the invariants after kill number `summary.kills + 1`.
    fn after_kill(&mut self, cell: &Cell, index: u32, delay: Duration) {
        let s = &mut self.summary;
        s.kills += 1;
        let mut found = Vec::new();
        let seen = check::after_kill(&cell.world(&self.cameras), &mut self.cache, &mut found);
        s.temp_files_seen += seen.temp_files;
        s.stored_uncommitted_seen += seen.stored_uncommitted;
        s.wiped_uncommitted_seen += seen.wiped_uncommitted;
        if self.opts.verbose {
            eprintln!(
                "crash-test: kill {} at {:.3} s ({:?}, cycle {index}): {} temp file(s), {} violation(s)",
                s.kills,
                delay.as_secs_f64(),
                cell.kind,
                seen.temp_files,
                found.len()
            );
        }
        let when = format!("after kill {} at {:.3} s", s.kills, delay.as_secs_f64());
        blame(s, cell, &when, found);
    }

    /// Checks the cell after a run that ended by itself, and removes it when all is well.
    fn finish_cycle(&mut self, cell: &Cell, finished: Finished) {
        let mut found = Vec::new();
        if let Err(why) = finished {
            found.push(format!(
                "the run after the kills did not finish cleanly: {why}"
            ));
        }
        check::after_clean_run(&cell.world(&self.cameras), &mut self.cache, &mut found);
        blame(&mut self.summary, cell, "after the clean run", found);
        if self.summary.violations.is_empty() && !self.opts.verbose {
            let _ = fs::remove_dir_all(&cell.dir);
        }
    }

    /// Starts the target and, with a delay, SIGKILLs it then unless it ended before.
    fn start_and_wait(
        &mut self,
        cell: &Cell,
        kill_after: Option<Duration>,
    ) -> Result<Ended, String> {
        let mut run = self.target.start(cell, &mut self.rng, kill_after)?;
        let started = Instant::now();
        // A run that never ends is a failure of its own: no camera may hang the service.
        let limit = Duration::from_secs(600);
        let ended = loop {
            let elapsed = started.elapsed();
            if let Some(finished) = run.poll(elapsed)? {
                break Ended::Finished(finished);
            }
            if kill_after.is_some_and(|d| elapsed >= d) {
                run.kill()?;
                break Ended::Killed;
            }
            if elapsed > limit {
                return Err(format!(
                    "the target ran for more than {} s in {}",
                    limit.as_secs(),
                    cell.dir.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        self.summary.dock_changes += run.dock_changes();
        let (asked, done) = run.scrubs();
        self.summary.scrubs_asked += asked;
        self.summary.scrubs_done += done;
        let seen = run.violations();
        blame(&mut self.summary, cell, "while it ran", seen);
        Ok(ended)
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
