//! Log events as journald receives them (native protocol, structured fields), and as
//! lines on stderr, from real processes: this test binary's `child_logs_events` running the
//! service's logging code, and `sentinel-dockd` itself.
//!
//! The journal here is a datagram socket the test owns (see `journal/mod.rs`), except in
//! `journalctl_x_explains_an_event_with_the_catalog`, which runs the real systemd-journald.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::journal::{Entry, Receiver, in_namespace};
use sentinel_dock::app::logging::{self, Program};
use sentinel_dock::base::events;

use crate::common;
use crate::real_journald;

const SERIAL: &str = "SNTL-00042";
const STEM: &str = "SNTL-00042_20180312_143015_0001";
const BLAKE3: &str = "5c6f0e4c1b8e2a1d7d51b6f0a3e1c9d2b7e4f6a8c0d2e4f6a8b0c2d4e6f8a0b2";
const SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Run by the other tests in a child process, with the environment they choose: sets up
/// logging as the service does, prints where it went, and logs one event of each level.
#[test]
#[ignore = "a child process of the other tests in this file"]
fn child_logs_events() {
    let program = match std::env::var("CHILD_PROGRAM").as_deref() {
        Ok("one-shot") => Program::OneShot,
        _ => Program::Service,
    };
    match logging::init(program) {
        Ok(destination) => println!("destination={destination:?}"),
        Err(e) => {
            println!("error={e}");
            return;
        }
    }
    let slot = tracing::info_span!("slot", slot = 2, camera_serial = SERIAL);
    let entered = slot.enter();
    tracing::debug!(message_id = events::INGEST_STARTED.id, "reading the volume");
    tracing::info!(
        message_id = events::RECORDING_CONFIRMED.id,
        recording = STEM,
        bytes = 123_456u64,
        blake3 = BLAKE3,
        sha256 = SHA256,
        "recording confirmed: stored, read back from disk, committed"
    );
    tracing::warn!(
        message_id = events::CAMERA_ATTENTION.id,
        quarantined = 1u32,
        "needs attention: 1 recording quarantined"
    );
    tracing::error!(
        message_id = events::INGEST_FAILED.id,
        "ingest stopped:\nthe store is full"
    );
    drop(entered);
    tracing::info!(message_id = events::SERVICE_STOPPING.id, "stopping");
}

/// This test binary, to run `child_logs_events`.
fn this_binary() -> PathBuf {
    std::env::current_exe().unwrap()
}

/// The arguments that make this binary run `child_logs_events` alone (its name in the
/// binary, where this file is the module `logging`).
const CHILD_ARGS: [&str; 6] = [
    "--ignored",
    "--exact",
    "logging::child_logs_events",
    "--nocapture",
    "--test-threads=1",
    "-q",
];

/// A command running the child in the namespace, with a clean logging environment.
fn child(socket: Option<&Path>) -> Command {
    let mut command = in_namespace(socket, &this_binary());
    command
        .args(CHILD_ARGS)
        .env_remove(logging::LEVEL_VAR)
        .env_remove(logging::OUTPUT_VAR)
        .env_remove(logging::JOURNAL_STREAM);
    command
}

/// `<dev>:<ino>` of a file, as systemd writes `JOURNAL_STREAM`.
fn stream_id(path: &Path) -> String {
    let m = fs::metadata(path).unwrap();
    format!("{}:{}", m.dev(), m.ino())
}

/// What the child printed about where its events went.
fn destination(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("destination=").or(l.strip_prefix("error=")))
        .unwrap_or_else(|| panic!("the child said nothing: {output:?}"))
        .to_owned()
}

/// The entries carrying this event kind's id.
fn of_kind(entries: &[Entry], kind: events::EventKind) -> Vec<&Entry> {
    entries
        .iter()
        .filter(|e| e.get("MESSAGE_ID").as_deref() == Some(kind.id))
        .collect()
}

