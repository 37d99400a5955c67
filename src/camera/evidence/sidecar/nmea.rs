//! NMEA 0183 framing (`$...*hh`) and the RMC / GGA fields the sidecar check needs.
//!
//! A hand parser rather than the `nmea` crate: that crate refuses proprietary `$P...`
//! sentences and lines over 102 characters, so the header and trailer, and the framing
//! of every line, would need a parser of our own anyway; with the framing done here, RMC
//! and GGA are a handful of fields, and every bound stays in this file.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// The longest line accepted; NMEA's own limit is 82 characters.
pub(super) const MAX_LINE_LEN: usize = 1024;

/// Longest piece of sidecar text quoted in a message.
const MAX_QUOTE: usize = 40;

/// Quotes sidecar text (already printable ASCII) in a message, shortened.
pub(super) fn quote(text: &str) -> String {
    match text.get(..MAX_QUOTE) {
        Some(head) if text.len() > MAX_QUOTE => format!("{head}..."),
        _ => text.to_string(),
    }
}

/// Why one line is not a well-framed NMEA sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FrameFault {
    TooLong { len: usize },
    NotPrintable { column: usize },
    NoDollar,
    NoChecksum,
    Checksum { found: String, computed: String },
}

/// The text between `$` and `*` of a line whose checksum holds (line without its LF/CRLF).
pub(super) fn frame(line: &[u8]) -> Result<&str, FrameFault> {
    if line.len() > MAX_LINE_LEN {
        return Err(FrameFault::TooLong { len: line.len() });
    }
    if let Some(i) = line.iter().position(|b| !(b' '..=b'~').contains(b)) {
        return Err(FrameFault::NotPrintable { column: i + 1 });
    }
    let Some(rest) = line.strip_prefix(b"$") else {
        return Err(FrameFault::NoDollar);
    };
    let star = rest
        .iter()
        .rposition(|&b| b == b'*')
        .ok_or(FrameFault::NoChecksum)?;
    let (body, tail) = (&rest[..star], &rest[star + 1..]);
    let found = match tail {
        [hi, lo] => match (hex_value(*hi), hex_value(*lo)) {
            (Some(hi), Some(lo)) => hi << 4 | lo,
            _ => return Err(FrameFault::NoChecksum),
        },
        _ => return Err(FrameFault::NoChecksum),
    };
    let computed = body.iter().fold(0u8, |x, b| x ^ b);
    if computed != found {
        return Err(FrameFault::Checksum {
            found: String::from_utf8_lossy(tail).into_owned(),
            computed: format!("{computed:02X}"),
        });
    }
    // Printable ASCII was checked above, so this cannot fail; no panic path either way.
    std::str::from_utf8(body).map_err(|_| FrameFault::NoChecksum)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// What one RMC or GGA sentence says about the position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Reading {
    /// A position; GGA carries no date.
    Position {
        time: NaiveTime,
        date: Option<NaiveDate>,
        lat: f64,
        lon: f64,
    },
    /// The receiver had no fix at that moment.
    NoFix,
    /// A position the receiver says is not a real satellite fix: set aside.
    NotReal(NotReal),
}

/// Why a position sentence is not a real satellite fix (NMEA 2.3+ RMC mode indicator, GGA
/// fix quality): its position and time are the receiver's invention or a person's input,
/// not the satellites' word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotReal {
    /// RMC mode `S`, GGA quality 8: a receiver in demo or simulator mode.
    Simulated,
    /// RMC mode `E`, dead reckoning: carried on from the last real fix.
    Estimated,
    /// RMC mode `M`, GGA quality 7: typed in by hand.
    Manual,
    /// RMC status `A` with mode `N`, or a GGA quality past 8: the receiver contradicts itself.
    NotValid,
}

