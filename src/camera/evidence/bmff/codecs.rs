//! What a `moov`'s tracks carry: each `trak`'s kind (`mdia/hdlr`), its sample entries
//! (`mdia/minf/stbl/stsd`) and, for `mp4a`, the object type its `esds` declares; judged
//! against the profile's H.264 video and AAC audio as flags, never as reasons: a recording
//! in another codec is still the camera's bytes, and those are the evidence.
//!
//! These boxes are read quietly: a fault in them is named in the flag, not added to the
//! problems, which are the profile's integrity rules. Nesting depth is fixed by the code
//! (`minf/stbl/stsd`, an entry's children, `wave` once) and every box counts against the
//! walk's budget; descriptors inside `esds` are bounded by its payload.

use super::boxes::{Child, Cursor, try_each_child};
use super::{Ctx, FourCc};

/// Sample entries kept per track; a camera writes one.
const MAX_ENTRIES: usize = 8;
/// Findings named in one flag; more are counted.
const MAX_LISTED: usize = 8;

const VIDE: FourCc = FourCc(*b"vide");
const SOUN: FourCc = FourCc(*b"soun");
/// The profile's video: H.264, parameter sets in the entry (`avc1`) or in the stream (`avc3`).
const H264: [FourCc; 2] = [FourCc(*b"avc1"), FourCc(*b"avc3")];
const MP4A: FourCc = FourCc(*b"mp4a");
/// MPEG-4 audio object types of the AAC family (ISO/IEC 14496-3, table 1.17): Main, LC,
/// SSR, LTP, SBR (HE-AAC), Scalable, the error-resilient AAC variants, PS (HE-AAC v2), ELD.
const AAC_OBJECT_TYPES: [u8; 13] = [1, 2, 3, 4, 5, 6, 17, 19, 20, 22, 23, 29, 39];

/// The text of the `no-tracks` flag.
const NO_TRACKS: &str = "no-tracks: the video's `moov` declares no track (no `trak` box), so a player shows nothing; the file is otherwise well formed, kept and confirmed on its bytes";

/// One track's kind and codecs, as its `hdlr` and `stsd` declare them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Track {
    /// The `tkhd` track_ID, when readable.
    pub id: Option<u32>,
    /// The `hdlr` handler type (`vide`, `soun`, `meta`...), when readable.
    pub handler: Option<FourCc>,
    /// The `stsd` sample entries (the first few).
    pub entries: Vec<SampleEntry>,
    /// Why the sample description could not be read whole, when it could not.
    pub unreadable: Option<&'static str>,
}

/// One sample entry of a track's `stsd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleEntry {
    /// The coding name: `avc1`, `hvc1`, `mp4a`...
    pub format: FourCc,
    /// For `mp4a`: its `esds` decoder configuration, when readable.
    pub audio: Option<AudioConfig>,
}

/// What an `mp4a` entry's `esds` says its audio is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioConfig {
    /// objectTypeIndication: 0x40 MPEG-4 audio, 0x66 to 0x68 MPEG-2 AAC, 0x6B MP3...
    pub object_type: u8,
    /// The AudioSpecificConfig's audioObjectType (2: AAC LC), for MPEG-4 audio.
    pub audio_object_type: Option<u8>,
}

impl AudioConfig {
    /// Whether this is AAC: MPEG-2 AAC, or MPEG-4 audio of an AAC object type.
    pub(crate) fn is_aac(&self) -> bool {
        match self.object_type {
            0x66..=0x68 => true,
            0x40 => self
                .audio_object_type
                .is_some_and(|t| AAC_OBJECT_TYPES.contains(&t)),
            _ => false,
        }
    }

    fn describe(&self) -> String {
        match (self.object_type, self.audio_object_type) {
            (o @ (0x69 | 0x6B), _) => format!("MP3, object type {o:#04x}"),
            (0x40, Some(t)) => format!("MPEG-4 audio object type {t}, not AAC"),
            (0x40, None) => "MPEG-4 audio without an AudioSpecificConfig".into(),
            (o, _) => format!("object type {o:#04x}, not AAC"),
        }
    }
}

