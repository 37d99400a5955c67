//! ISO BMFF structure, checked in one streaming pass over the bytes the copy reads.
//!
//! The copy pipeline reads each video once, in chunks of any size, and hands the same
//! chunks to a [`BoxWalker`]. Top-level boxes are followed by their declared sizes with
//! O(1) work per byte; only `moov` and each `moof` are buffered (bounded by
//! [`BmffLimits`]) and read for the duration; `mdat` and everything else are skipped.

mod boxes;
mod codecs;
mod meta;
mod problem;

use std::fmt;
use std::io::Read;

pub(crate) use self::codecs::Track;
pub use self::problem::BmffProblem;

/// Problems recorded before the rest are only counted.
const MAX_PROBLEMS: usize = 100;

/// Top-level boxes listed in the report; a real file has a handful, a hostile one millions.
const MAX_TOP_LEVEL: usize = 64;

/// A box type, four bytes that are usually, but not always, ASCII.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FourCc(pub [u8; 4]);

impl fmt::Display for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Types come from the camera: escape what is not printable so logs stay clean.
        for &b in &self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for FourCc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FourCc(\"{self}\")")
    }
}

/// How much a walker may hold and count, whatever the file claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BmffLimits {
    /// The largest `moov`, or any one `moof`, buffered to be read.
    pub max_meta_box_bytes: u64,
    /// The most boxes, top-level and nested, looked at.
    pub max_boxes: u32,
}

impl Default for BmffLimits {
    fn default() -> Self {
        BmffLimits {
            max_meta_box_bytes: 64 << 20,
            max_boxes: 1_000_000,
        }
    }
}

/// What the walk found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BmffReport {
    /// What keeps the file from being well-formed; empty when it is.
    pub problems: Vec<BmffProblem>,
    /// The duration in seconds, when it could be read.
    pub duration_secs: Option<f64>,
    /// Whether the file is fragmented (`mvex` in `moov`, or any `moof`).
    pub fragmented: bool,
    /// The first top-level boxes: type, offset, size (a size-0 box's actual size).
    pub(crate) top_level: Vec<(FourCc, u64, u64)>,
    /// The `ftyp` major brand.
    pub(crate) major_brand: Option<FourCc>,
    /// Bytes fed, i.e. the file's length.
    pub length: u64,
    /// The `moov`'s tracks, their kinds and codecs; `None` when no `moov` was read.
    pub tracks: Option<Vec<Track>>,
}

impl BmffReport {
    /// Flags (not reasons: the bytes are the evidence) for tracks that are not the
    /// profile's H.264 video and AAC audio (`codec-unexpected`), or for a `moov` that
    /// declares no track at all (`no-tracks`).
    pub fn codec_flags(&self) -> Vec<String> {
        codecs::flags(self.tracks.as_deref())
    }
}

/// Problems and box budget shared by the top-level walk and the nested reads.
struct Ctx {
    problems: Vec<BmffProblem>,
    dropped: usize,
    boxes: u32,
    max_boxes: u32,
}

impl Ctx {
    fn problem(&mut self, problem: BmffProblem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.dropped += 1;
        }
    }

    /// Records a problem only if one of its kind is not recorded yet.
    fn problem_once(&mut self, problem: BmffProblem) {
        if !self.problems.iter().any(|p| p.code() == problem.code()) {
            self.problem(problem);
        }
    }

    /// Counts one more box; false once the budget is spent.
    fn count_box(&mut self) -> bool {
        if self.boxes >= self.max_boxes {
            let limit = self.max_boxes;
            self.problem_once(BmffProblem::TooManyBoxes { limit });
            return false;
        }
        self.boxes += 1;
        true
    }
}

enum State {
    /// Collecting a box header: 8 bytes, or 16 with a 64-bit size.
    Header { buf: [u8; 16], have: usize },
    /// Inside a box's payload.
    Body(Body),
    /// The structure is broken; later bytes are only counted.
    Stopped,
}

struct Body {
    fourcc: FourCc,
    start: u64,
    header_len: u64,
    /// The declared size; None for a size-0 box.
    size: Option<u64>,
    /// Payload bytes still to come; None for a size-0 box, which runs to the end.
    remaining: Option<u64>,
    keep: Keep,
}

