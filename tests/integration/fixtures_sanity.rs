//! The fixtures and the helpers that build camera volumes from them are what they claim:
//! images hold every fixture file byte for byte, and every sidecar is valid for its video.

use crate::common::{
    CameraSpec, ImageOptions, Layout, SERIAL, SERIAL_2, SidecarSpec, build_dir, build_fat_image,
    build_fat_image_with, fixture_recordings, list_fat_dirs, list_fat_image, nmea_line,
    read_fat_file, require_tool, sha256_hex, tool_path,
};

/// Checks every file of `spec` is on the image with its bytes, and nothing else is.
fn assert_image_holds(spec: &CameraSpec, image: &std::path::Path, layout: Layout) {
    let mut expected: Vec<String> = spec.files().into_iter().map(|(p, _)| p).collect();
    expected.sort();
    assert_eq!(list_fat_image(image, layout), expected);
    for (path, bytes) in spec.files() {
        let read = read_fat_file(image, layout, &path);
        assert!(
            read.as_deref() == Some(&bytes[..]),
            "{path} differs on the image"
        );
    }
}

#[test]
fn fixture_images_hold_every_file_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    assert_eq!(spec.recordings.len(), 4);
    for layout in [Layout::Superfloppy, Layout::Partitioned] {
        let image = build_fat_image(&spec, dir.path(), layout);
        assert_image_holds(&spec, &image, layout);
        assert_eq!(
            list_fat_dirs(&image, layout),
            ["DCIM", "DCIM/20180312", "DCIM/20180313", "LOG"]
        );
        assert_eq!(read_fat_file(&image, layout, "DCIM/NOPE.MP4"), None);
        if layout == Layout::Superfloppy {
            require_tool("fsck.vfat");
            let fsck = std::process::Command::new(tool_path("fsck.vfat").unwrap())
                .arg("-n")
                .arg(&image)
                .output()
                .unwrap();
            assert!(
                fsck.status.success(),
                "{}",
                String::from_utf8_lossy(&fsck.stdout)
            );
        }
    }
}

#[test]
#[should_panic(expected = "mcopy to ::/DCIM/upper.txt failed")]
fn names_that_clash_in_case_are_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::new(SERIAL);
    spec.extra_files
        .push(("DCIM/UPPER.TXT".to_owned(), b"1".to_vec()));
    spec.extra_files
        .push(("DCIM/upper.txt".to_owned(), b"2".to_vec()));
    build_fat_image(&spec, dir.path(), Layout::Superfloppy);
}

#[test]
fn fat32_images_are_fat32() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL_2);
    let options = ImageOptions {
        fat_bits: Some(32),
        size_mib: None,
    };
    for layout in [Layout::Superfloppy, Layout::Partitioned] {
        let image = build_fat_image_with(&spec, dir.path(), layout, &options);
        let bytes = std::fs::read(&image).unwrap();
        let boot = &bytes[layout.offset() as usize..][..512];
        assert_eq!(&boot[82..90], b"FAT32   ");
        assert_eq!(&boot[71..82], b"SENTINEL   ");
        assert_image_holds(&spec, &image, layout);
    }
}

#[test]
fn names_mtools_writes_as_given_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CameraSpec::new(SERIAL);
    spec.device_ini = None;
    let names = [
        "DCIM/semi;colon+plus=eq[1],x.MP4",
        "DCIM/ leading space.NMEA",
        "DCIM/ÉTÉ été.MP4",
        "DCIM/.hidden",
        "DCIM/con.txt",
        "DCIM/dash-#$%&@!~`^{}()'",
        "DCIM/20180312/sntl-00042_20180312_143015_0001.mp4",
        "DCIM/a.b.c.MP4",
    ];
    let long = format!("DCIM/{}", "L".repeat(255));
    for name in names.iter().copied().chain([long.as_str()]) {
        spec.extra_files
            .push((name.to_owned(), name.as_bytes().to_vec()));
    }
    let image = build_fat_image(&spec, dir.path(), Layout::Superfloppy);
    assert_image_holds(&spec, &image, Layout::Superfloppy);

    spec.extra_files.clear();
    assert!(
        list_fat_image(
            &build_fat_image(&spec, dir.path(), Layout::Partitioned),
            Layout::Partitioned
        )
        .is_empty()
    );
}

#[test]
fn build_dir_lays_out_the_volume() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CameraSpec::fixture(SERIAL);
    let root = build_dir(&spec, dir.path());
    for (path, bytes) in spec.files() {
        assert_eq!(std::fs::read(root.join(&path)).unwrap(), bytes, "{path}");
    }
}

#[test]
fn fixture_sidecars_are_valid_for_their_videos() {
    let mut crlf = 0;
    for (serial, firmware) in [(SERIAL, "2.3.1"), (SERIAL_2, "2.2.0")] {
        for recording in fixture_recordings(serial) {
            let text = String::from_utf8(recording.sidecar.clone()).unwrap();
            assert!(
                text.ends_with('\n'),
                "{}: last line unterminated",
                recording.stem
            );
            crlf += usize::from(text.contains("\r\n"));
            let lines: Vec<&str> = text.lines().collect();
            for line in &lines {
                let body = &line[1..line.rfind('*').unwrap()];
                assert_eq!(*line, nmea_line(body), "{}: bad checksum", recording.stem);
            }

            let trailer: Vec<&str> = lines.last().unwrap().split(['*', ',']).collect();
            assert_eq!(trailer[..2], ["$PSNTL", "END"]);
            assert_eq!(trailer[3], recording.video.len().to_string());
            assert_eq!(
                trailer[4],
                sha256_hex(&recording.video),
                "{}",
                recording.stem
            );

            // The Rust builder writes the same header and trailer as the Python generator.
            let header: Vec<&str> = lines[0].split(',').collect();
            let start = chrono::DateTime::parse_from_rfc3339(header[6]).unwrap();
            let end = chrono::DateTime::parse_from_rfc3339(trailer[2]).unwrap();
            let seconds = u32::try_from((end - start).num_seconds()).unwrap();
            assert!(
                (3..=8).contains(&seconds),
                "{}: {seconds} s",
                recording.stem
            );
            let mut spec =
                SidecarSpec::for_video(serial, &recording.stem, &recording.video, seconds);
            spec.firmware = firmware.to_owned();
            let rendered = String::from_utf8(spec.render()).unwrap();
            let rendered: Vec<&str> = rendered.lines().collect();
            assert_eq!(rendered[0], lines[0]);
            assert_eq!(rendered.last(), lines.last());
            assert_eq!(
                rendered.len(),
                lines.len(),
                "{}: one RMC and GGA a second",
                recording.stem
            );
        }
    }
    assert_eq!(crlf, 1, "one fixture sidecar has CRLF line endings");
}

#[test]
fn sidecar_spec_renders_every_variant() {
    let video = b"not really an mp4";
    let mut spec = SidecarSpec::for_video(SERIAL, "SNTL-00042_20180312_143015_0009", video, 2);
    spec.end = None;
    spec.crlf = true;
    spec.fixes.clear();
    let text = String::from_utf8(spec.render()).unwrap();
    assert_eq!(
        text,
        "$PSNTL,HDR,1,SNTL-00042,2.3.1,SNTL-00042_20180312_143015_0009.MP4,\
         2018-03-12T14:30:15Z,10*78\r\n"
    );
    // The checksum of a well-known sentence.
    assert_eq!(
        nmea_line("GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,"),
        "$GPGGA,092750.000,5321.6802,N,00630.3372,W,1,8,1.03,61.7,M,55.2,M,,*76"
    );
}
