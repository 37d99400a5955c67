//! Multipart upload to a real SeaweedFS: a recording larger than `[replica] part_size`
//! (5 MiB here, S3's least) goes up in parts, each with its SHA-256, and is proven by the
//! read-back; a part refused for its checksum, or the server killed mid-upload, leaves no
//! object and no unfinished upload, and the queue retries; with `wipe_after = "replica"`
//! the camera is wiped once the parts' object is proven.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use crate::common::daemon::Daemon;
use crate::common::seaweed::{BUCKET, Seaweed, replica_section, runtime, write_credentials};
use crate::common::*;
use crate::desk::Desk;
use aws_sdk_s3::types::ObjectAttributes;
use chrono::{Duration, Utc};
use sentinel_dock::custody::register::stored;
use sentinel_dock::replica::{Bucket, Pass, QueueState, ReplicaQueue, UploadFaults, Uploader};

const PART: u64 = 5 << 20;
const STEM_DATE: &str = "20180314_100000_0001";

/// A real MP4 of some 11 MiB (ffmpeg, lossless H.264 over seeded noise) and its sidecar,
/// made under `dir`: more than two 5 MiB parts.
pub fn big_recording(dir: &Path, serial: &str) -> Recording {
    require_tool("ffmpeg");
    let stem = format!("{serial}_{STEM_DATE}");
    let video = dir.join(format!("{stem}.MP4"));
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=size=640x480:rate=10:duration=2,noise=alls=60:allf=t:all_seed=7")
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=16000:duration=2",
        ])
        .args(["-map", "0:v", "-map", "1:a", "-shortest", "-threads", "1"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-g",
            "10",
        ])
        .args([
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "24k", "-ac", "1",
        ])
        .args([
            "-map_metadata",
            "-1",
            "-metadata",
            "creation_time=2018-03-14T10:00:00Z",
        ])
        .args(["-f", "mp4"])
        .arg(&video)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg made the recording");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fixture-sidecar.py");
    let status = Command::new("python3")
        .arg(script)
        .arg(&video)
        .args([serial, FIRMWARE, "2"])
        .status()
        .unwrap();
    assert!(status.success(), "fixture-sidecar.py wrote the sidecar");
    let recording = Recording {
        stem,
        video: std::fs::read(&video).unwrap(),
        sidecar: std::fs::read(video.with_extension("NMEA")).unwrap(),
    };
    assert!(
        recording.video.len() as u64 > 2 * PART,
        "{} bytes: more than two parts",
        recording.video.len()
    );
    recording
}

/// A desk (replica on `server`, parts of 5 MiB) that has ingested one big recording.
fn desk(server: &Seaweed) -> (Desk, Recording) {
    let d = Desk::new(&format!(
        "[retention]\ndays = 3660\n{}",
        replica_section(&server.endpoint(), "part_size = \"5 MiB\"")
    ));
    write_credentials(&d.dir.path().join("replica.credentials"));
    let recording = big_recording(d.dir.path(), SERIAL);
    let mut spec = CameraSpec::new(SERIAL);
    spec.recordings.push(recording.clone());
    d.ingest(&spec);
    (d, recording)
}

fn pass(d: &mut Desk, bucket: &Bucket, now: chrono::DateTime<Utc>) -> Pass {
    let config = d.config.clone();
    runtime()
        .block_on(Uploader::new(bucket, &config).pass(&mut d.register, now))
        .unwrap()
}

fn video_key(recording: &Recording) -> String {
    format!(
        "romans/recordings/2018-03-14/{SERIAL}/{}.MP4",
        recording.stem
    )
}

/// Every version the bucket holds under `key`.
fn versions(server: &Seaweed, key: &str) -> Vec<String> {
    let out = runtime()
        .block_on(
            server
                .client()
                .list_object_versions()
                .bucket(BUCKET)
                .prefix(key)
                .send(),
        )
        .unwrap();
    out.versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect()
}

/// The unfinished multipart uploads in the bucket.
fn unfinished(server: &Seaweed) -> Vec<String> {
    let out = runtime()
        .block_on(
            server
                .client()
                .list_multipart_uploads()
                .bucket(BUCKET)
                .send(),
        )
        .unwrap();
    out.uploads()
        .iter()
        .map(|u| format!("{:?} {:?}", u.key(), u.upload_id()))
        .collect()
}

