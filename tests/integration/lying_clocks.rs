//! Clocks and fixes that lie together (issue 21): a camera whose clock and GPS both say
//! 2000-01-01, a receiver 1024 weeks behind, a receiver in demo mode. No recording is lost
//! to them: retention counts from the docking when the register's lower bounds (previous
//! docking, issue, enrolment) contradict every source, the week rollover and the simulated
//! fixes are named, and the collection brake keeps what no bound protects. Real FAT images
//! (mkfs.vfat, mtools), a real MP4 from the fixtures, sidecars of real NMEA sentences, the
//! real ingest engine, register and commands.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use crate::common::daemon::{Daemon, PATIENCE};
use crate::common::*;
use crate::desk::*;
use chrono::{DateTime, Duration, Utc};
use sentinel_dock::app::commands::purge_due;
use sentinel_dock::app::ingest::Options;
use serde_json::Value;

/// The docking, on the service's clock.
const DOCKED: &str = "2026-12-04T18:00:00Z";

/// A 6 s recording (the fixture A1's MP4) the camera dates `camera_start`, with one RMC and
/// one GGA a second from `gps_start`, or the sentence bodies given.
fn recording(serial: &str, seq: u32, camera_start: &str, fixes: Fixes) -> Recording {
    let fixture = fixture_recordings(SERIAL)
        .into_iter()
        .find(|r| r.stem == A1)
        .unwrap();
    let start = time(camera_start);
    let stem = format!("{serial}_{}_{seq:04}", start.format("%Y%m%d_%H%M%S"));
    let mut sidecar = SidecarSpec::for_video(serial, &stem, &fixture.video, 6);
    sidecar.fixes = match fixes {
        Fixes::Real(gps_start) => gps_fixes(gps_start, 6),
        Fixes::GarminDemo => garmin_demo(start, 6),
    };
    Recording {
        stem,
        video: fixture.video,
        sidecar: sidecar.render(),
    }
}

enum Fixes {
    /// Status `A`, mode `A`, GGA quality 1, dated from this time.
    Real(DateTime<Utc>),
    /// A Garmin receiver in demo mode, as gpsd's logs of one read.
    GarminDemo,
}

/// What a Garmin in demo mode sends each second: an RMC void and simulated (status `V`,
/// mode `S`), a GGA of quality 8 (simulation), positions in Madrid.
fn garmin_demo(start: DateTime<Utc>, seconds: i64) -> Vec<String> {
    (0..seconds)
        .flat_map(|s| {
            let t = start + Duration::seconds(s);
            let (hms, dmy) = (t.format("%H%M%S"), t.format("%d%m%y"));
            let lat = format!("4024.{:04}", 6000 + s);
            [
                format!("GPRMC,{hms},V,{lat},N,00341.3000,W,000.0,000.0,{dmy},001.1,W,S"),
                format!("GPGGA,{hms},{lat},N,00341.3000,W,8,06,1.2,667.0,M,51.6,M,,"),
            ]
        })
        .collect()
}

fn camera(serial: &str, recordings: Vec<Recording>) -> CameraSpec {
    CameraSpec {
        recordings,
        ..CameraSpec::new(serial)
    }
}

/// Ingests a real FAT image of `spec` at the desk's clock; every recording is proven and
/// wiped from the camera.
fn ingest_image(d: &Desk, spec: &CameraSpec) -> Value {
    let image = build_fat_image(spec, d.dir.path(), Layout::Superfloppy);
    let options = Options {
        clock: d.clock.clone(),
        ..Options::default()
    };
    let report = crate::common::ingest_into(&d.config, &image, &d.store, &options).unwrap();
    for r in &report.recordings {
        assert!(r.wiped, "{}: proven, so wiped: {:?}", r.stem, r.reasons);
    }
    serde_json::to_value(&report).unwrap()
}

