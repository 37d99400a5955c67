//! One owner of the store, on its own disk (issue 9), with the real binaries: a one-shot
//! command beside the running service, an unmounted store (a loop-mounted ext4 image),
//! a folder that holds another store, and ingests that create or fill one register at
//! the same time (real processes, repeated until the races of the earlier code showed).
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::daemon::{Daemon, PATIENCE, camera, event_mark};
use crate::common::*;
use rusqlite::Connection;
use sentinel_dock::base::events;

/// About 64 KiB/s: each fixture video (about 100 KB) takes over a second to read.
const SLOW: (&str, &str) = ("simulate", "read_bytes_per_sec = 65536");
/// The minimal configuration of the one-shot tests.
const CONFIG: &str =
    "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n";

fn dockd(config: &Path, args: &[&Path]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"));
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env("SENTINEL_DOCK_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(config: &Path, args: &[&Path]) -> Output {
    dockd(config, args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every entry under `dir`, relative, folders included.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The temp files of copies in progress in the store (hidden, `.partial-`).
fn temp_files(store: &Path) -> Vec<PathBuf> {
    tree(store)
        .into_iter()
        .filter(|f| f.contains(".partial-"))
        .map(|f| store.join(f))
        .collect()
}

/// The final name a temp file `.<NAME>.partial-<pid>-<n>` becomes.
fn final_of(temp: &Path) -> PathBuf {
    let name = temp.file_name().unwrap().to_str().unwrap();
    let stem = name.trim_start_matches('.');
    let stem = &stem[..stem.find(".partial-").unwrap()];
    temp.with_file_name(stem)
}

#[test]
fn a_one_shot_ingest_beside_the_running_service_exits_3_and_its_temp_files_stay() {
    let daemon = Daemon::start(&[SLOW]);
    let image = build_fat_image(
        &CameraSpec::fixture(SERIAL),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    daemon.dock(SERIAL, &image);
    daemon.wait_bytes(SERIAL, 30_000);
    let store = daemon.path("store");
    let temps = temp_files(&store);
    assert!(
        !temps.is_empty(),
        "the service is copying: {:?}",
        tree(&store)
    );

    let other_dir = daemon.path("other");
    fs::create_dir(&other_dir).unwrap();
    let other = build_fat_image(
        &CameraSpec::fixture(SERIAL_2),
        &other_dir,
        Layout::Superfloppy,
    );
    let other_before = fs::read(&other).unwrap();
    let started = Instant::now();
    let out = run(&daemon.config_path(), &[Path::new("ingest"), &other]);
    let took = started.elapsed();
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        took < Duration::from_secs(5),
        "refused at once, not after {took:?}"
    );
    let pid = daemon.pid();
    assert!(
        text.contains(&format!("running sentinel-dockd service (pid {pid},")),
        "names the service and its pid: {text}"
    );
    assert!(text.contains("dock the camera"), "says what to do: {text}");
    for temp in &temps {
        assert!(
            temp.exists() || final_of(temp).exists(),
            "the service's temp file {} was removed by the one-shot ingest",
            temp.display()
        );
    }
    assert_eq!(fs::read(&other).unwrap(), other_before, "camera untouched");
    let rows = daemon.query(&format!(
        "SELECT CAST(count(*) AS TEXT) FROM recordings WHERE camera = '{SERIAL_2}'"
    ));
    assert_eq!(rows, ["0"]);

    // A one-shot scrub reads the store the service writes: refused the same way.
    let out = run(&daemon.config_path(), &[Path::new("scrub")]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sentinel-dockctl scrub"),
        "{}",
        stderr(&out)
    );

    // The service's own copy was not disturbed: every recording proven and wiped.
    let state = daemon.wait_state(SERIAL, "safe-to-undock");
    assert_eq!(state["recordings"], fixture_recordings(SERIAL).len());
    assert!(temp_files(&store).is_empty(), "{:?}", tree(&store));
}

/// A store and register filled by one ingest of the fixture camera (a mounted folder).
fn ingested(dir: &Path) -> PathBuf {
    let config = dir.join("sentinel-dock.toml");
    fs::write(&config, CONFIG).unwrap();
    let camera = build_dir(&CameraSpec::fixture(SERIAL), &dir.join("camera"));
    let out = run(&config, &[Path::new("ingest"), &camera]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    config
}

#[test]
fn a_folder_holding_no_store_where_the_register_expects_one_is_refused_as_not_mounted() {
    let dir = tempfile::tempdir().unwrap();
    let config = ingested(dir.path());
    // The store's disk is gone; an empty folder (or none) is at its place.
    fs::rename(dir.path().join("store"), dir.path().join("store-elsewhere")).unwrap();
    let camera = build_dir(&CameraSpec::fixture(SERIAL_2), &dir.path().join("camera-2"));
    let camera_before = tree(&camera);
    for empty_folder in [false, true] {
        if empty_folder {
            fs::create_dir(dir.path().join("store")).unwrap();
        }
        let out = run(&config, &[Path::new("ingest"), &camera]);
        let text = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{text}");
        assert!(text.contains("the store is not mounted"), "{text}");
        assert!(text.contains("no store identity"), "{text}");
        let store = dir.path().join("store");
        assert_eq!(store.exists(), empty_folder, "nothing created");
        assert!(
            tree(&store).is_empty(),
            "nothing created: {:?}",
            tree(&store)
        );
        assert_eq!(tree(&camera), camera_before, "nothing wiped");
    }
    // Back in place, the store is recognised and used.
    fs::remove_dir(dir.path().join("store")).unwrap();
    fs::rename(dir.path().join("store-elsewhere"), dir.path().join("store")).unwrap();
    let out = run(&config, &[Path::new("ingest"), &camera]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn spawn(config: &Path, source: &Path) -> Child {
    dockd(config, &[Path::new("ingest"), source])
        .spawn()
        .unwrap()
}

/// The known symptoms of the schema races of the earlier code.
fn assert_no_schema_race(text: &str) {
    for symptom in [
        "already exists",
        "database is locked",
        "belongs to the service user",
    ] {
        assert!(!text.contains(symptom), "{symptom}: {text}");
    }
}

#[test]
fn two_scrubs_creating_a_register_at_once_both_succeed() {
    // The scrub opens the register and the store only to read; two at once are allowed,
    // so this is the schema's creation race alone. The earlier code failed most rounds
    // with `table cameras already exists` or `database is locked`.
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sentinel-dock.toml");
        fs::write(&config, CONFIG).unwrap();
        for area in ["recordings", "quarantine"] {
            fs::create_dir_all(dir.path().join("store").join(area)).unwrap();
        }
        fs::write(dir.path().join("register.sqlite"), b"").unwrap();
        let children: Vec<Child> = (0..2)
            .map(|_| dockd(&config, &[Path::new("scrub")]).spawn().unwrap())
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let text = stderr(&out);
            assert_no_schema_race(&text);
            assert_eq!(out.status.code(), Some(0), "round {round}: {text}");
        }
        let conn = Connection::open(dir.path().join("register.sqlite")).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, sentinel_dock::custody::register::CURRENT_VERSION);
    }
}

#[test]
fn two_ingests_creating_a_register_at_once_never_fail_on_the_schema() {
    // Two cameras, one store and one register, started together: both create the
    // register; then one owns the store and the other is refused by its lock (or runs
    // after it). The earlier code failed every round with `table cameras already exists`.
    for round in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sentinel-dock.toml");
        fs::write(&config, CONFIG).unwrap();
        let cameras =
            [SERIAL, SERIAL_2].map(|s| build_dir(&CameraSpec::fixture(s), &dir.path().join(s)));
        let children = cameras.each_ref().map(|c| spawn(&config, c));
        let mut succeeded = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let text = stderr(&out);
            assert_no_schema_race(&text);
            match out.status.code() {
                Some(0) => succeeded += 1,
                Some(3) => assert!(
                    text.contains("a one-shot `sentinel-dockd ingest` (pid"),
                    "round {round}: refused only by the store's owner: {text}"
                ),
                other => panic!("round {round}: exit {other:?}: {text}"),
            }
        }
        assert!(succeeded >= 1, "round {round}");
    }
}

#[test]
fn two_ingests_of_the_same_camera_at_once_make_one_row_and_never_go_backwards() {
    // Two copies of one camera's volume, ingested at once into one store and register.
    // The earlier code made 5 or 6 rows for 4 recordings in some rounds, and in every
    // round recorded `confirmed` after `wiped` for 2 to 6 of them.
    for round in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sentinel-dock.toml");
        fs::write(&config, CONFIG).unwrap();
        // The register exists first: this is the ingests' race, not the schema's. Made by
        // another camera: an empty SNTL-00042 docked now would be a previous docking, after
        // which its 2018 recordings cannot have been made (flagged clock-implausible).
        let empty = build_dir(&CameraSpec::new(SERIAL_2), &dir.path().join("empty"));
        assert_eq!(
            run(&config, &[Path::new("ingest"), &empty]).status.code(),
            Some(0)
        );
        let copies =
            ["a", "b"].map(|c| build_dir(&CameraSpec::fixture(SERIAL), &dir.path().join(c)));
        let children = copies.each_ref().map(|c| spawn(&config, c));
        for child in children {
            let out = child.wait_with_output().unwrap();
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 3)),
                "round {round}: {}",
                stderr(&out)
            );
        }
        let conn = Connection::open(dir.path().join("register.sqlite")).unwrap();
        let per_stem: Vec<(String, i64)> = conn
            .prepare("SELECT stem, count(*) FROM recordings GROUP BY stem ORDER BY stem")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            per_stem.len(),
            fixture_recordings(SERIAL).len(),
            "{per_stem:?}"
        );
        assert!(
            per_stem.iter().all(|(_, n)| *n == 1),
            "round {round}: {per_stem:?}"
        );
        let backwards: i64 = conn
            .query_row(
                "SELECT count(*) FROM recording_events e JOIN recording_events f
                    ON f.recording = e.recording AND f.id > e.id
                 WHERE e.state = 'wiped' AND f.state != 'purged'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            backwards, 0,
            "round {round}: a state went backwards after `wiped`"
        );
    }
}