#[test]
fn under_journald_events_carry_structured_fields_and_their_message_id() {
    let journal = Receiver::bind();
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr");
    let stderr = fs::File::create(&stderr_path).unwrap();
    let mut command = child(Some(journal.path()));
    // What systemd does for a service with StandardError=journal.
    command
        .env(logging::JOURNAL_STREAM, stream_id(&stderr_path))
        .stderr(stderr);
    let (output, entries) = journal.run(command);
    let stderr = fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(destination(&output), "Journal", "{stderr}");
    assert_eq!(stderr, "", "nothing may go to stderr under journald");
    // info by default for the service: the debug event is not sent.
    assert_eq!(entries.len(), 4, "{entries:#?}");

    let confirmed = of_kind(&entries, events::RECORDING_CONFIRMED);
    assert_eq!(confirmed.len(), 1, "{entries:#?}");
    let e = confirmed[0];
    assert_eq!(
        e.field("MESSAGE"),
        "recording confirmed: stored, read back from disk, committed"
    );
    assert_eq!(e.field("PRIORITY"), "6");
    assert_eq!(
        e.field("CAMERA_SERIAL"),
        SERIAL,
        "copied from the slot span"
    );
    assert_eq!(e.field("SLOT"), "2", "copied from the slot span");
    assert_eq!(e.field("RECORDING"), STEM);
    assert_eq!(e.field("BYTES"), "123456");
    assert_eq!(e.field("BLAKE3"), BLAKE3);
    assert_eq!(e.field("SHA256"), SHA256);
    assert_eq!(
        e.field("SYSLOG_IDENTIFIER"),
        this_binary().file_name().unwrap().to_str().unwrap()
    );
    assert!(
        e.names().iter().all(|n| !n.starts_with("F_")),
        "no F_ prefix: {:?}",
        e.names()
    );

    let attention = of_kind(&entries, events::CAMERA_ATTENTION);
    assert_eq!(attention[0].field("PRIORITY"), "4");
    assert_eq!(attention[0].field("QUARANTINED"), "1");
    let failed = of_kind(&entries, events::INGEST_FAILED);
    assert_eq!(failed[0].field("PRIORITY"), "3");
    assert_eq!(
        failed[0].field("MESSAGE"),
        "ingest stopped:\nthe store is full"
    );

    let stopping = of_kind(&entries, events::SERVICE_STOPPING);
    assert_eq!(stopping[0].field("MESSAGE"), "stopping");
    assert_eq!(stopping[0].get("SLOT"), None, "outside the span");
    assert_eq!(stopping[0].get("CAMERA_SERIAL"), None, "outside the span");
}

#[test]
fn journal_stream_of_another_file_means_readable_lines_on_stderr() {
    let journal = Receiver::bind();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("the-parents-stderr");
    fs::write(&other, "").unwrap();
    let mut command = child(Some(journal.path()));
    // Inherited from a parent whose stderr was the journal; ours is a pipe.
    command.env(logging::JOURNAL_STREAM, stream_id(&other));
    let (output, entries) = journal.run(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(destination(&output), "Stderr");
    assert!(entries.is_empty(), "{entries:#?}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "four events, the error on two lines: {stderr}"
    );
    let confirmed = lines[0];
    for part in [
        "INFO",
        "slot{slot=2 camera_serial=\"SNTL-00042\"}",
        "recording confirmed: stored, read back from disk, committed",
        "event=recording-confirmed",
        "recording=\"SNTL-00042_20180312_143015_0001\"",
        "bytes=123456",
    ] {
        assert!(confirmed.contains(part), "{part} missing from {confirmed}");
    }
    assert!(!stderr.contains(events::RECORDING_CONFIRMED.id), "{stderr}");
    assert!(lines[1].contains("WARN") && lines[1].contains("event=camera-attention"));
    assert!(lines[2].contains("ERROR") && lines[2].contains("ingest stopped:"));
    assert!(lines[4].contains("event=service-stopping"), "{stderr}");
}

#[test]
fn the_journal_is_used_when_asked_without_journal_stream() {
    let journal = Receiver::bind();
    let mut command = child(Some(journal.path()));
    command.env(logging::OUTPUT_VAR, "journal");
    let (output, entries) = journal.run(command);
    assert_eq!(destination(&output), "Journal");
    assert_eq!(entries.len(), 4, "{entries:#?}");
    assert!(output.stderr.is_empty(), "{output:?}");
}

#[test]
fn stderr_when_asked_even_under_journald() {
    let journal = Receiver::bind();
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr");
    let mut command = child(Some(journal.path()));
    command
        .env(
            logging::JOURNAL_STREAM,
            stream_id(&stderr_path_created(&stderr_path)),
        )
        .env(logging::OUTPUT_VAR, "stderr")
        .stderr(fs::File::create(&stderr_path).unwrap());
    let (output, entries) = journal.run(command);
    assert_eq!(destination(&output), "Stderr");
    assert!(entries.is_empty(), "{entries:#?}");
    assert!(
        fs::read_to_string(&stderr_path)
            .unwrap()
            .contains("event=recording-confirmed")
    );
}

/// Creates an empty file and returns its path (so its inode exists before the child).
fn stderr_path_created(path: &Path) -> PathBuf {
    fs::write(path, "").unwrap();
    path.to_owned()
}

#[test]
fn sentinel_dock_log_sets_the_level_and_one_shot_commands_default_to_warn() {
    let journal = Receiver::bind();
    let mut command = child(Some(journal.path()));
    command
        .env(logging::OUTPUT_VAR, "journal")
        .env(logging::LEVEL_VAR, "debug");
    let (_, entries) = journal.run(command);
    assert_eq!(entries.len(), 5, "{entries:#?}");
    let started = of_kind(&entries, events::INGEST_STARTED);
    assert_eq!(started[0].field("PRIORITY"), "7");

    let mut command = child(Some(journal.path()));
    command
        .env(logging::OUTPUT_VAR, "journal")
        .env("CHILD_PROGRAM", "one-shot");
    let (_, entries) = journal.run(command);
    let priorities: Vec<String> = entries.iter().map(|e| e.field("PRIORITY")).collect();
    assert_eq!(priorities, ["4", "3"]);
}

#[test]
fn an_unreachable_journal_falls_back_to_stderr_and_says_why() {
    let journal = Receiver::bind();
    // No socket behind /run/systemd/journal/socket in the child's namespace.
    let mut command = child(None);
    command.env(logging::OUTPUT_VAR, "journal");
    let (output, entries) = journal.run(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(destination(&output), "Stderr");
    assert!(entries.is_empty());
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("WARN")
            && first.contains("the journal cannot be reached at /run/systemd/journal/socket"),
        "{stderr}"
    );
    assert!(stderr.contains("event=recording-confirmed"), "{stderr}");
}

#[test]
fn a_bad_log_setting_is_refused_by_name() {
    let journal = Receiver::bind();
    let mut command = child(Some(journal.path()));
    command.env(logging::LEVEL_VAR, "verbose");
    let (output, _) = journal.run(command);
    let said = destination(&output);
    assert!(
        said.contains("SENTINEL_DOCK_LOG=\"verbose\" is not a log filter"),
        "{said}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .args(["--config", "/nonexistent.toml", "ingest", "/nonexistent"])
        .env(logging::OUTPUT_VAR, "syslog")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "SENTINEL_DOCK_LOG_OUTPUT=\"syslog\" is not a log output; use auto, journal or stderr"
        ),
        "{stderr}"
    );
}

