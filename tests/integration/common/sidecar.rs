//! Sidecar text built from parts (camera-profile.md, "The sidecar"), so a test can make
//! any good or bad sidecar: change a field, drop the trailer, add odd fixes, then render.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use super::{FIRMWARE, sha256_hex};

const ISO: &str = "%Y-%m-%dT%H:%M:%SZ";

/// The XOR of the bytes between `$` and `*`.
pub fn nmea_checksum(body: &str) -> u8 {
    body.bytes().fold(0, |sum, b| sum ^ b)
}

/// `$` + body + `*` + checksum in two upper-case hex digits.
pub fn nmea_line(body: &str) -> String {
    format!("${body}*{:02X}", nmea_checksum(body))
}

/// Every part of a sidecar; `render` writes it out.
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarSpec {
    pub serial: String,
    pub firmware: String,
    /// The header's video file name, e.g. `SNTL-00042_20180312_143015_0001.MP4`.
    pub video_name: String,
    pub start: DateTime<Utc>,
    pub prerecord: u32,
    /// The trailer's end; `None` writes no trailer (an interrupted recording).
    pub end: Option<DateTime<Utc>>,
    pub video_size: u64,
    /// The trailer's SHA-256, written as given.
    pub video_sha256: String,
    /// Sentence bodies between the header and the trailer, without `$` and `*hh`.
    pub fixes: Vec<String>,
    /// CRLF line endings instead of LF.
    pub crlf: bool,
}

impl SidecarSpec {
    /// A good sidecar for `video`: start from the stem, firmware 2.3.1, prerecord 10 s,
    /// end = start + `duration_secs`, one RMC and one GGA a second. Panics if the stem has
    /// no `_<YYYYMMDD>_<HHMMSS>_` (make such sidecars by changing the fields).
    pub fn for_video(serial: &str, stem: &str, video: &[u8], duration_secs: u32) -> SidecarSpec {
        let start = stem_start(stem)
            .unwrap_or_else(|| panic!("stem {stem:?} has no _<YYYYMMDD>_<HHMMSS>_ start"));
        SidecarSpec {
            serial: serial.to_owned(),
            firmware: FIRMWARE.to_owned(),
            video_name: format!("{stem}.MP4"),
            start,
            prerecord: 10,
            end: Some(start + TimeDelta::seconds(duration_secs.into())),
            video_size: video.len() as u64,
            video_sha256: sha256_hex(video),
            fixes: gps_fixes(start, duration_secs),
            crlf: false,
        }
    }

    /// `PSNTL,HDR,1,...` without `$` and checksum.
    pub fn header_body(&self) -> String {
        format!(
            "PSNTL,HDR,1,{},{},{},{},{}",
            self.serial,
            self.firmware,
            self.video_name,
            self.start.format(ISO),
            self.prerecord
        )
    }

    /// `PSNTL,END,...` without `$` and checksum, when there is a trailer.
    pub fn trailer_body(&self) -> Option<String> {
        self.end.map(|end| {
            format!(
                "PSNTL,END,{},{},{}",
                end.format(ISO),
                self.video_size,
                self.video_sha256
            )
        })
    }

    /// The sidecar's bytes: header, fixes, trailer, each line checksummed and terminated.
    pub fn render(&self) -> Vec<u8> {
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let bodies = std::iter::once(self.header_body())
            .chain(self.fixes.iter().cloned())
            .chain(self.trailer_body());
        bodies
            .map(|body| nmea_line(&body) + eol)
            .collect::<String>()
            .into_bytes()
    }
}

/// The start a stem names: `<SERIAL>_<YYYYMMDD>_<HHMMSS>_<NNNN>`.
fn stem_start(stem: &str) -> Option<DateTime<Utc>> {
    let mut fields = stem.split('_').skip(1);
    let (day, time) = (fields.next()?, fields.next()?);
    let naive = NaiveDateTime::parse_from_str(&format!("{day}{time}"), "%Y%m%d%H%M%S").ok()?;
    Some(naive.and_utc())
}

/// One RMC and one GGA body a second for `seconds` seconds from `start`: a slow walk
/// (about 1.4 m/s) near Romans-sur-Isère (45.04 N, 5.05 E).
pub fn gps_fixes(start: DateTime<Utc>, seconds: u32) -> Vec<String> {
    let (mut lat, mut lon, mut heading) = (45.0405_f64, 5.0512_f64, 60.0_f64);
    let mut fixes = Vec::with_capacity(2 * seconds as usize);
    for t in 0..seconds {
        let when = start + TimeDelta::seconds(t.into());
        let (hms, dmy) = (when.format("%H%M%S.00"), when.format("%d%m%y"));
        let speed = 1.4 + 0.2 * (f64::from(t) / 3.0).sin(); // m/s
        let (la, lo) = (ddmm(lat, 2), ddmm(lon, 3));
        let course = heading.rem_euclid(360.0);
        let knots = speed * 1.943_844;
        fixes.push(format!(
            "GPRMC,{hms},A,{la},N,{lo},E,{knots:.1},{course:.1},{dmy},,,A"
        ));
        fixes.push(format!(
            "GPGGA,{hms},{la},N,{lo},E,1,08,0.9,160.0,M,49.0,M,,"
        ));
        let rad = heading.to_radians();
        lat += speed * rad.cos() / 111_320.0;
        lon += speed * rad.sin() / (111_320.0 * lat.to_radians().cos());
        heading += 8.0 * (f64::from(t) / 4.0).sin();
    }
    fixes
}

/// Degrees as NMEA's (d)ddmm.mmmm.
fn ddmm(value: f64, width: usize) -> String {
    let degrees = value.trunc();
    format!(
        "{:0width$}{:07.4}",
        degrees as u32,
        (value - degrees) * 60.0
    )
}
