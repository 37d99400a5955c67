//! `sentinel-dockd usb-identify` against fake USB cameras under umockdev.
//!
//! The real binary runs under `umockdev-run`: sysfs, `/dev/sdb`, `/dev/sdb1` and
//! `/dev/bus/usb/001/005` come from a description in `tests/integration/umockdev/`, and libusb's
//! string descriptor requests are answered from a usbmon capture (`usbmon.rs`), so the
//! sysfs walk and the libusb code run unchanged against a device they believe is real.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

#[path = "umockdev/usbmon.rs"]
mod usbmon;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::UMOCKDEV;

/// The camera's USB device in every description.
const USB_SYSFS: &str = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1";
const BUS: u16 = 1;
const ADDRESS: u8 = 5;

const MANUFACTURER: &str = "SENTINEL";
const PRODUCT: &str = "SENTINEL BWC2 body-worn camera";
const SERIAL: &str = "SNTL-00042";

/// What the fake device answers, string by string: manufacturer, product, serial.
fn answers(manufacturer: &str, product: &str, serial: &str) -> Vec<u8> {
    usbmon::string_replies(
        BUS,
        ADDRESS,
        &[(1, manufacturer), (2, product), (3, serial)],
    )
}

struct Dock {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Dock {
    fn new(extra_config: &str) -> Dock {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sentinel-dock.toml");
        std::fs::write(
            &config,
            format!(
                "[store]\npath = \"store\"\n[register]\npath = \"register.sqlite\"\n{extra_config}"
            ),
        )
        .unwrap();
        Dock { dir, config }
    }

    /// Runs `usb-identify DEVICE --json` under umockdev with `description` and, when
    /// given, the device's answers to string requests.
    fn identify(&self, description: &str, replies: Option<Vec<u8>>, device: &str) -> Output {
        let _one_at_a_time = UMOCKDEV.lock().unwrap_or_else(|e| e.into_inner());
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/umockdev")
            .join(description);
        let mut command = Command::new("umockdev-run");
        command.arg("--device").arg(&path);
        if let Some(replies) = replies {
            let capture = self.dir.path().join("strings.pcap");
            std::fs::write(&capture, replies).unwrap();
            command
                .arg("--pcap")
                .arg(format!("{USB_SYSFS}={}", capture.display()));
        }
        command
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_sentinel-dockd"))
            .arg("--config")
            .arg(&self.config)
            .args(["usb-identify", device, "--json"]);
        command.output().unwrap_or_else(|e| {
            panic!("cannot run umockdev-run ({e}): scripts/install-deps installs umockdev")
        })
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn identity(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["usb"].clone()
}

#[test]
fn a_sentinel_camera_is_identified_from_its_disk_and_its_partition() {
    let dock = Dock::new("");
    let cases = [
        ("sentinel-camera.umockdev", "/dev/sdb"),
        ("sentinel-camera.umockdev", "/dev/sdb1"),
        ("sentinel-superfloppy.umockdev", "/dev/sdb"),
    ];
    for (description, device) in cases {
        let replies = answers(MANUFACTURER, PRODUCT, SERIAL);
        let out = dock.identify(description, Some(replies), device);
        let usb = identity(&out);
        assert_eq!(usb["vendor_id"], "1209", "{device}: {usb}");
        assert_eq!(usb["product_id"], "0001", "{device}: {usb}");
        assert_eq!(usb["serial"], SERIAL, "{device}: {usb}");
        assert_eq!(usb["manufacturer"], MANUFACTURER, "{device}: {usb}");
        assert_eq!(usb["product"], PRODUCT, "{device}: {usb}");
        assert_eq!(
            (usb["bus"].as_u64(), usb["address"].as_u64()),
            (Some(1), Some(5))
        );
    }
}

#[test]
fn the_strings_come_from_the_device_not_from_sysfs() {
    // sysfs says "SENTINEL"; the device answers otherwise: libusb's answer is reported.
    let dock = Dock::new("");
    let replies = answers("Sentinel Systèmes SA", "BWC2 \u{1b}[2J", SERIAL);
    let usb = identity(&dock.identify("sentinel-camera.umockdev", Some(replies), "/dev/sdb"));
    assert_eq!(usb["manufacturer"], "Sentinel Systèmes SA");
    assert_eq!(usb["product"], "BWC2 \u{1b}[2J");
}

#[test]
fn another_vendor_is_refused_before_it_is_opened() {
    let dock = Dock::new("");
    // No replies at all: opening it and asking for strings would fail differently.
    let out = dock.identify("other-vendor.umockdev", None, "/dev/sdb1");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("0781:5567") && err.contains("not a SENTINEL camera"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_configured_ids_decide_what_a_camera_is() {
    let dock = Dock::new("[usb]\nvendor_id = 0x0781\nproduct_id = 0x5567\n");
    let replies = answers("SanDisk", "Cruzer Blade", "4C530001230817115171");
    let usb = identity(&dock.identify("other-vendor.umockdev", Some(replies), "/dev/sdb"));
    assert_eq!(
        (usb["vendor_id"].as_str(), usb["serial"].as_str()),
        (Some("0781"), Some("4C530001230817115171"))
    );
    let out = dock.identify("sentinel-camera.umockdev", None, "/dev/sdb");
    assert!(
        stderr(&out).contains("1209:0001, not a SENTINEL camera"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_hostile_serial_is_refused_and_escaped() {
    let dock = Dock::new("");
    let replies = answers(MANUFACTURER, PRODUCT, "../../etc");
    let out = dock.identify("hostile-serial.umockdev", Some(replies), "/dev/sdb");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`../../etc` does not match profile.serial_pattern"),
        "{err}"
    );
    let replies = answers(MANUFACTURER, PRODUCT, "SNTL\n\u{1b}[31m");
    let out = dock.identify("hostile-serial.umockdev", Some(replies), "/dev/sdb");
    assert!(
        stderr(&out).contains("SNTL\\n\\u{1b}[31m"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_serial_missing_or_changed_since_plugging_in_is_refused() {
    let dock = Dock::new("");
    let replies = answers(MANUFACTURER, PRODUCT, "");
    let out = dock.identify("sentinel-camera.umockdev", Some(replies), "/dev/sdb");
    assert!(
        stderr(&out).contains("has no serial number"),
        "{}",
        stderr(&out)
    );
    let replies = answers(MANUFACTURER, PRODUCT, "SNTL-00043");
    let out = dock.identify("sentinel-camera.umockdev", Some(replies), "/dev/sdb");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`SNTL-00043` but the kernel read `SNTL-00042`"),
        "{err}"
    );
}

#[test]
fn a_silent_device_is_an_error_naming_its_usb_node() {
    let dock = Dock::new("");
    let out = dock.identify("sentinel-camera.umockdev", None, "/dev/sdb");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("USB device 001/005"), "{err}");
}

#[test]
fn a_disk_image_has_no_usb_identity() {
    let dock = Dock::new("");
    let image = dock.dir.path().join("SNTL-00042.img");
    std::fs::write(&image, [0u8; 4096]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sentinel-dockd"))
        .arg("--config")
        .arg(&dock.config)
        .args(["usb-identify", "--json"])
        .arg(&image)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["usb"].is_null(), "{doc}");
    assert_eq!(doc["device"], image.to_str().unwrap());
}
