//! Inside the buffered boxes: `moov` (mvhd, mvex/mehd/trex, trak/tkhd/mdia/mdhd, and the
//! tracks' codecs through `codecs`) and `moof` (traf/tfhd/trun), and the duration they give.
//!
//! Only these known containers are descended into, so nesting depth is fixed by the code,
//! never by the input; every child counts against the box budget.

use std::collections::BTreeMap;

use super::boxes::{Child, Cursor, for_each_child, read_fields};
use super::codecs;
use super::{BmffProblem, Ctx, FourCc};

/// More tracks than any camera writes; bounds the per-track maps.
pub(super) const MAX_TRACKS: usize = 256;

const MVHD: FourCc = FourCc(*b"mvhd");
const MDHD: FourCc = FourCc(*b"mdhd");

/// `mvhd` or `mdhd`: ticks a second and the duration in ticks (None: all ones, unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timing {
    pub timescale: u32,
    pub duration: Option<u64>,
}

/// What the `moov` box says about time.
#[derive(Debug, Default)]
pub(super) struct Moov {
    pub mvhd: Option<Timing>,
    /// `mehd` fragment_duration, in the `mvhd` timescale.
    pub mehd: Option<u64>,
    /// `mvex` present: the file announces fragments.
    pub mvex: bool,
    /// `trex` default_sample_duration by track_ID.
    trex: BTreeMap<u32, u32>,
    /// `mdhd` timing by `tkhd` track_ID.
    tracks: BTreeMap<u32, Timing>,
    /// Each `trak`'s kind and codecs, in file order (the first `MAX_TRACKS`).
    pub codecs: Vec<codecs::Track>,
}

/// Sample durations summed over every `moof`, by track_ID.
#[derive(Debug, Default)]
pub(super) struct Fragments {
    tracks: BTreeMap<u32, FragmentTrack>,
}

#[derive(Debug, Default, Clone, Copy)]
struct FragmentTrack {
    /// Ticks known from `trun` or `tfhd`.
    ticks: u64,
    /// Samples whose duration is `trex`'s default, known only once `moov` is read.
    awaiting_default: u64,
}

/// `mvhd` and `mdhd` share this layout up to the duration.
fn timing(child: &Child, ctx: &mut Ctx) -> Option<Timing> {
    read_fields(child, ctx, |version, _, c| {
        let long = version == 1;
        c.take(if long { 16 } else { 8 })?;
        let timescale = c.u32()?;
        let duration = if long {
            Some(c.u64()?).filter(|&d| d != u64::MAX)
        } else {
            Some(c.u32()?).filter(|&d| d != u32::MAX).map(u64::from)
        };
        Some(Timing {
            timescale,
            duration,
        })
    })
}

/// Reads what `moov` says about time.
pub(super) fn parse_moov(data: &[u8], base: u64, ctx: &mut Ctx) -> Moov {
    let mut moov = Moov::default();
    for_each_child(
        data,
        base,
        FourCc(*b"moov"),
        ctx,
        |child, ctx| match &child.fourcc.0 {
            b"mvhd" if moov.mvhd.is_none() => moov.mvhd = timing(&child, ctx),
            b"mvex" => {
                moov.mvex = true;
                parse_mvex(&child, ctx, &mut moov);
            }
            b"trak" => parse_trak(&child, ctx, &mut moov),
            _ => {}
        },
    );
    moov
}

fn parse_mvex(mvex: &Child, ctx: &mut Ctx, moov: &mut Moov) {
    for_each_child(
        mvex.payload,
        mvex.payload_offset,
        mvex.fourcc,
        ctx,
        |child, ctx| match &child.fourcc.0 {
            b"mehd" => {
                moov.mehd = read_fields(&child, ctx, |version, _, c| match version {
                    1 => c.u64(),
                    _ => c.u32().map(u64::from),
                });
            }
            b"trex" => {
                let trex = read_fields(&child, ctx, |_, _, c| {
                    let track = c.u32()?;
                    c.take(4)?;
                    Some((track, c.u32()?))
                });
                if let Some((track, duration)) = trex {
                    insert_bounded(&mut moov.trex, track, duration, ctx);
                }
            }
            _ => {}
        },
    );
}

