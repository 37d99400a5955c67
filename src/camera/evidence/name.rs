//! Recording file names: `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>.<ext>`, parsed strictly.
//!
//! Names come from the camera's volume and are hostile: a name is accepted only when it
//! is exactly of the profile's form, and everything built from it on the host is rebuilt
//! from the parsed fields, never copied from the raw text.

use std::cell::RefCell;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use regex::Regex;

use crate::base::config::Profile;

/// The longest name looked at; FAT long names stop at 255 characters anyway.
const MAX_NAME_LEN: usize = 255;

/// The longest escaped name shown in a message, so a hostile name cannot flood a log.
const MAX_SHOWN_CHARS: usize = 160;

/// A recording's identity, as its file name states it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordingName {
    /// The camera's serial, matching the profile's serial pattern.
    pub serial: String,
    /// The UTC start of the recording, pre-recording included.
    pub start: DateTime<Utc>,
    /// The camera's sequence number, 1 to 9999.
    pub sequence: u16,
}

/// Which file of a recording a name designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// The ISO BMFF video.
    Video,
    /// The NMEA sidecar.
    Sidecar,
}

/// A name that is not exactly a recording's file name; Display shows the escaped name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("file name \"{name}\" is not a recording's name: {reason}")]
pub struct NameError {
    /// The offending name, escaped with [`escape_name`].
    pub name: String,
    /// What is wrong with it.
    pub reason: NameErrorKind,
}

/// What is wrong with a file name, in words a technician can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameErrorKind {
    /// Nothing at all.
    #[error("it is empty")]
    Empty,
    /// Longer than any real recording name.
    #[error("it is {len} bytes long, more than the {max} allowed")]
    TooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Holds a character outside printable ASCII (control, non-ASCII, space).
    #[error("it contains a character other than printable ASCII")]
    BadCharacter,
    /// Holds `/` or `\`, which would make it a path.
    #[error("it contains a path separator")]
    PathSeparator,
    /// Has no `.<extension>` or more than one dot.
    #[error("it must contain exactly one `.`, before the extension")]
    Dots,
    /// The extension is the profile's, in another case.
    #[error("extension `{found}` must be written exactly `{expected}`")]
    ExtensionCase {
        /// The extension found.
        found: String,
        /// The profile's spelling.
        expected: String,
    },
    /// The extension is neither the video's nor the sidecar's.
    #[error("extension `{found}` is neither `{video}` nor `{sidecar}`")]
    UnknownExtension {
        /// The extension found.
        found: String,
        /// The profile's video extension.
        video: String,
        /// The profile's sidecar extension.
        sidecar: String,
    },
    /// Not four `_`-separated fields.
    #[error(
        "expected SERIAL_YYYYMMDD_HHMMSS_NNNN before the extension, found {found} `_`-separated fields"
    )]
    FieldCount {
        /// How many fields there were.
        found: usize,
    },
    /// The serial does not match the profile's serial pattern.
    #[error("serial `{serial}` does not match the profile's serial pattern")]
    Serial {
        /// The serial found.
        serial: String,
    },
    /// The date is not eight digits of a real calendar date.
    #[error("`{text}` is not a real date written YYYYMMDD")]
    Date {
        /// The date field.
        text: String,
    },
    /// The time is not six digits of a real time of day.
    #[error("`{text}` is not a real time written HHMMSS")]
    Time {
        /// The time field.
        text: String,
    },
    /// The sequence is not four digits.
    #[error("sequence number `{text}` is not four digits")]
    SequenceDigits {
        /// The sequence field.
        text: String,
    },
    /// The sequence is `0000`.
    #[error("sequence number {text} is out of range 0001-9999")]
    SequenceRange {
        /// The sequence field.
        text: String,
    },
}

impl NameErrorKind {
    /// A short machine code for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            NameErrorKind::Empty => "name-empty",
            NameErrorKind::TooLong { .. } => "name-too-long",
            NameErrorKind::BadCharacter => "name-bad-character",
            NameErrorKind::PathSeparator => "name-path-separator",
            NameErrorKind::Dots => "name-dots",
            NameErrorKind::ExtensionCase { .. } => "name-extension-case",
            NameErrorKind::UnknownExtension { .. } => "name-extension",
            NameErrorKind::FieldCount { .. } => "name-fields",
            NameErrorKind::Serial { .. } => "name-serial",
            NameErrorKind::Date { .. } => "name-date",
            NameErrorKind::Time { .. } => "name-time",
            NameErrorKind::SequenceDigits { .. } | NameErrorKind::SequenceRange { .. } => {
                "name-sequence"
            }
        }
    }
}

