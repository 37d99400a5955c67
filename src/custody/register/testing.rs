//! The register's tests on either engine: SQLite by default; PostgreSQL when
//! `SENTINEL_TEST_REGISTER=postgres` and `SENTINEL_TEST_POSTGRES` names a server that the
//! test script started (`scripts/test` does), so that every register test runs on both.

use std::path::Path;

use super::{Conn, EngineKind, PgTarget, Register, RegisterError};

/// Whether this run's register tests are on PostgreSQL.
pub(crate) fn on_postgres() -> bool {
    std::env::var("SENTINEL_TEST_REGISTER").is_ok_and(|v| v == "postgres")
}

/// Opens the test register that `path` names: the SQLite file itself, or on PostgreSQL a
/// database named after the path (created the first time), so that a test opening
/// the same path twice meets the same register, and two tests never share one.
pub(crate) fn open_at(path: &Path) -> Result<Register, RegisterError> {
    if !on_postgres() {
        return Register::open(path);
    }
    Register::open_postgres(&target(path, ""))
}

/// The PostgreSQL register for `path`, writing as `site`.
pub(crate) fn target(path: &Path, site: &str) -> PgTarget {
    let admin = std::env::var("SENTINEL_TEST_POSTGRES").expect(
        "SENTINEL_TEST_REGISTER=postgres needs SENTINEL_TEST_POSTGRES, the URI of a server \
         (scripts/test starts one with scripts/postgres)",
    );
    let name = format!(
        "reg_{}",
        blake3::hash(path.as_os_str().as_encoded_bytes()).to_hex()
    )[..36]
        .to_string();
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("the test server {admin} does not answer: {e}"));
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .expect("pg_database is readable")
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("the test server creates a database");
    }
    let (head, query) = admin.split_once('?').unwrap_or((admin.as_str(), ""));
    let base = head.rsplit_once('/').map_or(head, |(base, _)| base);
    PgTarget {
        url: format!("{base}/{name}?{query}"),
        password_file: None,
        site: site.to_string(),
    }
}

/// The statement that drops a trigger, for the tests that tamper with the register as an
/// attacker with the database's rights would.
pub(crate) fn drop_trigger(conn: &Conn, trigger: &str, table: &str) -> String {
    match conn.kind() {
        EngineKind::Sqlite => format!("DROP TRIGGER {trigger}"),
        EngineKind::Postgres => format!("DROP TRIGGER {trigger} ON {table}"),
    }
}