/// The number of parts of a version, from the server.
fn parts(server: &Seaweed, key: &str, version: &str) -> Option<i32> {
    let out = runtime()
        .block_on(
            server
                .client()
                .get_object_attributes()
                .bucket(BUCKET)
                .key(key)
                .version_id(version)
                .object_attributes(ObjectAttributes::ObjectParts)
                .send(),
        )
        .unwrap();
    out.object_parts().and_then(|p| p.total_parts_count())
}

fn queue(d: &Desk, stem: &str) -> sentinel_dock::replica::QueueRow {
    let id = stored::by_stem(&d.conn(), stem).unwrap()[0].id;
    ReplicaQueue::row(&d.conn(), id).unwrap().unwrap()
}

#[test]
fn a_recording_above_part_size_goes_up_in_parts_each_with_its_sha256_and_is_proven() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let (mut d, recording) = desk(&server);
    let bucket = Bucket::connect(&d.config.replica).unwrap();
    let p = pass(&mut d, &bucket, Utc::now());
    let died = server.death_report();
    assert_eq!(
        p.replicated,
        std::slice::from_ref(&recording.stem),
        "{p:?}{died}"
    );
    let q = queue(&d, &recording.stem);
    assert_eq!(q.state, QueueState::Replicated);
    let (key, version) = q.objects[0].clone().unwrap();
    assert_eq!(key, video_key(&recording));

    // Sent in parts: the server counts them, and its checksum is the parts' SHA-256s'.
    let want_parts = (recording.video.len() as u64).div_ceil(PART);
    assert_eq!(parts(&server, &key, &version), Some(want_parts as i32));
    let client = server.client();
    let rt = runtime();
    let head = rt
        .block_on(
            client
                .head_object()
                .bucket(BUCKET)
                .key(&key)
                .version_id(&version)
                .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                .send(),
        )
        .unwrap();
    assert!(
        head.checksum_sha256()
            .is_some_and(|c| c.ends_with(&format!("-{want_parts}"))),
        "a composite SHA-256 of {want_parts} parts: {:?}",
        head.checksum_sha256()
    );
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Compliance),
        "locked as a single PUT is"
    );
    assert!(head.object_lock_retain_until_date().is_some());
    let got = rt.block_on(async {
        client
            .get_object()
            .bucket(BUCKET)
            .key(&key)
            .version_id(&version)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
    });
    assert_eq!(sha256_hex(&got), sha256_hex(&recording.video));
    assert!(unfinished(&server).is_empty(), "{:?}", unfinished(&server));
    let traced = d.audit();
    assert!(
        traced
            .iter()
            .any(|e| e.action == "replication" && e.details.contains(&version)),
        "the proof is traced with the version"
    );

    // A new client (as after a restart) adopts the parts' version: nothing sent again,
    // nor after the register forgets it wrote it (a crash before it was kept).
    let fresh = Bucket::connect(&d.config.replica).unwrap();
    let again = pass(&mut d, &fresh, Utc::now());
    assert!(
        again.replicated.is_empty() && again.failed.is_empty(),
        "{again:?}"
    );
    assert_eq!(versions(&server, &key), std::slice::from_ref(&version));
    d.sqlite3("UPDATE replica_queue SET state = 'pending', video_key = NULL, video_version = NULL, next_attempt = '2000-01-01T00:00:00Z'");
    let adopted = pass(&mut d, &fresh, Utc::now());
    assert_eq!(
        adopted.replicated,
        std::slice::from_ref(&recording.stem),
        "{adopted:?}"
    );
    assert_eq!(
        versions(&server, &key),
        [version],
        "adopted, not sent again"
    );
}

/// Flips one byte of the second part of the video, once.
struct FlipInPart2(AtomicBool);

impl UploadFaults for FlipInPart2 {
    fn on_chunk(&self, key: &str, offset: u64, chunk: &mut [u8]) {
        if key.ends_with(".MP4")
            && (PART..2 * PART).contains(&offset)
            && !chunk.is_empty()
            && !self.0.swap(true, Ordering::SeqCst)
        {
            chunk[0] ^= 0x40;
        }
    }
}