impl NameError {
    /// A short machine code for JSON output.
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

impl RecordingName {
    /// Parses `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>.<ext>` exactly, ext in the profile's case.
    pub fn parse(
        profile: &Profile,
        file_name: &str,
    ) -> Result<(RecordingName, FileKind), NameError> {
        parse_name(profile, file_name).map_err(|reason| NameError {
            name: escape_name(file_name),
            reason,
        })
    }

    /// `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`, rebuilt from the parsed fields.
    pub fn stem(&self) -> String {
        format!(
            "{}_{}_{:04}",
            self.serial,
            self.start.format("%Y%m%d_%H%M%S"),
            self.sequence
        )
    }

    /// The file name of the recording's video or sidecar under `profile`.
    pub fn file_name(&self, profile: &Profile, kind: FileKind) -> String {
        let ext = match kind {
            FileKind::Video => &profile.video_extension,
            FileKind::Sidecar => &profile.sidecar_extension,
        };
        format!("{}.{ext}", self.stem())
    }

    /// The UTC date of the start: the day folder the recording belongs in.
    pub fn day(&self) -> NaiveDate {
        self.start.date_naive()
    }
}

fn parse_name(profile: &Profile, name: &str) -> Result<(RecordingName, FileKind), NameErrorKind> {
    check_characters(name)?;
    let (stem, ext) = match name.split_once('.') {
        Some((stem, ext)) if !ext.contains('.') => (stem, ext),
        _ => return Err(NameErrorKind::Dots),
    };
    let kind = file_kind(profile, ext)?;
    let fields: Vec<&str> = stem.split('_').collect();
    let [serial, date, time, sequence] = fields[..] else {
        return Err(NameErrorKind::FieldCount {
            found: fields.len(),
        });
    };
    if !serial_matches(profile, serial) {
        return Err(NameErrorKind::Serial {
            serial: serial.to_string(),
        });
    }
    let date = parse_day_dir(date).ok_or_else(|| NameErrorKind::Date {
        text: date.to_string(),
    })?;
    let time = parse_hhmmss(time).ok_or_else(|| NameErrorKind::Time {
        text: time.to_string(),
    })?;
    let sequence = parse_sequence(sequence)?;
    let start = NaiveDateTime::new(date, time).and_utc();
    let name = RecordingName {
        serial: serial.to_string(),
        start,
        sequence,
    };
    Ok((name, kind))
}

/// Matches the profile's serial pattern, compiled once per thread and pattern:
/// `Profile::serial_regex` compiles on every call, and a scan parses thousands of names.
fn serial_matches(profile: &Profile, serial: &str) -> bool {
    thread_local! {
        static COMPILED: RefCell<Option<(String, Regex)>> = const { RefCell::new(None) };
    }
    COMPILED.with(|compiled| {
        let mut compiled = compiled.borrow_mut();
        if compiled
            .as_ref()
            .is_none_or(|(pattern, _)| *pattern != profile.serial_pattern)
        {
            *compiled = Some((profile.serial_pattern.clone(), profile.serial_regex()));
        }
        compiled
            .as_ref()
            .is_some_and(|(_, regex)| regex.is_match(serial))
    })
}

fn check_characters(name: &str) -> Result<(), NameErrorKind> {
    if name.is_empty() {
        return Err(NameErrorKind::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameErrorKind::TooLong {
            len: name.len(),
            max: MAX_NAME_LEN,
        });
    }
    if name.contains(['/', '\\']) {
        return Err(NameErrorKind::PathSeparator);
    }
    if !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(NameErrorKind::BadCharacter);
    }
    Ok(())
}

fn file_kind(profile: &Profile, ext: &str) -> Result<FileKind, NameErrorKind> {
    for (expected, kind) in [
        (&profile.video_extension, FileKind::Video),
        (&profile.sidecar_extension, FileKind::Sidecar),
    ] {
        if ext == expected.as_str() {
            return Ok(kind);
        }
        if ext.eq_ignore_ascii_case(expected) {
            return Err(NameErrorKind::ExtensionCase {
                found: ext.to_string(),
                expected: expected.clone(),
            });
        }
    }
    Err(NameErrorKind::UnknownExtension {
        found: ext.to_string(),
        video: profile.video_extension.clone(),
        sidecar: profile.sidecar_extension.clone(),
    })
}

