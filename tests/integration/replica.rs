//! The S3 replica against a real SeaweedFS (its S3 gateway enforces Object Lock and checks
//! `x-amz-checksum-sha256`): the fixture cameras' recordings, ingested for real, uploaded
//! with their locks and proven; a body corrupted on the way refused by the server and
//! sent again; the server killed mid-upload and restarted; a COMPLIANCE version's deletion
//! refused; holds and releases followed by the legal hold; the audit head anchored.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::seaweed::{BUCKET, Seaweed, replica_section, runtime, write_credentials};
use crate::desk::*;
use aws_sdk_s3::types::{ObjectLockLegalHoldStatus, ObjectLockMode};
use chrono::{Duration, Utc};
use sentinel_dock::custody::register::stored;
use sentinel_dock::replica::{Bucket, Pass, QueueState, ReplicaQueue, UploadFaults, Uploader};

use crate::common;

/// Retention long enough that the fixtures' (2018) locks end in the future.
const RETENTION: &str = "[retention]\ndays = 3660\n";

/// A desk holding both fixture cameras, with `[replica]` on `server`.
fn desk_on(server: &Seaweed, extra: &str) -> Desk {
    let d = Desk::with_fixtures(&format!(
        "{RETENTION}{}",
        replica_section(&server.endpoint(), extra)
    ));
    write_credentials(&d.dir.path().join("replica.credentials"));
    d
}

fn bucket(d: &Desk) -> Bucket {
    Bucket::connect(&d.config.replica).unwrap()
}

fn pass(d: &mut Desk, bucket: &Bucket, now: chrono::DateTime<Utc>) -> Pass {
    let config = d.config.clone();
    runtime()
        .block_on(Uploader::new(bucket, &config).pass(&mut d.register, now))
        .unwrap()
}

/// Passes until the queue has nothing due.
fn drain(d: &mut Desk, bucket: &Bucket) -> Vec<Pass> {
    let mut passes = Vec::new();
    for _ in 0..10 {
        let p = pass(d, bucket, Utc::now());
        let idle = p.replicated.is_empty() && p.failed.is_empty();
        passes.push(p);
        if idle {
            break;
        }
    }
    passes
}

fn queue_state(d: &mut Desk, stem: &str) -> QueueState {
    let id = stored::by_stem(&d.conn(), stem).unwrap()[0].id;
    ReplicaQueue::row(&d.conn(), id).unwrap().unwrap().state
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

/// Key and version of each object the register says a recording's replica has.
fn objects(d: &mut Desk, stem: &str) -> Vec<(String, String)> {
    let id = stored::by_stem(&d.conn(), stem).unwrap()[0].id;
    let row = ReplicaQueue::row(&d.conn(), id).unwrap().unwrap();
    row.objects.iter().flatten().cloned().collect()
}

#[test]
fn a_docked_cameras_recordings_are_uploaded_locked_proven_and_not_uploaded_twice() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = desk_on(&server, "");
    let bucket = bucket(&d);
    let passes = drain(&mut d, &bucket);
    let replicated: Vec<String> = passes.iter().flat_map(|p| p.replicated.clone()).collect();
    let died = server.death_report();
    assert_eq!(replicated.len(), 6, "{passes:?}{died}");
    assert!(
        passes.iter().all(|p| p.failed.is_empty()),
        "{passes:?}{died}"
    );

    let client = server.client();
    let rt = runtime();
    for stem in [A1, A2, A3, A4, B1, B2] {
        assert_eq!(queue_state(&mut d, stem), QueueState::Replicated);
        let row = stored::by_stem(&d.conn(), stem).unwrap()[0].clone();
        // Locked from the trusted end (GPS or a checked camera clock), as the purge counts.
        let retain = row.retention_from.unwrap() + Duration::days(3660);
        let video = row.video.clone().unwrap();
        let objs = objects(&mut d, stem);
        assert_eq!(objs.len(), 3, "video, sidecar, manifest: {objs:?}");
        assert_eq!(objs[0].0, format!("romans/{}", video.path));
        for (key, version) in &objs {
            assert_eq!(
                versions(&server, key),
                std::slice::from_ref(version),
                "one version of {key}"
            );
            let head = rt
                .block_on(
                    client
                        .head_object()
                        .bucket(BUCKET)
                        .key(key)
                        .version_id(version)
                        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                        .send(),
                )
                .unwrap();
            assert_eq!(
                head.object_lock_mode(),
                Some(&ObjectLockMode::Compliance),
                "{key}"
            );
            assert_eq!(
                head.object_lock_retain_until_date().map(|t| t.secs()),
                Some(retain.timestamp()),
                "{key}"
            );
            assert!(
                head.checksum_sha256().is_some(),
                "{key}: the server kept the SHA-256"
            );
        }
        // The video read back by the test's own client is the stored file.
        let got = rt.block_on(async {
            client
                .get_object()
                .bucket(BUCKET)
                .key(&objs[0].0)
                .version_id(&objs[0].1)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes()
        });
        let local = std::fs::read(d.store_path(&video.path)).unwrap();
        assert_eq!(common::sha256_hex(&got), common::sha256_hex(&local));
        assert_eq!(common::sha256_hex(&local), video.digests.sha256_hex());
        // The manifest names both hashes and the site.
        let manifest = rt.block_on(async {
            client
                .get_object()
                .bucket(BUCKET)
                .key(&objs[2].0)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes()
        });
        let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(manifest["site"], "romans");
        assert_eq!(manifest["video"]["sha256"], video.digests.sha256_hex());
        assert_eq!(manifest["video"]["blake3"], video.digests.blake3_hex());
    }
    let traced = d
        .audit()
        .iter()
        .filter(|e| e.action == "replication")
        .count();
    assert_eq!(traced, 6, "one audit entry per replicated recording");

    // The queue forgets nothing and repeats nothing: a new pass (and a new bucket client,
    // as after a restart) uploads nothing again.
    let fresh = Bucket::connect(&d.config.replica).unwrap();
    let again = pass(&mut d, &fresh, Utc::now());
    assert!(
        again.replicated.is_empty() && again.failed.is_empty(),
        "{again:?}"
    );
    for (key, _) in objects(&mut d, A1) {
        assert_eq!(versions(&server, &key).len(), 1, "{key}");
    }
}

