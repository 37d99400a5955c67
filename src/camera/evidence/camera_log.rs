//! The camera's own logs (`/LOG/PLAYBACK.LOG`, `/LOG/EVENTS.LOG`, profile version 2): one
//! event a line, `<time>;<event>;<fields...>*hh`, `hh` the XOR of every byte before `*`.
//!
//! A log is written by the camera, so it is hostile like every camera file: each line is
//! checked whole (printable ASCII, bounded length, exact time form, checksum, the fields
//! its event calls for) and a line that fails is reported and never trusted. Nothing here
//! becomes a path: a video's name in a line is only text, matched against recording names.
//!
//! A line is identified by its content: its exact bytes and its occurrence among identical
//! lines of the file, so that the same line read again at a later docking (the camera
//! appends, it does not empty the file) is recognised as the same event.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The longest line accepted; the camera's lines are well under 200 bytes.
pub(crate) const MAX_LINE_BYTES: usize = 512;

/// How a line is identified across dockings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LineId {
    /// SHA-256 of the line's bytes (without its end of line), lower-case hex.
    pub sha256: String,
    /// 1 for the first line with these bytes in the file, 2 for the second, ...
    pub occurrence: u32,
}

/// One line that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogLine {
    /// Its line number in the file, from 1.
    pub number: u32,
    /// Its identity across dockings.
    pub id: LineId,
    /// The line as read (printable ASCII, so it is safe to show and store as it is).
    pub text: String,
    /// Its time on the camera's clock (as untrustworthy as every clock of the camera).
    pub at: DateTime<Utc>,
    /// What it says.
    pub event: CameraEvent,
}

/// One line that failed a check: reported and skipped, never trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected {
    /// Its line number in the file, from 1.
    pub number: u32,
    /// Its identity across dockings, so that it is reported once.
    pub id: LineId,
    /// The line made safe to show (control and non-ASCII bytes escaped, length capped).
    pub shown: String,
    /// What is wrong with it.
    pub problem: LineProblem,
}

/// Why a line was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LineProblem {
    /// Longer than [`MAX_LINE_BYTES`].
    #[error("it is {0} bytes long, more than the {MAX_LINE_BYTES} a camera log line may hold")]
    TooLong(usize),
    /// A byte that is not printable ASCII.
    #[error("it holds a byte that is not printable ASCII (0x{0:02x})")]
    NotAscii(u8),
    /// No `*hh` at its end.
    #[error("it does not end with a checksum `*hh`")]
    NoChecksum,
    /// The checksum does not match the line.
    #[error("its checksum is {found}, the line's bytes give {computed:02X}")]
    Checksum {
        /// As written.
        found: String,
        /// As computed.
        computed: u8,
    },
    /// Not `<time>;<event>;<fields...>`, or not the fields its event calls for.
    #[error("{0}")]
    Form(String),
}

impl LineProblem {
    /// A stable code for registers and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            LineProblem::TooLong(_) => "log-line-too-long",
            LineProblem::NotAscii(_) => "log-line-not-ascii",
            LineProblem::NoChecksum => "log-line-no-checksum",
            LineProblem::Checksum { .. } => "log-line-checksum",
            LineProblem::Form(_) => "log-line-form",
        }
    }
}

/// What a line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CameraEvent {
    /// The wearer looked at a recording on the camera's screen (L241-2 CSI).
    Play {
        /// The video's file name as the camera wrote it (only text: matched, never a path).
        video: String,
        /// Played from, seconds into the recording.
        from_secs: u32,
        /// Played to, seconds into the recording.
        to_secs: u32,
    },
    /// The camera was switched on.
    PowerOn,
    /// The camera was switched off.
    PowerOff,
    /// A recording started.
    RecStart {
        /// The video's file name.
        video: String,
    },
    /// A recording stopped.
    RecStop {
        /// The video's file name.
        video: String,
        /// Its size as the camera counted it.
        bytes: u64,
    },
    /// The camera's clock was set (by the wearer or a dock).
    ClockSet {
        /// The new time, as the line gives it.
        to: DateTime<Utc>,
    },
    /// The camera's storage reported an error.
    StorageError {
        /// The camera's words.
        detail: String,
    },
    /// The battery's charge.
    Battery {
        /// Percent, 0 to 100.
        percent: u8,
    },
    /// An event this profile does not name: kept, not interpreted.
    Other {
        /// The event's name.
        name: String,
        /// Its fields.
        fields: Vec<String>,
    },
}