/// Reads one child of a `trak`'s `mdia` into `track`: `hdlr`, and `minf/stbl/stsd`.
pub(super) fn read_mdia_child(child: &Child, ctx: &mut Ctx, track: &mut Track) {
    match &child.fourcc.0 {
        b"hdlr" => {
            // version and flags, pre_defined, then handler_type.
            let mut c = Cursor::new(child.payload);
            track.handler = c
                .take(8)
                .and_then(|_| c.take(4))
                .and_then(|t| t.try_into().ok())
                .map(FourCc);
        }
        b"minf" => {
            let (data, base) = (child.payload, child.payload_offset);
            let read = try_each_child(data, base, child.fourcc, ctx, |minf, ctx| {
                if &minf.fourcc.0 == b"stbl" {
                    read_stbl(&minf, ctx, track);
                }
            });
            if read.is_err() {
                track
                    .unreadable
                    .get_or_insert("its `minf` box is malformed");
            }
        }
        _ => {}
    }
}

fn read_stbl(stbl: &Child, ctx: &mut Ctx, track: &mut Track) {
    let (data, base) = (stbl.payload, stbl.payload_offset);
    let read = try_each_child(data, base, stbl.fourcc, ctx, |child, ctx| {
        if &child.fourcc.0 == b"stsd" {
            read_stsd(&child, ctx, track);
        }
    });
    if read.is_err() {
        track
            .unreadable
            .get_or_insert("its `stbl` box is malformed");
    }
}

fn read_stsd(stsd: &Child, ctx: &mut Ctx, track: &mut Track) {
    // version and flags, entry_count, then the entries as boxes: the boxes are what is
    // there, whatever the count claims.
    let Some(entries) = stsd.payload.get(8..) else {
        track
            .unreadable
            .get_or_insert("its `stsd` box is too short");
        return;
    };
    let base = stsd.payload_offset.saturating_add(8);
    let read = try_each_child(entries, base, stsd.fourcc, ctx, |entry, ctx| {
        if track.entries.len() < MAX_ENTRIES {
            let audio = (entry.fourcc == MP4A)
                .then(|| read_mp4a(&entry, ctx))
                .flatten();
            track.entries.push(SampleEntry {
                format: entry.fourcc,
                audio,
            });
        }
    });
    if read.is_err() {
        track
            .unreadable
            .get_or_insert("a sample entry of its `stsd` box is malformed");
    }
}

/// The `esds` of an `mp4a` entry, directly inside it or in a QuickTime `wave` box.
fn read_mp4a(entry: &Child, ctx: &mut Ctx) -> Option<AudioConfig> {
    let mut c = Cursor::new(entry.payload);
    // SampleEntry (reserved, data_reference_index), then the sound description: its
    // version, 6 bytes, then channels, sample size, 4 bytes, sample rate.
    c.take(8)?;
    let version = u16::from_be_bytes(c.take(2)?.try_into().ok()?);
    c.take(18)?;
    // QuickTime sound descriptions 1 and 2 carry more fields before the child boxes.
    c.take(match version {
        0 => 0,
        1 => 16,
        2 => 36,
        _ => return None,
    })?;
    let read = entry.payload.len() - c.rest().len();
    let base = entry.payload_offset.saturating_add(read as u64);
    find_esds(c.rest(), base, entry.fourcc, ctx, true)
}

fn find_esds(
    data: &[u8],
    base: u64,
    parent: FourCc,
    ctx: &mut Ctx,
    in_wave: bool,
) -> Option<AudioConfig> {
    let mut found = None;
    // A malformed child ends the search; the entry is then reported without its esds.
    let _ = try_each_child(data, base, parent, ctx, |child, ctx| {
        if found.is_some() {
            return;
        }
        match &child.fourcc.0 {
            b"esds" => found = esds(child.payload),
            b"wave" if in_wave => {
                let (data, base) = (child.payload, child.payload_offset);
                found = find_esds(data, base, child.fourcc, ctx, false);
            }
            _ => {}
        }
    });
    found
}