/// Flips one byte of the first body sent for a key ending in `.MP4`, once.
struct FlipOnce(AtomicBool);

impl UploadFaults for FlipOnce {
    fn on_chunk(&self, key: &str, offset: u64, chunk: &mut [u8]) {
        if key.ends_with(".MP4")
            && offset == 0
            && !chunk.is_empty()
            && !self.0.swap(true, Ordering::SeqCst)
        {
            chunk[chunk.len() / 2] ^= 0x40;
        }
    }
}

#[test]
fn a_body_corrupted_on_the_way_is_refused_by_the_servers_checksum_and_sent_again() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = desk_on(&server, "");
    let bucket = bucket(&d).with_faults(Arc::new(FlipOnce(AtomicBool::new(false))));
    let now = Utc::now();
    let first = pass(&mut d, &bucket, now);
    assert_eq!(first.failed.len(), 1, "{first:?}");
    let (stem, error) = &first.failed[0];
    assert!(
        error.contains("BadDigest"),
        "the server refused the body: {error}"
    );
    // Nothing of the corrupted body is in the bucket, and the register says pending.
    assert_eq!(queue_state(&mut d, stem), QueueState::Pending);
    let row = stored::by_stem(&d.conn(), stem).unwrap()[0].clone();
    let key = format!("romans/{}", row.video.as_ref().unwrap().path);
    assert!(versions(&server, &key).is_empty(), "no version of {key}");
    let q = ReplicaQueue::row(&d.conn(), row.id).unwrap().unwrap();
    assert_eq!(q.attempts, 1);
    assert!(q.last_error.contains("BadDigest"), "{}", q.last_error);

    // Not before its backoff; then sent again, whole, and proven.
    let early = pass(&mut d, &bucket, now + Duration::seconds(1));
    assert!(
        !early.replicated.contains(stem) && early.failed.is_empty(),
        "{early:?}"
    );
    let later = pass(&mut d, &bucket, now + Duration::minutes(1));
    assert_eq!(later.replicated, std::slice::from_ref(stem), "{later:?}");
    assert_eq!(versions(&server, &key).len(), 1);
}

/// Kills the server when the first body starts on its way: headers sent, body not.
struct KillServer {
    pid: u32,
    done: AtomicBool,
}

