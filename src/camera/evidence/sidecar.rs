//! The NMEA sidecar: header, position fixes, trailer, every line's checksum.
//!
//! `problems` are what blocks "integrity confirmed" (camera-profile rule 1); `flags` are
//! reported only (fixes out of the recording's window, impossible coordinates, sentences
//! the profile does not name). Work is linear in the input and memory bounded whatever it
//! holds: problems are capped and flags are aggregated counts.

mod header;
mod nmea;
mod problem;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

pub use self::header::{Header, Trailer};
use self::header::{HeaderFault, parse_header, parse_trailer};
pub(crate) use self::nmea::parse_timestamp;
use self::nmea::{FrameFault, MAX_LINE_LEN, NotReal, Reading, quote};
pub use self::problem::SidecarProblem;
use crate::base::config::Profile;

/// Problems recorded before the rest are only counted.
const MAX_PROBLEMS: usize = 200;

/// Distinct unknown sentence ids reported by name; the rest are counted together.
const MAX_UNKNOWN_IDS: usize = 16;

/// One dated position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// When the position was taken (UTC).
    pub time: DateTime<Utc>,
    /// Latitude in degrees, north positive.
    pub lat: f64,
    /// Longitude in degrees, east positive.
    pub lon: f64,
}

/// The smallest latitude/longitude box holding every plausible fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundingBox {
    /// Southmost latitude.
    pub min_lat: f64,
    /// Northmost latitude.
    pub max_lat: f64,
    /// Westmost longitude.
    pub min_lon: f64,
    /// Eastmost longitude.
    pub max_lon: f64,
}

/// What the position sentences said, in counts; impossible positions are excluded from
/// `count`, `first`, `last` and `bbox`, fixes out of the window are included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FixSummary {
    /// RMC/GGA sentences giving a plausible position (an RMC and a GGA of one second count twice).
    pub count: u32,
    /// RMC with status `V` or GGA with quality 0.
    pub no_fix: u32,
    /// Positions the receiver marks as not real (RMC mode `S`/`E`/`M`/`N`, GGA quality 7,
    /// 8 or 9: simulated, estimated, manual): set aside, in no other count, never a clock.
    pub not_real: u32,
    /// The first plausible fix, in file order.
    pub first: Option<Fix>,
    /// The last plausible fix, in file order.
    pub last: Option<Fix>,
    /// The box around all plausible fixes.
    pub bbox: Option<BoundingBox>,
    /// Fixes dated outside `[start − prerecord, end]` ± the profile's tolerance.
    pub out_of_window: u32,
    /// Fixes with |lat| > 90, |lon| > 180, or minutes ≥ 60.
    pub impossible: u32,
    /// RMC/GGA sentences with a valid checksum whose fields cannot be read.
    pub malformed: u32,
    /// GGA fixes that could not be dated because there is no header.
    pub undated: u32,
    /// The first and last fix dated by the satellites themselves (RMC carries its date; a
    /// GGA takes the camera's): the independent clock of `evidence::trusted_time`.
    pub satellite: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Everything the sidecar says and everything wrong with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SidecarReport {
    /// The header, when line 1 is a readable version-1 header.
    pub header: Option<Header>,
    /// The first readable trailer.
    pub trailer: Option<Trailer>,
    /// The position fixes, summarised.
    pub fixes: FixSummary,
    /// What blocks confirmation.
    pub problems: Vec<SidecarProblem>,
    /// What is only reported.
    pub flags: Vec<String>,
}

/// Parses and checks a whole sidecar.
pub fn parse(profile: &Profile, bytes: &[u8]) -> SidecarReport {
    let mut parser = Parser::new(profile);
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > profile.max_sidecar_bytes.0 {
        parser.problem(SidecarProblem::TooLarge {
            size,
            max: profile.max_sidecar_bytes.0,
        });
        return parser.report;
    }
    let lines = || bytes.split(|&b| b == b'\n').map(strip_cr).enumerate();
    // Empty lines after the last sentence are harmless; the trailer is the last sentence.
    let Some((last_index, last_line)) = lines().filter(|(_, l)| !l.is_empty()).last() else {
        parser.problem(SidecarProblem::Empty);
        return parser.finish();
    };
    // The window's end is needed while fixes are read, before the trailer line is reached.
    parser.window_end = nmea::frame(last_line)
        .ok()
        .and_then(|body| parse_trailer(profile, &split_fields(body)).ok())
        .map(|t| t.end);
    for (index, line) in lines().take(last_index + 1) {
        parser.line(index + 1, line, index == last_index);
    }
    parser.finish()
}

/// The longest line a streamed sidecar keeps whole; a longer one is kept this long
/// (plus one byte), still far past `MAX_LINE_LEN`, so it is reported as too long.
const STREAM_LINE_CAP: usize = 64 * 1024;

/// Splits a byte stream into lines (without `\n` and a final `\r`) of bounded length.
#[derive(Debug, Default)]
struct Lines {
    current: Vec<u8>,
    /// Lines completed so far.
    count: usize,
}

