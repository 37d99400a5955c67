//! `udev/70-sentinel-dock.rules`: generated from the configuration, and run by udev itself.
//!
//! The rule runs in `udevadm test` against the fake devices of `tests/integration/umockdev/`, together
//! with the system's own rules (60-persistent-storage...), inside a private mount namespace
//! so that nothing of the machine changes: the rules folder, `/etc/group` (with a
//! `sentinel-dock` group added), `/run` and `/dev` are replaced there only. This needs root
//! (the tests are `#[ignore = "needs root"]`), `unshare` and udev's `udevadm` (from
//! `scripts/install-deps`; without them the tests fail, saying which is missing).
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::UMOCKDEV;

/// The group id the test gives `sentinel-dock` in its private `/etc/group`.
const GROUP_ID: &str = "4242";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn dockd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_committed_rule_is_the_one_for_the_documented_configuration() {
    let committed = std::fs::read_to_string(root().join("udev/70-sentinel-dock.rules")).unwrap();
    let config = root().join("config/sentinel-dock.toml");
    let out = dockd(&["--config", config.to_str().unwrap(), "udev-rule"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        committed.as_bytes() == out.stdout,
        "udev/70-sentinel-dock.rules differs from `sentinel-dockd udev-rule` for config/sentinel-dock.toml: regenerate it"
    );
}

#[test]
fn the_rule_follows_the_configured_ids() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[store]\npath = \"s\"\n[register]\npath = \"r.sqlite\"\n[usb]\nvendor_id = 0x2a5f\nproduct_id = 0x0104\n",
    )
    .unwrap();
    let out = dockd(&["--config", config.to_str().unwrap(), "udev-rule"]);
    let rule = String::from_utf8_lossy(&out.stdout);
    assert!(
        rule.contains(r#"ATTRS{idVendor}=="2a5f", ATTRS{idProduct}=="0104""#),
        "{rule}"
    );
    assert!(
        rule.contains(r#"ATTR{idVendor}=="2a5f", ATTR{idProduct}=="0104""#),
        "{rule}"
    );
    assert!(!rule.contains("1209"), "{rule}");
}

/// Runs in the private mount namespace: replace the rules, the groups, /run and /dev,
/// then `udevadm test` the device under umockdev.
const NAMESPACED_TEST: &str = r#"set -e
work=$1 description=$2 device=$3 group_id=$4
mount --make-rprivate /
mount --bind "$work/rules" /etc/udev/rules.d
cp /etc/group "$work/group"
echo "sentinel-dock:x:$group_id:" >> "$work/group"
mount --bind "$work/group" /etc/group
mount -t tmpfs tmpfs /run
# udev writes its links under /dev: a private /dev with only the nodes the tools need.
mkdir "$work/host-dev"
mount --bind /dev "$work/host-dev"
mount -t tmpfs tmpfs /dev
for node in null zero full random urandom; do
    touch "/dev/$node"
    mount --bind "$work/host-dev/$node" "/dev/$node"
done
umount "$work/host-dev"
umockdev-run --device "$description" -- udevadm test "$device"
echo "== /dev after udevadm test"
find /dev/sentinel-dock -printf '%p -> %l\n' 2>/dev/null || true
"#;

/// Fails the test, saying why, if udev cannot run the rule here.
fn require_udev() {
    match Command::new("udevadm").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => panic!(
            "this test needs udevadm (Debian package udev): install it with scripts/install-deps (as root)"
        ),
    }
    match Command::new("unshare").args(["--mount", "true"]).output() {
        Ok(out) => assert!(
            out.status.success(),
            "unshare --mount failed (this test needs root): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("this test needs unshare (util-linux): {e}"),
    }
}

/// The lines of `udevadm test` output about this rule, the resulting properties, and the
/// links made in the private `/dev/sentinel-dock` (`PATH -> TARGET`).
fn udevadm_test(description: &str, sysfs_path: &str) -> Vec<String> {
    let _one_at_a_time = UMOCKDEV.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    let rules = work.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::copy(
        root().join("udev/70-sentinel-dock.rules"),
        rules.join("70-sentinel-dock.rules"),
    )
    .unwrap();
    let description: PathBuf = root().join("tests/integration/umockdev").join(description);
    let out = Command::new("unshare")
        .args(["--mount", "sh", "-c", NAMESPACED_TEST, "sh"])
        .arg(work.path())
        .arg(&description)
        .args([sysfs_path, GROUP_ID])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "udevadm test {sysfs_path}:\n{text}");
    let ours: Vec<String> = text
        .lines()
        .filter(|l| {
            l.contains("70-sentinel-dock.rules")
                || l.starts_with("DEVLINKS=")
                || l.starts_with("UDISKS_IGNORE=")
                || l.starts_with("/dev/sentinel-dock/")
        })
        .map(str::to_string)
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.starts_with("Reading rules file") && l.ends_with("70-sentinel-dock.rules")),
        "udev did not read the rule:\n{text}"
    );
    for line in &ours {
        let complaint = ["Invalid", "invalid", "ignoring", "Unknown", "error", "fail"];
        assert!(
            !complaint.iter().any(|c| line.contains(c)),
            "udev complains: {line}\n{text}"
        );
    }
    ours
}