impl UploadFaults for KillServer {
    fn on_chunk(&self, key: &str, _offset: u64, _chunk: &mut [u8]) {
        if key.ends_with(".MP4") && !self.done.swap(true, Ordering::SeqCst) {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
}

#[test]
fn the_server_killed_mid_upload_and_restarted_the_queue_resumes_nothing_lost_or_doubled() {
    let mut server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = desk_on(&server, "");
    let killer = Arc::new(KillServer {
        pid: server.pid().unwrap(),
        done: AtomicBool::new(false),
    });
    let bucket = bucket(&d).with_faults(killer);
    let now = Utc::now();
    let down = pass(&mut d, &bucket, now);
    assert!(down.replicated.is_empty(), "{down:?}");
    assert!(!down.failed.is_empty(), "{down:?}");
    for stem in [A1, A2, A3, A4, B1, B2] {
        assert_eq!(queue_state(&mut d, stem), QueueState::Pending, "{stem}");
    }
    server.stop();
    server.restart();
    let mut replicated = Vec::new();
    for minutes in [11, 22, 33, 44] {
        let p = pass(&mut d, &bucket, now + Duration::minutes(minutes));
        assert!(p.failed.is_empty(), "{p:?}");
        replicated.extend(p.replicated);
    }
    replicated.sort();
    let mut all = vec![A1, A2, A3, A4, B1, B2];
    all.sort();
    assert_eq!(replicated, all);
    for stem in all {
        for (key, version) in objects(&mut d, stem) {
            assert_eq!(versions(&server, &key), [version], "{key}: one version");
        }
    }
}

#[test]
fn a_compliance_versions_deletion_is_refused_by_the_server_and_not_tried_before_retain_until() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = desk_on(&server, "");
    let bucket = bucket(&d);
    drain(&mut d, &bucket);
    let (key, version) = objects(&mut d, A1).remove(0);
    let refused = runtime().block_on(
        server
            .client()
            .delete_object()
            .bucket(BUCKET)
            .key(&key)
            .version_id(&version)
            .send(),
    );
    assert!(
        refused.is_err(),
        "the server refused to delete a COMPLIANCE version"
    );
    assert_eq!(versions(&server, &key), std::slice::from_ref(&version));
    // Purged locally (as the purge does) while its lock still holds: the uploader leaves
    // the versions alone.
    d.sqlite3(&format!(
        "UPDATE recordings SET state = 'purged' WHERE stem = '{A1}'"
    ));
    let p = pass(&mut d, &bucket, Utc::now());
    assert!(p.deleted.is_empty(), "{p:?}");
    assert_eq!(queue_state(&mut d, A1), QueueState::Replicated);
    assert_eq!(versions(&server, &key), [version]);
}

#[test]
fn versions_are_deleted_once_retain_until_has_passed_and_purged_each_deletion_traced() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = Desk::with_fixtures(&format!(
        "[retention]\ndays = 1\n{}",
        replica_section(&server.endpoint(), "")
    ));
    write_credentials(&d.dir.path().join("replica.credentials"));
    // A1 as if it had ended a day ago less 20 s: its lock ends 20 s from now. The other
    // fixtures (2018) are past their retention: not uploaded at all.
    let end = Utc::now() - Duration::days(1) + Duration::seconds(20);
    d.sqlite3(&format!(
        "UPDATE recordings SET end_utc = '{0}', retention_from = '{0}' WHERE stem = '{A1}'",
        sentinel_dock::custody::register::format_time(end)
    ));
    let bucket = bucket(&d);
    let passes = drain(&mut d, &bucket);
    let died = server.death_report();
    assert_eq!(passes[0].replicated, [A1.to_string()], "{passes:?}{died}");
    assert_eq!(passes[0].expired.len(), 5, "{passes:?}{died}");
    assert_eq!(queue_state(&mut d, A2), QueueState::Expired);
    let objs = objects(&mut d, A1);
    d.sqlite3(&format!(
        "UPDATE recordings SET state = 'purged' WHERE stem = '{A1}'"
    ));
    // Purged, but its lock holds: nothing is tried.
    assert!(pass(&mut d, &bucket, Utc::now()).deleted.is_empty());
    for (key, version) in &objs {
        assert_eq!(versions(&server, key), std::slice::from_ref(version));
    }
    let wait = (end + Duration::days(1) + Duration::seconds(2) - Utc::now())
        .to_std()
        .unwrap_or_default();
    std::thread::sleep(wait);
    let p = pass(&mut d, &bucket, Utc::now());
    assert_eq!(p.deleted, [A1.to_string()], "{p:?}");
    assert_eq!(queue_state(&mut d, A1), QueueState::Deleted);
    for (key, _) in &objs {
        assert!(
            versions(&server, key).is_empty(),
            "{key} has no version left"
        );
    }
    let traced: Vec<_> = d
        .audit()
        .into_iter()
        .filter(|e| e.action == "replica-deletion")
        .collect();
    assert_eq!(traced.len(), 1);
    for (key, version) in &objs {
        assert!(
            traced[0]
                .details
                .contains(&format!("{key} version {version}")),
            "{}",
            traced[0].details
        );
    }
}

