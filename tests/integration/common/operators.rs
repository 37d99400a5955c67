//! The operators' side of a running daemon, for the end-to-end register tests: the daemon
//! configured with real Unix users in each role and an export folder, fixture cameras
//! docked, and `sentinel-dockctl` run as those users.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Output;

use super::daemon::Daemon;
use super::users::{TestUser, is_root, test_user};
use super::{CameraSpec, Layout, build_fat_image};

/// The people of the service; `stranger` is a Unix user of the machine with no role.
pub struct People {
    pub head: TestUser,
    pub agent: TestUser,
    pub tech: TestUser,
    pub stranger: TestUser,
}

/// A running daemon whose `[access]` names the test users, with an export folder.
pub struct Service {
    pub daemon: Daemon,
    pub people: People,
}

/// `sentinel-dockctl`'s exit status and output.
pub struct Ctl {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ctl {
    fn from(out: Output) -> Ctl {
        Ctl {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Starts a daemon for the test users (plus `also_authorised`) and `extra` configuration.
/// It creates Unix users: the tests that call it are `#[ignore = "needs root"]`.
pub fn start(also_authorised: &str, extra: &[(&str, &str)]) -> Service {
    start_with_env(also_authorised, extra, &[])
}

/// `start`, with environment variables for the daemon (NOTIFY_SOCKET...).
pub fn start_with_env(
    also_authorised: &str,
    extra: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Service {
    assert!(
        is_root(),
        "needs root: this test creates Unix users and runs sentinel-dockctl as them \
         (run it as root with --include-ignored, as scripts/test does)"
    );
    let people = People {
        head: test_user("sdtest-head"),
        agent: test_user("sdtest-agent"),
        tech: test_user("sdtest-tech"),
        stranger: test_user("sdtest-stranger"),
    };
    let access = format!(
        "head = [\"sdtest-head\"]\nauthorised = [\"sdtest-agent\"{also_authorised}]\ntechnicians = [\"sdtest-tech\"]"
    );
    let mut config = vec![
        ("access", access.as_str()),
        ("extract", "root = \"exports\""),
    ];
    config.extend_from_slice(extra);
    let daemon = Daemon::start_with_env(&config, env);
    fs::create_dir(daemon.path("exports")).unwrap();
    daemon.open_to_other_users();
    // The first daily upkeep runs once the daemon is ready: let it pass before the
    // cameras come, so that it never purges what a test has just ingested.
    daemon.wait_log("daily upkeep");
    Service { daemon, people }
}

impl Service {
    /// Docks fixture cameras and waits until each is ingested and wiped.
    pub fn dock(&self, serials: &[&str]) {
        for serial in serials {
            let image = build_fat_image(
                &CameraSpec::fixture(serial),
                &self.daemon.path("cameras"),
                Layout::Superfloppy,
            );
            self.daemon.dock(serial, &image);
        }
        for serial in serials {
            self.daemon.wait_state(serial, "safe-to-undock");
        }
    }

    pub fn ctl(&self, user: &TestUser, args: &[&str]) -> Ctl {
        self.daemon.dockctl(Some(user), args).into()
    }

    /// Runs a command line as `user` and expects exit status 0; returns its stdout.
    pub fn ok(&self, user: &TestUser, args: &[&str]) -> String {
        let out = self.ctl(user, args);
        assert_eq!(
            out.code, 0,
            "{args:?} as {}: {}{}",
            user.name, out.stdout, out.stderr
        );
        out.stdout
    }

    /// Runs a command line as `user` and expects a refusal (exit status 3, the role named).
    pub fn refused(&self, user: &TestUser, args: &[&str]) -> String {
        let out = self.ctl(user, args);
        assert_eq!(out.code, 3, "{args:?} as {}: {}", user.name, out.stdout);
        assert!(
            out.stderr
                .contains(&format!("user `{}` may not run", user.name))
                && out.stderr.contains("it needs the role")
                && out.stderr.contains("recorded in the audit register"),
            "{args:?} as {}: {}",
            user.name,
            out.stderr
        );
        out.stderr
    }

    /// A folder only `user` may enter, for the files sentinel-dockctl writes as that user.
    pub fn home_of(&self, user: &TestUser) -> PathBuf {
        let dir = self.daemon.path(&format!("home-{}", user.name));
        if !dir.exists() {
            fs::create_dir(&dir).unwrap();
            nix::unistd::chown(&dir, Some(user.uid.into()), Some(user.gid.into())).unwrap();
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        }
        dir
    }

    /// A number the register answers (`SELECT count(*) ...`).
    pub fn count(&self, sql: &str) -> i64 {
        self.daemon
            .register()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    pub fn state(&self, stem: &str) -> String {
        self.daemon
            .register()
            .query_row(
                "SELECT state FROM recordings WHERE stem = ?1",
                [stem],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// The stored video's path, from the register.
    pub fn stored_video(&self, stem: &str) -> PathBuf {
        let conn = self.daemon.register();
        let rows = sentinel_dock::custody::register::stored::by_stem(
            &sentinel_dock::custody::register::Conn::from_sqlite(conn),
            stem,
        )
        .unwrap();
        let video = rows[0].video.clone().expect("a stored video");
        self.daemon.path("store").join(video.path)
    }
}
