//! The error rule (`base::error`): a message never repeats its source, so the chain a
//! person reads says each cause once. Real failures (a missing camera, a store on a file,
//! a register in a missing folder, a missing configuration or socket), through the library
//! and through the real binaries.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sentinel_dock::app::control::client::Client;
use sentinel_dock::app::ingest::{IngestError, Options};
use sentinel_dock::base::config::Config;
use sentinel_dock::base::error::{chain, repeated_source};
use sentinel_dock::camera::usb;
use sentinel_dock::custody::store::Store;

use crate::common::*;

/// What the OS says of a missing file, as `io::Error` writes it.
fn not_found() -> String {
    std::io::Error::from_raw_os_error(libc::ENOENT).to_string()
}

/// A configuration with its store and register in `dir`, the register at `register`.
fn config(dir: &Path, store: &str, register: &str) -> Config {
    let text = format!(
        "[store]\npath = \"{store}\"\nreserve = 0\n[register]\npath = \"{register}\"\n\
         [control]\nsocket = \"{}\"\n",
        dir.join("control.sock").display()
    );
    Config::from_toml(&text, dir).unwrap()
}

/// Fails unless no link of `e`'s chain repeats its source, and `cause` (the innermost
/// words, from the OS or SQLite) is said exactly once; returns the chain.
fn said_once(e: &(dyn Error + 'static), cause: &str) -> String {
    let text = chain(e);
    if let Some(link) = repeated_source(e) {
        panic!("`{link}` repeats its source; the chain reads: {text}");
    }
    assert_eq!(text.matches(cause).count(), 1, "`{cause}` once in: {text}");
    text
}

#[test]
fn a_missing_camera_source_says_the_os_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "store", "register.sqlite");
    let camera = dir.path().join("no-such-camera");
    let err = crate::common::ingest_once(&config, &camera, &Options::default()).unwrap_err();
    assert!(matches!(err, IngestError::Volume { .. }), "{err:?}");
    let text = said_once(&err, &not_found());
    assert!(text.contains("cannot open camera source"), "{text}");
    assert!(text.contains("check that the camera is docked"), "{text}");
}

#[test]
fn a_store_that_is_a_file_says_the_os_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("store"), b"not a folder").unwrap();
    let config = config(dir.path(), "store", "register.sqlite");
    let camera = build_dir(&CameraSpec::fixture(SERIAL), dir.path());
    let err = crate::common::ingest_once(&config, &camera, &Options::default()).unwrap_err();
    assert!(matches!(err, IngestError::Store(_)), "{err:?}");
    let text = chain(&err);
    let cause = err
        .source()
        .and_then(|store| store.source())
        .map(ToString::to_string);
    let Some(cause) = cause else {
        panic!("the store's error has the OS's as its source: {text}")
    };
    said_once(&err, &cause);
}

#[test]
fn a_register_in_a_missing_folder_says_sqlite_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "store", "missing/register.sqlite");
    let camera = build_dir(&CameraSpec::fixture(SERIAL), dir.path());
    let err = crate::common::ingest_once(&config, &camera, &Options::default()).unwrap_err();
    assert!(matches!(err, IngestError::Register(_)), "{err:?}");
    let text = said_once(&err, "unable to open database file");
    assert!(
        text.starts_with("register: cannot open the register "),
        "{text}"
    );
}

#[test]
fn the_other_layers_errors_say_their_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let config_err = Config::load(&missing.join("sentinel-dock.toml")).unwrap_err();
    said_once(&config_err, &not_found());
    let client_err = Client::connect(&missing.join("control.sock")).unwrap_err();
    said_once(&client_err, &not_found());
    let config = config(dir.path(), "store", "register.sqlite");
    let usb_err = usb::identify(&missing.join("sdz"), &config.usb, &config.profile).unwrap_err();
    said_once(&usb_err, &not_found());
    let store_err = Store::open_existing(&missing).unwrap_err();
    assert!(
        repeated_source(&store_err).is_none(),
        "{}",
        chain(&store_err)
    );
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap()
}

/// The configuration file of `config`'s paths, for the binaries.
fn config_file(dir: &Path) -> PathBuf {
    let path = dir.join("sentinel-dock.toml");
    fs::write(
        &path,
        format!(
            "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n\
             [control]\nsocket = \"{}\"\n",
            dir.join("control.sock").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn dockctl_prints_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = env!("CARGO_BIN_EXE_sentinel-dockctl");
    let missing = dir.path().join("missing.toml");
    let out = run(ctl, &["--config", missing.to_str().unwrap(), "status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "sentinel-dockctl: cannot read configuration file {}: {}",
            missing.display(),
            not_found()
        )
    );

    // No daemon behind the socket: the client's refusal, then the OS's words, once.
    let config = config_file(dir.path());
    let out = run(ctl, &["--config", config.to_str().unwrap(), "status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("is the service running?"), "{stderr}");
    assert_eq!(stderr.matches(&not_found()).count(), 1, "{stderr}");
    assert!(stderr.trim_end().ends_with(&not_found()), "{stderr}");
}

#[test]
fn dockd_prints_each_cause_once_without_removing_any() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let camera = dir.path().join("no-such-camera");
    let out = run(
        env!("CARGO_BIN_EXE_sentinel-dockd"),
        &[
            "--config",
            config.to_str().unwrap(),
            "ingest",
            camera.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let c = camera.display();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "sentinel-dockd: ingest of {c} stopped; nothing unproven was wiped: camera source {c}: \
             cannot open camera source {c} (check that the camera is docked and that the service \
             user may read the device): {}",
            not_found()
        )
    );
}
