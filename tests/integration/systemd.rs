//! The systemd side of the service, checked by systemd's own tools: the unit
//! (`systemd-analyze verify` and `security`), the sysusers entry (`systemd-sysusers`), the
//! journal catalog (`journalctl --update-catalog`), and their agreement with the code
//! (`events::ALL`) and the default configuration.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sentinel_dock::base::events;

const UNIT: &str = "sentinel-dockd.service";
/// Where the package installs the daemon, as the unit's ExecStart says.
const INSTALLED_BINARY: &str = "/usr/bin/sentinel-dockd";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn unit_text() -> String {
    fs::read_to_string(repo("systemd").join(UNIT)).unwrap()
}

/// Runs a command, failing the test with the fix when the tool is not installed.
fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} ({e}): install systemd with scripts/install-deps",
            command.get_program()
        )
    })
}

/// The unit's `[Service]` settings, each key with its values in order.
fn service_settings(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut section = "";
    for line in unit.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]"
            && let Some((key, value)) = line.split_once('=')
        {
            settings
                .entry(key.trim().to_owned())
                .or_default()
                .push(value.trim().to_owned());
        }
    }
    settings
}

/// The unit with ExecStart pointing at the binary cargo built, in a folder of its own:
/// `systemd-analyze verify` refuses a unit whose ExecStart does not exist.
fn unit_with_built_binary(dir: &Path) -> PathBuf {
    let unit = unit_text();
    let built = env!("CARGO_BIN_EXE_sentinel-dockd");
    let from = format!("ExecStart={INSTALLED_BINARY} ");
    assert_eq!(
        unit.matches(&from).count(),
        1,
        "one ExecStart={INSTALLED_BINARY}"
    );
    let path = dir.join(UNIT);
    fs::write(&path, unit.replace(&from, &format!("ExecStart={built} "))).unwrap();
    path
}

fn verify(unit: &Path) -> Output {
    run(Command::new("systemd-analyze").arg("verify").arg(unit))
}