/// A loop-mounted ext4 image, unmounted when dropped.
struct Disk {
    image: PathBuf,
    at: PathBuf,
}

impl Disk {
    fn new(dir: &Path, at: &Path) -> Disk {
        let image = dir.join("raid.img");
        let f = fs::File::create(&image).unwrap();
        f.set_len(64 << 20).unwrap();
        drop(f);
        let out = Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(&image)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        fs::create_dir_all(at).unwrap();
        Disk {
            image,
            at: at.to_owned(),
        }
    }

    fn mount(&self) {
        let out = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&self.image)
            .arg(&self.at)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount: {}", stderr(&out));
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).output();
    }
}

#[test]
#[ignore = "needs root"]
fn an_unmounted_store_creates_nothing_and_the_service_waits_then_resumes_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let raid = dir.path().join("store");
    let disk = Disk::new(dir.path(), &raid);

    // The one-shot ingest, the register under the mount point too: nothing is created.
    let config = dir.path().join("one-shot.toml");
    fs::write(
        &config,
        "[store]\npath = \"store/evidence\"\nmount = \"store\"\nreserve = 0\n\
         [register]\npath = \"store/register.sqlite\"\n",
    )
    .unwrap();
    let camera_dir = build_dir(&CameraSpec::fixture(SERIAL), &dir.path().join("camera"));
    let camera_before = tree(&camera_dir);
    let out = run(&config, &[Path::new("ingest"), &camera_dir]);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("the store is not mounted"), "{text}");
    assert!(
        tree(&raid).is_empty(),
        "created on the system disk: {:?}",
        tree(&raid)
    );
    assert_eq!(tree(&camera_dir), camera_before, "nothing wiped");

    // The service: waits, says so, touches nothing; resumes once the disk is mounted.
    let dir = tempfile::TempDir::new_in(dir.path()).unwrap();
    let raid = dir.path().join("store");
    let disk2 = Disk::new(dir.path(), &raid);
    let mut daemon = Daemon::spawn_in(dir, &[("store", "mount = \"store\"")]);
    let image = build_fat_image(
        &CameraSpec::fixture(SERIAL),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    let image_before = fs::read(&image).unwrap();
    daemon.dock(SERIAL, &image);
    let start = Instant::now();
    let answer = loop {
        match daemon.status() {
            Err(e) if e.contains("store not mounted") => break e,
            _ if start.elapsed() > PATIENCE || daemon.has_exited() => {
                panic!("no `store not mounted` status; log:\n{}", daemon.log())
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    assert!(answer.contains("resumes by itself"), "{answer}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        tree(&raid).is_empty(),
        "created on the system disk: {:?}",
        tree(&raid)
    );
    assert_eq!(fs::read(&image).unwrap(), image_before, "camera touched");
    let log = daemon.log();
    assert_eq!(
        log.matches("store not mounted").count(),
        1,
        "logged once: {log}"
    );
    let mark = event_mark(events::STORE_NOT_MOUNTED);
    assert_eq!(log.matches(&mark).count(), 1, "{log}");

    disk2.mount();
    let state = daemon.wait_state(SERIAL, "safe-to-undock");
    assert_eq!(state["recordings"], fixture_recordings(SERIAL).len());
    daemon.wait_event(events::STORE_MOUNTED);
    let stored = daemon.stored_files();
    assert_eq!(
        stored.len(),
        2 * fixture_recordings(SERIAL).len(),
        "{stored:?}"
    );
    assert!(camera(&daemon.status().unwrap(), SERIAL).is_some());

    // The disk goes while the service runs (a lazy unmount: the service's open files keep
    // the old mount alive, the path shows the folder below): cameras wait, untouched.
    let out = Command::new("umount")
        .arg("-l")
        .arg(&raid)
        .output()
        .unwrap();
    assert!(out.status.success(), "umount -l: {}", stderr(&out));
    daemon.wait_for("the status to say the store is not mounted", |s| {
        s["warnings"].to_string().contains("store not mounted")
    });
    let second = build_fat_image(
        &CameraSpec::fixture(SERIAL_2),
        &daemon.path("cameras"),
        Layout::Superfloppy,
    );
    let second_before = fs::read(&second).unwrap();
    daemon.dock(SERIAL_2, &second);
    daemon.wait_state(SERIAL_2, "waiting");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(daemon.wait_state(SERIAL_2, "waiting")["state"], "waiting");
    assert_eq!(fs::read(&second).unwrap(), second_before, "camera touched");
    assert!(
        tree(&raid).is_empty(),
        "created on the system disk: {:?}",
        tree(&raid)
    );
    disk2.mount();
    let state = daemon.wait_state(SERIAL_2, "safe-to-undock");
    assert_eq!(state["recordings"], fixture_recordings(SERIAL_2).len());
    let stored = daemon.stored_files();
    let all = fixture_recordings(SERIAL).len() + fixture_recordings(SERIAL_2).len();
    assert_eq!(stored.len(), 2 * all, "{stored:?}");
    drop(daemon);
    drop(disk2);
    drop(disk);
}
