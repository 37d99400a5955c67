//! Real Unix users for the end-to-end tests of roles: created once per run with `useradd`
//! (root only), then `sentinel-dockctl` runs as them, so that the daemon knows each by the
//! kernel's credentials (SO_PEERCRED), as it knows operators.

use std::process::Command;
use std::sync::Mutex;

use nix::unistd::User;

/// A Unix user of the tests.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
}

/// Whether this run may create users and run programs as them.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The system user `name` (no home, no login shell), created when missing. Idempotent:
/// a later run finds it; leaving it behind is harmless.
pub fn test_user(name: &'static str) -> TestUser {
    static CREATING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(user) = lookup(name) {
        return user;
    }
    let out = Command::new("useradd")
        .args(["--system", "--no-create-home", "--user-group"])
        .args(["--shell", "/usr/sbin/nologin", name])
        .output()
        .expect("useradd runs (package passwd)");
    // Another test binary may have made it in between: only its absence is a failure.
    lookup(name).unwrap_or_else(|| {
        panic!(
            "useradd {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn lookup(name: &'static str) -> Option<TestUser> {
    User::from_name(name).ok().flatten().map(|u| TestUser {
        name,
        uid: u.uid.as_raw(),
        gid: u.gid.as_raw(),
    })
}