#[test]
fn systemd_analyze_verify_passes_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = verify(&unit_with_built_binary(dir.path()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // verify exits 0 on unknown keys and bad values, and only says so on stderr.
    assert_eq!(stderr, "", "systemd-analyze verify complained");
}

#[test]
fn systemd_analyze_verify_would_report_a_misspelt_setting() {
    let dir = tempfile::tempdir().unwrap();
    let path = unit_with_built_binary(dir.path());
    let misspelt = fs::read_to_string(&path)
        .unwrap()
        .replace("WatchdogSec=", "WatchdogSecs=");
    fs::write(&path, misspelt).unwrap();
    let stderr = String::from_utf8_lossy(&verify(&path).stderr).into_owned();
    assert!(stderr.contains("Unknown key 'WatchdogSecs'"), "{stderr}");
}

/// The overall exposure `systemd-analyze security` gives, from its last line:
/// `→ Overall exposure level for sentinel-dockd.service: 0.6 SAFE 😀`.
fn exposure(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|l| l.contains("Overall exposure level for"))?;
    line.rsplit_once(": ")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn systemd_analyze_security_rates_the_unit_1_0_or_lower() {
    let out = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(repo("systemd").join(UNIT)));
    let report = String::from_utf8_lossy(&out.stdout);
    let score = exposure(&report).unwrap_or_else(|| {
        panic!(
            "no exposure level in: {report}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(score <= 1.0, "exposure {score} is above 1.0:\n{report}");
}

#[test]
fn exposure_is_read_from_the_reports_last_line() {
    let report = "✗ UMask= ...   0.1\n\n→ Overall exposure level for x.service: 9.6 UNSAFE 😨\n";
    assert_eq!(exposure(report), Some(9.6));
    assert_eq!(exposure("nothing here"), None);
}

#[test]
fn the_unit_keeps_what_the_service_and_the_cameras_need() {
    let settings = service_settings(&unit_text());
    let one = |key: &str| -> &str {
        match settings.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("{key}= should be set once: {other:?}"),
        }
    };
    assert_eq!(one("Type"), "notify");
    assert_eq!(one("NotifyAccess"), "main");
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(
        one("ExecStart"),
        format!("{INSTALLED_BINARY} --config /etc/sentinel-dock/sentinel-dock.toml")
    );
    assert_eq!(one("User"), "sentinel-dock");
    assert_eq!(one("Group"), "sentinel-dock");
    assert_eq!(one("StateDirectory"), "sentinel-dock");
    assert_eq!(one("RuntimeDirectory"), "sentinel-dock");
    assert_eq!(one("ConfigurationDirectory"), "sentinel-dock");
    assert_eq!(one("PrivateNetwork"), "yes");
    assert_eq!(one("DevicePolicy"), "closed");
    assert!(settings["DeviceAllow"].contains(&"block-sd rw".to_owned()));
    assert_eq!(one("CapabilityBoundingSet"), "");
    // Each would break the service: the cameras hidden, the callers unknown, mdstat gone.
    assert!(!settings.contains_key("PrivateDevices"));
    assert!(!settings.contains_key("PrivateUsers"));
    assert!(!settings.contains_key("ProcSubset"));
    for key in ["WatchdogSec", "TimeoutStopSec"] {
        assert!(one(key).ends_with('s'), "{key}={}", one(key));
    }
}

#[test]
fn the_default_configuration_keeps_its_state_where_the_unit_allows_writing() {
    let text = fs::read_to_string(repo("config/sentinel-dock.toml")).unwrap();
    let config: toml::Table = text.parse().unwrap();
    let path = |section: &str, key: &str| -> Option<String> {
        Some(config.get(section)?.get(key)?.as_str()?.to_owned())
    };
    // ProtectSystem=strict: only StateDirectory=, RuntimeDirectory= and ReadWritePaths=
    // are writable.
    for (section, key) in [("store", "path"), ("register", "path")] {
        let value = path(section, key).unwrap();
        assert!(
            value.starts_with("/var/lib/sentinel-dock/"),
            "{section}.{key} = {value}"
        );
    }
    // The export folder is the one other place the unit lets the service write.
    let exports = path("extract", "root").unwrap();
    let unit = service_settings(&unit_text());
    assert!(
        unit["ReadWritePaths"].contains(&format!("-{exports}")),
        "extract.root = {exports} must be in ReadWritePaths= (with `-`: it may not exist yet)"
    );
    if let Some(socket) = path("control", "socket") {
        assert!(
            socket.starts_with("/run/sentinel-dock/"),
            "control.socket = {socket}"
        );
    }
}

#[test]
fn systemd_sysusers_creates_the_service_user_and_group() {
    let root = tempfile::tempdir().unwrap();
    let sysusers = root.path().join("usr/lib/sysusers.d");
    fs::create_dir_all(&sysusers).unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::copy(
        repo("systemd/sentinel-dock.sysusers"),
        sysusers.join("sentinel-dock.conf"),
    )
    .unwrap();
    // What the package's postinst runs, into an empty root.
    let out = run(Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.path().display()))
        .arg("sentinel-dock.conf"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let user: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("sentinel-dock:"))
        .unwrap_or_else(|| panic!("no user sentinel-dock in {passwd}"))
        .split(':')
        .collect();
    assert_eq!(user[5], "/var/lib/sentinel-dock", "home");
    assert_eq!(user[6], "/usr/sbin/nologin", "shell");
    let uid: u32 = user[2].parse().unwrap();
    assert!(uid > 0 && uid < 1000, "a system user: {uid}");
    let group = fs::read_to_string(root.path().join("etc/group")).unwrap();
    let gid = group
        .lines()
        .find_map(|l| l.strip_prefix("sentinel-dock:x:"))
        .unwrap_or_else(|| panic!("no group sentinel-dock in {group}"));
    assert_eq!(gid.trim_end_matches(':'), user[3], "the user's own group");
}

/// One catalog entry: its id and header fields (body kept for the checks).
struct CatalogEntry {
    id: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// Parses the catalog as journalctl does: `-- <id>` opens an entry, `Key: value` headers,
/// a blank line, then the text; `#` lines outside entries are comments.
fn parse_catalog(text: &str) -> Vec<CatalogEntry> {
    let mut entries: Vec<CatalogEntry> = Vec::new();
    let mut in_headers = false;
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("-- ") {
            entries.push(CatalogEntry {
                id: id.trim().to_owned(),
                headers: BTreeMap::new(),
                body: String::new(),
            });
            in_headers = true;
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            assert!(
                line.is_empty() || line.starts_with('#'),
                "text before any entry: {line}"
            );
            continue;
        };
        if in_headers {
            match line.split_once(": ") {
                Some((key, value)) if !line.is_empty() => {
                    entry.headers.insert(key.to_owned(), value.to_owned());
                }
                _ => in_headers = false,
            }
        } else {
            entry.body.push_str(line);
            entry.body.push('\n');
        }
    }
    entries
}

fn catalog() -> Vec<CatalogEntry> {
    parse_catalog(&fs::read_to_string(repo("systemd/sentinel-dock.catalog")).unwrap())
}

#[test]
fn the_catalog_has_one_entry_per_event_kind_and_none_stale() {
    let entries = catalog();
    for kind in events::ALL {
        let n = entries.iter().filter(|e| e.id == kind.id).count();
        assert_eq!(n, 1, "{} ({}) has {n} catalog entries", kind.name, kind.id);
    }
    for entry in &entries {
        assert!(
            events::ALL.iter().any(|k| k.id == entry.id),
            "catalog entry {} is no event kind of src/events.rs",
            entry.id
        );
    }
    assert_eq!(entries.len(), events::ALL.len());
}

#[test]
fn every_catalog_entry_says_what_happened_and_what_to_do() {
    for entry in catalog() {
        let id = &entry.id;
        assert!(!entry.headers["Subject"].is_empty(), "{id}");
        assert_eq!(entry.headers["Defined-By"], "sentinel-dock", "{id}");
        assert!(entry.headers.contains_key("Support"), "{id}");
        let paragraphs = entry
            .body
            .split("\n\n")
            .filter(|p| !p.trim().is_empty())
            .count();
        assert!(paragraphs >= 2, "{id}: what happened, then what to do");
        for line in entry.body.lines() {
            assert!(line.chars().count() <= 80, "{id}: long line {line}");
        }
    }
}

#[test]
fn journalctl_compiles_the_catalog_and_lists_every_event() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("usr/lib/systemd/catalog");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(
        repo("systemd/sentinel-dock.catalog"),
        dir.join("sentinel-dock.catalog"),
    )
    .unwrap();
    let root_arg = format!("--root={}", root.path().display());
    let out = run(Command::new("journalctl").args([&root_arg, "--update-catalog"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Command::new("journalctl").args([&root_arg, "--list-catalog"]));
    let listed = String::from_utf8_lossy(&out.stdout);
    // `<id> <Defined-By>: <Subject>` per entry.
    let entries = catalog();
    for kind in events::ALL {
        let subject = &entries.iter().find(|e| e.id == kind.id).unwrap().headers["Subject"];
        let line = format!("{} sentinel-dock: {subject}", kind.id);
        assert!(
            listed.lines().any(|l| l == line),
            "{line} not in:\n{listed}"
        );
    }
    assert_eq!(listed.lines().count(), events::ALL.len(), "{listed}");
}
