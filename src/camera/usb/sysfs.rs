//! From a block device number to the USB device it sits on, through sysfs.
//!
//! `/sys/dev/block/MAJ:MIN` links to the block device's folder under `/sys/devices`; its
//! ancestors are the SCSI disk, the USB interface and the USB device, the first folder up
//! that holds `idVendor`, `idProduct`, `busnum` and `devnum`. Under umockdev the preload
//! library redirects `/sys` to its testbed, so the real root `/sys` is right there too.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::UsbError;

/// Where a block device's USB device was found, and what the kernel says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsbPort {
    /// The USB device's folder under `<sysfs>/devices`.
    pub sysfs_dir: PathBuf,
    /// USB bus number (`busnum`).
    pub bus: u8,
    /// Device address on that bus (`devnum`).
    pub address: u8,
    /// `idVendor` as the kernel read it at enumeration.
    pub vendor_id: u16,
    /// `idProduct` as the kernel read it at enumeration.
    pub product_id: u16,
    /// The `serial` attribute, the serial string the kernel read at enumeration, if any.
    pub kernel_serial: Option<String>,
}

/// How many folders up from the block device the USB device may be; real ones are 5 to 7.
const MAX_DEPTH: usize = 16;
/// Longest attribute value read; the kernel's USB strings are at most 126 characters.
const MAX_ATTRIBUTE: u64 = 512;

/// Finds the USB device behind block device `major:minor` in the sysfs mounted at `root`.
pub(crate) fn usb_port_of(
    root: &Path,
    device: &Path,
    major: u64,
    minor: u64,
) -> Result<UsbPort, UsbError> {
    let link = root.join(format!("dev/block/{major}:{minor}"));
    let block_dir = std::fs::canonicalize(&link).map_err(|source| UsbError::NoSysfsEntry {
        device: device.to_path_buf(),
        path: link.clone(),
        source,
    })?;
    let devices = root.join("devices");
    let mut dir = block_dir.as_path();
    for _ in 0..MAX_DEPTH {
        if !dir.starts_with(&devices) || dir == devices {
            break;
        }
        if is_usb_device(dir) {
            return read_port(device, dir);
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => break,
        }
    }
    Err(UsbError::NotUsb {
        device: device.to_path_buf(),
        sysfs_dir: block_dir,
    })
}

fn is_usb_device(dir: &Path) -> bool {
    ["idVendor", "idProduct", "busnum", "devnum"]
        .iter()
        .all(|name| dir.join(name).is_file())
}

fn read_port(device: &Path, dir: &Path) -> Result<UsbPort, UsbError> {
    let number = |name: &str, radix: u32| -> Result<u32, UsbError> {
        let path = dir.join(name);
        let text = read_attribute(device, &path)?;
        u32::from_str_radix(text.trim(), radix).map_err(|_| UsbError::BadAttribute {
            device: device.to_path_buf(),
            path: path.clone(),
            value: text.trim().escape_debug().to_string(),
        })
    };
    let narrow = |name: &str, value: u32, max: u32| -> Result<u32, UsbError> {
        if value <= max {
            Ok(value)
        } else {
            Err(UsbError::BadAttribute {
                device: device.to_path_buf(),
                path: dir.join(name),
                value: value.to_string(),
            })
        }
    };
    let bus = narrow("busnum", number("busnum", 10)?, 255)?;
    let address = narrow("devnum", number("devnum", 10)?, 255)?;
    let vendor_id = narrow("idVendor", number("idVendor", 16)?, 0xffff)?;
    let product_id = narrow("idProduct", number("idProduct", 16)?, 0xffff)?;
    let serial_path = dir.join("serial");
    let kernel_serial = if serial_path.is_file() {
        Some(
            read_attribute(device, &serial_path)?
                .trim_end_matches('\n')
                .to_string(),
        )
    } else {
        None
    };
    Ok(UsbPort {
        sysfs_dir: dir.to_path_buf(),
        bus: bus as u8,
        address: address as u8,
        vendor_id: vendor_id as u16,
        product_id: product_id as u16,
        kernel_serial,
    })
}