impl Lines {
    /// Feeds `bytes`; calls `each(index, line)` for every line completed (0-based index).
    fn feed(&mut self, bytes: &[u8], mut each: impl FnMut(usize, &[u8])) {
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            let (body, ends) = match piece.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (piece, false),
            };
            let room = (STREAM_LINE_CAP + 1).saturating_sub(self.current.len());
            self.current
                .extend_from_slice(&body[..body.len().min(room)]);
            if ends {
                each(self.count, strip_cr(&self.current));
                self.count += 1;
                self.current.clear();
            }
        }
    }

    /// The last line, which has no `\n` after it (possibly empty).
    fn end(&mut self, mut each: impl FnMut(usize, &[u8])) {
        each(self.count, strip_cr(&self.current));
        self.current.clear();
    }
}

/// The first of the two passes a streamed sidecar needs: where its last sentence is.
///
/// The time window that fixes are checked against ends at the trailer, the last line, so
/// the trailer must be known before the first fix is read: a whole sidecar in memory can
/// look ahead; a streamed one is read twice (the caller proves both reads equal).
#[derive(Debug, Default)]
pub struct TailScan {
    lines: Lines,
    last: Option<(usize, Vec<u8>)>,
}

impl TailScan {
    /// Feeds the next bytes of the sidecar.
    pub fn feed(&mut self, bytes: &[u8]) {
        let last = &mut self.last;
        self.lines.feed(bytes, |i, line| {
            if !line.is_empty() {
                *last = Some((i, line.to_vec()));
            }
        });
    }

    fn finish(mut self) -> Option<(usize, Vec<u8>)> {
        let mut last = self.last.take();
        self.lines.end(|i, line| {
            if !line.is_empty() {
                last = Some((i, line.to_vec()));
            }
        });
        last
    }
}

/// The second pass over a streamed sidecar: every line parsed as `parse` would.
pub struct StreamParse<'p> {
    parser: Parser<'p>,
    lines: Lines,
    /// Index of the last non-empty line; `None`: the sidecar is empty.
    last_index: Option<usize>,
}

