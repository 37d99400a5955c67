use std::path::{Path, PathBuf};

use super::super::{BmffLimits, BmffReport, FourCc, check_reader};
use super::{AudioConfig, MAX_ENTRIES, MAX_LISTED, SampleEntry, Track};

fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let size = u32::try_from(8 + payload.len()).unwrap();
    [&size.to_be_bytes()[..], kind, payload].concat()
}

fn full(kind: &[u8; 4], fields: &[u8]) -> Vec<u8> {
    bx(kind, &[&[0u8; 4][..], fields].concat())
}

fn be32(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn ftyp() -> Vec<u8> {
    bx(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41")
}

fn mvhd() -> Vec<u8> {
    full(
        b"mvhd",
        &[&[0; 8][..], &be32(&[1000, 4000]), &[0; 80]].concat(),
    )
}

/// A `trak` whose `hdlr` says `handler` (none when `None`) and whose `stsd` holds `entries`.
fn trak(id: u32, handler: Option<&[u8; 4]>, entries: &[Vec<u8>]) -> Vec<u8> {
    let tkhd = full(b"tkhd", &[&be32(&[0, 0, id, 0, 0])[..], &[0; 60]].concat());
    let mdhd = full(
        b"mdhd",
        &[&[0; 8][..], &be32(&[1000, 4000]), &[0; 4]].concat(),
    );
    let hdlr = handler
        .map(|h| full(b"hdlr", &[&[0; 4][..], h, &[0; 13]].concat()))
        .unwrap_or_default();
    let count = u32::try_from(entries.len()).unwrap();
    let stsd = full(b"stsd", &[be32(&[count]), entries.concat()].concat());
    let minf = bx(b"minf", &bx(b"stbl", &stsd));
    bx(
        b"trak",
        &[tkhd, bx(b"mdia", &[mdhd, hdlr, minf].concat())].concat(),
    )
}

fn visual(kind: &[u8; 4]) -> Vec<u8> {
    bx(
        kind,
        &[&[0u8; 78][..], &bx(b"pasp", &be32(&[1, 1]))].concat(),
    )
}

/// An ES_Descriptor with ffmpeg's 4-byte descriptor sizes (or 1-byte ones when `short`).
fn esds(object_type: u8, specific: Option<&[u8]>, short: bool) -> Vec<u8> {
    let descr = |tag: u8, body: &[u8]| {
        let len = u8::try_from(body.len()).unwrap();
        let size: Vec<u8> = if short {
            vec![len]
        } else {
            vec![0x80, 0x80, 0x80, len]
        };
        [&[tag][..], &size, body].concat()
    };
    let dsi = specific.map(|s| descr(0x05, s)).unwrap_or_default();
    let config = descr(0x04, &[&[object_type, 0x15][..], &[0; 11], &dsi].concat());
    let es = descr(
        0x03,
        &[&[0, 2, 0][..], &config, &descr(0x06, &[2])].concat(),
    );
    full(b"esds", &es)
}

/// An `mp4a` entry, sound description version 0, with these children.
fn mp4a(children: &[u8]) -> Vec<u8> {
    bx(b"mp4a", &[&[0u8; 28][..], children].concat())
}

fn aac_lc() -> Vec<u8> {
    mp4a(&esds(0x40, Some(&[0x14, 0x08]), false))
}

fn file(traks: &[Vec<u8>]) -> Vec<u8> {
    let moov = bx(b"moov", &[mvhd(), traks.concat()].concat());
    [ftyp(), moov, bx(b"mdat", &[0; 64])].concat()
}

fn walk(bytes: &[u8]) -> BmffReport {
    check_reader(bytes, BmffLimits::default()).unwrap()
}

/// The one codec flag of a file whose structure has no problem.
fn flag(bytes: &[u8]) -> String {
    let r = walk(bytes);
    assert_eq!(r.problems, vec![], "{r:?}");
    let flags = r.codec_flags();
    assert_eq!(flags.len(), 1, "{flags:?}");
    flags[0].clone()
}

fn h264_aac() -> Vec<u8> {
    file(&[
        trak(1, Some(b"vide"), &[visual(b"avc1")]),
        trak(2, Some(b"soun"), &[aac_lc()]),
    ])
}

fn mp4s_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            mp4s_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "MP4") {
            out.push(path);
        }
    }
}

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(folder);
    mp4s_under(&root, &mut out);
    out.sort();
    assert!(!out.is_empty(), "no MP4 under {}", root.display());
    out
}

