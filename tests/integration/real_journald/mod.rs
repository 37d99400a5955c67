//! The real systemd-journald, started for one test in private mount and PID namespaces: its
//! own `/run`, an empty `/var/log`, and the catalog under test compiled in
//! `/var/lib/systemd/catalog`. The host's journal is untouched, and the PID namespace ends
//! with the test's script, taking journald with it.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic, with its message, is how a test fails"
)]

use std::fs;
use std::path::Path;
use std::process::Command;

/// Starts journald, runs the child command, then prints `journalctl -x` and the verbose
/// entry for one event.
const SCRIPT: &str = r#"set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal /run/log/journal
mount -t tmpfs tmpfs /var/log
mount -t tmpfs tmpfs /var/lib/systemd
mkdir -p /var/lib/systemd/catalog
cp "$CATALOG_DATABASE" /var/lib/systemd/catalog/database
"$JOURNALD" 2>/dev/null &
i=0
until [ -S /run/systemd/journal/socket ]; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "systemd-journald did not start" >&2; exit 1; }
    sleep 0.05
done
"$@" >/dev/null
i=0
until journalctl -q -D /run/log/journal --no-pager MESSAGE_ID="$EVENT_ID" -o cat | grep -q .; do
    i=$((i + 1)); [ $i -lt 200 ] || break
    sleep 0.05
done
journalctl -D /run/log/journal -x --no-pager MESSAGE_ID="$EVENT_ID"
journalctl -D /run/log/journal -o verbose --no-pager MESSAGE_ID="$EVENT_ID"
"#;

/// Runs `child` (its program, arguments and environment) against a real journald that
/// knows `catalog`, and returns what journalctl shows for the entries with `event_id`.
pub fn show(catalog: &Path, child: &Command, event_id: &str) -> String {
    let journald = [
        "/lib/systemd/systemd-journald",
        "/usr/lib/systemd/systemd-journald",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.exists())
    .expect("systemd-journald is not installed: install systemd with scripts/install-deps");
    // The catalog compiled as the systemd package's trigger does, into a root of its own.
    let root = tempfile::tempdir().unwrap();
    let catalogs = root.path().join("usr/lib/systemd/catalog");
    fs::create_dir_all(&catalogs).unwrap();
    fs::copy(catalog, catalogs.join("sentinel-dock.catalog")).unwrap();
    let compiled = Command::new("journalctl")
        .arg(format!("--root={}", root.path().display()))
        .arg("--update-catalog")
        .status()
        .unwrap();
    assert!(compiled.success(), "journalctl --update-catalog failed");

    let mut command = Command::new("timeout");
    command.args(["60", "unshare"]);
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        command.args(["--user", "--map-root-user"]);
    }
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "--pid",
            "--fork",
            "--kill-child",
        ])
        .args(["--mount-proc", "--", "sh", "-c", SCRIPT, "sh"])
        .arg(child.get_program())
        .args(child.get_args())
        .env("JOURNALD", journald)
        .env(
            "CATALOG_DATABASE",
            root.path().join("var/lib/systemd/catalog/database"),
        )
        .env("EVENT_ID", event_id);
    for (key, value) in child.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("-- No entries --"), "{stdout}\n{stderr}");
    stdout
}