fn flags(report: &Value, stem: &str) -> Vec<String> {
    report["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stem"] == stem)
        .unwrap_or_else(|| panic!("{stem} not reported"))["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

fn flag(report: &Value, stem: &str, code: &str) -> String {
    let all = flags(report, stem);
    all.iter()
        .find(|f| f.starts_with(&format!("{code}:")))
        .unwrap_or_else(|| panic!("{stem} has no {code} flag: {all:?}"))
        .clone()
}

/// The register's row: retention_from, time_source, gps_fixes, gps_first_at.
fn row(d: &mut Desk, stem: &str) -> (String, String, i64, Option<String>) {
    d.db()
        .query_row(
            "SELECT retention_from, time_source, gps_fixes, gps_first_at FROM recordings
             WHERE stem = ?1",
            [stem],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// What `purge` would delete now, by stem.
fn due(d: &mut Desk) -> Vec<String> {
    strings(&d.ok(AGENT, &["purge", "--dry-run"]).data["delete"])
}

/// A purge now, and the daily one after it: what they deleted.
fn purge_now(d: &mut Desk) -> Vec<String> {
    let done = d.ok(HEAD, &["purge"]);
    let mut deleted = strings(&done.data["deleted"]);
    let daily = purge_due(&mut d.context()).unwrap();
    deleted.extend(strings(&daily.data["deleted"]));
    deleted
}

fn stems(spec: &CameraSpec) -> Vec<String> {
    spec.recordings.iter().map(|r| r.stem.clone()).collect()
}

/// The brake off: what keeps these recordings is their trusted time alone.
const NO_BRAKE: &str = "[retention]\nmax_purge_share = 1.0\nmin_days_after_collection = 0\n";

#[test]
fn a_camera_dated_2000_by_its_clock_and_its_gps_loses_nothing_to_a_purge_at_once() {
    let mut d = Desk::new(NO_BRAKE);
    // Docked and wiped yesterday evening, a sound recording of yesterday morning.
    d.clock.set("2026-12-03T18:00:00Z");
    let yesterday = time("2026-12-03T08:00:00Z");
    let sound = camera(
        "SNTL-00042",
        vec![recording(
            "SNTL-00042",
            1,
            "2026-12-03T08:00:00Z",
            Fixes::Real(yesterday),
        )],
    );
    ingest_image(&d, &sound);
    // Its clock battery died overnight; its sidecars are stamped by the same clock, so
    // the RMC sentences (status A, a valid fix) say 010100 too.
    d.clock.set(DOCKED);
    let reset_at = |hms: &str| time(&format!("2000-01-01T{hms}Z"));
    let reset = camera(
        "SNTL-00042",
        vec![
            recording(
                "SNTL-00042",
                2,
                "2000-01-01T00:00:00Z",
                Fixes::Real(reset_at("00:00:00")),
            ),
            recording(
                "SNTL-00042",
                3,
                "2000-01-01T00:10:00Z",
                Fixes::Real(reset_at("00:10:00")),
            ),
        ],
    );
    let report = ingest_image(&d, &reset);

    for stem in stems(&reset) {
        let why = flag(&report, &stem, "clock-implausible");
        assert!(
            why.contains("2000-01-01")
                && why.contains("before the camera's previous docking at 2026-12-03T18:00:00Z")
                && why.contains("retention counted from the docking"),
            "{why}"
        );
        // Real fixes: counted as positions, but not believed as a clock.
        let (from, source, fixes, _) = row(&mut d, &stem);
        assert_eq!(
            (from.as_str(), source.as_str(), fixes),
            ("2026-12-04T18:00:00.000Z", "docking", 12),
            "{stem}"
        );
    }

    // Purged at once, by hand and by the daily upkeep: nothing goes.
    assert_eq!(due(&mut d), Vec::<String>::new());
    assert_eq!(purge_now(&mut d), Vec::<String>::new());
    for stem in stems(&reset) {
        assert_eq!(d.state(&stem), "wiped", "{stem}: in the store");
        assert!(d.video_path(&stem).exists(), "{stem}'s file kept");
    }
    // Due a retention after their docking, the sound one a retention after its own end.
    d.clock.set("2027-01-03T17:59:00Z");
    assert_eq!(due(&mut d), stems(&sound));
    d.clock.set("2027-01-03T18:00:01Z");
    let mut all = stems(&sound);
    all.extend(stems(&reset));
    assert_eq!(due(&mut d), all);
}

#[test]
fn fixes_1024_weeks_early_are_named_a_rollover_and_lose_nothing() {
    let mut d = Desk::new(NO_BRAKE);
    d.clock.set("2026-11-01T09:00:00Z");
    d.ok(AGENT, &["camera", "enroll", "SNTL-00044"]);
    d.clock.set(DOCKED);
    let cycle = Duration::weeks(1024);
    let (made, made_2) = (time("2026-12-04T08:00:00Z"), time("2026-12-04T09:00:00Z"));
    // A camera setting its clock from a receiver that lost a week-number cycle: both
    // 19.6 years early. And one whose own clock is right, its receiver a cycle behind.
    let early = (made - cycle).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let both = recording("SNTL-00044", 1, &early, Fixes::Real(made - cycle));
    let gps_only = recording(
        "SNTL-00044",
        2,
        "2026-12-04T09:00:00Z",
        Fixes::Real(made_2 - cycle),
    );
    let (both_stem, gps_only_stem) = (both.stem.clone(), gps_only.stem.clone());
    let report = ingest_image(&d, &camera("SNTL-00044", vec![both, gps_only]));

    let rollover = flag(&report, &both_stem, "gps-rollover");
    assert!(
        rollover.contains("2007-04-20T08:00:00Z")
            && rollover.contains("exactly 1024 weeks")
            && rollover.contains("week number rolled over")
            && rollover.contains("the likely true date is 2026-12-04T08:00:00Z"),
        "{rollover}"
    );
    let implausible = flag(&report, &both_stem, "clock-implausible");
    assert!(
        implausible.contains("before the camera's enrolment at 2026-11-01T09:00:00Z"),
        "{implausible}"
    );
    let (from, source, fixes, _) = row(&mut d, &both_stem);
    assert_eq!(
        (from.as_str(), source.as_str(), fixes),
        ("2026-12-04T18:00:00.000Z", "docking", 12)
    );

    // The right clock is kept, the rolled-over GPS set aside and named.
    let rollover = flag(&report, &gps_only_stem, "gps-rollover");
    assert!(
        rollover.contains("the likely true date is 2026-12-04T09:00:00Z"),
        "{rollover}"
    );
    let others = flags(&report, &gps_only_stem);
    assert!(
        !others.iter().any(|f| f.starts_with("clock-")),
        "the camera's clock is trusted: {others:?}"
    );
    let (from, source, ..) = row(&mut d, &gps_only_stem);
    assert_eq!(
        (from.as_str(), source.as_str()),
        ("2026-12-04T09:00:06.000Z", "camera")
    );

    assert_eq!(purge_now(&mut d), Vec::<String>::new());
    for stem in [&both_stem, &gps_only_stem] {
        assert_eq!(d.state(stem), "wiped", "{stem}: in the store");
    }
}

#[test]
fn a_receiver_in_demo_mode_records_no_fix_and_a_flag_while_real_fixes_all_count() {
    let mut d = Desk::new("");
    d.clock.set(DOCKED);
    let demo = recording("SNTL-00045", 1, "2026-12-04T08:00:00Z", Fixes::GarminDemo);
    let real = recording(
        "SNTL-00045",
        2,
        "2026-12-04T09:00:00Z",
        Fixes::Real(time("2026-12-04T09:00:00Z")),
    );
    let (demo_stem, real_stem) = (demo.stem.clone(), real.stem.clone());
    let report = ingest_image(&d, &camera("SNTL-00045", vec![demo, real]));

    let (_, source, fixes, first) = row(&mut d, &demo_stem);
    assert_eq!((fixes, first), (0, None), "no position from Madrid");
    assert_eq!(
        source, "camera",
        "no GPS clock either: the camera's, checked as without fixes"
    );
    let set_aside = flags(&report, &demo_stem);
    assert!(
        set_aside
            .iter()
            .any(|f| f.contains("12 position fix(es) set aside")
                && f.contains("simulated")
                && f.contains("not used as positions nor as a clock")),
        "{set_aside:?}"
    );
    let (_, source, fixes, first) = row(&mut d, &real_stem);
    assert_eq!((source.as_str(), fixes), ("camera", 12));
    assert_eq!(first.as_deref(), Some("2026-12-04T09:00:00.000Z"));
    assert!(flags(&report, &real_stem).is_empty());
}

#[test]
fn a_camera_with_no_lower_bound_is_kept_by_the_collection_brake_alone() {
    let mut d = Desk::new("[retention]\nmax_purge_share = 1.0\n");
    d.clock.set(DOCKED);
    // Never docked, enrolled or issued: nothing contradicts its clock and GPS, which agree
    // on 2000-01-01, past any retention.
    let reset = camera(
        "SNTL-00046",
        vec![
            recording(
                "SNTL-00046",
                1,
                "2000-01-01T00:00:00Z",
                Fixes::Real(time("2000-01-01T00:00:00Z")),
            ),
            recording(
                "SNTL-00046",
                2,
                "2000-01-01T00:10:00Z",
                Fixes::Real(time("2000-01-01T00:10:00Z")),
            ),
        ],
    );
    ingest_image(&d, &reset);

    let plan = d.ok(AGENT, &["purge", "--dry-run"]);
    assert_eq!(strings(&plan.data["delete"]), Vec::<String>::new());
    let kept = plan.data["kept_after_collection"]
        .as_array()
        .unwrap_or_else(|| panic!("no kept_after_collection in the dry run: {}", plan.data));
    let kept_stems: Vec<&str> = kept
        .iter()
        .map(|k| k["recording"].as_str().unwrap())
        .collect();
    assert_eq!(kept_stems, stems(&reset));
    for k in kept {
        assert_eq!(k["collected_at"], "2026-12-04T18:00:00.000Z");
        assert_eq!(k["purgeable_from"], "2026-12-11T18:00:00.000Z");
        let reason = k["reason"].as_str().unwrap();
        assert!(
            reason.contains("retention.min_days_after_collection (7 days)"),
            "{reason}"
        );
    }
    assert!(
        plan.message.contains(
            "keep: collected 2026-12-04T18:00:00.000Z, less than retention.min_days_after_collection (7 days) ago: purgeable from 2026-12-11T18:00:00.000Z"
        ) && plan
            .message
            .contains("2 kept as collected less than retention.min_days_after_collection"),
        "{}",
        plan.message
    );
    assert_eq!(purge_now(&mut d), Vec::<String>::new());

    // A week on, the brake lets them go (their dates say they are long past retention).
    d.clock.set("2026-12-11T17:59:59Z");
    assert_eq!(purge_now(&mut d), Vec::<String>::new());
    d.clock.set("2026-12-11T18:00:01Z");
    assert_eq!(purge_now(&mut d), stems(&reset));
}

/// The same on the real service: docked, wiped, then `sentinel-dockctl purge --dry-run`
/// (text and `--json`) names the brake, `purge` deletes nothing, and neither does the
/// daily upkeep of the restarted service.
#[test]
fn the_service_keeps_a_reset_camera_s_recordings_a_week_after_their_collection() {
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .unwrap()
        .name;
    let access = format!("head = [\"{user}\"]");
    let mut daemon = Daemon::start(&[
        ("access", access.as_str()),
        ("retention", "max_purge_share = 1.0"),
    ]);
    let reset = camera(
        "SNTL-00046",
        vec![recording(
            "SNTL-00046",
            1,
            "2000-01-01T00:00:00Z",
            Fixes::Real(time("2000-01-01T00:00:00Z")),
        )],
    );
    let stem = reset.recordings[0].stem.clone();
    let image = build_fat_image(&reset, &daemon.path("cameras"), Layout::Superfloppy);
    daemon.dock("SNTL-00046", &image);
    daemon.wait_state("SNTL-00046", "safe-to-undock");
    assert_eq!(daemon.query("SELECT state FROM recordings"), ["wiped"]);

    let out = daemon.dockctl(None, &["--json", "purge", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(strings(&plan["delete"]), Vec::<String>::new(), "{plan}");
    let kept = &plan["kept_after_collection"][0];
    assert_eq!(kept["recording"], stem.as_str(), "{plan}");
    assert!(
        kept["reason"]
            .as_str()
            .unwrap()
            .contains("min_days_after_collection"),
        "{plan}"
    );
    let out = daemon.dockctl(None, &["purge", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&stem)
            && text.contains("keep: collected ")
            && text.contains(
                "less than retention.min_days_after_collection (7 days) ago: purgeable from "
            ),
        "{text}"
    );
    let out = daemon.dockctl(None, &["--json", "purge"]);
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(strings(&done["deleted"]), Vec::<String>::new(), "{done}");

    daemon.signal(nix::sys::signal::Signal::SIGTERM);
    daemon.wait_exit(PATIENCE);
    daemon.restart();
    let start = std::time::Instant::now();
    while daemon.log().matches("daily upkeep").count() < 2 {
        assert!(start.elapsed() < PATIENCE, "{}", daemon.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        daemon.query("SELECT state FROM recordings"),
        ["wiped"],
        "log:\n{}",
        daemon.log()
    );
    assert_eq!(
        daemon
            .stored_files()
            .into_iter()
            .filter(|f| f.ends_with(".MP4"))
            .count(),
        1
    );
}
