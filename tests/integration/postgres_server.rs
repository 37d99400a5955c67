//! The test PostgreSQL itself (`common::postgres`, `scripts/postgres`), before any register
//! test relies on it: a fresh socket-only cluster, two databases that do not see each
//! other, committed rows that survive a crash (immediate stop) and a restart, a stop that
//! may be called twice, and a clear refusal naming scripts/install-deps when the server's
//! binaries are missing.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::process::Command;

use crate::common::postgres::{Postgres, script};

#[test]
fn two_databases_keep_their_rows_across_a_crash_and_a_restart() {
    let pg = Postgres::start();
    assert!(pg.is_ready());
    // Socket only: a test server never listens on a TCP port.
    assert_eq!(pg.psql(pg.admin_url(), "SHOW listen_addresses"), "");
    assert_eq!(
        pg.psql(pg.admin_url(), "SHOW unix_socket_directories"),
        pg.dir().to_str().unwrap()
    );

    let a = pg.database("post_a");
    let b = pg.database("post_b");
    assert_ne!(a, b);
    for (url, site) in [(&a, "A"), (&b, "B")] {
        pg.psql(
            url,
            &format!(
                "CREATE TABLE recordings (stem text PRIMARY KEY, site text NOT NULL);
                 INSERT INTO recordings VALUES ('SNTL-00042_20180608_142409_0001', '{site}')"
            ),
        );
    }
    pg.psql(
        &b,
        "INSERT INTO recordings VALUES ('SNTL-00007_20180609_080000_0002', 'B')",
    );
    assert_eq!(
        pg.psql(&a, "SELECT site FROM recordings ORDER BY stem"),
        "A"
    );
    assert_eq!(
        pg.psql(&b, "SELECT site FROM recordings ORDER BY stem"),
        "B\nB"
    );
    assert_eq!(pg.psql(&a, "SELECT current_database()"), "post_a");

    pg.kill();
    assert!(!pg.is_ready(), "the server still answers after kill");
    let refused = pg.try_psql(&a, "SELECT 1").unwrap_err();
    assert!(
        refused.contains("connection") || refused.contains("No such file"),
        "psql's error while the server is down: {refused}"
    );

    pg.restart();
    assert!(pg.is_ready());
    assert_eq!(
        pg.psql(&a, "SELECT count(*), min(site) FROM recordings"),
        "1|A"
    );
    assert_eq!(
        pg.psql(&b, "SELECT count(*), min(site) FROM recordings"),
        "2|B"
    );
    // The restart after a crash went through recovery, as after a power cut.
    let log = pg.log();
    assert!(
        log.contains("was interrupted") || log.contains("not properly shut down"),
        "no crash recovery in the server's log:\n{log}"
    );
}

#[test]
fn stop_is_safe_twice_and_start_again_serves_the_same_cluster() {
    let pg = Postgres::start();
    let url = pg.database("register");
    pg.psql(&url, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)");
    for _ in 0..2 {
        let out = Command::new(script())
            .arg("stop")
            .arg(pg.dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/postgres stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!pg.is_ready());
    }
    pg.restart();
    assert_eq!(pg.psql(&url, "SELECT x FROM t"), "7");
    // A second start while it runs prints the same URI and keeps it running.
    pg.restart();
    assert_eq!(pg.psql(&url, "SELECT x FROM t"), "7");
}

#[test]
fn missing_server_binaries_are_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(script())
        .arg("start")
        .arg(dir.path().join("pg"))
        .env("PG_BINDIR", dir.path().join("no-postgresql"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("scripts/install-deps") && stderr.contains("initdb"),
        "the refusal does not name the missing tool and the fix: {stderr}"
    );
    assert!(
        !dir.path().join("pg").exists(),
        "a refused start left a folder behind"
    );
}