/// Reads `$xxRMC` fields (the sentence id included as field 0).
pub(super) fn parse_rmc(fields: &[&str]) -> Result<Reading, &'static str> {
    if !(10..=14).contains(&fields.len()) {
        return Err("an RMC sentence has 10 to 14 fields");
    }
    // The mode indicator (NMEA 2.3 and later) is field 12; older receivers have none.
    let mode = fields.get(12).copied().unwrap_or_default();
    match (fields[2], mode) {
        // A receiver in demo mode marks its invented positions void and simulated.
        ("V" | "A", "S") => return Ok(Reading::NotReal(NotReal::Simulated)),
        ("V", _) => return Ok(Reading::NoFix),
        ("A", "E") => return Ok(Reading::NotReal(NotReal::Estimated)),
        ("A", "M") => return Ok(Reading::NotReal(NotReal::Manual)),
        ("A", "N") => return Ok(Reading::NotReal(NotReal::NotValid)),
        ("A", _) => {}
        _ => return Err("the RMC status is neither A nor V"),
    }
    Ok(Reading::Position {
        time: parse_time(fields[1]).ok_or("the time is not hhmmss[.sss]")?,
        date: Some(parse_ddmmyy(fields[9]).ok_or("the date is not a real ddmmyy date")?),
        lat: parse_coord(fields[3], fields[4], 'N', 'S')?,
        lon: parse_coord(fields[5], fields[6], 'E', 'W')?,
    })
}

/// Reads `$xxGGA` fields (the sentence id included as field 0).
pub(super) fn parse_gga(fields: &[&str]) -> Result<Reading, &'static str> {
    if !(7..=15).contains(&fields.len()) {
        return Err("a GGA sentence has 7 to 15 fields");
    }
    // 1 GPS, 2 DGPS, 3 PPS, 4 RTK, 5 float RTK, 6 dead reckoning count (a GGA carries no
    // date, so it is never the clock); 7 manual input and 8 simulation do not.
    match fields[6] {
        "0" => return Ok(Reading::NoFix),
        "1" | "2" | "3" | "4" | "5" | "6" => {}
        "7" => return Ok(Reading::NotReal(NotReal::Manual)),
        "8" => return Ok(Reading::NotReal(NotReal::Simulated)),
        "9" => return Ok(Reading::NotReal(NotReal::NotValid)),
        _ => return Err("the GGA fix quality is not a digit"),
    }
    Ok(Reading::Position {
        time: parse_time(fields[1]).ok_or("the time is not hhmmss[.sss]")?,
        date: None,
        lat: parse_coord(fields[2], fields[3], 'N', 'S')?,
        lon: parse_coord(fields[4], fields[5], 'E', 'W')?,
    })
}

/// `hhmmss` with an optional fraction kept to the millisecond.
fn parse_time(text: &str) -> Option<NaiveTime> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.len() != 6 || !all_digits(whole) || frac.len() > 9 || !all_digits(frac) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole.get(r).and_then(|s| s.parse::<u32>().ok());
    let milli = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
    NaiveTime::from_hms_milli_opt(n(0..2)?, n(2..4)?, n(4..6)?, milli)
}

/// `ddmmyy`; GPS receivers only speak of this century.
fn parse_ddmmyy(text: &str) -> Option<NaiveDate> {
    if text.len() != 6 || !all_digits(text) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok());
    let year = 2000 + i32::try_from(n(4..6)?).ok()?;
    NaiveDate::from_ymd_opt(year, n(2..4)?, n(0..2)?)
}