fn parse_trak(trak: &Child, ctx: &mut Ctx, moov: &mut Moov) {
    let (mut track, mut timing_found) = (None, None);
    let mut codec = codecs::Track::default();
    for_each_child(
        trak.payload,
        trak.payload_offset,
        trak.fourcc,
        ctx,
        |child, ctx| match &child.fourcc.0 {
            b"tkhd" => {
                track = read_fields(&child, ctx, |version, _, c| {
                    c.take(if version == 1 { 16 } else { 8 })?;
                    c.u32()
                });
            }
            b"mdia" => {
                let base = child.payload_offset;
                for_each_child(child.payload, base, child.fourcc, ctx, |grand, ctx| {
                    if grand.fourcc == MDHD {
                        timing_found = timing(&grand, ctx);
                    } else {
                        codecs::read_mdia_child(&grand, ctx, &mut codec);
                    }
                });
            }
            _ => {}
        },
    );
    if moov.codecs.len() < MAX_TRACKS {
        codec.id = track;
        moov.codecs.push(codec);
    }
    match (track, timing_found) {
        (Some(track), Some(timing)) => insert_bounded(&mut moov.tracks, track, timing, ctx),
        _ => ctx.problem(BmffProblem::Malformed {
            fourcc: trak.fourcc,
            offset: trak.offset,
            reason: "has no readable `tkhd` track header or `mdia/mdhd` media header",
        }),
    }
}

fn insert_bounded<V>(map: &mut BTreeMap<u32, V>, key: u32, value: V, ctx: &mut Ctx) {
    if map.len() < MAX_TRACKS || map.contains_key(&key) {
        map.insert(key, value);
    } else {
        ctx.problem_once(BmffProblem::TooManyTracks { limit: MAX_TRACKS });
    }
}

/// Adds one `moof`'s sample durations to the running sums.
pub(super) fn parse_moof(data: &[u8], base: u64, ctx: &mut Ctx, frags: &mut Fragments) {
    for_each_child(data, base, FourCc(*b"moof"), ctx, |child, ctx| {
        if &child.fourcc.0 == b"traf" {
            parse_traf(&child, ctx, frags);
        }
    });
}

fn parse_traf(traf: &Child, ctx: &mut Ctx, frags: &mut Fragments) {
    // (track_ID, tfhd default_sample_duration)
    let mut tfhd: Option<(u32, Option<u32>)> = None;
    for_each_child(
        traf.payload,
        traf.payload_offset,
        traf.fourcc,
        ctx,
        |child, ctx| match &child.fourcc.0 {
            b"tfhd" => tfhd = read_fields(&child, ctx, read_tfhd),
            b"trun" => {
                let Some((track, default)) = tfhd else {
                    let (fourcc, offset) = (child.fourcc, child.offset);
                    let reason = "comes before the fragment's `tfhd`, so its track is unknown";
                    ctx.problem(BmffProblem::Malformed {
                        fourcc,
                        offset,
                        reason,
                    });
                    return;
                };
                let Some((samples, explicit)) = read_fields(&child, ctx, read_trun) else {
                    return;
                };
                let Some(sums) = frags.track(track, ctx) else {
                    return;
                };
                match (explicit, default) {
                    (Some(ticks), _) => sums.ticks = sums.ticks.saturating_add(ticks),
                    (None, Some(d)) => {
                        let ticks = samples.saturating_mul(u64::from(d));
                        sums.ticks = sums.ticks.saturating_add(ticks);
                    }
                    (None, None) => {
                        sums.awaiting_default = sums.awaiting_default.saturating_add(samples)
                    }
                }
            }
            _ => {}
        },
    );
}

fn read_tfhd(_version: u8, flags: u32, c: &mut Cursor) -> Option<(u32, Option<u32>)> {
    let track = c.u32()?;
    if flags & 0x01 != 0 {
        c.take(8)?; // base_data_offset
    }
    if flags & 0x02 != 0 {
        c.take(4)?; // sample_description_index
    }
    let default = if flags & 0x08 != 0 {
        Some(c.u32()?)
    } else {
        None
    };
    Some((track, default))
}

