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

pub(crate) use self::header::{Header, Trailer};
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
pub(crate) struct BoundingBox {
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
    pub(crate) bbox: Option<BoundingBox>,
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
pub(crate) struct TailScan {
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
pub(crate) struct StreamParse<'p> {
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
mod tests;