impl CameraEvent {
    /// The event's name as the camera writes it.
    pub fn name(&self) -> &str {
        match self {
            CameraEvent::Play { .. } => "PLAY",
            CameraEvent::PowerOn => "POWER_ON",
            CameraEvent::PowerOff => "POWER_OFF",
            CameraEvent::RecStart { .. } => "REC_START",
            CameraEvent::RecStop { .. } => "REC_STOP",
            CameraEvent::ClockSet { .. } => "CLOCK_SET",
            CameraEvent::StorageError { .. } => "STORAGE_ERROR",
            CameraEvent::Battery { .. } => "BATTERY",
            CameraEvent::Other { name, .. } => name,
        }
    }

    /// The video file the event names, if any.
    pub fn video(&self) -> Option<&str> {
        match self {
            CameraEvent::Play { video, .. }
            | CameraEvent::RecStart { video }
            | CameraEvent::RecStop { video, .. } => Some(video),
            _ => None,
        }
    }
}

/// A log file's lines, sorted into accepted and rejected, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedLog {
    /// Lines that passed every check.
    pub lines: Vec<LogLine>,
    /// Lines that did not.
    pub rejected: Vec<Rejected>,
}

/// Parses a whole log (LF or CRLF line ends; empty lines are skipped).
pub fn parse(bytes: &[u8]) -> ParsedLog {
    let mut out = ParsedLog::default();
    let mut seen: std::collections::HashMap<[u8; 32], u32> = std::collections::HashMap::new();
    for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let digest: [u8; 32] = Sha256::digest(raw).into();
        let occurrence = seen.entry(digest).or_insert(0);
        *occurrence += 1;
        let id = LineId {
            sha256: crate::base::digest::hex(&digest),
            occurrence: *occurrence,
        };
        match parse_line(raw) {
            Ok((text, at, event)) => out.lines.push(LogLine {
                number,
                id,
                text,
                at,
                event,
            }),
            Err(problem) => out.rejected.push(Rejected {
                number,
                id,
                shown: shown(raw),
                problem,
            }),
        }
    }
    out
}

/// The XOR of the bytes, as NMEA computes its checksum.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

fn parse_line(raw: &[u8]) -> Result<(String, DateTime<Utc>, CameraEvent), LineProblem> {
    if raw.len() > MAX_LINE_BYTES {
        return Err(LineProblem::TooLong(raw.len()));
    }
    if let Some(b) = raw.iter().find(|b| !(b' '..=b'~').contains(*b)) {
        return Err(LineProblem::NotAscii(*b));
    }
    // Printable ASCII checked above: every byte is one char.
    let text = String::from_utf8_lossy(raw).into_owned();
    let Some((body, sum)) = text.rsplit_once('*') else {
        return Err(LineProblem::NoChecksum);
    };
    if sum.len() != 2 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(LineProblem::NoChecksum);
    }
    let computed = checksum(body.as_bytes());
    if u8::from_str_radix(sum, 16).ok() != Some(computed) {
        return Err(LineProblem::Checksum {
            found: sum.to_string(),
            computed,
        });
    }
    if body.contains('*') {
        return Err(form("it holds a `*` before its checksum"));
    }
    let mut parts = body.split(';');
    let time = parts.next().unwrap_or_default();
    let at = camera_time(time)
        .ok_or_else(|| form(&format!("its time `{time}` is not YYYY-MM-DDThh:mm:ssZ")))?;
    let name = parts.next().unwrap_or_default();
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(form(&format!(
            "its event `{name}` is not 1 to 32 upper-case letters, digits or `_`"
        )));
    }
    let fields: Vec<&str> = parts.collect();
    let event = event(name, &fields)?;
    Ok((text, at, event))
}