fn has(lines: &[String], text: &str) -> bool {
    lines.iter().any(|l| l.contains(text))
}

#[test]
#[ignore = "needs root"]
fn udev_links_groups_and_hides_a_docked_camera() {
    require_udev();
    let group = format!("GROUP {GROUP_ID}");
    let link = "LINK 'sentinel-dock/SNTL-00042'";

    let partition = udevadm_test("sentinel-camera.umockdev", "/sys/class/block/sdb1");
    for expected in [
        link,
        &group,
        "MODE 0660",
        "UDISKS_IGNORE=1",
        "/dev/sentinel-dock/SNTL-00042 -> ../sdb1",
    ] {
        assert!(
            has(&partition, expected),
            "sdb1 lacks {expected}: {partition:#?}"
        );
    }

    // Partitioned: the whole disk is the camera's too, but the link goes to sdb1 only.
    let disk = udevadm_test("sentinel-camera.umockdev", "/sys/class/block/sdb");
    assert!(
        has(&disk, &group) && has(&disk, "UDISKS_IGNORE=1"),
        "{disk:#?}"
    );
    assert!(
        !has(&disk, "LINK 'sentinel-dock/") && !has(&disk, "/dev/sentinel-dock/"),
        "{disk:#?}"
    );

    let superfloppy = udevadm_test("sentinel-superfloppy.umockdev", "/sys/class/block/sdb");
    assert!(
        superfloppy
            .iter()
            .any(|l| l == "/dev/sentinel-dock/SNTL-00042 -> ../sdb"),
        "{superfloppy:#?}"
    );

    // The USB device node, where the daemon reads the string descriptors.
    let usb = udevadm_test("sentinel-camera.umockdev", "/sys/bus/usb/devices/1-1");
    assert!(has(&usb, &group) && has(&usb, "MODE 0660"), "{usb:#?}");
}

#[test]
#[ignore = "needs root"]
fn udev_leaves_other_devices_alone_and_never_uses_a_path_as_a_name() {
    require_udev();
    let other = udevadm_test("other-vendor.umockdev", "/sys/class/block/sdb1");
    assert_eq!(
        other.len(),
        1,
        "only `Reading rules file` expected: {other:#?}"
    );

    // usb_id turns `../../etc` into `.._.._etc`: hidden, so a neutral name instead.
    let hostile = udevadm_test("hostile-serial.umockdev", "/sys/class/block/sdb1");
    assert!(
        has(&hostile, "LINK 'sentinel-dock/unnamed-sdb1'"),
        "{hostile:#?}"
    );
    assert!(!has(&hostile, "etc'"), "{hostile:#?}");
}

/// Parses the rules in a private user and mount namespace (no root needed): the rules
/// folder holds this rule alone, `/etc/group` has a `sentinel-dock` group, `/run` is empty.
/// udev reads every rules file before looking at the device, so the loopback one serves.
const NAMESPACED_PARSE: &str = r#"set -e
work=$1
mount --bind "$work/rules" /etc/udev/rules.d
cp /etc/group "$work/group"
echo "sentinel-dock:x:4242:" >> "$work/group"
mount --bind "$work/group" /etc/group
mount -t tmpfs tmpfs /run
udevadm test /sys/class/net/lo
"#;

/// udev accepts the rule's syntax: `udevadm verify` where systemd has it (254 and later);
/// before, udev's own parser in `udevadm test`, whose complaints about the rule fail the
/// test (`udev_links_groups_and_hides_a_docked_camera`, as root, runs the rule on devices).
#[test]
fn udevadm_verify_accepts_the_rule() {
    let rule = root().join("udev/70-sentinel-dock.rules");
    let verify = match Command::new("udevadm").args(["verify", "--help"]).output() {
        Err(e) => panic!(
            "this test needs udevadm (Debian package udev): install it with scripts/install-deps (as root): {e}"
        ),
        Ok(out) => out.status.success(),
    };
    if verify {
        let out = Command::new("udevadm")
            .arg("verify")
            .arg(&rule)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "udevadm verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        let work = tempfile::tempdir().unwrap();
        std::fs::create_dir(work.path().join("rules")).unwrap();
        std::fs::copy(&rule, work.path().join("rules/70-sentinel-dock.rules")).unwrap();
        let out = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .args([NAMESPACED_PARSE, "sh"])
            .arg(work.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "udevadm test in a namespace:\n{text}");
        let ours: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("70-sentinel-dock.rules"))
            .collect();
        assert!(
            ours.iter().any(|l| l.starts_with("Reading rules file")),
            "udev did not read the rule:\n{text}"
        );
        for line in &ours {
            let complaint = ["Invalid", "invalid", "ignoring", "Unknown", "error", "fail"];
            assert!(
                !complaint.iter().any(|c| line.contains(c)),
                "udev complains: {line}\n{text}"
            );
        }
    }
}