enum Keep {
    Skip,
    Meta(Vec<u8>),
    Brand { bytes: [u8; 4], have: usize },
}

/// Checks a file's box structure from chunks fed in order.
pub struct BoxWalker {
    limits: BmffLimits,
    offset: u64,
    box_start: u64,
    state: State,
    ctx: Ctx,
    top_level: Vec<(FourCc, u64, u64)>,
    major_brand: Option<FourCc>,
    moov_seen: bool,
    moov: Option<meta::Moov>,
    saw_moof: bool,
    fragments: meta::Fragments,
}

impl BoxWalker {
    /// A walker at offset 0.
    pub fn new(limits: BmffLimits) -> BoxWalker {
        BoxWalker {
            limits,
            offset: 0,
            box_start: 0,
            state: State::Header {
                buf: [0; 16],
                have: 0,
            },
            ctx: Ctx {
                problems: Vec::new(),
                dropped: 0,
                boxes: 0,
                max_boxes: limits.max_boxes,
            },
            top_level: Vec::new(),
            major_brand: None,
            moov_seen: false,
            moov: None,
            saw_moof: false,
            fragments: meta::Fragments::default(),
        }
    }

    /// Takes the next bytes of the file, in chunks of any size.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let used = self.step(bytes).clamp(1, bytes.len());
            self.offset = self.offset.saturating_add(used as u64);
            bytes = &bytes[used..];
        }
    }

    /// Consumes a prefix of `bytes` (at least one byte) in the current state.
    fn step(&mut self, bytes: &[u8]) -> usize {
        match &mut self.state {
            State::Stopped => bytes.len(),
            State::Header { buf, have } => {
                let need = if *have >= 8 && buf[..4] == [0, 0, 0, 1] {
                    16
                } else {
                    8
                };
                let n = (need - *have).min(bytes.len());
                buf[*have..*have + n].copy_from_slice(&bytes[..n]);
                *have += n;
                let large = buf[..4] == [0, 0, 0, 1];
                if *have == 16 || (*have == 8 && !large) {
                    let (buf, have) = (*buf, *have);
                    self.start_box(&buf, have as u64);
                }
                n
            }
            State::Body(body) => {
                let n = body.remaining.map_or(bytes.len(), |r| {
                    usize::try_from(r).unwrap_or(usize::MAX).min(bytes.len())
                });
                self.take_payload(&bytes[..n]);
                n
            }
        }
    }

    fn start_box(&mut self, buf: &[u8; 16], header_len: u64) {
        let start = self.box_start;
        let fourcc = FourCc([buf[4], buf[5], buf[6], buf[7]]);
        if !self.ctx.count_box() {
            self.state = State::Stopped;
            return;
        }
        let size = match u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) {
            0 => None,
            1 => Some(u64::from_be_bytes([
                buf[8], buf[9], buf[10], buf[11], buf[12], buf[13], buf[14], buf[15],
            ])),
            n => Some(u64::from(n)),
        };
        if let Some(size) = size.filter(|&s| s < header_len) {
            let (offset, header) = (start, header_len);
            self.ctx.problem(BmffProblem::BoxTooSmall {
                fourcc,
                offset,
                size,
                header,
            });
            self.state = State::Stopped;
            return;
        }
        if self.top_level.len() < MAX_TOP_LEVEL {
            self.top_level.push((fourcc, start, size.unwrap_or(0)));
        }
        let remaining = size.map(|s| s - header_len);
        let keep = self.keep_for(fourcc, start, remaining);
        let body = Body {
            fourcc,
            start,
            header_len,
            size,
            remaining,
            keep,
        };
        if remaining == Some(0) {
            self.end_box(body);
        } else {
            self.state = State::Body(body);
        }
    }

    /// What to keep of a box's payload: `moov`/`moof` whole, `ftyp`'s brand, else nothing.
    fn keep_for(&mut self, fourcc: FourCc, offset: u64, payload: Option<u64>) -> Keep {
        let limit = self.limits.max_meta_box_bytes;
        let meta = |ctx: &mut Ctx| {
            if payload.is_some_and(|p| p > limit) {
                ctx.problem(BmffProblem::MetaTooLarge {
                    fourcc,
                    offset,
                    limit,
                });
                Keep::Skip
            } else {
                Keep::Meta(Vec::new())
            }
        };
        match &fourcc.0 {
            b"moov" if self.moov_seen => {
                self.ctx.problem(BmffProblem::DuplicateMoov { offset });
                Keep::Skip
            }
            b"moov" => {
                self.moov_seen = true;
                meta(&mut self.ctx)
            }
            b"moof" => {
                self.saw_moof = true;
                meta(&mut self.ctx)
            }
            b"ftyp" if self.major_brand.is_none() => Keep::Brand {
                bytes: [0; 4],
                have: 0,
            },
            _ => Keep::Skip,
        }
    }

    fn take_payload(&mut self, bytes: &[u8]) {
        let State::Body(body) = &mut self.state else {
            return;
        };
        if let Some(remaining) = body.remaining.as_mut() {
            *remaining = remaining.saturating_sub(bytes.len() as u64);
        }
        match &mut body.keep {
            Keep::Skip => {}
            Keep::Brand { bytes: brand, have } => {
                let n = (4 - *have).min(bytes.len());
                brand[*have..*have + n].copy_from_slice(&bytes[..n]);
                *have += n;
            }
            Keep::Meta(data) => {
                let limit = self.limits.max_meta_box_bytes;
                let fits = (data.len() as u64).saturating_add(bytes.len() as u64) <= limit;
                if fits && data.try_reserve(bytes.len()).is_ok() {
                    data.extend_from_slice(bytes);
                } else {
                    let (fourcc, offset) = (body.fourcc, body.start);
                    self.ctx.problem(BmffProblem::MetaTooLarge {
                        fourcc,
                        offset,
                        limit,
                    });
                    body.keep = Keep::Skip;
                }
            }
        }
        if body.remaining == Some(0) {
            let state = std::mem::replace(&mut self.state, State::Stopped);
            if let State::Body(body) = state {
                self.end_box(body);
            }
        }
    }

    /// A box is complete: read what was kept, and expect the next header.
    fn end_box(&mut self, body: Body) {
        let payload_offset = body.start.saturating_add(body.header_len);
        match body.keep {
            Keep::Meta(data) if body.fourcc.0 == *b"moov" => {
                self.moov = Some(meta::parse_moov(&data, payload_offset, &mut self.ctx));
            }
            Keep::Meta(data) => {
                meta::parse_moof(&data, payload_offset, &mut self.ctx, &mut self.fragments);
            }
            Keep::Brand { bytes, have: 4 } => self.major_brand = Some(FourCc(bytes)),
            Keep::Brand { .. } | Keep::Skip => {}
        }
        // A size-0 box ends the file, so only sized boxes have a successor.
        if let Some(size) = body.size {
            self.box_start = body.start.saturating_add(size);
        }
        self.state = State::Header {
            buf: [0; 16],
            have: 0,
        };
    }

    /// Ends the walk: the bytes fed so far are the whole file.
    pub fn finish(mut self) -> BmffReport {
        match std::mem::replace(&mut self.state, State::Stopped) {
            State::Header { have, .. } if have > 0 => {
                let (offset, count) = (self.box_start, have as u64);
                self.ctx
                    .problem(BmffProblem::TrailingBytes { offset, count });
            }
            State::Body(body) if body.remaining.is_none() => {
                let actual = self.offset - body.start;
                if let Some(entry) = self.top_level.iter_mut().rev().find(|e| e.1 == body.start) {
                    entry.2 = actual;
                }
                self.end_box(body);
            }
            State::Body(body) => {
                let remaining = self.offset - body.start;
                let claimed = body.size.unwrap_or(remaining);
                let (fourcc, offset) = (body.fourcc, body.start);
                self.ctx.problem(BmffProblem::Truncated {
                    fourcc,
                    offset,
                    claimed,
                    remaining,
                });
            }
            State::Header { .. } | State::Stopped => {}
        }
        self.report()
    }

    fn report(mut self) -> BmffReport {
        if self.offset == 0 {
            self.ctx.problem(BmffProblem::Empty);
        } else if !self.moov_seen {
            self.ctx.problem(BmffProblem::NoMoov);
        }
        let fragmented = self.saw_moof || self.moov.as_ref().is_some_and(|m| m.mvex);
        let mut duration_secs = None;
        if let Some(moov) = &self.moov {
            if moov.mvhd.is_none() {
                self.ctx.problem(BmffProblem::NoMvhd);
            }
            duration_secs = meta::duration(moov, &self.fragments, fragmented, &mut self.ctx);
        }
        let tracks = self.moov.map(|m| m.codecs);
        let mut problems = self.ctx.problems;
        if self.ctx.dropped > 0 {
            problems.push(BmffProblem::More {
                count: self.ctx.dropped,
            });
        }
        BmffReport {
            problems,
            duration_secs,
            fragmented,
            top_level: self.top_level,
            major_brand: self.major_brand,
            length: self.offset,
            tracks,
        }
    }
}