fn walk_file(path: &Path) -> BmffReport {
    check_reader(std::fs::File::open(path).unwrap(), BmffLimits::default()).unwrap()
}

#[test]
fn the_fixture_cameras_are_h264_and_aac_lc_and_get_no_flag() {
    for path in fixtures("cameras") {
        let r = walk_file(&path);
        assert_eq!(r.problems, vec![], "{}", path.display());
        assert_eq!(r.codec_flags(), Vec::<String>::new(), "{}", path.display());
        let tracks = r.tracks.unwrap();
        let kinds: Vec<_> = tracks
            .iter()
            .map(|t| (t.id, t.handler, t.entries.clone()))
            .collect();
        let aac = AudioConfig {
            object_type: 0x40,
            audio_object_type: Some(2),
        };
        assert_eq!(
            kinds,
            [
                (
                    Some(1),
                    Some(FourCc(*b"vide")),
                    vec![SampleEntry {
                        format: FourCc(*b"avc1"),
                        audio: None
                    }]
                ),
                (
                    Some(2),
                    Some(FourCc(*b"soun")),
                    vec![SampleEntry {
                        format: FourCc(*b"mp4a"),
                        audio: Some(aac)
                    }]
                ),
            ],
            "{}",
            path.display()
        );
    }
}

#[test]
fn the_hevc_fixture_is_well_formed_and_flagged_hvc1_video() {
    let [path] = &fixtures("codecs")[..] else {
        panic!("one fixture expected in fixtures/codecs");
    };
    let r = walk_file(path);
    assert_eq!(r.problems, vec![]);
    let flags = r.codec_flags();
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert!(
        flags[0].starts_with("codec-unexpected: hvc1 video (track 1); the profile expects"),
        "{flags:?}"
    );
}

#[test]
fn h264_and_aac_built_by_hand_get_no_flag_in_either_form() {
    assert_eq!(walk(&h264_aac()).codec_flags(), Vec::<String>::new());
    // avc3, 1-byte descriptor sizes, MPEG-2 AAC LC, HE-AAC, and an escaped AOT field.
    let audio = [
        mp4a(&esds(0x40, Some(&[0x12, 0x10]), true)),
        mp4a(&esds(0x67, None, false)),
        mp4a(&esds(0x40, Some(&[0x2b, 0x8a, 0x08, 0x00]), false)),
    ];
    for entry in audio {
        let f = file(&[
            trak(1, Some(b"vide"), &[visual(b"avc3")]),
            trak(2, Some(b"soun"), &[entry]),
        ]);
        let r = walk(&f);
        assert_eq!(
            (r.problems.clone(), r.codec_flags()),
            (vec![], vec![]),
            "{:?}",
            r.tracks
        );
    }
    // A QuickTime sound description version 1, its esds inside `wave`.
    let mut v1 = vec![0u8; 28 + 16];
    v1[8..10].copy_from_slice(&1u16.to_be_bytes());
    let wave = bx(
        b"wave",
        &[bx(b"frma", b"mp4a"), esds(0x40, Some(&[0x12, 0x10]), false)].concat(),
    );
    let entry = bx(b"mp4a", &[v1, wave].concat());
    let f = file(&[
        trak(1, Some(b"vide"), &[visual(b"avc1")]),
        trak(2, Some(b"soun"), &[entry]),
    ]);
    assert_eq!(walk(&f).codec_flags(), Vec::<String>::new());
}

#[test]
fn a_moov_with_an_mvhd_and_no_trak_is_flagged_no_tracks() {
    let r = walk(&file(&[]));
    assert_eq!(r.problems, vec![]);
    assert_eq!(r.duration_secs, Some(4.0));
    let flags = r.codec_flags();
    assert_eq!(flags.len(), 1);
    assert!(flags[0].starts_with("no-tracks: "), "{flags:?}");
    // No moov read at all: the problems say so; no codec flag is made up.
    let r = walk(&[ftyp(), bx(b"mdat", &[0; 8])].concat());
    assert_eq!(r.tracks, None);
    assert_eq!(r.codec_flags(), Vec::<String>::new());
}