fn event(name: &str, fields: &[&str]) -> Result<CameraEvent, LineProblem> {
    let count = |n: usize| {
        if fields.len() == n {
            Ok(())
        } else {
            Err(form(&format!(
                "{name} takes {n} field(s), the line has {}",
                fields.len()
            )))
        }
    };
    let video = |i: usize| -> Result<String, LineProblem> {
        let v = fields.get(i).copied().unwrap_or_default();
        if v.is_empty() {
            return Err(form(&format!("{name} names no video")));
        }
        Ok(v.to_string())
    };
    Ok(match name {
        "PLAY" => {
            count(3)?;
            let position = |i: usize| {
                let f = fields.get(i).copied().unwrap_or_default();
                position(f).ok_or_else(|| form(&format!("position `{f}` is not hh:mm:ss")))
            };
            CameraEvent::Play {
                video: video(0)?,
                from_secs: position(1)?,
                to_secs: position(2)?,
            }
        }
        "POWER_ON" => {
            count(0)?;
            CameraEvent::PowerOn
        }
        "POWER_OFF" => {
            count(0)?;
            CameraEvent::PowerOff
        }
        "REC_START" => {
            count(1)?;
            CameraEvent::RecStart { video: video(0)? }
        }
        "REC_STOP" => {
            count(2)?;
            let bytes = fields.get(1).copied().unwrap_or_default();
            CameraEvent::RecStop {
                video: video(0)?,
                bytes: digits(bytes)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| form(&format!("REC_STOP size `{bytes}` is not a number")))?,
            }
        }
        "CLOCK_SET" => {
            count(1)?;
            let to = fields.first().copied().unwrap_or_default();
            CameraEvent::ClockSet {
                to: camera_time(to).ok_or_else(|| {
                    form(&format!(
                        "CLOCK_SET time `{to}` is not YYYY-MM-DDThh:mm:ssZ"
                    ))
                })?,
            }
        }
        "STORAGE_ERROR" => CameraEvent::StorageError {
            detail: fields.join(";"),
        },
        "BATTERY" => {
            count(1)?;
            let p = fields.first().copied().unwrap_or_default();
            CameraEvent::Battery {
                percent: digits(p)
                    .and_then(|s| s.parse().ok())
                    .filter(|p| *p <= 100)
                    .ok_or_else(|| form(&format!("BATTERY `{p}` is not 0 to 100")))?,
            }
        }
        other => CameraEvent::Other {
            name: other.to_string(),
            fields: fields.iter().map(|f| (*f).to_string()).collect(),
        },
    })
}

fn form(what: &str) -> LineProblem {
    LineProblem::Form(what.to_string())
}

/// `s` when it is 1 to 12 ASCII digits.
fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// `YYYY-MM-DDThh:mm:ssZ` exactly: the same form, and the same parser, as the sidecar's
/// timestamps (chrono's own parser accepts other widths).
pub(crate) fn camera_time(s: &str) -> Option<DateTime<Utc>> {
    super::sidecar::parse_timestamp(s)
}

/// `hh:mm:ss` to seconds.
fn position(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> { digits(s.get(r)?)?.parse().ok() };
    let (h, m, sec) = (num(0..2)?, num(3..5)?, num(6..8)?);
    (m < 60 && sec < 60).then_some(h * 3600 + m * 60 + sec)
}

/// `hh:mm:ss` from seconds.
pub fn hms(secs: u32) -> String {
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A rejected line made safe to show: printable ASCII kept, other bytes as `\xNN`, capped.
fn shown(raw: &[u8]) -> String {
    let mut out = String::new();
    for b in raw.iter().take(160) {
        match b {
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(char::from(*b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if raw.len() > 160 {
        out.push_str(&format!("... ({} more bytes)", raw.len() - 160));
    }
    out
}

#[cfg(test)]
mod tests;