#[test]
fn a_hold_sets_the_legal_hold_on_every_version_and_a_release_clears_it() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = desk_on(&server, "");
    let bucket = bucket(&d);
    drain(&mut d, &bucket);
    let legal_hold = |server: &Seaweed, key: &str, version: &str| {
        runtime()
            .block_on(
                server
                    .client()
                    .get_object_legal_hold()
                    .bucket(BUCKET)
                    .key(key)
                    .version_id(version)
                    .send(),
            )
            .ok()
            .and_then(|o| o.legal_hold().and_then(|h| h.status().cloned()))
    };
    d.ok(
        AGENT,
        &["hold", "--procedure", "P-17", "--reason", "complaint", A1],
    );
    let p = pass(&mut d, &bucket, Utc::now());
    assert_eq!(p.holds_synced, [A1.to_string()], "{p:?}");
    for (key, version) in objects(&mut d, A1) {
        assert_eq!(
            legal_hold(&server, &key, &version),
            Some(ObjectLockLegalHoldStatus::On),
            "{key}"
        );
    }
    for (key, version) in objects(&mut d, A2) {
        assert_ne!(
            legal_hold(&server, &key, &version),
            Some(ObjectLockLegalHoldStatus::On),
            "{key}"
        );
    }
    d.ok(
        AGENT,
        &["release", "--procedure", "P-17", "--reason", "closed", A1],
    );
    let p = pass(&mut d, &bucket, Utc::now());
    assert_eq!(p.holds_synced, [A1.to_string()], "{p:?}");
    for (key, version) in objects(&mut d, A1) {
        assert_eq!(
            legal_hold(&server, &key, &version),
            Some(ObjectLockLegalHoldStatus::Off),
            "{key}"
        );
    }
}

#[test]
fn the_daily_anchor_is_a_locked_object_matching_audit_verify_head() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = desk_on(&server, "");
    let bucket = bucket(&d);
    let first = pass(&mut d, &bucket, Utc::now());
    let anchor = first
        .anchored
        .clone()
        .expect("the first pass anchors the head");
    let body = runtime().block_on(async {
        server
            .client()
            .get_object()
            .bucket(BUCKET)
            .key(&anchor.key)
            .version_id(&anchor.version)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes()
    });
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let head = doc["head"].as_str().unwrap().to_string();
    assert_eq!(head, format!("{}:{}", anchor.seq, anchor.hash));
    let verified = d.ok(HEAD, &["audit", "verify", "--head", &head]);
    assert!(
        verified
            .message
            .contains(&format!("({head}) is in the chain")),
        "{}",
        verified.message
    );
    // A different hash at that seq is refused by audit verify.
    let forged = format!("{}:{}", anchor.seq, "0".repeat(64));
    let broken = d.ok(HEAD, &["audit", "verify", "--head", &forged]);
    assert!(broken.message.contains("BROKEN"), "{}", broken.message);
    // Not again the same day; again a day later.
    assert!(pass(&mut d, &bucket, Utc::now()).anchored.is_none());
    assert!(
        pass(&mut d, &bucket, Utc::now() + Duration::days(1))
            .anchored
            .is_some()
    );
}

#[test]
fn the_scrub_heads_every_object_and_with_read_data_reads_them_back() {
    let server = Seaweed::start();
    server.create_locked_bucket();
    let mut d = desk_on(&server, "");
    let bucket = bucket(&d);
    drain(&mut d, &bucket);
    let scrub = |d: &mut Desk, read_data: bool| {
        runtime()
            .block_on(sentinel_dock::replica::scrub_replica(
                &bucket,
                &mut d.register,
                read_data,
                TECH,
                Utc::now(),
            ))
            .unwrap()
    };
    let clean = scrub(&mut d, false);
    assert_eq!(clean.checked, 6 * 3);
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    let read = scrub(&mut d, true);
    assert!(
        read.read_data && read.problems.is_empty(),
        "{:?}",
        read.problems
    );

    // The register and the replica disagree on A2's video (its hash rewritten in the
    // register, as a tampered register would be): both scrubs name it.
    d.sqlite3(&format!(
        "UPDATE recordings SET video_sha256 = '{}' WHERE stem = '{A2}'",
        "ab".repeat(32)
    ));
    for read_data in [false, true] {
        let found = scrub(&mut d, read_data);
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert_eq!(found.problems[0].0, A2);
        assert!(
            found.problems[0].1.ends_with(".MP4"),
            "{:?}",
            found.problems
        );
    }
    let traced = d
        .audit()
        .into_iter()
        .filter(|e| e.action == "replica-scrub" && e.details.starts_with("scrub of the replica"))
        .count();
    assert_eq!(traced, 4);
}

#[test]
fn a_server_that_dies_during_a_test_is_reported_as_dead_with_its_log() {
    let server = Seaweed::start();
    assert_eq!(
        server.death_report(),
        "",
        "a running server is not reported"
    );
    let pid = server.pid().unwrap();
    // Killed from outside and not waited for, as a crash of its own would leave it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let start = std::time::Instant::now();
    let report = loop {
        let report = server.death_report();
        if !report.is_empty() || start.elapsed() > std::time::Duration::from_secs(10) {
            break report;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(report.contains(&format!("(pid {pid}) died")), "{report}");
}