#[test]
fn a_part_refused_for_its_checksum_leaves_no_object_nor_unfinished_upload_and_is_sent_again() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let (mut d, recording) = desk(&server);
    let bucket = Bucket::connect(&d.config.replica)
        .unwrap()
        .with_faults(Arc::new(FlipInPart2(AtomicBool::new(false))));
    let now = Utc::now();
    let first = pass(&mut d, &bucket, now);
    assert_eq!(first.failed.len(), 1, "{first:?}{}", server.death_report());
    assert!(
        first.failed[0].1.contains("part 2") && first.failed[0].1.contains("BadDigest"),
        "the server refused part 2: {first:?}"
    );
    let key = video_key(&recording);
    assert!(versions(&server, &key).is_empty(), "no object");
    assert!(
        unfinished(&server).is_empty(),
        "aborted: {:?}",
        unfinished(&server)
    );
    assert_eq!(queue(&d, &recording.stem).state, QueueState::Pending);

    let later = pass(&mut d, &bucket, now + Duration::minutes(1));
    assert_eq!(
        later.replicated,
        std::slice::from_ref(&recording.stem),
        "{later:?}"
    );
    assert_eq!(versions(&server, &key).len(), 1);
    assert!(unfinished(&server).is_empty());
}

/// Kills the server when the video's second part starts on its way.
struct KillInPart2 {
    pid: u32,
    done: AtomicBool,
}

impl UploadFaults for KillInPart2 {
    fn on_chunk(&self, key: &str, offset: u64, _chunk: &mut [u8]) {
        if key.ends_with(".MP4") && offset >= PART && !self.done.swap(true, Ordering::SeqCst) {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            std::thread::sleep(StdDuration::from_millis(300));
        }
    }
}

#[test]
fn the_server_killed_mid_upload_leaves_an_upload_the_retry_aborts_before_sending_again() {
    let mut server = Seaweed::start();
    server.create_locked_bucket();
    let (mut d, recording) = desk(&server);
    let killer = Arc::new(KillInPart2 {
        pid: server.pid().unwrap(),
        done: AtomicBool::new(false),
    });
    let bucket = Bucket::connect(&d.config.replica)
        .unwrap()
        .with_faults(killer);
    let now = Utc::now();
    let down = pass(&mut d, &bucket, now);
    assert_eq!(down.failed.len(), 1, "{down:?}");
    server.stop();
    server.restart();
    let key = video_key(&recording);
    // The abort could not reach a dead server: part 1 waits in an unfinished upload.
    let left = unfinished(&server);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(versions(&server, &key).is_empty());

    let later = pass(&mut d, &bucket, now + Duration::minutes(11));
    assert_eq!(
        later.replicated,
        std::slice::from_ref(&recording.stem),
        "{later:?}"
    );
    assert!(unfinished(&server).is_empty(), "{:?}", unfinished(&server));
    assert_eq!(versions(&server, &key).len(), 1);
}

#[test]
fn wipe_after_replica_wipes_a_recording_once_its_parts_are_proven() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let dir = tempfile::tempdir().unwrap();
    write_credentials(&dir.path().join("replica.credentials"));
    let replica = replica_section(
        &server.endpoint(),
        "wipe_after = \"replica\"\npart_size = \"5 MiB\"",
    );
    let replica = replica.trim_start_matches("[replica]\n").to_string();
    let daemon = Daemon::start_in(
        dir,
        &[("retention", "days = 3660"), ("replica", replica.as_str())],
    );
    let recording = big_recording(&daemon.path(""), SERIAL);
    let mut spec = CameraSpec::new(SERIAL);
    spec.recordings.push(recording.clone());
    let camera = build_fat_image(&spec, &daemon.path(""), Layout::Superfloppy);
    daemon.dock(SERIAL, &camera);
    // Proven locally, not yet on the replica when the wipe's turn came: kept.
    daemon.wait_state(SERIAL, "needs-attention");
    let start = Instant::now();
    while daemon
        .query("SELECT state FROM replica_queue")
        .first()
        .is_none_or(|s| s != "replicated")
    {
        assert!(
            start.elapsed() < StdDuration::from_secs(90),
            "not replicated in 90 s: {}",
            daemon.log()
        );
        std::thread::sleep(StdDuration::from_millis(200));
    }
    let versions = daemon.query("SELECT video_version FROM replica_queue");
    assert_eq!(
        parts(&server, &video_key(&recording), &versions[0]),
        Some((recording.video.len() as u64).div_ceil(PART) as i32),
        "sent in parts"
    );
    daemon.undock(SERIAL);
    daemon.wait_for("the camera to be taken", |s| {
        s["cameras"].as_array().is_some_and(Vec::is_empty)
    });
    daemon.dock(SERIAL, &camera);
    daemon.wait_state(SERIAL, "safe-to-undock");
    let left = list_fat_image(&camera, Layout::Superfloppy);
    assert!(
        !left.iter().any(|f| f.starts_with("DCIM/")),
        "wiped: {left:?}"
    );
}
