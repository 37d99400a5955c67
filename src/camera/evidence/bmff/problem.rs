//! What keeps a video from being a well-formed ISO BMFF file, as sentences and codes.

use super::FourCc;

/// Why a video's structure cannot confirm it; Display is a sentence for a technician.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BmffProblem {
    /// No bytes at all.
    #[error("the video file is empty")]
    Empty,
    /// A box's size is smaller than its own header.
    #[error(
        "box `{fourcc}` at offset {offset} declares a size of {size} bytes, less than its {header}-byte header; the rest of the file cannot be walked"
    )]
    BoxTooSmall {
        /// The box type.
        fourcc: FourCc,
        /// Its offset in the file.
        offset: u64,
        /// The size it declares.
        size: u64,
        /// The length of its header.
        header: u64,
    },
    /// A box claims more bytes than the file has: the file was cut short.
    #[error(
        "file is truncated: box `{fourcc}` at offset {offset} claims {claimed} bytes, only {remaining} remain"
    )]
    Truncated {
        /// The box type.
        fourcc: FourCc,
        /// Its offset in the file.
        offset: u64,
        /// The size it declares.
        claimed: u64,
        /// The bytes from its offset to the end of the file.
        remaining: u64,
    },
    /// The file ends inside a box header.
    #[error(
        "file is truncated: the last {count} bytes, at offset {offset}, are too few for a box header"
    )]
    TrailingBytes {
        /// Where the partial header starts.
        offset: u64,
        /// How many bytes it has.
        count: u64,
    },
    /// A `moov` or `moof` larger than the limit on buffered boxes.
    #[error(
        "box `{fourcc}` at offset {offset} is larger than the {limit}-byte limit on metadata boxes; it was not read"
    )]
    MetaTooLarge {
        /// The box type.
        fourcc: FourCc,
        /// Its offset in the file.
        offset: u64,
        /// The limit (BmffLimits::max_meta_box_bytes).
        limit: u64,
    },
    /// More boxes than the limit.
    #[error("the file holds more than {limit} boxes; the rest was not walked")]
    TooManyBoxes {
        /// The limit (BmffLimits::max_boxes).
        limit: u32,
    },
    /// A second `moov`.
    #[error("a second `moov` box at offset {offset}; only the first was read")]
    DuplicateMoov {
        /// Its offset in the file.
        offset: u64,
    },
    /// No `moov`: typical of a recording interrupted before it was closed.
    #[error("the file has no `moov` box: the recording was probably not closed")]
    NoMoov,
    /// A `moov` without `mvhd`.
    #[error("the `moov` box has no `mvhd` box")]
    NoMvhd,
    /// A timescale of zero makes the duration meaningless.
    #[error("box `{fourcc}`{} has a timescale of zero", track.map(|t| format!(" of track {t}")).unwrap_or_default())]
    ZeroTimescale {
        /// `mvhd` or `mdhd`.
        fourcc: FourCc,
        /// The track, for `mdhd`.
        track: Option<u32>,
    },
    /// A full box version this checker does not know.
    #[error("box `{fourcc}` at offset {offset} has version {version}, not 0 or 1")]
    BoxVersion {
        /// The box type.
        fourcc: FourCc,
        /// Its offset in the file.
        offset: u64,
        /// The version found.
        version: u8,
    },
    /// A box inside `moov` or `moof` whose content cannot be read.
    #[error("box `{fourcc}` at offset {offset}: {reason}")]
    Malformed {
        /// The box type.
        fourcc: FourCc,
        /// Its offset in the file.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A fragment of a track the `moov` does not describe.
    #[error("fragments describe track {track}, which the `moov` box does not have")]
    UnknownTrack {
        /// The track_ID.
        track: u32,
    },
    /// More tracks than any camera writes.
    #[error("more than {limit} tracks; the others were ignored")]
    TooManyTracks {
        /// The limit.
        limit: usize,
    },
    /// Fragment samples with no duration anywhere (`trun`, `tfhd` or `trex`).
    #[error(
        "{samples} fragment samples of track {track} have no duration in `trun`, `tfhd` or `trex`"
    )]
    NoSampleDuration {
        /// The track_ID.
        track: u32,
        /// How many samples.
        samples: u64,
    },
    /// The `mvhd` says its duration is unknown.
    #[error("the `mvhd` box gives no duration (all ones: unknown)")]
    DurationUnknown,
    /// Problems past the cap, counted only.
    #[error("and {count} more problems")]
    More {
        /// How many were not recorded.
        count: usize,
    },
}

impl BmffProblem {
    /// A short machine code for JSON output.
    pub fn code(&self) -> &'static str {
        use BmffProblem as P;
        match self {
            P::Empty => "bmff-empty",
            P::BoxTooSmall { .. } => "bmff-box-size",
            P::Truncated { .. } => "bmff-truncated",
            P::TrailingBytes { .. } => "bmff-trailing-bytes",
            P::MetaTooLarge { .. } => "bmff-meta-too-large",
            P::TooManyBoxes { .. } => "bmff-too-many-boxes",
            P::DuplicateMoov { .. } => "bmff-duplicate-moov",
            P::NoMoov => "bmff-no-moov",
            P::NoMvhd => "bmff-no-mvhd",
            P::ZeroTimescale { .. } => "bmff-zero-timescale",
            P::BoxVersion { .. } => "bmff-box-version",
            P::Malformed { .. } => "bmff-malformed-box",
            P::UnknownTrack { .. } => "bmff-unknown-track",
            P::TooManyTracks { .. } => "bmff-too-many-tracks",
            P::NoSampleDuration { .. } => "bmff-no-sample-duration",
            P::DurationUnknown => "bmff-duration-unknown",
            P::More { .. } => "bmff-more",
        }
    }
}