fn parse_sequence(text: &str) -> Result<u16, NameErrorKind> {
    let digits = digits::<4>(text).ok_or_else(|| NameErrorKind::SequenceDigits {
        text: text.to_string(),
    })?;
    let value = digits.iter().fold(0u16, |n, d| n * 10 + u16::from(*d));
    if value == 0 {
        return Err(NameErrorKind::SequenceRange {
            text: text.to_string(),
        });
    }
    Ok(value)
}

/// Parses a day folder name `YYYYMMDD` (a real calendar date).
pub fn parse_day_dir(name: &str) -> Option<NaiveDate> {
    let d = digits::<8>(name)?;
    let year = number(&d[0..4]);
    let month = number(&d[4..6]);
    let day = number(&d[6..8]);
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

fn parse_hhmmss(text: &str) -> Option<NaiveTime> {
    let d = digits::<6>(text)?;
    NaiveTime::from_hms_opt(number(&d[0..2]), number(&d[2..4]), number(&d[4..6]))
}

/// Exactly `N` ASCII digits as their values; `str::parse` would also take `+`.
fn digits<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes: [u8; N] = text.as_bytes().try_into().ok()?;
    if !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.map(|b| b - b'0'))
}

fn number(digits: &[u8]) -> u32 {
    digits.iter().fold(0, |n, d| n * 10 + u32::from(*d))
}