/// Convenience: walks a whole reader (for tests, fuzzing and re-checks).
pub fn check_reader<R: Read>(mut reader: R, limits: BmffLimits) -> std::io::Result<BmffReport> {
    let mut walker = BoxWalker::new(limits);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => walker.feed(buf.get(..n).unwrap_or(&buf)),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(walker.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let size = u32::try_from(8 + payload.len()).unwrap();
        [&size.to_be_bytes()[..], kind, payload].concat()
    }

    fn large_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let size = 16 + payload.len() as u64;
        [&1u32.to_be_bytes()[..], kind, &size.to_be_bytes(), payload].concat()
    }

    fn full(kind: &[u8; 4], version: u8, flags: u32, fields: &[u8]) -> Vec<u8> {
        let word = (u32::from(version) << 24) | flags;
        bx(kind, &[&word.to_be_bytes()[..], fields].concat())
    }

    fn be32(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    /// `mvhd` or `mdhd` with zero dates.
    fn timing(kind: &[u8; 4], version: u8, timescale: u32, duration: u64) -> Vec<u8> {
        let fields = if version == 1 {
            [
                &[0; 16][..],
                &timescale.to_be_bytes(),
                &duration.to_be_bytes(),
                &[0; 80],
            ]
            .concat()
        } else {
            let d = u32::try_from(duration).unwrap();
            [&[0; 8][..], &be32(&[timescale, d]), &[0; 80]].concat()
        };
        full(kind, version, 0, &fields)
    }

    fn trak(track: u32, timescale: u32, duration: u64) -> Vec<u8> {
        let tkhd = full(
            b"tkhd",
            0,
            7,
            &[&be32(&[0, 0, track, 0, 0])[..], &[0; 60]].concat(),
        );
        let mdia = bx(b"mdia", &timing(b"mdhd", 0, timescale, duration));
        bx(b"trak", &[tkhd, mdia].concat())
    }

    fn trex(track: u32, duration: u32) -> Vec<u8> {
        full(b"trex", 0, 0, &be32(&[track, 1, duration, 0, 0]))
    }

    fn tfhd(track: u32, default: Option<u32>) -> Vec<u8> {
        match default {
            Some(d) => full(b"tfhd", 0, 0x08 | 0x02, &be32(&[track, 1, d])),
            None => full(b"tfhd", 0, 0x02_0000, &be32(&[track])),
        }
    }

    /// A `trun` with `count` samples, carrying these durations when given (plus sizes).
    fn trun(count: u32, durations: Option<&[u32]>) -> Vec<u8> {
        match durations {
            Some(d) => {
                let table: Vec<u32> = d.iter().flat_map(|&d| [d, 100]).collect();
                full(
                    b"trun",
                    0,
                    0x301,
                    &[be32(&[count, 0]), be32(&table)].concat(),
                )
            }
            None => full(
                b"trun",
                0,
                0x200,
                &[be32(&[count]), be32(&vec![100; count as usize])].concat(),
            ),
        }
    }

    fn ftyp() -> Vec<u8> {
        bx(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41")
    }

    fn plain(mvhd_version: u8) -> Vec<u8> {
        let moov = bx(
            b"moov",
            &[
                timing(b"mvhd", mvhd_version, 1000, 5_000),
                trak(1, 12_800, 64_000),
            ]
            .concat(),
        );
        [ftyp(), moov, bx(b"mdat", &[0xAB; 300])].concat()
    }

    fn walk(bytes: &[u8]) -> BmffReport {
        check_reader(bytes, BmffLimits::default()).unwrap()
    }

    fn codes(report: &BmffReport) -> Vec<&'static str> {
        report.problems.iter().map(BmffProblem::code).collect()
    }

    #[test]
    fn plain_mp4_has_its_mvhd_duration() {
        for version in [0, 1] {
            let r = walk(&plain(version));
            assert_eq!(r.problems, vec![], "mvhd v{version}");
            assert_eq!(r.duration_secs, Some(5.0));
            assert!(!r.fragmented);
            assert_eq!(r.major_brand, Some(FourCc(*b"isom")));
            let kinds: Vec<_> = r.top_level.iter().map(|t| t.0.to_string()).collect();
            assert_eq!(kinds, ["ftyp", "moov", "mdat"]);
            assert_eq!(r.length, plain(version).len() as u64);
        }
    }

    #[test]
    fn largesize_and_size_zero_boxes() {
        let file = [plain(0), large_box(b"free", &[0; 40])].concat();
        let r = walk(&file);
        assert_eq!(r.problems, vec![]);
        assert_eq!(r.top_level[3].2, 56);
        // size 0: the last box runs to the end of the file.
        let mut last = bx(b"mdat", &[7; 1000]);
        last[..4].copy_from_slice(&[0; 4]);
        let r = walk(&[plain(0), last].concat());
        assert_eq!(r.problems, vec![]);
        assert_eq!(r.top_level[3], (FourCc(*b"mdat"), 672, 1008));
        // ... and a size-0 moov is read too.
        let mut moov = bx(b"moov", &timing(b"mvhd", 0, 10, 25));
        moov[..4].copy_from_slice(&[0; 4]);
        let r = walk(&[ftyp(), bx(b"mdat", &[1; 10]), moov].concat());
        assert_eq!(
            (r.problems.clone(), r.duration_secs),
            (vec![], Some(2.5)),
            "{r:?}"
        );
    }

    #[test]
    fn file_cut_in_mdat_is_truncated() {
        let file = plain(0);
        let r = walk(&file[..file.len() - 10]);
        assert_eq!(codes(&r), ["bmff-truncated"]);
        assert_eq!(
            r.problems[0].to_string(),
            "file is truncated: box `mdat` at offset 364 claims 308 bytes, only 298 remain"
        );
        // The moov was complete, so the duration is still known.
        assert_eq!(r.duration_secs, Some(5.0));
    }

    #[test]
    fn file_cut_in_moov() {
        let file = plain(0);
        let r = walk(&file[..ftyp().len() + 5]);
        assert_eq!(codes(&r), ["bmff-trailing-bytes", "bmff-no-moov"]);
        let r = walk(&file[..ftyp().len() + 50]);
        assert_eq!(codes(&r), ["bmff-truncated"]);
        assert_eq!(r.duration_secs, None);
        // A 64-bit header cut after its first 8 bytes is a cut header too.
        let r = walk(&[ftyp(), large_box(b"mdat", &[])[..12].to_vec()].concat());
        assert_eq!(codes(&r), ["bmff-trailing-bytes", "bmff-no-moov"]);
    }

    #[test]
    fn missing_moov_mvhd_or_timescale() {
        let r = walk(&[ftyp(), bx(b"mdat", &[0; 64])].concat());
        assert_eq!(codes(&r), ["bmff-no-moov"]);
        let r = walk(&[ftyp(), bx(b"moov", &trak(1, 1000, 1))].concat());
        assert_eq!(codes(&r), ["bmff-no-mvhd"]);
        let r = walk(&[ftyp(), bx(b"moov", &timing(b"mvhd", 0, 0, 10))].concat());
        assert_eq!(codes(&r), ["bmff-zero-timescale"]);
        let r = walk(
            &[
                ftyp(),
                bx(b"moov", &timing(b"mvhd", 0, 1000, u64::from(u32::MAX))),
            ]
            .concat(),
        );
        assert_eq!(codes(&r), ["bmff-duration-unknown"]);
        let r = walk(&[ftyp(), bx(b"moov", &timing(b"mvhd", 2, 1000, 10))].concat());
        assert_eq!(codes(&r), ["bmff-box-version", "bmff-no-mvhd"]);
        assert_eq!(codes(&walk(b"")), ["bmff-empty"]);
    }

    fn fragmented(mvex: &[u8], fragments: &[Vec<u8>]) -> Vec<u8> {
        let moov = [
            timing(b"mvhd", 0, 1000, 0),
            trak(1, 12_800, 0),
            trak(2, 48_000, 0),
            bx(b"mvex", mvex),
        ]
        .concat();
        let mut file = [ftyp(), bx(b"moov", &moov)].concat();
        for moof in fragments {
            file.extend(bx(b"moof", moof));
            file.extend(bx(b"mdat", &[0; 32]));
        }
        file
    }

    #[test]
    fn fragmented_with_mehd() {
        let mvex = [full(b"mehd", 0, 0, &be32(&[7_250])), trex(1, 512)].concat();
        let moof = bx(b"traf", &[tfhd(1, None), trun(3, None)].concat());
        let r = walk(&fragmented(&mvex, &[moof]));
        assert_eq!(r.problems, vec![]);
        assert!(r.fragmented);
        assert_eq!(r.duration_secs, Some(7.25));
        let mvex = full(b"mehd", 1, 0, &7_500u64.to_be_bytes());
        assert_eq!(walk(&fragmented(&mvex, &[])).duration_secs, Some(7.5));
    }

    #[test]
    fn fragmented_sums_trun_durations() {
        let mvex = [trex(1, 512), trex(2, 1024)].concat();
        // Video: 25 samples of 512 from tfhd, 25 of 512 from trex; 100 ticks each = 2 s.
        // Audio: explicit durations, 48000 * 3 ticks = 3 s: the longer track wins.
        let moofs = [
            [
                bx(b"traf", &[tfhd(1, Some(512)), trun(25, None)].concat()),
                bx(
                    b"traf",
                    &[tfhd(2, Some(1)), trun(2, Some(&[24_000, 24_000]))].concat(),
                ),
            ]
            .concat(),
            [
                bx(b"traf", &[tfhd(1, None), trun(25, None)].concat()),
                bx(
                    b"traf",
                    &[tfhd(2, None), trun(2, Some(&[48_000, 48_000]))].concat(),
                ),
            ]
            .concat(),
        ];
        let r = walk(&fragmented(&mvex, &moofs));
        assert_eq!(
            (r.problems.clone(), r.duration_secs),
            (vec![], Some(3.0)),
            "{r:?}"
        );
        // Without trex the 25 samples of the second video fragment have no duration.
        let r = walk(&fragmented(&trex(2, 1), &moofs));
        assert_eq!(codes(&r), ["bmff-no-sample-duration"]);
        let unknown = bx(b"traf", &[tfhd(9, Some(1)), trun(1, None)].concat());
        assert_eq!(
            codes(&walk(&fragmented(&mvex, &[unknown]))),
            ["bmff-unknown-track"]
        );
    }

    #[test]
    fn one_byte_chunks_equal_one_feed() {
        let mvex = [trex(1, 512), trex(2, 1024)].concat();
        let moof = bx(
            b"traf",
            &[tfhd(1, None), trun(4, Some(&[1, 2, 3, 4]))].concat(),
        );
        let files = [
            plain(0),
            plain(1)[..200].to_vec(),
            [plain(0), large_box(b"skip", &[1; 9])].concat(),
            fragmented(&mvex, &[moof.clone(), moof]),
            vec![0, 0, 0, 1, b'm', b'o', b'o', b'v', 0, 0],
        ];
        for file in files {
            let whole = walk(&file);
            let mut walker = BoxWalker::new(BmffLimits::default());
            for b in &file {
                walker.feed(std::slice::from_ref(b));
            }
            assert_eq!(walker.finish(), whole);
        }
    }

    #[test]
    fn absurd_sizes_do_not_allocate() {
        let header = |kind: &[u8; 4], size: u64| {
            [&1u32.to_be_bytes()[..], kind, &size.to_be_bytes()].concat()
        };
        let r = walk(&[ftyp(), header(b"moov", u64::MAX), vec![0; 100]].concat());
        assert_eq!(codes(&r), ["bmff-meta-too-large", "bmff-truncated"]);
        let r = walk(&[plain(0), header(b"mdat", u64::MAX)].concat());
        assert_eq!(codes(&r), ["bmff-truncated"]);
        assert!(r.problems[0].to_string().contains(&u64::MAX.to_string()));
        let r = walk(&[plain(0), header(b"mdat", 3)].concat());
        assert_eq!(codes(&r), ["bmff-box-size"]);
        let r = walk(&[ftyp(), vec![0, 0, 0, 4, b'f', b'r', b'e', b'e'], plain(0)].concat());
        assert_eq!(codes(&r), ["bmff-box-size", "bmff-no-moov"]);
        // A trun claiming 4 billion samples in a few bytes is refused without a loop.
        let liar = full(b"trun", 0, 0x100, &be32(&[u32::MAX, 5]));
        let moof = bx(b"traf", &[tfhd(1, None), liar].concat());
        let r = walk(&fragmented(&trex(1, 1), &[moof]));
        assert_eq!(codes(&r), ["bmff-malformed-box"]);
        // A nested box claiming more than its parent stops that parent's walk.
        let moov = [timing(b"mvhd", 0, 1000, 1), header(b"trak", 1 << 40)].concat();
        assert_eq!(codes(&walk(&bx(b"moov", &moov))), ["bmff-malformed-box"]);
    }

    #[test]
    fn limits_bound_buffers_and_box_counts() {
        let limits = BmffLimits {
            max_meta_box_bytes: 100,
            max_boxes: 10,
        };
        let r = check_reader(&plain(0)[..], limits).unwrap();
        assert_eq!(codes(&r), ["bmff-meta-too-large"]);
        let mut moov = bx(b"moov", &[0; 200]);
        moov[..4].copy_from_slice(&[0; 4]);
        let r = check_reader(&[ftyp(), moov].concat()[..], limits).unwrap();
        assert_eq!(codes(&r), ["bmff-meta-too-large"]);
        let frees: Vec<u8> = (0..100).flat_map(|_| bx(b"free", &[])).collect();
        let limits = BmffLimits {
            max_meta_box_bytes: 1000,
            ..limits
        };
        let r = check_reader(&[plain(0), frees].concat()[..], limits).unwrap();
        assert_eq!(codes(&r), ["bmff-too-many-boxes"]);
        // ftyp, moov (with 5 nested boxes), mdat, free, free: 10 boxes counted.
        assert_eq!(r.top_level.len(), 5);
        let frees: Vec<u8> = (0..1000).flat_map(|_| bx(b"free", &[])).collect();
        let r = walk(&[plain(0), frees].concat());
        assert_eq!(r.top_level.len(), MAX_TOP_LEVEL);
    }

    #[test]
    fn problems_are_capped() {
        let bad_trak = bx(b"trak", &[]);
        let moov = [timing(b"mvhd", 0, 1000, 1), bad_trak.repeat(500)].concat();
        let r = walk(&bx(b"moov", &moov));
        assert_eq!(r.problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(r.problems.last(), Some(&BmffProblem::More { count: 400 }));
    }

    #[test]
    fn fourcc_display_escapes_bytes() {
        assert_eq!(FourCc(*b"mo\0\x1b").to_string(), "mo\\x00\\x1b");
        assert_eq!(format!("{:?}", FourCc(*b"moov")), "FourCc(\"moov\")");
    }
}
