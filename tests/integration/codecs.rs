//! The profile's codecs: a recording whose tracks are not H.264 video and AAC audio is
//! flagged `codec-unexpected`, one whose `moov` declares no track `no-tracks`; both are
//! still confirmed and wiped when the integrity rules hold (the bytes are the evidence),
//! and the profile's own recordings get no such flag. A real FAT image (mkfs.vfat,
//! mtools) holding the fixture camera, the HEVC fixture made by ffmpeg/libx265
//! (scripts/make-codec-fixtures), and a fixture MP4 with its `trak`s taken out, through
//! the real ingest, store and register.
#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the test by panicking, like the tests"
)]

use std::fs;

use crate::common::*;
use sentinel_dock::app::ingest::{Options, Status};
use sentinel_dock::base::config::Config;

const HEVC: &str = "SNTL-00042_20180315_101500_0005";
const NO_TRACKS: &str = "SNTL-00042_20180316_120000_0006";

/// The committed HEVC recording and its sidecar (trailer: its size and SHA-256).
fn hevc_recording() -> Recording {
    let dir = fixtures_dir().join("codecs");
    Recording {
        stem: HEVC.into(),
        video: fs::read(dir.join(format!("{HEVC}.MP4"))).unwrap(),
        sidecar: fs::read(dir.join(format!("{HEVC}.NMEA"))).unwrap(),
    }
}

/// A top-level or `moov`-level box: (type, whole box bytes).
fn boxes(mut data: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let size = u32::from_be_bytes(data[..4].try_into().unwrap()) as usize;
        assert!(
            (8..=data.len()).contains(&size),
            "a fixture box size is 32-bit"
        );
        out.push((data[4..8].try_into().unwrap(), data[..size].to_vec()));
        data = &data[size..];
    }
    out
}

/// A fixture MP4 whose `moov` keeps its `mvhd` (so its duration) but loses every `trak`.
fn without_traks(video: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, bytes) in boxes(video) {
        if &kind != b"moov" {
            out.extend(bytes);
            continue;
        }
        let kept: Vec<u8> = boxes(&bytes[8..])
            .into_iter()
            .filter(|(k, _)| k != b"trak")
            .flat_map(|(_, b)| b)
            .collect();
        out.extend(u32::try_from(kept.len() + 8).unwrap().to_be_bytes());
        out.extend(b"moov");
        out.extend(kept);
    }
    out
}

fn no_tracks_recording() -> Recording {
    let plain = fixture_recordings(SERIAL)
        .into_iter()
        .find(|r| r.stem == "SNTL-00042_20180312_143015_0001")
        .unwrap();
    let video = without_traks(&plain.video);
    assert!(video.len() < plain.video.len() && !video.windows(4).any(|w| w == b"trak"));
    let sidecar = SidecarSpec::for_video(SERIAL, NO_TRACKS, &video, 6).render();
    Recording {
        stem: NO_TRACKS.into(),
        video,
        sidecar,
    }
}

#[test]
fn other_codecs_and_no_tracks_are_flagged_yet_confirmed_and_wiped() {
    let mut spec = CameraSpec::fixture(SERIAL);
    let plain: Vec<String> = spec.recordings.iter().map(|r| r.stem.clone()).collect();
    spec.recordings.push(hevc_recording());
    spec.recordings.push(no_tracks_recording());
    let dir = tempfile::tempdir().unwrap();
    let image = build_fat_image(&spec, dir.path(), Layout::Superfloppy);
    let text = "[store]\npath = \"store\"\nreserve = 0\n[register]\npath = \"register.sqlite\"\n";
    let config = Config::from_toml(text, dir.path()).unwrap();

    let report = crate::common::ingest_once(&config, &image, &Options::default()).unwrap();

    assert_eq!(
        report.recordings.len(),
        spec.recordings.len(),
        "{}",
        report.summary()
    );
    let flags_of = |stem: &str| {
        let r = report.recordings.iter().find(|r| r.stem == stem).unwrap();
        assert_eq!(r.status, Status::Confirmed, "{r:#?}");
        assert!(r.wiped, "{r:#?}");
        r.flags.clone()
    };
    let hevc = flags_of(HEVC);
    let codec: Vec<&String> = hevc
        .iter()
        .filter(|f| f.starts_with("codec-unexpected:"))
        .collect();
    assert_eq!(codec.len(), 1, "{hevc:?}");
    assert!(codec[0].contains("hvc1 video (track 1)"), "{hevc:?}");
    assert!(
        !codec[0].contains("mp4a audio"),
        "its AAC audio is expected: {hevc:?}"
    );
    let none = flags_of(NO_TRACKS);
    assert!(none.iter().any(|f| f.starts_with("no-tracks:")), "{none:?}");
    assert!(
        !none.iter().any(|f| f.starts_with("codec-unexpected:")),
        "{none:?}"
    );
    for stem in &plain {
        let flags = flags_of(stem);
        assert!(
            !flags
                .iter()
                .any(|f| f.starts_with("codec-unexpected:") || f.starts_with("no-tracks:")),
            "{stem}: {flags:?}"
        );
    }

    // The register holds the flags beside the proven copy.
    let register = rusqlite::Connection::open(dir.path().join("register.sqlite")).unwrap();
    let row = |stem: &str| -> (String, String) {
        register
            .query_row(
                "SELECT state, flags FROM recordings WHERE stem = ?1",
                [stem],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let (state, flags) = row(HEVC);
    assert_eq!(state, "wiped");
    assert!(flags.contains("codec-unexpected: hvc1 video"), "{flags}");
    let (state, flags) = row(NO_TRACKS);
    assert_eq!(state, "wiped");
    assert!(flags.contains("no-tracks:"), "{flags}");

    // Wiped from the camera; the stored copy is the camera's bytes.
    let left = list_fat_image(&image, Layout::Superfloppy);
    for rec in &spec.recordings {
        assert!(!left.contains(&rec.video_path()), "{left:?}");
    }
    let stored = report.recordings.iter().find(|r| r.stem == HEVC).unwrap();
    assert_eq!(
        fs::read(stored.stored_path.as_ref().unwrap()).unwrap(),
        hevc_recording().video
    );
}
