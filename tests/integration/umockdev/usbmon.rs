//! A usbmon capture of a USB device answering string descriptor requests, for umockdev.
//!
//! `umockdev-run --pcap SYSFS_PATH=FILE` replays a capture (pcap, link type
//! LINKTYPE_USB_LINUX_MMAPPED, what Wireshark saves from `usbmon`) to whatever opens the
//! device's `/dev/bus/usb/BBB/DDD` node: each URB libusb submits is matched against the
//! next submission ('S') in the file, by type, length and setup packet, and reaped with
//! the matching completion ('C') and its data. This builds such a capture from a list of
//! strings, in the order `sentinel_dock::camera::usb` asks for them: languages, then each string.

/// The pcap link type of usbmon captures with the 64-byte header.
const LINKTYPE_USB_LINUX_MMAPPED: u32 = 220;
/// URB transfer type of control transfers in usbmon headers.
const URB_CONTROL: u8 = 2;
/// The length libusb (rusb) asks for: a string descriptor is at most 255 bytes.
const REQUESTED: u16 = 255;
/// US English, the only language the fake camera offers.
const US_ENGLISH: u16 = 0x0409;
/// -EINPROGRESS, the status usbmon records for a submission.
const EINPROGRESS: i32 = -115;

/// A capture of the device at `bus`/`address` answering the language request, then each
/// `(index, string)` request in order.
pub fn string_replies(bus: u16, address: u8, strings: &[(u8, &str)]) -> Vec<u8> {
    let mut pcap = global_header();
    let languages = [4, 3, US_ENGLISH as u8, (US_ENGLISH >> 8) as u8].to_vec();
    let mut replies = vec![(0u8, 0u16, languages)];
    replies.extend(
        strings
            .iter()
            .map(|(index, text)| (*index, US_ENGLISH, string_descriptor(text))),
    );
    for (id, (index, language, data)) in (1u64..).zip(replies) {
        let setup = setup_packet(index, language);
        let urb = Urb { id, bus, address };
        record(
            &mut pcap,
            &urb.header(b'S', Some(setup), EINPROGRESS, REQUESTED.into(), 0),
        );
        let mut completion = urb.header(b'C', None, 0, data.len() as u32, data.len() as u32);
        completion.extend_from_slice(&data);
        record(&mut pcap, &completion);
    }
    pcap
}

/// A USB string descriptor: length, type 3, UTF-16LE text (at most 126 code units).
pub fn string_descriptor(text: &str) -> Vec<u8> {
    let units: Vec<u16> = text.encode_utf16().take(126).collect();
    let mut bytes = vec![(2 + 2 * units.len()) as u8, 3];
    for unit in units {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

/// GET_DESCRIPTOR(STRING, index, language), device to host, standard, to the device.
fn setup_packet(index: u8, language: u16) -> [u8; 8] {
    let mut setup = [0x80, 0x06, index, 0x03, 0, 0, 0, 0];
    setup[4..6].copy_from_slice(&language.to_le_bytes());
    setup[6..8].copy_from_slice(&REQUESTED.to_le_bytes());
    setup
}

struct Urb {
    id: u64,
    bus: u16,
    address: u8,
}

impl Urb {
    /// The 64-byte usbmon header (`struct usbmon_packet`, mmapped variant), little-endian.
    fn header(
        &self,
        event: u8,
        setup: Option<[u8; 8]>,
        status: i32,
        urb_len: u32,
        data_len: u32,
    ) -> Vec<u8> {
        let mut h = Vec::with_capacity(64);
        h.extend_from_slice(&self.id.to_le_bytes());
        h.push(event);
        h.push(URB_CONTROL);
        h.push(0x80); // endpoint 0, direction in
        h.push(self.address);
        h.extend_from_slice(&self.bus.to_le_bytes());
        h.push(if setup.is_some() { 0 } else { b'-' }); // setup_flag: 0 = setup present
        h.push(if data_len > 0 { 0 } else { b'<' }); // data_flag: 0 = data present
        h.extend_from_slice(&1_700_000_000i64.to_le_bytes()); // ts_sec
        h.extend_from_slice(&(self.id as i32 * 1000).to_le_bytes()); // ts_usec
        h.extend_from_slice(&status.to_le_bytes());
        h.extend_from_slice(&urb_len.to_le_bytes());
        h.extend_from_slice(&data_len.to_le_bytes());
        h.extend_from_slice(&setup.unwrap_or_default());
        h.extend_from_slice(&[0; 16]); // interval, start_frame, xfer_flags, ndesc
        assert_eq!(h.len(), 64);
        h
    }
}

fn global_header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    h.extend_from_slice(&65_535u32.to_le_bytes());
    h.extend_from_slice(&LINKTYPE_USB_LINUX_MMAPPED.to_le_bytes());
    h
}

fn record(pcap: &mut Vec<u8>, packet: &[u8]) {
    let len = packet.len() as u32;
    pcap.extend_from_slice(&[0; 8]); // ts_sec, ts_usec of the pcap record
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend_from_slice(&len.to_le_bytes());
    pcap.extend_from_slice(packet);
}
