//! Who the camera behind a block device is, as USB says it: ids, serial, strings.
//!
//! `identify` goes from a block device (whole disk or partition) to its USB device through
//! sysfs, checks the vendor and product ids against `[usb]` before opening anything, then
//! reads the string descriptors with libusb. The serial must match the profile's pattern
//! and agree with the one the kernel read when the camera was plugged in. A regular file
//! (a disk image, as the tests and the demo use) has no USB identity: `Ok(None)`.

mod descriptors;
mod error;
pub mod sysfs;
mod udev_rule;

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use serde::{Serialize, Serializer};

use crate::base::config::{Profile, UsbConfig};

pub(crate) use error::UsbError;
pub use udev_rule::udev_rule;

/// The USB identity of a docked camera, as read from its descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsbIdentity {
    /// `idVendor`, shown as four hex digits.
    #[serde(serialize_with = "hex4")]
    pub vendor_id: u16,
    /// `idProduct`, shown as four hex digits.
    #[serde(serialize_with = "hex4")]
    pub product_id: u16,
    /// The serial number string; it matched the profile's `serial_pattern`.
    pub serial: String,
    /// The manufacturer string, when the device has one (at most 126 characters, untrusted).
    pub manufacturer: Option<String>,
    /// The product string, when the device has one (at most 126 characters, untrusted).
    pub product: Option<String>,
    /// USB bus number.
    pub bus: u8,
    /// Device address on that bus.
    pub address: u8,
}

fn hex4<S: Serializer>(id: &u16, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format!("{id:04x}"))
}

/// The longest untrusted string kept or shown; a USB string descriptor holds at most 126.
const MAX_STRING_CHARS: usize = 126;
/// The longest untrusted string quoted in an error message.
const MAX_QUOTED_CHARS: usize = 64;

/// Identifies the SENTINEL camera behind `device`, or `Ok(None)` for a disk image.
///
/// Refuses (with an error) a device that is not the configured vendor and product, whose
/// serial is missing or does not match `profile.serial_pattern`, or whose serial changed
/// since the kernel read it.
pub fn identify(
    device: &Path,
    usb: &UsbConfig,
    profile: &Profile,
) -> Result<Option<UsbIdentity>, UsbError> {
    let meta = std::fs::metadata(device).map_err(|source| UsbError::Stat {
        device: device.to_path_buf(),
        source,
    })?;
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(None);
    }
    if !kind.is_block_device() {
        return Err(UsbError::NotABlockDevice {
            device: device.to_path_buf(),
            kind: kind_name(&kind),
        });
    }
    let rdev = meta.rdev();
    let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    let port = sysfs::usb_port_of(Path::new("/sys"), device, major, minor)?;
    let found = descriptors::find(device, port.bus, port.address)?;
    let (vendor_id, product_id) = found.ids();
    if (vendor_id, product_id) != (port.vendor_id, port.product_id) {
        // Another device took the address between the sysfs walk and libusb's listing.
        return Err(UsbError::NotOnBus {
            device: device.to_path_buf(),
            bus: port.bus,
            address: port.address,
        });
    }
    if (vendor_id, product_id) != (usb.vendor_id, usb.product_id) {
        return Err(UsbError::NotACamera {
            device: device.to_path_buf(),
            vendor_id,
            product_id,
            expected_vendor: usb.vendor_id,
            expected_product: usb.product_id,
        });
    }
    let read = descriptors::read(device, port.bus, port.address, &found)?;
    let serial = check_serial(device, read.serial, port.kernel_serial.as_deref(), profile)?;
    Ok(Some(UsbIdentity {
        vendor_id,
        product_id,
        serial,
        manufacturer: read.manufacturer.map(bounded),
        product: read.product.map(bounded),
        bus: port.bus,
        address: port.address,
    }))
}

/// The serial must be present, match the profile's pattern, and be what the kernel read.
fn check_serial(
    device: &Path,
    serial: Option<String>,
    kernel_serial: Option<&str>,
    profile: &Profile,
) -> Result<String, UsbError> {
    let serial = serial
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UsbError::NoSerial {
            device: device.to_path_buf(),
        })?;
    if !profile.serial_regex().is_match(&serial) {
        return Err(UsbError::BadSerial {
            device: device.to_path_buf(),
            serial: quoted(&serial),
        });
    }
    if let Some(kernel) = kernel_serial
        && kernel != serial
    {
        return Err(UsbError::SerialChanged {
            device: device.to_path_buf(),
            usb: quoted(&serial),
            kernel: quoted(kernel),
        });
    }
    Ok(serial)
}

/// An untrusted string cut to `MAX_STRING_CHARS` characters.
fn bounded(text: String) -> String {
    text.chars().take(MAX_STRING_CHARS).collect()
}

/// An untrusted string made safe to print: cut short, control characters escaped.
fn quoted(text: &str) -> String {
    let cut: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    let ellipsis = if cut.len() < text.len() { "..." } else { "" };
    format!("{}{ellipsis}", cut.escape_debug())
}

fn kind_name(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "folder"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_fifo() {
        "named pipe"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile::default()
    }

    #[test]
    fn a_disk_image_has_no_usb_identity() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let id = identify(file.path(), &UsbConfig::default(), &profile()).unwrap();
        assert_eq!(id, None);
    }

    #[test]
    fn a_folder_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let err = identify(dir.path(), &UsbConfig::default(), &profile()).unwrap_err();
        assert!(
            matches!(err, UsbError::NotABlockDevice { kind: "folder", .. }),
            "{err}"
        );
    }

    #[test]
    fn a_missing_device_is_named() {
        let err = identify(
            Path::new("/nonexistent/sdq"),
            &UsbConfig::default(),
            &profile(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/sdq"), "{err}");
    }

    #[test]
    fn serial_checks() {
        let dev = Path::new("/dev/sdb");
        let ok = check_serial(
            dev,
            Some("SNTL-00042".into()),
            Some("SNTL-00042"),
            &profile(),
        );
        assert_eq!(ok.unwrap(), "SNTL-00042");
        let none = check_serial(dev, Some(String::new()), None, &profile()).unwrap_err();
        assert!(matches!(none, UsbError::NoSerial { .. }), "{none}");
        let hostile = check_serial(dev, Some("../\u{1b}[2J".into()), None, &profile()).unwrap_err();
        assert!(hostile.to_string().contains("../\\u{1b}[2J"), "{hostile}");
        let changed = check_serial(
            dev,
            Some("SNTL-00042".into()),
            Some("SNTL-00043"),
            &profile(),
        )
        .unwrap_err();
        assert!(
            matches!(changed, UsbError::SerialChanged { .. }),
            "{changed}"
        );
    }

    #[test]
    fn long_untrusted_strings_are_cut() {
        assert_eq!(bounded("x".repeat(500)).len(), MAX_STRING_CHARS);
        let q = quoted(&"é".repeat(100));
        assert!(
            q.ends_with("...") && q.chars().count() == MAX_QUOTED_CHARS + 3,
            "{q}"
        );
    }
}