#[test]
fn other_codecs_are_named_with_their_track() {
    let hevc = file(&[
        trak(1, Some(b"vide"), &[visual(b"hvc1")]),
        trak(2, Some(b"soun"), &[aac_lc()]),
    ]);
    assert!(flag(&hevc).starts_with("codec-unexpected: hvc1 video (track 1); "));
    let mp3 = file(&[
        trak(1, Some(b"vide"), &[visual(b"avc1")]),
        trak(2, Some(b"soun"), &[mp4a(&esds(0x6B, None, false))]),
    ]);
    assert!(
        flag(&mp3).starts_with("codec-unexpected: mp4a audio (MP3, object type 0x6b) (track 2); ")
    );
    // USAC (xHE-AAC), audioObjectType 42 through the escape value 31.
    let usac = file(&[
        trak(1, Some(b"vide"), &[visual(b"avc1")]),
        trak(
            2,
            Some(b"soun"),
            &[mp4a(&esds(0x40, Some(&[0xf9, 0x40]), false))],
        ),
    ]);
    assert!(flag(&usac).contains("mp4a audio (MPEG-4 audio object type 42, not AAC) (track 2)"));
    let opus = file(&[
        trak(1, Some(b"vide"), &[visual(b"av01")]),
        trak(2, Some(b"soun"), &[bx(b"Opus", &[0; 28])]),
        trak(3, Some(b"meta"), &[bx(b"gpmd", &[0; 8])]),
    ]);
    assert!(
        flag(&opus).starts_with(
            "codec-unexpected: av01 video (track 1), Opus audio (track 2), gpmd in a `meta` track (track 3); "
        ),
        "{}",
        flag(&opus)
    );
}

#[test]
fn missing_pieces_are_named_too() {
    let audio_only = file(&[trak(1, Some(b"soun"), &[aac_lc()])]);
    assert!(flag(&audio_only).starts_with("codec-unexpected: no video track; "));
    let no_esds = file(&[
        trak(1, Some(b"vide"), &[visual(b"avc1")]),
        trak(2, Some(b"soun"), &[mp4a(&bx(b"btrt", &[0; 12]))]),
    ]);
    assert!(flag(&no_esds).contains("mp4a audio without a readable `esds` (track 2)"));
    let no_hdlr = file(&[trak(1, None, &[visual(b"avc1")])]);
    assert!(
        flag(&no_hdlr)
            .contains("avc1 in a track without a readable `hdlr` (track 1), no video track")
    );
    let empty = file(&[trak(1, Some(b"vide"), &[])]);
    assert!(flag(&empty).contains("a video track without a sample description (track 1)"));
}

#[test]
fn a_malformed_sample_description_is_a_flag_not_a_problem() {
    // An entry claiming more bytes than its stsd holds.
    let liar = [&1000u32.to_be_bytes()[..], b"avc1", &[0; 20]].concat();
    let f = file(&[
        trak(1, Some(b"vide"), &[liar]),
        trak(2, Some(b"soun"), &[aac_lc()]),
    ]);
    let text = flag(&f);
    assert!(
        text.contains("a sample description that cannot be read (track 1): a sample entry of its `stsd` box is malformed"),
        "{text}"
    );
    // Hostile descriptor sizes and cut esds payloads neither panic nor read past the box.
    for cut in 0..esds(0x40, Some(&[0x12, 0x10]), false).len() {
        let bytes = esds(0x40, Some(&[0x12, 0x10]), false);
        let mut payload = bytes[8..cut.max(8)].to_vec();
        if let Some(b) = payload.get_mut(5) {
            *b = 0xff;
        }
        let cut_box = bx(b"esds", &payload);
        let f = file(&[
            trak(1, Some(b"vide"), &[visual(b"avc1")]),
            trak(2, Some(b"soun"), &[mp4a(&cut_box)]),
        ]);
        let r = walk(&f);
        assert_eq!(r.problems, vec![]);
    }
}

#[test]
fn entries_and_listed_findings_are_bounded() {
    let many: Vec<Vec<u8>> = (0..1000).map(|_| visual(b"hvc1")).collect();
    let r = walk(&file(&[trak(1, Some(b"vide"), &many)]));
    let tracks = r.tracks.clone().unwrap();
    assert_eq!(tracks[0].entries.len(), MAX_ENTRIES);
    let traks: Vec<Vec<u8>> = (1..=20)
        .map(|i| trak(i, Some(b"vide"), &[visual(b"hev1")]))
        .collect();
    let text = flag(&file(&traks));
    assert_eq!(text.matches("hev1 video").count(), MAX_LISTED);
    assert!(
        text.contains(&format!(" and {} more;", 20 - MAX_LISTED)),
        "{text}"
    );
    let _ = Track::default();
}