/// `(d)ddmm.mmmm` plus hemisphere, in signed degrees; minutes of 60 or more give NaN,
/// which the caller counts as an impossible coordinate.
fn parse_coord(value: &str, hemi: &str, plus: char, minus: char) -> Result<f64, &'static str> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if !(3..=5).contains(&int.len()) || !all_digits(int) || frac.len() > 10 || !all_digits(frac) {
        return Err("a coordinate is not (d)ddmm.mmmm");
    }
    let split = int.len() - 2;
    let degrees: f64 = int[..split].parse().map_err(|_| "bad degrees")?;
    let minutes: f64 = format!("{}.{}0", &int[split..], frac)
        .parse()
        .map_err(|_| "bad minutes")?;
    let magnitude = if minutes < 60.0 {
        degrees + minutes / 60.0
    } else {
        f64::NAN
    };
    match hemi.chars().next() {
        Some(c) if hemi.len() == 1 && c == plus => Ok(magnitude),
        Some(c) if hemi.len() == 1 && c == minus => Ok(-magnitude),
        _ => Err("a coordinate's hemisphere is not N/S or E/W"),
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` exactly, the sidecar's timestamp form.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = text.get(r)?;
        if all_digits(s) { s.parse().ok() } else { None }
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(n(0..4)?).ok()?, n(5..7)?, n(8..10)?)?;
    let time = NaiveTime::from_hms_opt(n(11..13)?, n(14..16)?, n(17..19)?)?;
    Some(NaiveDateTime::new(date, time).and_utc())
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_checks_the_checksum() {
        assert_eq!(
            frame(b"$GPGSV,1*3E"),
            Err(FrameFault::Checksum {
                found: "3E".into(),
                computed: "48".into()
            })
        );
        assert_eq!(frame(b"$GPGSV,1*48"), Ok("GPGSV,1"));
        assert_eq!(
            frame(b"$GPGSV,1*4a"),
            Err(FrameFault::Checksum {
                found: "4a".into(),
                computed: "48".into()
            })
        );
        assert_eq!(frame(b"$GPGSA,1*5f"), Ok("GPGSA,1"));
        assert_eq!(frame(b"$GPGSV,1"), Err(FrameFault::NoChecksum));
        assert_eq!(frame(b"$GPGSV,1*4"), Err(FrameFault::NoChecksum));
        assert_eq!(frame(b"$GPGSV,1*48B"), Err(FrameFault::NoChecksum));
        assert_eq!(frame(b"GPGSV,1*48"), Err(FrameFault::NoDollar));
        assert_eq!(
            frame(b"$GP\tV*00"),
            Err(FrameFault::NotPrintable { column: 4 })
        );
        assert_eq!(frame(&[b'$'; 2000]), Err(FrameFault::TooLong { len: 2000 }));
    }

    #[test]
    fn rmc_and_gga_fields() {
        let rmc = "GPRMC,123519.5,A,4807.038,N,01131.000,W,022.4,084.4,230394,003.1,W"
            .split(',')
            .collect::<Vec<_>>();
        let Ok(Reading::Position {
            time,
            date,
            lat,
            lon,
        }) = parse_rmc(&rmc)
        else {
            panic!("{:?}", parse_rmc(&rmc));
        };
        assert_eq!(
            time,
            NaiveTime::from_hms_milli_opt(12, 35, 19, 500).unwrap()
        );
        assert_eq!(date, NaiveDate::from_ymd_opt(2094, 3, 23));
        assert!((lat - 48.1173).abs() < 1e-9 && (lon + 11.516_666_666).abs() < 1e-6);
        let gga = "GPGGA,000001,4807.038,S,01131.000,E,0,00,,,M,,M,,"
            .split(',')
            .collect::<Vec<_>>();
        assert_eq!(parse_gga(&gga), Ok(Reading::NoFix));
        let bad = "GPRMC,123519,A,48x7.038,N,01131.000,W,,,230394,,"
            .split(',')
            .collect::<Vec<_>>();
        assert!(parse_rmc(&bad).is_err());
        let nan = "GPRMC,123519,A,4875.000,N,01131.000,W,,,230394,,"
            .split(',')
            .collect::<Vec<_>>();
        assert!(matches!(parse_rmc(&nan), Ok(Reading::Position { lat, .. }) if lat.is_nan()));
    }

    #[test]
    fn timestamps_are_strict() {
        assert!(parse_timestamp("2024-03-15T12:00:00Z").is_some());
        for bad in [
            "2024-03-15T12:00:00",
            "2024-03-15 12:00:00Z",
            "2024-02-30T12:00:00Z",
            "2024-03-15T24:00:00Z",
            "+024-03-15T12:00:00Z",
            "2024-03-15T12:00:0ZZ",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
