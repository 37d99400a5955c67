//! What blocks a sidecar from confirming its recording, as sentences and machine codes.

use chrono::{DateTime, Utc};

/// Why a sidecar cannot confirm its recording; Display is a sentence for a technician.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SidecarProblem {
    /// Bigger than the profile allows; not parsed.
    #[error(
        "the sidecar is {size} bytes, more than the profile's max_sidecar_bytes ({max}); it was not read"
    )]
    TooLarge {
        /// Its size.
        size: u64,
        /// The profile's limit.
        max: u64,
    },
    /// No line at all.
    #[error("the sidecar is empty: no header, no trailer")]
    Empty,
    /// An empty line before the last sentence.
    #[error("line {line} is empty")]
    EmptyLine {
        /// 1-based line number.
        line: usize,
    },
    /// A line longer than any NMEA sentence.
    #[error("line {line} is {len} bytes long, more than {max}; it was not read")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A byte other than printable ASCII (NUL padding of a crashed camera, binary junk).
    #[error("line {line}, column {column}: a byte that is not printable ASCII")]
    NotPrintable {
        /// 1-based line number.
        line: usize,
        /// 1-based byte column.
        column: usize,
    },
    /// A line not starting with `$`.
    #[error("line {line} does not start with `$`")]
    NoDollar {
        /// 1-based line number.
        line: usize,
    },
    /// A line not ending with `*hh` (often a last line cut short).
    #[error("line {line} does not end with a checksum `*hh`")]
    NoChecksum {
        /// 1-based line number.
        line: usize,
    },
    /// The checksum does not match the line.
    #[error("line {line}: checksum *{found} does not match the line's content (*{computed})")]
    Checksum {
        /// 1-based line number.
        line: usize,
        /// The checksum written on the line.
        found: String,
        /// The checksum of the line's content.
        computed: String,
    },
    /// Line 1 is not the header.
    #[error("line 1 is not the `${sentence},HDR` header but {found}")]
    MissingHeader {
        /// The profile's sentence.
        sentence: String,
        /// What line 1 is instead, in words.
        found: String,
    },
    /// The header cannot be read.
    #[error("line {line}: the header cannot be read: {reason}")]
    InvalidHeader {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A header version other than 1.
    #[error("line {line}: header version `{version}` is not supported (only 1 is)")]
    HeaderVersion {
        /// 1-based line number.
        line: usize,
        /// The version written.
        version: String,
    },
    /// A header somewhere other than line 1.
    #[error("line {line}: a header where only line 1 may hold one")]
    HeaderNotFirst {
        /// 1-based line number.
        line: usize,
    },
    /// A pre-recording longer than the profile allows.
    #[error("line {line}: pre-recording of {secs} s is more than the profile's {max} s")]
    Prerecord {
        /// 1-based line number.
        line: usize,
        /// The declared pre-recording.
        secs: u32,
        /// The profile's max_prerecord_secs.
        max: u32,
    },
    /// No trailer: the recording was interrupted (battery pulled, camera crashed).
    #[error("the sidecar has no trailer: the recording was not closed cleanly")]
    MissingTrailer,
    /// The trailer cannot be read.
    #[error("line {line}: the trailer cannot be read: {reason}")]
    InvalidTrailer {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Lines after the trailer.
    #[error("line {first}: {count} line(s) follow the trailer of line {trailer}")]
    AfterTrailer {
        /// The trailer's line.
        trailer: usize,
        /// The first line after it.
        first: usize,
        /// How many non-empty lines follow it.
        count: usize,
    },
    /// The trailer's end is before the header's start.
    #[error("the trailer's end {end} is before the header's start {start}")]
    EndBeforeStart {
        /// Header start.
        start: DateTime<Utc>,
        /// Trailer end.
        end: DateTime<Utc>,
    },
    /// Problems past the cap, counted only.
    #[error("and {count} more problems")]
    More {
        /// How many were not recorded.
        count: usize,
    },
}

impl SidecarProblem {
    /// A short machine code for JSON output.
    pub fn code(&self) -> &'static str {
        use SidecarProblem as P;
        match self {
            P::TooLarge { .. } => "sidecar-too-large",
            P::Empty => "sidecar-empty",
            P::EmptyLine { .. } => "sidecar-empty-line",
            P::LineTooLong { .. } => "sidecar-line-too-long",
            P::NotPrintable { .. } => "sidecar-not-ascii",
            P::NoDollar { .. } => "sidecar-no-dollar",
            P::NoChecksum { .. } => "sidecar-no-checksum",
            P::Checksum { .. } => "sidecar-checksum",
            P::MissingHeader { .. } => "sidecar-no-header",
            P::InvalidHeader { .. } => "sidecar-bad-header",
            P::HeaderVersion { .. } => "sidecar-header-version",
            P::HeaderNotFirst { .. } => "sidecar-header-not-first",
            P::Prerecord { .. } => "sidecar-prerecord",
            P::MissingTrailer => "sidecar-no-trailer",
            P::InvalidTrailer { .. } => "sidecar-bad-trailer",
            P::AfterTrailer { .. } => "sidecar-after-trailer",
            P::EndBeforeStart { .. } => "sidecar-end-before-start",
            P::More { .. } => "sidecar-more",
        }
    }
}
