//! The profile's own sentences: the header (line 1) and the trailer (last line).

use chrono::{DateTime, Utc};

use super::nmea::{self, quote};
use crate::base::config::Profile;
use crate::base::digest::{hex, unhex32};

/// The sidecar's first line: `$<sentence>,HDR,1,...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The camera serial the sidecar claims.
    pub serial: String,
    /// The camera's firmware version.
    pub firmware: String,
    /// The video file name the sidecar claims to describe.
    pub video_name: String,
    /// The recording's UTC start.
    pub start: DateTime<Utc>,
    /// Seconds of pre-recording declared.
    pub prerecord_secs: u32,
}

/// The sidecar's last line: `$<sentence>,END,...`, written when the recording closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trailer {
    /// The recording's UTC end.
    pub end: DateTime<Utc>,
    /// The video's size in bytes, as the camera wrote it.
    pub video_size: u64,
    /// The video's SHA-256, as the camera computed it.
    pub video_sha256: [u8; 32],
}

pub(super) enum HeaderFault {
    Version(String),
    Invalid(String),
}

/// `<sentence>,HDR,1,<serial>,<firmware>,<video>,<start>,<prerecord>`.
pub(super) fn parse_header(fields: &[&str]) -> Result<Header, HeaderFault> {
    let version = fields.get(2).copied().unwrap_or_default();
    if version != "1" {
        return Err(HeaderFault::Version(quote(version)));
    }
    let [_, _, _, serial, firmware, video, start, prerecord] = fields else {
        return Err(HeaderFault::Invalid(format!(
            "a version 1 header has 8 comma-separated fields, this one has {}",
            fields.len()
        )));
    };
    let invalid =
        |what: &str, text: &str| HeaderFault::Invalid(format!("{what} `{}`", quote(text)));
    if serial.is_empty() {
        return Err(invalid("empty serial", serial));
    }
    if video.is_empty() {
        return Err(invalid("empty video file name", video));
    }
    let start = nmea::parse_timestamp(start)
        .ok_or_else(|| invalid("start is not YYYY-MM-DDThh:mm:ssZ:", start))?;
    let prerecord_secs = parse_decimal(prerecord, 5)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid("pre-recording is not a number of seconds:", prerecord))?;
    Ok(Header {
        serial: serial.to_string(),
        firmware: firmware.to_string(),
        video_name: video.to_string(),
        start,
        prerecord_secs,
    })
}

/// `<sentence>,END,<end>,<size>,<sha256>`.
pub(super) fn parse_trailer(profile: &Profile, fields: &[&str]) -> Result<Trailer, String> {
    let [sentence, "END", end, size, sha] = fields else {
        return Err(format!(
            "a trailer has 5 comma-separated fields, this one has {}",
            fields.len()
        ));
    };
    if *sentence != profile.sentence {
        return Err(format!(
            "sentence `{}` is not the profile's",
            quote(sentence)
        ));
    }
    let end = nmea::parse_timestamp(end)
        .ok_or_else(|| format!("end `{}` is not YYYY-MM-DDThh:mm:ssZ", quote(end)))?;
    let video_size = parse_decimal(size, 20)
        .ok_or_else(|| format!("video size `{}` is not a number of bytes", quote(size)))?;
    let video_sha256 = unhex32(sha)
        .filter(|digest| hex(digest) == *sha)
        .ok_or_else(|| {
            format!(
                "`{}` is not a SHA-256 in 64 lower-case hex digits",
                quote(sha)
            )
        })?;
    Ok(Trailer {
        end,
        video_size,
        video_sha256,
    })
}

/// Plain decimal digits (no sign, no spaces), at most `max_digits` of them.
fn parse_decimal(text: &str, max_digits: usize) -> Option<u64> {
    if text.is_empty() || text.len() > max_digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
