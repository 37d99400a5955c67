//! A real PostgreSQL 15 (Debian's `postgresql-15`, installed by scripts/install-deps) with a
//! throwaway cluster, for the register's tests on a force's engine. It is made and run by
//! `scripts/postgres`, the script `scripts/test` and the docs use, so that one place knows
//! how: initdb and pg_ctl as the unprivileged `postgres` user when the tests run as root, a
//! Unix socket in the cluster's own folder and no TCP port, local connections trusted.
//! Each server has its own folder (and so its own socket); it is stopped and removed on drop.
//! `psql` runs SQL through Debian's own client, for the tests' independent checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Debian's PostgreSQL 15 binaries (not on `PATH`).
const BINDIR: &str = "/usr/lib/postgresql/15/bin";

/// One server and its cluster, in a temporary folder that also holds its socket.
pub struct Postgres {
    dir: tempfile::TempDir,
    admin_url: String,
}

/// Panics with a message naming scripts/install-deps when a PostgreSQL 15 tool is missing:
/// a test of the force's register never passes by skipping its engine.
fn require_postgres() {
    for tool in ["initdb", "pg_ctl", "pg_isready", "postgres", "psql"] {
        let path = Path::new(BINDIR).join(tool);
        assert!(
            path.is_file(),
            "this test needs PostgreSQL 15's {} (Debian's postgresql-15 and \
             postgresql-client-15), which is not installed: install it with \
             scripts/install-deps (as root)",
            path.display()
        );
    }
}

/// `scripts/postgres`, at the crate's root.
pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres")
}

/// Runs `scripts/postgres ACTION DIR` and returns its standard output, or panics with its
/// standard error.
fn run_script(action: &str, dir: &Path) -> String {
    let out = Command::new(script())
        .arg(action)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script().display()));
    assert!(
        out.status.success(),
        "scripts/postgres {action} {} failed ({}): {}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Postgres {
    /// Makes a fresh cluster in a temporary folder, starts it and waits until it accepts
    /// connections.
    pub fn start() -> Postgres {
        require_postgres();
        // Short and plain: the socket's path must fit in 107 bytes, and scripts/postgres
        // takes only letters, digits and `/._-` in a folder's name.
        let dir = tempfile::Builder::new()
            .prefix("sentinel-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        let admin_url = run_script("start", dir.path());
        assert!(
            admin_url.starts_with("postgresql:///postgres?host="),
            "scripts/postgres start printed {admin_url:?}, not an admin URI"
        );
        Postgres { dir, admin_url }
    }

    /// The superuser's URI on the `postgres` database (libpq's form, socket folder as host).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The folder holding the cluster (`data/`), the socket and the server's log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("postgres.log")).unwrap_or_default()
    }

    /// The URI of database `name` on this server, as the superuser.
    pub fn url(&self, name: &str) -> String {
        let rest = self
            .admin_url
            .strip_prefix("postgresql:///postgres?")
            .unwrap();
        format!("postgresql:///{name}?{rest}")
    }

    /// Creates database `name` (letters, digits and `_`) and returns its URI.
    pub fn database(&self, name: &str) -> String {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "a test database's name is letters, digits and _: {name:?}"
        );
        self.psql(&self.admin_url, &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// Runs `sql` through psql on `url`, stopping at the first error; returns the rows as
    /// psql prints them unaligned (`|` between columns, one row a line), or its error.
    pub fn try_psql(&self, url: &str, sql: &str) -> Result<String, String> {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(Path::new(BINDIR).join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .unwrap_or_else(|e| panic!("run psql: {e}"));
        if status.success() {
            Ok(String::from_utf8(stdout).unwrap().trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&stderr).into_owned())
        }
    }

    /// `try_psql`, panicking with psql's error and the end of the server's log.
    pub fn psql(&self, url: &str, sql: &str) -> String {
        self.try_psql(url, sql).unwrap_or_else(|e| {
            panic!(
                "psql on {url} refused {sql:?}: {e}\nthe server's log:\n{}",
                self.log()
            )
        })
    }

    /// Whether the server accepts connections now (pg_isready).
    pub fn is_ready(&self) -> bool {
        Command::new(Path::new(BINDIR).join("pg_isready"))
            .arg("-q")
            .arg("-h")
            .arg(self.dir())
            .args(["-d", "postgres"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Stops the server as a crash does (pg_ctl stop -m immediate): clients lose their
    /// connections, nothing is checkpointed, the next start recovers from the WAL.
    pub fn kill(&self) {
        run_script("kill", self.dir());
    }

    /// Stops the server (fast mode) and starts it again with server settings added
    /// (`-c ssl=on -c listen_addresses=127.0.0.1 ...`); waits until it answers.
    pub fn restart_with(&self, settings: &str) {
        run_script("stop", self.dir());
        let out = Command::new(script())
            .arg("start")
            .arg(self.dir())
            .env("PG_EXTRA_OPTS", settings)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/postgres start with {settings}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }

    /// Starts the server again on the same cluster and socket; waits until it answers.
    pub fn restart(&self) {
        let url = run_script("start", self.dir());
        assert_eq!(url, self.admin_url, "the restarted server's URI changed");
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Not run_script: a panic in drop while a test is failing would hide its message.
        let _ = Command::new(script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// The register a test at `tag` (its temporary folder) keeps on PostgreSQL, when this run's
/// register tests are on it (`SENTINEL_TEST_REGISTER=postgres`, with the server
/// `SENTINEL_TEST_POSTGRES` names, which scripts/test starts): a database of its own,
/// named after the folder. `None`: the test keeps its SQLite file.
pub fn test_register_url(tag: &Path) -> Option<String> {
    if std::env::var("SENTINEL_TEST_REGISTER").ok()?.as_str() != "postgres" {
        return None;
    }
    let admin = std::env::var("SENTINEL_TEST_POSTGRES").expect(
        "SENTINEL_TEST_REGISTER=postgres needs SENTINEL_TEST_POSTGRES, the URI of a server \
         (scripts/test starts one with scripts/postgres)",
    );
    let name = format!(
        "desk_{}",
        &blake3::hash(tag.as_os_str().as_encoded_bytes()).to_hex()[..24]
    );
    let out = Command::new(Path::new(BINDIR).join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &admin, "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "CREATE DATABASE {name} on {admin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (head, query) = admin.split_once('?').unwrap_or((admin.as_str(), ""));
    let base = head.rsplit_once('/').map_or(head, |(base, _)| base);
    Some(format!("{base}/{name}?{query}"))
}