/// Makes a hostile name safe to show: control, non-ASCII and `\` escaped, length capped.
pub fn escape_name(name: &str) -> String {
    let mut out = String::new();
    for (shown, c) in name.chars().enumerate() {
        if shown == MAX_SHOWN_CHARS {
            let rest = name.chars().count() - shown;
            out.push_str(&format!("... ({rest} more characters)"));
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ' '..='~' => out.push(c),
            _ => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> Result<(RecordingName, FileKind), NameError> {
        RecordingName::parse(&Profile::default(), name)
    }

    fn reason(name: &str) -> NameErrorKind {
        parse(name).expect_err(name).reason
    }

    #[test]
    fn good_video_and_sidecar_names() {
        let (name, kind) = parse("SNTL-00042_20240315_235959_0007.MP4").unwrap();
        assert_eq!(kind, FileKind::Video);
        assert_eq!(name.serial, "SNTL-00042");
        assert_eq!(name.sequence, 7);
        assert_eq!(name.start.to_rfc3339(), "2024-03-15T23:59:59+00:00");
        assert_eq!(name.day(), NaiveDate::from_ymd_opt(2024, 3, 15).unwrap());
        assert_eq!(name.stem(), "SNTL-00042_20240315_235959_0007");
        let profile = Profile::default();
        assert_eq!(
            name.file_name(&profile, FileKind::Sidecar),
            "SNTL-00042_20240315_235959_0007.NMEA"
        );
        let (again, kind) = parse(&name.file_name(&profile, FileKind::Sidecar)).unwrap();
        assert_eq!((again, kind), (name, FileKind::Sidecar));
        assert_eq!(
            parse("A_20240229_000000_9999.MP4").unwrap().0.sequence,
            9999
        );
    }

    #[test]
    fn sequence_zero_is_out_of_range() {
        let err = parse("SNTL-00042_20240315_120000_0000.MP4").unwrap_err();
        assert_eq!(err.code(), "name-sequence");
        assert!(
            err.to_string()
                .contains("sequence number 0000 is out of range 0001-9999"),
            "{err}"
        );
        assert!(matches!(
            reason("S_20240315_120000_+123.MP4"),
            NameErrorKind::SequenceDigits { .. }
        ));
        assert!(matches!(
            reason("S_20240315_120000_00001.MP4"),
            NameErrorKind::SequenceDigits { .. }
        ));
    }

    #[test]
    fn impossible_dates_and_times_are_refused() {
        for bad in ["20230229", "20241301", "20240100", "2024031", "+2024031"] {
            let name = format!("S_{bad}_120000_0001.MP4");
            assert!(
                matches!(reason(&name), NameErrorKind::Date { .. }),
                "{name}"
            );
        }
        for bad in ["240000", "126000", "120060", "12000", "-12000"] {
            let name = format!("S_20240315_{bad}_0001.MP4");
            assert!(
                matches!(reason(&name), NameErrorKind::Time { .. }),
                "{name}"
            );
        }
    }

    #[test]
    fn extensions_must_match_exactly() {
        assert!(matches!(
            reason("S_20240315_120000_0001.mp4"),
            NameErrorKind::ExtensionCase { .. }
        ));
        assert!(matches!(
            reason("S_20240315_120000_0001.MOV"),
            NameErrorKind::UnknownExtension { .. }
        ));
        for bad in [
            "S_20240315_120000_0001",
            "S_20240315_120000_0001.MP4.MP4",
            "S_20240315_120000_0001..MP4",
            "S_20240315_120000_0001.",
        ] {
            assert!(
                matches!(
                    reason(bad),
                    NameErrorKind::Dots | NameErrorKind::UnknownExtension { .. }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        let cases: &[(&str, &str)] = &[
            ("", "name-empty"),
            ("../S_20240315_120000_0001.MP4", "name-path-separator"),
            ("S_20240315_120000_0001.MP4/..", "name-path-separator"),
            ("S\\20240315_120000_0001.MP4", "name-path-separator"),
            ("S_20240315_120000_0001.MP4\n", "name-bad-character"),
            ("S_20240315_120000_0001.MP4\0", "name-bad-character"),
            ("S 1_20240315_120000_0001.MP4", "name-bad-character"),
            ("SÉ_20240315_120000_0001.MP4", "name-bad-character"),
            ("S_\u{202e}20240315_120000_0001.MP4", "name-bad-character"),
            ("..", "name-dots"),
            ("s_20240315_120000_0001.MP4", "name-serial"),
            ("SNTL_0042_20240315_120000_0001.MP4", "name-fields"),
            ("_20240315_120000_0001.MP4", "name-serial"),
            ("S_20240315_120000_0001_X.MP4", "name-fields"),
            ("S_20240315_120000_0001 .MP4", "name-bad-character"),
        ];
        for (name, code) in cases {
            assert_eq!(parse(name).expect_err(name).code(), *code, "{name:?}");
        }
        let long = format!("{}_20240315_120000_0001.MP4", "A".repeat(300));
        assert_eq!(parse(&long).unwrap_err().code(), "name-too-long");
    }

    #[test]
    fn errors_escape_the_name() {
        let err = parse("EVIL\u{1b}[2J_20240315_120000_0001.MP4\r").unwrap_err();
        let text = err.to_string();
        assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
        assert!(text.contains("EVIL\\u{1b}[2J"), "{text}");
        assert_eq!(escape_name("a\\b\"c\u{202e}"), "a\\\\b\\\"c\\u{202e}");
        let long = escape_name(&"x".repeat(10_000));
        assert!(
            long.len() < 300 && long.ends_with("(9840 more characters)"),
            "{long}"
        );
    }

    #[test]
    fn the_profile_decides_serials_and_extensions() {
        let profile = Profile {
            serial_pattern: "^CAM[0-9]{3}$".into(),
            video_extension: "mov".into(),
            ..Profile::default()
        };
        let parse = |name| RecordingName::parse(&profile, name);
        assert!(parse("CAM007_20240315_120000_0001.mov").is_ok());
        assert_eq!(
            parse("SNTL-00042_20240315_120000_0001.mov")
                .unwrap_err()
                .code(),
            "name-serial"
        );
        assert_eq!(
            parse("CAM007_20240315_120000_0001.MP4").unwrap_err().code(),
            "name-extension"
        );
        // The default profile again: the cached pattern follows the profile.
        assert!(
            RecordingName::parse(&Profile::default(), "SNTL-1_20240315_120000_0001.MP4").is_ok()
        );
    }

    #[test]
    fn day_dirs_are_real_dates() {
        assert_eq!(
            parse_day_dir("20240229"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        for bad in [
            "20230229",
            "2024022",
            "202402290",
            "2024-2-9",
            "+2024022",
            "２0240229",
        ] {
            assert_eq!(parse_day_dir(bad), None, "{bad}");
        }
    }
}
