//! The operators' desk for the register tests: a real store and SQLite register filled by
//! the real ingest of the fixture cameras, a clock the test moves, and commands typed as
//! on the command line and run as a given Unix user.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic, with its message, is how a test fails"
)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use clap::Parser;
use sentinel_dock::app::api::request::Command;
use sentinel_dock::app::commands::{self, Caller, CommandError, Context, Reply};
use sentinel_dock::app::ingest::Options;
use sentinel_dock::base::clock::Clock;
use sentinel_dock::base::config::Config;
use sentinel_dock::custody::register::Register;
use sentinel_dock::custody::register::audit::{self, AuditEntry};
use sentinel_dock::custody::store::Store;

use crate::common::{CameraSpec, SERIAL, SERIAL_2, build_dir};

/// The head of service, an authorised agent, a technician, and someone not configured.
pub const HEAD: &str = "chef-pm";
pub const AGENT: &str = "brigadier1";
pub const TECH: &str = "technicien";
pub const STRANGER: &str = "mallory";

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn set(&self, at: &str) {
        *self.0.lock().unwrap() = time(at);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

pub fn time(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("test time {text}: {e}"))
}

#[derive(Parser)]
struct Ctl {
    #[command(subcommand)]
    command: Command,
}

/// A command line, parsed as `sentinel-dockctl` parses it.
pub fn command(line: &[&str]) -> Command {
    let mut args = vec!["sentinel-dockctl"];
    args.extend_from_slice(line);
    Ctl::try_parse_from(args)
        .unwrap_or_else(|e| panic!("{line:?}: {e}"))
        .command
}

pub struct Desk {
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub register: Register,
    /// Shared with the ingests, as the service shares it: its lock is held once.
    pub store: Arc<Store>,
    pub clock: Arc<TestClock>,
}

impl Desk {
    /// An empty desk with the roles above and `extra` TOML appended.
    pub fn new(extra: &str) -> Desk {
        let dir = tempfile::tempdir().unwrap();
        // The register on PostgreSQL in the run's second pass over the desk's tests.
        let register = match crate::common::postgres::test_register_url(dir.path()) {
            Some(url) => format!("url = \"{url}\""),
            None => "path = \"register.sqlite\"".to_string(),
        };
        let text = format!(
            "[store]\npath = \"store\"\nreserve = 0\n[register]\n{register}\n\
             [extract]\nroot = \".\"\n\
             [access]\nhead = [\"{HEAD}\"]\nauthorised = [\"{AGENT}\"]\ntechnicians = [\"{TECH}\"]\n{extra}"
        );
        let config = Config::from_toml(&text, dir.path()).unwrap();
        let register = Register::open_config(&config.register, "").unwrap();
        let store = Arc::new(Store::open(&config.store.path).unwrap());
        let clock = Arc::new(TestClock(Mutex::new(time("2018-03-15T00:00:00Z"))));
        Desk {
            dir,
            config,
            register,
            store,
            clock,
        }
    }

    /// A desk whose store holds both fixture cameras' recordings, ingested for real.
    pub fn with_fixtures(extra: &str) -> Desk {
        let desk = Desk::new(extra);
        for serial in [SERIAL, SERIAL_2] {
            desk.ingest(&CameraSpec::fixture(serial));
        }
        desk
    }

    pub fn ingest(&self, spec: &CameraSpec) {
        let root = build_dir(spec, self.dir.path());
        let options = Options {
            clock: self.clock.clone(),
            ..Options::default()
        };
        let report =
            crate::common::ingest_into(&self.config, &root, &self.store, &options).unwrap();
        assert!(report.all_clear(), "fixture ingest: {report:?}");
    }

    /// Runs a command line as `user`.
    pub fn run(&mut self, user: &str, line: &[&str]) -> Result<Reply, CommandError> {
        let command = command(line);
        let caller = Caller::named(1000 + user.len() as u32, user);
        let mut ctx = Context {
            register: &mut self.register,
            store: &self.store,
            config: &self.config,
            clock: self.clock.as_ref(),
        };
        commands::run(&mut ctx, &caller, &command)
    }

    /// Runs a command line as `user` and expects it to succeed.
    pub fn ok(&mut self, user: &str, line: &[&str]) -> Reply {
        self.run(user, line)
            .unwrap_or_else(|e| panic!("{line:?} as {user}: {e}"))
    }

    /// Runs a command line as `user` and expects a refusal or an invalid request; returns
    /// the message.
    pub fn fails(&mut self, user: &str, line: &[&str]) -> String {
        match self.run(user, line) {
            Ok(r) => panic!("{line:?} as {user} succeeded: {}", r.message),
            Err(e) => sentinel_dock::base::error::chain(&e),
        }
    }

    pub fn context(&mut self) -> Context<'_> {
        Context {
            register: &mut self.register,
            store: &self.store,
            config: &self.config,
            clock: self.clock.as_ref(),
        }
    }

    pub fn audit(&mut self) -> Vec<AuditEntry> {
        audit::entries(&self.conn(), 0).unwrap()
    }

    /// An independent connection on the register's file: tests check the register by its
    /// own SQL, never through the register's door.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.register_path()).unwrap()
    }

    /// A connection of its own on the register (SQLite or PostgreSQL), for the register's
    /// own query functions.
    pub fn conn(&self) -> sentinel_dock::custody::register::Conn {
        Register::open_config(&self.config.register, "")
            .unwrap()
            .into_connection()
    }

    pub fn register_path(&self) -> PathBuf {
        self.config.register.path.clone()
    }

    pub fn store_path(&self, relative: &str) -> PathBuf {
        self.config.store.path.join(relative)
    }

    /// The stored video's path of a recording, from the register.
    pub fn video_path(&mut self, stem: &str) -> PathBuf {
        let rows = sentinel_dock::custody::register::stored::by_stem(&self.conn(), stem).unwrap();
        let video = rows[0].video.clone().expect("stored video");
        self.store_path(&video.path)
    }

    pub fn state(&mut self, stem: &str) -> String {
        self.conn()
            .query_row(
                "SELECT state FROM recordings WHERE stem = ?1",
                [stem],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Runs the sqlite3 command-line tool on the register, as someone tampering would.
    pub fn sqlite3(&self, sql: &str) {
        let out = Process::new("sqlite3")
            .arg(self.register_path())
            .arg(sql)
            .output()
            .expect("sqlite3 runs (install it with scripts/install-deps)");
        assert!(
            out.status.success(),
            "sqlite3 {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fixture recordings' stems.
pub const A1: &str = "SNTL-00042_20180312_143015_0001";
pub const A2: &str = "SNTL-00042_20180312_150102_0002";
pub const A3: &str = "SNTL-00042_20180313_080000_0003";
pub const A4: &str = "SNTL-00042_20180313_091545_0004";
pub const B1: &str = "SNTL-00007_20180312_093000_0001";
pub const B2: &str = "SNTL-00007_20180314_235957_0002";

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 test path")
}