/// Reads a sysfs attribute, at most `MAX_ATTRIBUTE` bytes of it; invalid UTF-8 is replaced.
fn read_attribute(device: &Path, path: &Path) -> Result<String, UsbError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_ATTRIBUTE).read_to_end(&mut bytes))
        .map_err(|source| UsbError::SysfsRead {
            device: device.to_path_buf(),
            path: path.to_path_buf(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const USB: &str = "devices/pci0000:00/0000:00:14.0/usb1/1-1";
    const DISK: &str = "1-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb";

    /// A sysfs tree in a plain folder, as the kernel lays it out for a USB disk.
    fn tree(attributes: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let usb = root.path().join(USB);
        fs::create_dir_all(usb.join(DISK).join("sdb1")).unwrap();
        for (name, value) in attributes {
            fs::write(usb.join(name), value).unwrap();
        }
        fs::create_dir_all(root.path().join("dev/block")).unwrap();
        let target = format!("../../{USB}/{DISK}");
        std::os::unix::fs::symlink(&target, root.path().join("dev/block/8:16")).unwrap();
        std::os::unix::fs::symlink(format!("{target}/sdb1"), root.path().join("dev/block/8:17"))
            .unwrap();
        fs::create_dir_all(root.path().join("devices/virtual/block/loop0")).unwrap();
        std::os::unix::fs::symlink(
            "../../devices/virtual/block/loop0",
            root.path().join("dev/block/7:0"),
        )
        .unwrap();
        root
    }

    const CAMERA: &[(&str, &str)] = &[
        ("idVendor", "1209\n"),
        ("idProduct", "0001\n"),
        ("busnum", "3\n"),
        ("devnum", "17\n"),
        ("serial", "SNTL-00042\n"),
    ];

    #[test]
    fn disk_and_partition_lead_to_the_same_usb_device() {
        let root = tree(CAMERA);
        let dev = Path::new("/dev/sdb");
        for minor in [16, 17] {
            let port = usb_port_of(root.path(), dev, 8, minor).unwrap();
            assert_eq!((port.bus, port.address), (3, 17));
            assert_eq!((port.vendor_id, port.product_id), (0x1209, 0x0001));
            assert_eq!(port.kernel_serial.as_deref(), Some("SNTL-00042"));
            assert!(
                port.sysfs_dir.ends_with(USB),
                "{}",
                port.sysfs_dir.display()
            );
        }
    }

    #[test]
    fn a_block_device_without_usb_ancestor_is_not_usb() {
        let root = tree(CAMERA);
        let err = usb_port_of(root.path(), Path::new("/dev/loop0"), 7, 0).unwrap_err();
        assert!(matches!(err, UsbError::NotUsb { .. }), "{err}");
    }

    #[test]
    fn an_unknown_device_number_is_named() {
        let root = tree(CAMERA);
        let err = usb_port_of(root.path(), Path::new("/dev/sdz"), 8, 240).unwrap_err();
        assert!(err.to_string().contains("8:240"), "{err}");
    }

    #[test]
    fn hostile_attributes_are_refused_and_escaped() {
        let mut attributes = CAMERA.to_vec();
        attributes[3] = ("devnum", "300\n");
        let root = tree(&attributes);
        let err = usb_port_of(root.path(), Path::new("/dev/sdb"), 8, 16).unwrap_err();
        assert!(err.to_string().contains("devnum"), "{err}");
        attributes[3] = ("devnum", "1\u{1b}[2J\n");
        let root = tree(&attributes);
        let err = usb_port_of(root.path(), Path::new("/dev/sdb"), 8, 16).unwrap_err();
        assert!(err.to_string().contains("\\u{1b}"), "{err}");
    }
}