impl<'p> StreamParse<'p> {
    /// Starts the second pass with what the first found; `size` is the sidecar's size.
    pub fn new(profile: &'p Profile, size: u64, tail: TailScan) -> StreamParse<'p> {
        let mut parser = Parser::new(profile);
        if size > profile.max_sidecar_bytes.0 {
            parser.problem(SidecarProblem::TooLarge {
                size,
                max: profile.max_sidecar_bytes.0,
            });
        }
        let last = tail.finish();
        if let Some((_, line)) = &last {
            parser.window_end = nmea::frame(line)
                .ok()
                .and_then(|body| parse_trailer(profile, &split_fields(body)).ok())
                .map(|t| t.end);
        }
        StreamParse {
            parser,
            lines: Lines::default(),
            last_index: last.map(|(i, _)| i),
        }
    }

    /// Feeds the next bytes of the sidecar (the same bytes, in the same order, as the first pass).
    pub fn feed(&mut self, bytes: &[u8]) {
        let (parser, last) = (&mut self.parser, self.last_index);
        self.lines
            .feed(bytes, |i, line| Self::line(parser, last, i, line));
    }

    fn line(parser: &mut Parser<'_>, last: Option<usize>, index: usize, line: &[u8]) {
        if let Some(last) = last
            && index <= last
        {
            parser.line(index + 1, line, index == last);
        }
    }

    /// The report, once every byte was fed.
    pub fn finish(mut self) -> SidecarReport {
        if !self.parser.report.problems.is_empty()
            && matches!(
                self.parser.report.problems.first(),
                Some(SidecarProblem::TooLarge { .. })
            )
        {
            return self.parser.report;
        }
        let (parser, last) = (&mut self.parser, self.last_index);
        self.lines.end(|i, line| Self::line(parser, last, i, line));
        if self.last_index.is_none() {
            self.parser.problem(SidecarProblem::Empty);
        }
        self.parser.finish()
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn split_fields(body: &str) -> Vec<&str> {
    // Lines are at most MAX_LINE_LEN bytes, so at most MAX_LINE_LEN / 2 + 1 fields.
    body.split(',').collect()
}

struct Parser<'p> {
    profile: &'p Profile,
    report: SidecarReport,
    dropped_problems: usize,
    header_reported: bool,
    window_end: Option<DateTime<Utc>>,
    trailer_line: Option<usize>,
    after_trailer: Option<(usize, usize, usize)>,
    unknown: Vec<(String, u32, usize)>,
    first_out_of_window: Option<usize>,
    first_impossible: Option<usize>,
    first_malformed: Option<(usize, &'static str)>,
    /// Fixes set aside as not real, by kind (simulated, estimated, manual, not valid), and
    /// the first one's line.
    not_real: ([u32; 4], Option<usize>),
}

impl<'p> Parser<'p> {
    fn new(profile: &'p Profile) -> Parser<'p> {
        Parser {
            profile,
            report: SidecarReport::default(),
            dropped_problems: 0,
            header_reported: false,
            window_end: None,
            trailer_line: None,
            after_trailer: None,
            unknown: Vec::new(),
            first_out_of_window: None,
            first_impossible: None,
            first_malformed: None,
            not_real: ([0; 4], None),
        }
    }

    fn problem(&mut self, problem: SidecarProblem) {
        if self.report.problems.len() < MAX_PROBLEMS {
            self.report.problems.push(problem);
        } else {
            self.dropped_problems += 1;
        }
    }

    fn line(&mut self, line: usize, bytes: &[u8], is_last: bool) {
        if let Some(trailer) = self.trailer_line {
            let (_, _, count) = self.after_trailer.get_or_insert((trailer, line, 0));
            *count += 1;
            return;
        }
        if bytes.is_empty() {
            self.problem(SidecarProblem::EmptyLine { line });
            return;
        }
        let body = match nmea::frame(bytes) {
            Ok(body) => body,
            Err(fault) => {
                self.problem(frame_problem(line, fault));
                if line == 1 {
                    self.header_reported = true;
                }
                return;
            }
        };
        let fields = split_fields(body);
        let id = fields.first().copied().unwrap_or_default();
        let kind = fields.get(1).copied().unwrap_or_default();
        if id == self.profile.sentence && kind == "HDR" {
            self.header(line, &fields);
            return;
        }
        if line == 1 {
            self.header_reported = true;
            self.problem(SidecarProblem::MissingHeader {
                sentence: self.profile.sentence.clone(),
                found: format!("`${}`", quote(body)),
            });
        }
        match (id, kind) {
            (s, "END") if s == self.profile.sentence => self.trailer(line, &fields, is_last),
            ("GPRMC" | "GNRMC", _) => self.fix(line, nmea::parse_rmc(&fields)),
            ("GPGGA" | "GNGGA", _) => self.fix(line, nmea::parse_gga(&fields)),
            (s, k) if s == self.profile.sentence => self.unknown(&format!("{s},{k}"), line),
            (s, _) => self.unknown(s, line),
        }
    }

    fn header(&mut self, line: usize, fields: &[&str]) {
        if line != 1 {
            self.problem(SidecarProblem::HeaderNotFirst { line });
            return;
        }
        self.header_reported = true;
        match parse_header(fields) {
            Ok(header) => {
                if header.prerecord_secs > self.profile.max_prerecord_secs {
                    self.problem(SidecarProblem::Prerecord {
                        line,
                        secs: header.prerecord_secs,
                        max: self.profile.max_prerecord_secs,
                    });
                }
                self.report.header = Some(header);
            }
            Err(HeaderFault::Version(version)) => {
                self.problem(SidecarProblem::HeaderVersion { line, version })
            }
            Err(HeaderFault::Invalid(reason)) => {
                self.problem(SidecarProblem::InvalidHeader { line, reason })
            }
        }
    }

    fn trailer(&mut self, line: usize, fields: &[&str], is_last: bool) {
        match parse_trailer(self.profile, fields) {
            Ok(trailer) => self.report.trailer = Some(trailer),
            Err(reason) => self.problem(SidecarProblem::InvalidTrailer { line, reason }),
        }
        if !is_last {
            self.trailer_line = Some(line);
        }
    }

    fn fix(&mut self, line: usize, reading: Result<Reading, &'static str>) {
        let (time, date, lat, lon) = match reading {
            Ok(Reading::Position {
                time,
                date,
                lat,
                lon,
            }) => (time, date, lat, lon),
            Ok(Reading::NoFix) => {
                self.report.fixes.no_fix = self.report.fixes.no_fix.saturating_add(1);
                return;
            }
            Ok(Reading::NotReal(kind)) => {
                let fixes = &mut self.report.fixes;
                fixes.not_real = fixes.not_real.saturating_add(1);
                let (counts, first) = &mut self.not_real;
                let slot = &mut counts[kind as usize];
                *slot = slot.saturating_add(1);
                first.get_or_insert(line);
                return;
            }
            Err(reason) => {
                let fixes = &mut self.report.fixes;
                fixes.malformed = fixes.malformed.saturating_add(1);
                self.first_malformed.get_or_insert((line, reason));
                return;
            }
        };
        let fixes = &mut self.report.fixes;
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
            fixes.impossible = fixes.impossible.saturating_add(1);
            self.first_impossible.get_or_insert(line);
            return;
        }
        let header = self.report.header.as_ref();
        let satellite_dated = date.is_some();
        let Some(time) = date_fix(header.map(|h| h.start), date, time) else {
            fixes.undated = fixes.undated.saturating_add(1);
            return;
        };
        if let Some(h) = header
            && !self.in_window(h, time)
        {
            let fixes = &mut self.report.fixes;
            fixes.out_of_window = fixes.out_of_window.saturating_add(1);
            self.first_out_of_window.get_or_insert(line);
        }
        self.report.fixes.add(Fix { time, lat, lon });
        if satellite_dated {
            let satellite = &mut self.report.fixes.satellite;
            let first = satellite.map_or(time, |(first, _)| first);
            *satellite = Some((first, time));
        }
    }

    fn in_window(&self, header: &Header, time: DateTime<Utc>) -> bool {
        // Both terms are at most u32::MAX seconds, far inside chrono's range: no overflow.
        let tolerance = Duration::seconds(i64::from(self.profile.fix_tolerance_secs));
        let before = Duration::seconds(i64::from(header.prerecord_secs)) + tolerance;
        let lower = header.start.checked_sub_signed(before);
        let upper = self
            .window_end
            .and_then(|end| end.checked_add_signed(tolerance));
        lower.is_none_or(|lower| time >= lower) && upper.is_none_or(|upper| time <= upper)
    }

    fn unknown(&mut self, id: &str, line: usize) {
        if let Some(entry) = self.unknown.iter_mut().find(|(known, ..)| known == id) {
            entry.1 = entry.1.saturating_add(1);
        } else if self.unknown.len() < MAX_UNKNOWN_IDS {
            self.unknown.push((id.to_string(), 1, line));
        } else if let Some(other) = self.unknown.last_mut() {
            // The last slot doubles as "other" once the list is full.
            other.0 = "(other sentences)".to_string();
            other.1 = other.1.saturating_add(1);
        }
    }

    fn finish(mut self) -> SidecarReport {
        if let Some((trailer, first, count)) = self.after_trailer {
            self.problem(SidecarProblem::AfterTrailer {
                trailer,
                first,
                count,
            });
        }
        let empty = matches!(self.report.problems.first(), Some(SidecarProblem::Empty));
        if self.report.header.is_none() && !self.header_reported && !empty {
            self.problem(SidecarProblem::MissingHeader {
                sentence: self.profile.sentence.clone(),
                found: "an empty line".to_string(),
            });
        }
        if self.report.trailer.is_none() {
            self.problem(SidecarProblem::MissingTrailer);
        }
        if let (Some(h), Some(t)) = (&self.report.header, &self.report.trailer)
            && t.end < h.start
        {
            let (start, end) = (h.start, t.end);
            self.problem(SidecarProblem::EndBeforeStart { start, end });
        }
        if self.dropped_problems > 0 {
            let count = self.dropped_problems;
            self.report.problems.push(SidecarProblem::More { count });
        }
        self.report.flags = self.flags();
        self.report
    }

    fn flags(&self) -> Vec<String> {
        let f = &self.report.fixes;
        let mut flags = Vec::new();
        if let Some(line) = self.first_out_of_window {
            flags.push(format!(
                "{} position fix(es) dated outside the recording's time window (first on line {line})",
                f.out_of_window
            ));
        }
        if let Some(line) = self.first_impossible {
            flags.push(format!(
                "{} position fix(es) with impossible coordinates (first on line {line})",
                f.impossible
            ));
        }
        if let Some((line, reason)) = self.first_malformed {
            flags.push(format!(
                "{} position sentence(s) could not be read (first on line {line}: {reason})",
                f.malformed
            ));
        }
        if let Some(line) = self.not_real.1 {
            flags.push(not_real_flag(f.not_real, self.not_real.0, line));
        }
        if f.undated > 0 {
            flags.push(format!(
                "{} GGA fix(es) could not be dated: no header",
                f.undated
            ));
        }
        for (id, count, line) in &self.unknown {
            flags.push(format!(
                "{count} `${}` sentence(s) not used by the profile (first on line {line})",
                quote(id)
            ));
        }
        flags
    }
}

impl FixSummary {
    fn add(&mut self, fix: Fix) {
        self.count = self.count.saturating_add(1);
        self.first.get_or_insert(fix);
        self.last = Some(fix);
        let b = self.bbox.get_or_insert(BoundingBox {
            min_lat: fix.lat,
            max_lat: fix.lat,
            min_lon: fix.lon,
            max_lon: fix.lon,
        });
        b.min_lat = b.min_lat.min(fix.lat);
        b.max_lat = b.max_lat.max(fix.lat);
        b.min_lon = b.min_lon.min(fix.lon);
        b.max_lon = b.max_lon.max(fix.lon);
    }
}

/// The flag of the fixes set aside: "simulated" names the case the issue was found with
/// (a receiver in demo mode) whatever the mix, so that one word finds them all.
fn not_real_flag(total: u32, counts: [u32; 4], line: usize) -> String {
    let names = [
        (NotReal::Simulated, "simulated"),
        (NotReal::Estimated, "estimated"),
        (NotReal::Manual, "manual"),
        (NotReal::NotValid, "marked not valid"),
    ];
    let kinds: Vec<String> = names
        .iter()
        .filter(|(kind, _)| counts[*kind as usize] > 0)
        .map(|(kind, name)| format!("{} {name}", counts[*kind as usize]))
        .collect();
    format!(
        "{total} position fix(es) set aside as not real satellite fixes, simulated or estimated ({}; first on line {line}): not counted as fixes, not used as positions nor as a clock",
        kinds.join(", ")
    )
}

/// Dates a fix: RMC brings its date; GGA takes the header's, moved a day when the
/// time of day is more than 12 h away from the start's (the recording crossed midnight,
/// or the pre-recording began before it).
fn date_fix(
    start: Option<DateTime<Utc>>,
    date: Option<chrono::NaiveDate>,
    time: chrono::NaiveTime,
) -> Option<DateTime<Utc>> {
    if let Some(date) = date {
        return Some(NaiveDateTime::new(date, time).and_utc());
    }
    let start = start?;
    let candidate = NaiveDateTime::new(start.date_naive(), time).and_utc();
    let offset = candidate.signed_duration_since(start);
    if offset < -Duration::hours(12) {
        candidate.checked_add_signed(Duration::days(1))
    } else if offset > Duration::hours(12) {
        candidate.checked_sub_signed(Duration::days(1))
    } else {
        Some(candidate)
    }
}

fn frame_problem(line: usize, fault: FrameFault) -> SidecarProblem {
    match fault {
        FrameFault::TooLong { len } => SidecarProblem::LineTooLong {
            line,
            len,
            max: MAX_LINE_LEN,
        },
        FrameFault::NotPrintable { column } => SidecarProblem::NotPrintable { line, column },
        FrameFault::NoDollar => SidecarProblem::NoDollar { line },
        FrameFault::NoChecksum => SidecarProblem::NoChecksum { line },
        FrameFault::Checksum { found, computed } => SidecarProblem::Checksum {
            line,
            found,
            computed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::digest::hex;

    /// One framed line: `$body*hh` and LF.
    fn line(body: &str) -> String {
        let sum = body.bytes().fold(0u8, |x, b| x ^ b);
        format!("${body}*{sum:02X}\n")
    }

    const SHA: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn header(start: &str, prerecord: u32) -> String {
        line(&format!(
            "PSNTL,HDR,1,SNTL-00042,2.1.0,SNTL-00042_20240315_120000_0001.MP4,{start},{prerecord}"
        ))
    }

    fn trailer(end: &str) -> String {
        line(&format!("PSNTL,END,{end},1234567,{SHA}"))
    }

    fn rmc(time: &str, date: &str, status: &str, lat: &str, lon: &str) -> String {
        line(&format!(
            "GPRMC,{time},{status},{lat},N,{lon},E,0.0,0.0,{date},,,A"
        ))
    }

    fn gga(time: &str, lat: &str, lon: &str, quality: u8) -> String {
        line(&format!(
            "GNGGA,{time},{lat},S,{lon},W,{quality},08,0.9,35.0,M,47.0,M,,"
        ))
    }

    fn good() -> String {
        [
            header("2024-03-15T12:00:00Z", 10),
            rmc("115952", "150324", "A", "4851.000", "00221.000"),
            rmc("120000.50", "150324", "A", "4852.500", "00222.000"),
            rmc("120001", "150324", "V", "", ""),
            gga("120002", "3351.000", "15112.000", 1),
            line("GPGSV,1,1,00"),
            trailer("2024-03-15T12:05:00Z"),
        ]
        .concat()
    }

    fn check(text: &str) -> SidecarReport {
        parse(&Profile::default(), text.as_bytes())
    }

    fn codes(report: &SidecarReport) -> Vec<&'static str> {
        report.problems.iter().map(SidecarProblem::code).collect()
    }

    #[test]
    fn good_sidecar() {
        let r = check(&good());
        assert_eq!(r.problems, vec![]);
        let h = r.header.as_ref().unwrap();
        assert_eq!(h.serial, "SNTL-00042");
        assert_eq!(h.firmware, "2.1.0");
        assert_eq!(h.video_name, "SNTL-00042_20240315_120000_0001.MP4");
        assert_eq!(h.start.to_rfc3339(), "2024-03-15T12:00:00+00:00");
        assert_eq!(h.prerecord_secs, 10);
        let t = r.trailer.as_ref().unwrap();
        assert_eq!(
            (t.video_size, hex(&t.video_sha256)),
            (1_234_567, SHA.to_string())
        );
        assert_eq!(t.end.to_rfc3339(), "2024-03-15T12:05:00+00:00");
        let f = &r.fixes;
        assert_eq!(
            (
                f.count,
                f.no_fix,
                f.out_of_window,
                f.impossible,
                f.malformed
            ),
            (3, 1, 0, 0, 0)
        );
        assert_eq!(
            f.first.unwrap().time.to_rfc3339(),
            "2024-03-15T11:59:52+00:00"
        );
        assert!((f.first.unwrap().lat - 48.85).abs() < 1e-9);
        let last = f.last.unwrap();
        assert!((last.lat + 33.85).abs() < 1e-9 && (last.lon + 151.2).abs() < 1e-9);
        let bbox = f.bbox.unwrap();
        assert!((bbox.min_lat + 33.85).abs() < 1e-9 && (bbox.max_lat - 48.875).abs() < 1e-9);
        assert_eq!(
            r.flags,
            ["1 `$GPGSV` sentence(s) not used by the profile (first on line 6)"]
        );
    }

    #[test]
    fn crlf_reads_like_lf() {
        let crlf = good().replace('\n', "\r\n");
        assert_eq!(check(&crlf), check(&good()));
        // Trailing empty lines after the trailer are harmless; inner ones are not.
        assert_eq!(check(&format!("{}\n\r\n", good())).problems, vec![]);
        let inner = good().replacen('\n', "\n\n", 1);
        assert_eq!(codes(&check(&inner)), ["sidecar-empty-line"]);
    }

    #[test]
    fn bad_checksum_names_the_line() {
        let text = good().replace("4852.500", "4852.501");
        let r = check(&text);
        assert_eq!(codes(&r), ["sidecar-checksum"]);
        let message = r.problems[0].to_string();
        assert!(
            message.starts_with("line 3: checksum *")
                && message.contains("does not match the line's content (*"),
            "{message}"
        );
        let no_sum = good().replace('*', "+");
        let r = check(&no_sum);
        assert_eq!(r.problems.len(), 8);
        assert!(
            r.problems[..7]
                .iter()
                .all(|p| p.code() == "sidecar-no-checksum")
        );
    }

    #[test]
    fn missing_trailer_is_an_interrupted_recording() {
        let text: String = good().lines().take(5).map(|l| format!("{l}\n")).collect();
        let r = check(&text);
        assert_eq!(codes(&r), ["sidecar-no-trailer"]);
        assert_eq!(r.fixes.count, 3);
        // A last line cut in the middle of its writing.
        let cut = format!("{text}$GPRMC,120003,A,48");
        assert_eq!(
            codes(&check(&cut)),
            ["sidecar-no-checksum", "sidecar-no-trailer"]
        );
        let nul = format!("{text}{}", "\0".repeat(4096));
        assert_eq!(
            codes(&check(&nul)),
            ["sidecar-line-too-long", "sidecar-no-trailer"]
        );
        let nul = format!("{text}{}", "\0".repeat(400));
        assert_eq!(
            codes(&check(&nul)),
            ["sidecar-not-ascii", "sidecar-no-trailer"]
        );
    }

    #[test]
    fn header_problems() {
        let original = header("2024-03-15T12:00:00Z", 10);
        let v2 = good().replacen(&original, &line("PSNTL,HDR,2,X,Y"), 1);
        let r = check(&v2);
        assert_eq!(codes(&r), ["sidecar-header-version"]);
        assert!(r.header.is_none());
        assert_eq!(
            r.fixes.undated, 1,
            "the GGA fix cannot be dated without a header"
        );
        let long = good().replacen(&original, &header("2024-03-15T12:00:00Z", 61), 1);
        let r = check(&long);
        assert_eq!(codes(&r), ["sidecar-prerecord"]);
        assert!(r.header.is_some());
        let bad_start = good().replacen(&original, &header("2024-03-15 12:00:00", 10), 1);
        assert_eq!(codes(&check(&bad_start)), ["sidecar-bad-header"]);
        let headless: String = good().lines().skip(1).map(|l| format!("{l}\n")).collect();
        let r = check(&headless);
        assert_eq!(codes(&r), ["sidecar-no-header"]);
        let message = r.problems[0].to_string();
        assert!(
            message.contains("`$PSNTL,HDR` header but `$GPRMC"),
            "{message}"
        );
        let twice = format!("{original}{}", good());
        assert_eq!(codes(&check(&twice)), ["sidecar-header-not-first"]);
    }

    #[test]
    fn trailer_problems() {
        let fix = rmc("120500", "150324", "A", "4851.000", "00221.000");
        let r = check(&format!("{}{fix}", good()));
        assert_eq!(codes(&r), ["sidecar-after-trailer"]);
        let message = r.problems[0].to_string();
        assert_eq!(message, "line 8: 1 line(s) follow the trailer of line 7");
        let original = trailer("2024-03-15T12:05:00Z");
        let upper = format!(
            "PSNTL,END,2024-03-15T12:05:00Z,1234567,{}",
            SHA.to_uppercase()
        );
        let r = check(&good().replace(&original, &line(&upper)));
        assert_eq!(codes(&r), ["sidecar-bad-trailer", "sidecar-no-trailer"]);
        let early = good().replace(&original, &trailer("2024-03-15T11:00:00Z"));
        let r = check(&early);
        assert_eq!(codes(&r), ["sidecar-end-before-start"]);
        assert_eq!(r.fixes.out_of_window, 3);
    }

    #[test]
    fn gga_crosses_midnight() {
        let text = [
            header("2024-03-15T23:59:50Z", 10),
            gga("235955", "3351.000", "15112.000", 1),
            gga("000005", "3351.000", "15112.000", 1),
            trailer("2024-03-16T00:01:00Z"),
        ]
        .concat();
        let r = check(&text);
        assert_eq!((r.problems.clone(), r.fixes.out_of_window), (vec![], 0));
        let last = r.fixes.last.unwrap().time;
        assert_eq!(last.to_rfc3339(), "2024-03-16T00:00:05+00:00");
        // A pre-recording that began before midnight: the GGA belongs to the day before.
        let text = [
            header("2024-03-16T00:00:05Z", 10),
            gga("235958", "3351.000", "15112.000", 1),
            trailer("2024-03-16T00:01:00Z"),
        ]
        .concat();
        let r = check(&text);
        let first = r.fixes.first.unwrap().time;
        assert_eq!(first.to_rfc3339(), "2024-03-15T23:59:58+00:00");
        assert_eq!(r.fixes.out_of_window, 0);
    }

    #[test]
    fn odd_fixes_are_flagged_not_problems() {
        let text = [
            header("2024-03-15T12:00:00Z", 10),
            rmc("110000", "150324", "A", "4851.000", "00221.000"),
            rmc("120000", "150324", "A", "9500.000", "00221.000"),
            rmc("120001", "150324", "A", "4851.000", "18100.000"),
            rmc("120002", "150324", "A", "4875.000", "00221.000"),
            rmc("120003", "150324", "A", "", ""),
            gga("120005", "3351.000", "15112.000", 0),
            trailer("2024-03-15T12:05:00Z"),
        ]
        .concat();
        let r = check(&text);
        assert_eq!(r.problems, vec![]);
        let f = &r.fixes;
        let counts = (
            f.count,
            f.out_of_window,
            f.impossible,
            f.malformed,
            f.no_fix,
        );
        assert_eq!(counts, (1, 1, 3, 1, 1));
        assert_eq!(r.flags.len(), 3, "{:?}", r.flags);
        assert!(r.flags[0].contains("outside the recording's time window (first on line 2)"));
        assert!(r.flags[1].contains("3 position fix(es) with impossible coordinates"));
    }

    /// A Garmin receiver in demo mode, the way gpsd's logs of one read: every second an RMC
    /// marked void and simulated (status `V`, mode `S`), a GGA of quality 8 (simulation),
    /// positions in Madrid, and the Garmin sentences around them.
    fn garmin_demo(seconds: u32) -> String {
        let mut text = header("2024-03-15T12:00:00Z", 10);
        for s in 0..seconds {
            let hms = format!("1200{s:02}");
            let lat = format!("4024.{:03}", 600 + s);
            text += &line(&format!(
                "GPRMC,{hms},V,{lat},N,00341.300,W,000.0,000.0,150324,001.1,W,S"
            ));
            text += &line(&format!(
                "GPGGA,{hms},{lat},N,00341.300,W,8,06,1.2,667.0,M,51.6,M,,"
            ));
            text += &line("PGRMZ,2188,f,3");
        }
        text + &trailer("2024-03-15T12:05:00Z")
    }

    #[test]
    fn a_receiver_in_demo_mode_records_no_fix_and_says_its_fixes_were_simulated() {
        let r = check(&garmin_demo(9));
        assert_eq!(r.problems, vec![]);
        let f = &r.fixes;
        assert_eq!((f.count, f.no_fix, f.not_real), (0, 0, 18));
        assert_eq!((f.first, f.bbox, f.satellite), (None, None, None));
        let flag = r
            .flags
            .iter()
            .find(|f| f.contains("set aside"))
            .unwrap_or_else(|| panic!("{:?}", r.flags));
        assert!(
            flag.starts_with("18 position fix(es) set aside as not real satellite fixes, simulated or estimated (18 simulated; first on line 2)"),
            "{flag}"
        );
    }

    #[test]
    fn only_real_fixes_count_by_rmc_mode_and_gga_quality() {
        let rmc_mode = |time: &str, mode: &str| {
            line(&format!(
                "GPRMC,{time},A,4851.000,N,00221.000,E,0.0,0.0,150324,,,{mode}"
            ))
        };
        let text = [
            header("2024-03-15T12:00:00Z", 10),
            rmc_mode("120000", "A"),
            rmc_mode("120001", "D"),
            // NMEA 2.2 and earlier: no mode indicator, status A is a fix.
            line("GPRMC,120002,A,4851.000,N,00221.000,E,0.0,0.0,150324,,"),
            // NMEA 4.1: a navigational status after the mode.
            line("GNRMC,120003,A,4851.000,N,00221.000,E,0.0,0.0,150324,,,A,V"),
            rmc_mode("120004", "E"),
            rmc_mode("120005", "M"),
            rmc_mode("120006", "N"),
            rmc_mode("120007", "S"),
            gga("120008", "3351.000", "15112.000", 2),
            gga("120009", "3351.000", "15112.000", 6),
            gga("120010", "3351.000", "15112.000", 7),
            gga("120011", "3351.000", "15112.000", 8),
            gga("120012", "3351.000", "15112.000", 9),
            trailer("2024-03-15T12:05:00Z"),
        ]
        .concat();
        let r = check(&text);
        assert_eq!(r.problems, vec![]);
        let f = &r.fixes;
        assert_eq!((f.count, f.no_fix, f.not_real, f.malformed), (6, 0, 7, 0));
        // The satellites' clock is read from the real RMC fixes only.
        let (first, last) = f.satellite.unwrap();
        assert_eq!(
            (first.to_rfc3339(), last.to_rfc3339()),
            (
                "2024-03-15T12:00:00+00:00".to_string(),
                "2024-03-15T12:00:03+00:00".to_string()
            )
        );
        let flag = r.flags.iter().find(|f| f.contains("set aside")).unwrap();
        assert!(
            flag.contains(
                "(2 simulated, 1 estimated, 2 manual, 2 marked not valid; first on line 6)"
            ),
            "{flag}"
        );
    }

    #[test]
    fn a_real_fix_log_records_every_fix() {
        let mut text = header("2024-03-15T12:00:00Z", 10);
        for s in 0..9 {
            let hms = format!("1200{s:02}");
            text += &rmc(&hms, "150324", "A", "4024.600", "00341.300");
            text += &gga(&hms, "4024.600", "00341.300", 1);
        }
        let r = check(&(text + &trailer("2024-03-15T12:05:00Z")));
        assert_eq!((r.fixes.count, r.fixes.not_real), (18, 0));
        assert!(r.flags.is_empty(), "{:?}", r.flags);
    }

    #[test]
    fn garbage_is_bounded() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut garbage: Vec<u8> = (0..1 << 20)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed.to_le_bytes()[0]
            })
            .collect();
        garbage.extend(std::iter::repeat_n(b'$', 1 << 20));
        garbage.extend(std::iter::repeat_n(b'\n', 1 << 20));
        garbage.extend(b"x");
        let started = std::time::Instant::now();
        let r = parse(&Profile::default(), &garbage);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(r.problems.len(), MAX_PROBLEMS + 1);
        assert!(matches!(
            r.problems.last(),
            Some(SidecarProblem::More { .. })
        ));
        let many: String = (0..100).map(|i| line(&format!("X{i},1"))).collect();
        let start = header("2024-03-15T12:00:00Z", 1);
        let r = check(&format!("{start}{many}{}", trailer("2024-03-15T12:00:01Z")));
        assert_eq!(r.flags.len(), MAX_UNKNOWN_IDS);
        let other = &r.flags[MAX_UNKNOWN_IDS - 1];
        assert!(other.starts_with("85 `$(other sentences)`"), "{other}");
    }

    #[test]
    fn empty_and_oversized_sidecars() {
        assert_eq!(codes(&check("")), ["sidecar-empty", "sidecar-no-trailer"]);
        assert_eq!(
            codes(&check("\n\r\n")),
            ["sidecar-empty", "sidecar-no-trailer"]
        );
        let profile = Profile {
            max_sidecar_bytes: crate::base::config::ByteSize(10),
            ..Profile::default()
        };
        assert_eq!(
            codes(&parse(&profile, good().as_bytes())),
            ["sidecar-too-large"]
        );
        let long = format!("{}{}", line(&"A".repeat(2000)), good());
        let expected = ["sidecar-line-too-long", "sidecar-header-not-first"];
        assert_eq!(codes(&check(&long)), expected);
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    fn streamed(profile: &Profile, bytes: &[u8], chunk: usize) -> SidecarReport {
        let mut tail = TailScan::default();
        bytes.chunks(chunk).for_each(|c| tail.feed(c));
        let mut parse = StreamParse::new(profile, bytes.len() as u64, tail);
        bytes.chunks(chunk).for_each(|c| parse.feed(c));
        parse.finish()
    }

    #[test]
    fn a_streamed_sidecar_reads_as_the_whole_one_whatever_the_chunks() {
        let profile = Profile::default();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut samples: Vec<Vec<u8>> = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("nmea"))
                {
                    samples.push(std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        assert!(!samples.is_empty(), "no fixture sidecars found");
        let first = samples[0].clone();
        let crlf: Vec<u8> = String::from_utf8_lossy(&first)
            .replace('\n', "\r\n")
            .into_bytes();
        let mut trailing = first.clone();
        trailing.extend_from_slice(b"\n\n\n");
        let mut long = first.clone();
        long.extend(std::iter::repeat_n(b'$', 200_000));
        let mut no_final_newline = first.clone();
        no_final_newline.pop();
        samples.extend([
            crlf,
            trailing,
            long,
            no_final_newline,
            Vec::new(),
            b"\n\n".to_vec(),
        ]);
        for (i, bytes) in samples.iter().enumerate() {
            let whole = parse(&profile, bytes);
            for chunk in [1, 7, 4096, 1 << 20] {
                let mut s = streamed(&profile, bytes, chunk);
                let mut w = whole.clone();
                // A line past the stream's cap is reported at its kept length.
                for p in s.problems.iter_mut().chain(w.problems.iter_mut()) {
                    if let SidecarProblem::LineTooLong { len, .. } = p {
                        *len = (*len).min(STREAM_LINE_CAP + 1);
                    }
                }
                assert_eq!(s, w, "sample {i}, chunks of {chunk}");
            }
        }
    }
}
