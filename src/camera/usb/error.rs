//! Why the camera behind a device could not be identified, or was refused.

use std::path::PathBuf;

/// Why no trustworthy USB identity came out of a device; each message names the device.
#[derive(Debug, thiserror::Error)]
pub enum UsbError {
    /// The device path could not be examined at all.
    #[error("cannot examine {device}")]
    Stat {
        /// The device as given.
        device: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Neither a block device nor a regular file (a disk image).
    #[error(
        "{device} is a {kind}, not a block device or a disk image: only a camera's disk can be identified"
    )]
    NotABlockDevice {
        /// The device as given.
        device: PathBuf,
        /// What it is instead.
        kind: &'static str,
    },
    /// The kernel's sysfs has no entry for the block device's number.
    #[error("{device}: cannot resolve {path} (is sysfs mounted on /sys?)")]
    NoSysfsEntry {
        /// The device as given.
        device: PathBuf,
        /// The `/sys/dev/block/MAJ:MIN` link.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The block device has no USB device among its ancestors.
    #[error(
        "{device} is not a USB disk (sysfs {sysfs_dir} has no USB device above it): the dock takes only USB cameras"
    )]
    NotUsb {
        /// The device as given.
        device: PathBuf,
        /// The block device's sysfs folder.
        sysfs_dir: PathBuf,
    },
    /// A sysfs attribute could not be read.
    #[error("{device}: cannot read {path}")]
    SysfsRead {
        /// The device as given.
        device: PathBuf,
        /// The attribute file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A sysfs attribute holds something that is not what the kernel writes there.
    #[error("{device}: {path} holds `{value}`, which is not a valid value")]
    BadAttribute {
        /// The device as given.
        device: PathBuf,
        /// The attribute file.
        path: PathBuf,
        /// The value, escaped.
        value: String,
    },
    /// libusb does not list the device sysfs pointed at (unplugged in between?).
    #[error(
        "{device}: libusb lists no USB device at bus {bus} address {address}; was the camera unplugged?"
    )]
    NotOnBus {
        /// The device as given.
        device: PathBuf,
        /// USB bus number.
        bus: u8,
        /// Device address on that bus.
        address: u8,
    },
    /// A libusb call failed.
    #[error(
        "{device}: {action} of USB device {bus:03}/{address:03} failed{}",
        libusb_hint(source)
    )]
    Libusb {
        /// The device as given.
        device: PathBuf,
        /// USB bus number.
        bus: u8,
        /// Device address on that bus.
        address: u8,
        /// What was being done.
        action: &'static str,
        /// What libusb said.
        source: rusb::Error,
    },
    /// The USB device is not of the configured vendor and product: not a SENTINEL camera.
    #[error(
        "{device} is USB device {vendor_id:04x}:{product_id:04x}, not a SENTINEL camera ({expected_vendor:04x}:{expected_product:04x}, [usb] vendor_id and product_id in the configuration): refused"
    )]
    NotACamera {
        /// The device as given.
        device: PathBuf,
        /// The device's vendor id.
        vendor_id: u16,
        /// The device's product id.
        product_id: u16,
        /// `usb.vendor_id`.
        expected_vendor: u16,
        /// `usb.product_id`.
        expected_product: u16,
    },
    /// The device has no serial number string (or an empty one).
    #[error(
        "{device}: the camera's USB descriptor has no serial number, so it cannot be told apart from another: refused"
    )]
    NoSerial {
        /// The device as given.
        device: PathBuf,
    },
    /// The serial string does not match `profile.serial_pattern`.
    #[error(
        "{device}: the camera's USB serial `{serial}` does not match profile.serial_pattern: refused, it would become a name in the store"
    )]
    BadSerial {
        /// The device as given.
        device: PathBuf,
        /// The serial, escaped and truncated.
        serial: String,
    },
    /// The serial the device gives now differs from the one the kernel read at enumeration.
    #[error(
        "{device}: the camera's USB serial is `{usb}` but the kernel read `{kernel}` when it was plugged in: refused"
    )]
    SerialChanged {
        /// The device as given.
        device: PathBuf,
        /// The serial read now, escaped and truncated.
        usb: String,
        /// The kernel's `serial` attribute, escaped and truncated.
        kernel: String,
    },
}

impl UsbError {
    /// Whether the device was read and found unacceptable, rather than unreadable.
    pub(crate) fn is_refusal(&self) -> bool {
        matches!(
            self,
            UsbError::NotACamera { .. }
                | UsbError::NoSerial { .. }
                | UsbError::BadSerial { .. }
                | UsbError::SerialChanged { .. }
        )
    }
}

fn libusb_hint(error: &rusb::Error) -> &'static str {
    match error {
        rusb::Error::Access => {
            " (the service needs read-write access to /dev/bus/usb: install the udev rule, `sentinel-dockd udev-rule`, which gives the camera's USB node to group sentinel-dock)"
        }
        rusb::Error::Timeout => " (the device did not answer in time)",
        rusb::Error::NoDevice => " (the camera was unplugged)",
        _ => "",
    }
}
