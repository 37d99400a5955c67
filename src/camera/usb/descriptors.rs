//! What the USB device says about itself, read with libusb (rusb): ids and strings.
//!
//! The device descriptor comes from libusb's cache (sysfs `descriptors`); the strings are
//! asked of the device itself with GET_DESCRIPTOR control transfers on endpoint 0, which
//! needs the device node `/dev/bus/usb/BBB/DDD` (the udev rule gives it to the service's
//! group). Every transfer has a timeout, so a device that does not answer cannot stall us.

use std::path::Path;
use std::time::Duration;

use rusb::UsbContext as _;

use super::UsbError;

/// How long one string request may take; a real device answers in milliseconds.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(1);

/// US English, the language nearly every device offers and the one asked for when offered.
const US_ENGLISH: u16 = 0x0409;

/// The descriptors of one USB device, as read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Descriptors {
    /// `idVendor` of the device descriptor.
    pub vendor_id: u16,
    /// `idProduct` of the device descriptor.
    pub product_id: u16,
    /// `iManufacturer`'s string, when the device has one.
    pub manufacturer: Option<String>,
    /// `iProduct`'s string, when the device has one.
    pub product: Option<String>,
    /// `iSerialNumber`'s string, when the device has one.
    pub serial: Option<String>,
}

/// The device at `bus`/`address`, with its device descriptor read but not yet opened.
pub struct Found {
    device: rusb::Device<rusb::Context>,
    descriptor: rusb::DeviceDescriptor,
}

impl Found {
    /// `idVendor` and `idProduct`, read without opening the device.
    pub fn ids(&self) -> (u16, u16) {
        (self.descriptor.vendor_id(), self.descriptor.product_id())
    }
}

/// Finds the device at `bus`/`address` among those libusb lists.
pub fn find(device: &Path, bus: u8, address: u8) -> Result<Found, UsbError> {
    let libusb = |action: &'static str| {
        move |source| UsbError::Libusb {
            device: device.to_path_buf(),
            bus,
            address,
            action,
            source,
        }
    };
    let context = rusb::Context::new().map_err(libusb("starting libusb"))?;
    let list = context.devices().map_err(libusb("listing USB devices"))?;
    let usb = list
        .iter()
        .find(|d| d.bus_number() == bus && d.address() == address)
        .ok_or_else(|| UsbError::NotOnBus {
            device: device.to_path_buf(),
            bus,
            address,
        })?;
    let descriptor = usb
        .device_descriptor()
        .map_err(libusb("reading the device descriptor"))?;
    Ok(Found {
        device: usb,
        descriptor,
    })
}

/// Opens the device and reads its manufacturer, product and serial strings, in that order.
pub fn read(device: &Path, bus: u8, address: u8, found: &Found) -> Result<Descriptors, UsbError> {
    let libusb = |action: &'static str| {
        move |source| UsbError::Libusb {
            device: device.to_path_buf(),
            bus,
            address,
            action,
            source,
        }
    };
    let handle = found
        .device
        .open()
        .map_err(libusb("opening the USB device node"))?;
    let languages = handle
        .read_languages(TRANSFER_TIMEOUT)
        .map_err(libusb("reading the string languages"))?;
    let language = languages
        .iter()
        .find(|l| l.lang_id() == US_ENGLISH)
        .or(languages.first())
        .copied();
    let string = |index: Option<u8>, action| -> Result<Option<String>, UsbError> {
        match (index, language) {
            (Some(index), Some(language)) => handle
                .read_string_descriptor(language, index, TRANSFER_TIMEOUT)
                .map(Some)
                .map_err(libusb(action)),
            _ => Ok(None),
        }
    };
    let (vendor_id, product_id) = found.ids();
    let d = &found.descriptor;
    Ok(Descriptors {
        vendor_id,
        product_id,
        manufacturer: string(
            d.manufacturer_string_index(),
            "reading the manufacturer string",
        )?,
        product: string(d.product_string_index(), "reading the product string")?,
        serial: string(
            d.serial_number_string_index(),
            "reading the serial number string",
        )?,
    })
}