#[test]
fn sentinel_dockd_ingest_logs_to_the_journal_under_journald() {
    let journal = Receiver::bind();
    let dir = tempfile::tempdir().unwrap();
    let camera = dir.path().join("camera");
    copy_dir(&common::fixture_camera_dir(SERIAL), &camera);
    let config = dir.path().join("sentinel-dock.toml");
    fs::write(
        &config,
        "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n",
    )
    .unwrap();
    let stderr_path = stderr_path_created(&dir.path().join("stderr"));
    let mut command = in_namespace(
        Some(journal.path()),
        Path::new(env!("CARGO_BIN_EXE_sentinel-dockd")),
    );
    command
        .arg("--config")
        .arg(&config)
        .args(["ingest", "--serial", SERIAL])
        .arg(&camera)
        .env(logging::LEVEL_VAR, "info")
        .env_remove(logging::OUTPUT_VAR)
        .env(logging::JOURNAL_STREAM, stream_id(&stderr_path))
        .stderr(fs::File::create(&stderr_path).unwrap());
    let (output, entries) = journal.run(command);
    let stderr = fs::read_to_string(&stderr_path).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // The report still goes to stderr (the journal keeps it too, as the unit's output).
    assert!(stderr.contains("safe to undock"), "{stderr}");
    let stored: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.get("MESSAGE").as_deref() == Some("recording stored"))
        .collect();
    assert_eq!(stored.len(), 4, "{entries:#?}");
    for e in &stored {
        assert_eq!(e.field("SYSLOG_IDENTIFIER"), "sentinel-dockd");
        assert_eq!(e.field("PRIORITY"), "6");
        assert!(e.field("RECORDING").starts_with("SNTL-00042_2018"), "{e:?}");
    }
}

/// Copies a folder tree (the fixture camera, so that the ingest may wipe the copy).
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn journalctl_x_explains_an_event_with_the_catalog() {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/sentinel-dock.catalog");
    let mut child = Command::new(this_binary());
    child
        .args(CHILD_ARGS)
        .env(logging::OUTPUT_VAR, "journal")
        .env_remove(logging::LEVEL_VAR)
        .env_remove(logging::JOURNAL_STREAM);
    let shown = real_journald::show(&catalog, &child, events::RECORDING_CONFIRMED.id);
    for line in [
        "recording confirmed: stored, read back from disk, committed",
        // The catalog's Subject, with @RECORDING@ replaced by the event's field.
        "Subject: Recording SNTL-00042_20180312_143015_0001 stored and proven",
        "Defined-By: sentinel-dock",
        "The recording may now be wiped from the camera.",
        // Fields as journald stored them.
        "CAMERA_SERIAL=SNTL-00042",
        "SLOT=2",
        "BYTES=123456",
        "PRIORITY=6",
        "_TRANSPORT=journal",
    ] {
        assert!(shown.contains(line), "{line:?} not in:\n{shown}");
    }
}