/// The sample count and, when the samples carry durations, their sum.
fn read_trun(_version: u8, flags: u32, c: &mut Cursor) -> Option<(u64, Option<u64>)> {
    let count = c.u32()?;
    if flags & 0x01 != 0 {
        c.take(4)?; // data_offset
    }
    if flags & 0x04 != 0 {
        c.take(4)?; // first_sample_flags
    }
    let per_sample = 4 * (flags & 0xf00).count_ones() as usize;
    // Checked before any loop, so a hostile count cannot make us iterate past the box.
    let table_len = usize::try_from(count).ok()?.checked_mul(per_sample)?;
    let table = c.take(table_len)?;
    if flags & 0x100 == 0 {
        return Some((u64::from(count), None));
    }
    let sum = table
        .chunks_exact(per_sample)
        .filter_map(|sample| sample.first_chunk::<4>())
        .fold(0u64, |sum, d| {
            sum.saturating_add(u64::from(u32::from_be_bytes(*d)))
        });
    Some((u64::from(count), Some(sum)))
}

impl Fragments {
    /// Whether any `trun` was read.
    pub(super) fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    fn track(&mut self, track: u32, ctx: &mut Ctx) -> Option<&mut FragmentTrack> {
        if self.tracks.len() >= MAX_TRACKS && !self.tracks.contains_key(&track) {
            ctx.problem_once(BmffProblem::TooManyTracks { limit: MAX_TRACKS });
            return None;
        }
        Some(self.tracks.entry(track).or_default())
    }
}

/// The duration in seconds: `mvhd`; for a fragmented file `mehd`, else the longest track's
/// samples (those `moov` describes, from `mdhd`, plus every fragment's).
pub(super) fn duration(
    moov: &Moov,
    frags: &Fragments,
    fragmented: bool,
    ctx: &mut Ctx,
) -> Option<f64> {
    let mvhd = moov.mvhd?;
    if mvhd.timescale == 0 {
        ctx.problem(BmffProblem::ZeroTimescale {
            fourcc: MVHD,
            track: None,
        });
        return None;
    }
    let timescale = f64::from(mvhd.timescale);
    if fragmented {
        if let Some(ticks) = moov.mehd.filter(|&d| d > 0) {
            return Some(ticks as f64 / timescale);
        }
        if !frags.is_empty() {
            return fragment_duration(moov, frags, ctx);
        }
    }
    match mvhd.duration {
        Some(ticks) => Some(ticks as f64 / timescale),
        None => {
            ctx.problem(BmffProblem::DurationUnknown);
            None
        }
    }
}

fn fragment_duration(moov: &Moov, frags: &Fragments, ctx: &mut Ctx) -> Option<f64> {
    let mut longest: Option<f64> = None;
    for (&track, sums) in &frags.tracks {
        let Some(timing) = moov.tracks.get(&track) else {
            ctx.problem(BmffProblem::UnknownTrack { track });
            continue;
        };
        if timing.timescale == 0 {
            ctx.problem(BmffProblem::ZeroTimescale {
                fourcc: MDHD,
                track: Some(track),
            });
            continue;
        }
        // ffmpeg without `empty_moov` describes the first fragment in `moov` itself.
        let mut ticks = sums.ticks.saturating_add(timing.duration.unwrap_or(0));
        if sums.awaiting_default > 0 {
            match moov.trex.get(&track) {
                Some(&d) => {
                    ticks = ticks.saturating_add(sums.awaiting_default.saturating_mul(u64::from(d)))
                }
                None => ctx.problem(BmffProblem::NoSampleDuration {
                    track,
                    samples: sums.awaiting_default,
                }),
            }
        }
        let secs = ticks as f64 / f64::from(timing.timescale);
        longest = Some(longest.map_or(secs, |l| l.max(secs)));
    }
    longest
}