/// The decoder configuration of an `esds` payload (ISO/IEC 14496-1 descriptors).
fn esds(payload: &[u8]) -> Option<AudioConfig> {
    let mut c = Cursor::new(payload);
    c.take(4)?; // version and flags
    let mut es = Cursor::new(descriptor(&mut c, 0x03)?);
    es.take(2)?; // ES_ID
    let flags = es.u8()?;
    if flags & 0x80 != 0 {
        es.take(2)?; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        let url = es.u8()?;
        es.take(usize::from(url))?;
    }
    if flags & 0x20 != 0 {
        es.take(2)?; // OCR_ES_Id
    }
    let mut config = Cursor::new(descriptor(&mut es, 0x04)?);
    let object_type = config.u8()?;
    // streamType, bufferSizeDB, maxBitrate, avgBitrate.
    config.take(12)?;
    let audio_object_type = descriptor(&mut config, 0x05).and_then(audio_object_type);
    Some(AudioConfig {
        object_type,
        audio_object_type,
    })
}

/// The body of the first descriptor tagged `tag`, skipping others; a length running past
/// its container is cut to it.
fn descriptor<'a>(c: &mut Cursor<'a>, tag: u8) -> Option<&'a [u8]> {
    loop {
        let found = c.u8()?;
        let mut len = 0usize;
        // The size is 1 to 4 bytes of 7 bits, high bit set on all but the last.
        for _ in 0..4 {
            let b = c.u8()?;
            len = (len << 7) | usize::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
        let body = c.take(len.min(c.rest().len()))?;
        if found == tag {
            return Some(body);
        }
    }
}

/// The AudioSpecificConfig's audioObjectType: 5 bits, 31 escaping to 32 + 6 more.
fn audio_object_type(config: &[u8]) -> Option<u8> {
    let first = *config.first()?;
    match first >> 3 {
        31 => {
            let second = *config.get(1)?;
            Some(32 + (((first & 0x07) << 3) | (second >> 5)))
        }
        t => Some(t),
    }
}

impl Track {
    /// Adds to `out` what this track carries that the profile does not expect.
    fn unexpected(&self, out: &mut Vec<String>) {
        let at = self
            .id
            .map(|id| format!(" (track {id})"))
            .unwrap_or_default();
        if let Some(why) = self.unreadable {
            out.push(format!(
                "a sample description that cannot be read{at}: {why}"
            ));
        }
        if self.entries.is_empty() && self.unreadable.is_none() {
            out.push(format!("{} without a sample description{at}", self.noun()));
        }
        for entry in &self.entries {
            let format = entry.format;
            let found = match self.handler {
                Some(VIDE) if H264.contains(&format) => continue,
                Some(VIDE) => format!("{format} video"),
                Some(SOUN) if format == MP4A => match entry.audio {
                    Some(audio) if audio.is_aac() => continue,
                    Some(audio) => format!("{format} audio ({})", audio.describe()),
                    None => format!("{format} audio without a readable `esds`"),
                },
                Some(SOUN) => format!("{format} audio"),
                _ => format!("{format} in {}", self.noun()),
            };
            out.push(format!("{found}{at}"));
        }
    }

    fn noun(&self) -> String {
        match self.handler {
            Some(VIDE) => "a video track".into(),
            Some(SOUN) => "an audio track".into(),
            Some(other) => format!("a `{other}` track"),
            None => "a track without a readable `hdlr`".into(),
        }
    }
}

/// The flags for a `moov`'s tracks (`None`: no `moov` was read): `no-tracks` when it
/// declares none, `codec-unexpected` naming what is not H.264 video or AAC audio.
pub(super) fn flags(tracks: Option<&[Track]>) -> Vec<String> {
    let Some(tracks) = tracks else {
        return Vec::new();
    };
    if tracks.is_empty() {
        return vec![NO_TRACKS.to_string()];
    }
    let mut found = Vec::new();
    for track in tracks {
        track.unexpected(&mut found);
    }
    if !tracks.iter().any(|t| t.handler == Some(VIDE)) {
        found.push("no video track".to_string());
    }
    if found.is_empty() {
        return Vec::new();
    }
    let more = found.len().saturating_sub(MAX_LISTED);
    found.truncate(MAX_LISTED);
    let mut list = found.join(", ");
    if more > 0 {
        list.push_str(&format!(" and {more} more"));
    }
    vec![format!(
        "codec-unexpected: {list}; the profile expects H.264 video (`avc1`, `avc3`) and AAC audio (`mp4a`): the recording is kept and confirmed on its bytes, but may need another player"
    )]
}

#[cfg(test)]
mod tests;
