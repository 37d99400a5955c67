//! Who the camera says it is: the USB serial (when known) and `DEVICE.INI`, cross-checked.

use crate::custody::register::CameraIdentity;

/// The camera's identity as far as it can be established, with any disagreement found.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// Serial, model and firmware; the serial is the USB one when known.
    pub camera: CameraIdentity,
    /// Sentences describing disagreements between the sources; any one blocks every wipe.
    pub conflicts: Vec<String>,
}

/// Why no identity could be established at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Neither a USB serial nor a readable `DEVICE.INI` serial.
    #[error(
        "cannot tell which camera this is: the volume has no readable {device_ini} with a serial, and no USB serial was given (pass --serial SERIAL as read from the camera's label or USB descriptor)"
    )]
    Unknown {
        /// The profile's identity file name.
        device_ini: String,
    },
    /// A serial that does not match the profile's pattern.
    #[error(
        "the {source_name} serial `{serial}` does not match profile.serial_pattern: refusing to use it as a name"
    )]
    BadSerial {
        /// Where it came from (`USB`, `DEVICE.INI`).
        source_name: &'static str,
        /// The serial, escaped.
        serial: String,
    },
}

/// Upper bound on the `DEVICE.INI` values kept; longer values are truncated when reported.
const MAX_VALUE: usize = 64;

/// Parses the `[device]` section of a `DEVICE.INI`: `serial`, `model`, `firmware`.
pub(crate) fn parse_device_ini(bytes: &[u8]) -> CameraIdentity {
    let text = String::from_utf8_lossy(bytes);
    let mut section = String::new();
    let mut identity = CameraIdentity::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(';') || line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
            continue;
        }
        if section != "device" {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value: String = value.trim().chars().take(MAX_VALUE).collect();
        match key.trim().to_ascii_lowercase().as_str() {
            "serial" => identity.serial = value,
            "model" => identity.model = Some(value),
            "firmware" => identity.firmware = Some(value),
            _ => {}
        }
    }
    identity
}

/// Establishes the camera's identity from the USB serial and the volume's `DEVICE.INI`.
pub(crate) fn establish(
    usb_serial: Option<&str>,
    device_ini: Option<&[u8]>,
    device_ini_name: &str,
    serial_pattern: &regex::Regex,
) -> Result<Identity, IdentityError> {
    let ini = device_ini.map(parse_device_ini);
    let ini_serial = ini
        .as_ref()
        .map(|i| i.serial.as_str())
        .filter(|s| !s.is_empty());
    let check = |source_name, serial: &str| {
        if serial_pattern.is_match(serial) {
            Ok(())
        } else {
            Err(IdentityError::BadSerial {
                source_name,
                serial: serial.escape_debug().to_string(),
            })
        }
    };
    let mut conflicts = Vec::new();
    let serial = match (usb_serial, ini_serial) {
        (Some(usb), Some(ini)) => {
            check("USB", usb)?;
            if usb != ini {
                conflicts.push(format!(
                    "the USB serial is {usb} but {device_ini_name} says `{}`",
                    ini.escape_debug()
                ));
            }
            usb.to_string()
        }
        (Some(usb), None) => {
            check("USB", usb)?;
            usb.to_string()
        }
        (None, Some(ini)) => {
            check("DEVICE.INI", ini)?;
            ini.to_string()
        }
        (None, None) => {
            return Err(IdentityError::Unknown {
                device_ini: device_ini_name.to_string(),
            });
        }
    };
    let (model, firmware) = ini.map(|i| (i.model, i.firmware)).unwrap_or_default();
    Ok(Identity {
        camera: CameraIdentity {
            serial,
            model,
            firmware,
        },
        conflicts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> regex::Regex {
        regex::Regex::new("^[A-Z0-9][A-Z0-9-]{0,31}$").unwrap()
    }

    const INI: &[u8] = b"; made by the camera\r\n[device]\r\nserial=SNTL-00042\r\nmodel=BWC2\r\nfirmware=2.3.1\r\n[other]\r\nserial=NOPE\r\n";

    #[test]
    fn device_ini_fields_are_read_from_the_device_section_only() {
        let id = parse_device_ini(INI);
        assert_eq!(id.serial, "SNTL-00042");
        assert_eq!(id.model.as_deref(), Some("BWC2"));
        assert_eq!(id.firmware.as_deref(), Some("2.3.1"));
    }

    #[test]
    fn usb_and_ini_agreeing_is_no_conflict() {
        let id = establish(Some("SNTL-00042"), Some(INI), "DEVICE.INI", &pattern()).unwrap();
        assert!(id.conflicts.is_empty());
        assert_eq!(id.camera.serial, "SNTL-00042");
    }

    #[test]
    fn usb_and_ini_disagreeing_is_a_conflict_and_usb_wins() {
        let id = establish(Some("SNTL-00007"), Some(INI), "DEVICE.INI", &pattern()).unwrap();
        assert_eq!(id.camera.serial, "SNTL-00007");
        assert_eq!(id.conflicts.len(), 1, "{:?}", id.conflicts);
    }

    #[test]
    fn no_source_at_all_is_an_error_that_says_what_to_pass() {
        let err = establish(None, None, "DEVICE.INI", &pattern()).unwrap_err();
        assert!(err.to_string().contains("--serial"), "{err}");
    }

    #[test]
    fn a_hostile_ini_serial_is_refused() {
        let ini = b"[device]\nserial=../../etc\n";
        let err = establish(None, Some(ini), "DEVICE.INI", &pattern()).unwrap_err();
        assert!(matches!(err, IdentityError::BadSerial { .. }), "{err}");
    }
}
