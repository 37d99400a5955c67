//! The log parser on the profile's own examples and on hostile lines.

use super::*;

/// A line with its checksum appended, as the camera writes it.
fn line(body: &str) -> String {
    format!("{body}*{:02X}", checksum(body.as_bytes()))
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("test time")
}

/// The examples of `camera-profile.md` version 2, checksums as printed there.
#[test]
fn the_profiles_examples_parse_with_their_printed_checksums() {
    let text = "2026-12-07T21:14:03Z;PLAY;SNTL-00042_20261207_205800_0031.MP4;00:00:00;00:01:12*46\r\n\
                2026-12-07T21:15:40Z;PLAY;SNTL-00042_20261207_205800_0031.MP4;00:02:10;00:02:30*40\n\
                2026-12-07T20:57:50Z;REC_START;SNTL-00042_20261207_205800_0031.MP4*0B\n\
                2026-12-07T21:06:02Z;REC_STOP;SNTL-00042_20261207_205800_0031.MP4;148897792*5D\n";
    let parsed = parse(text.as_bytes());
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    assert_eq!(parsed.lines.len(), 4);
    let first = &parsed.lines[0];
    assert_eq!(first.at, at("2026-12-07T21:14:03Z"));
    assert_eq!(
        first.event,
        CameraEvent::Play {
            video: "SNTL-00042_20261207_205800_0031.MP4".into(),
            from_secs: 0,
            to_secs: 72,
        }
    );
    assert!(
        !first.text.ends_with('\r'),
        "the CR is not part of the line"
    );
    assert_eq!(
        parsed.lines[3].event,
        CameraEvent::RecStop {
            video: "SNTL-00042_20261207_205800_0031.MP4".into(),
            bytes: 148_897_792
        }
    );
    assert_eq!(parsed.lines[1].number, 2);
}

/// A bad checksum, a missing one, a bad time, a wrong field count, a stray byte: each is
/// rejected with its own problem and line number, and the good lines around it stay.
#[test]
fn a_line_that_fails_a_check_is_rejected_and_the_others_kept() {
    let good = line("2026-12-07T21:14:03Z;PLAY;A.MP4;00:00:00;00:01:12");
    let bad_sum = "2026-12-07T21:14:03Z;PLAY;B.MP4;00:00:00;00:01:12*00";
    let no_sum = "2026-12-07T21:14:03Z;PLAY;C.MP4;00:00:00;00:01:12";
    let bad_time = line("2026-12-7T21:14:03Z;PLAY;D.MP4;00:00:00;00:01:12");
    let fields = line("2026-12-07T21:14:03Z;PLAY;E.MP4;00:00:00");
    let position = line("2026-12-07T21:14:03Z;PLAY;F.MP4;00:00:00;00:61:00");
    let event = line("2026-12-07T21:14:03Z;play;G.MP4;00:00:00;00:01:00");
    let text = format!(
        "{good}\n{bad_sum}\n{no_sum}\n{bad_time}\n{fields}\n{position}\n{event}\nX\u{7}Y*00\n{good}\n"
    );
    let parsed = parse(text.as_bytes());
    assert_eq!(parsed.lines.len(), 2);
    let codes: Vec<(u32, &str)> = parsed
        .rejected
        .iter()
        .map(|r| (r.number, r.problem.code()))
        .collect();
    assert_eq!(
        codes,
        [
            (2, "log-line-checksum"),
            (3, "log-line-no-checksum"),
            (4, "log-line-form"),
            (5, "log-line-form"),
            (6, "log-line-form"),
            (7, "log-line-form"),
            (8, "log-line-not-ascii"),
        ]
    );
    assert_eq!(
        parsed.rejected[0].problem.to_string(),
        "its checksum is 00, the line's bytes give 4A"
    );
    assert_eq!(parsed.rejected[6].shown, "X\\x07Y*00");
}

/// Identical lines are told apart by their occurrence; the same file read again with lines
/// appended gives the same identities to the lines it already had.
#[test]
fn identical_lines_are_numbered_and_identities_survive_an_append() {
    let a = line("2026-12-07T21:14:03Z;PLAY;A.MP4;00:00:00;00:01:12");
    let b = line("2026-12-07T21:20:00Z;PLAY;A.MP4;00:00:00;00:01:12");
    let first = parse(format!("{a}\n{b}\n{a}\n").as_bytes());
    let ids: Vec<(String, u32)> = first
        .lines
        .iter()
        .map(|l| (l.id.sha256.clone(), l.id.occurrence))
        .collect();
    assert_eq!(ids[0].0, ids[2].0);
    assert_eq!((ids[0].1, ids[1].1, ids[2].1), (1, 1, 2));
    let again = parse(format!("{a}\n{b}\n{a}\n{a}\n").as_bytes());
    let again_ids: Vec<LineId> = again.lines.iter().map(|l| l.id.clone()).collect();
    for l in &first.lines {
        assert!(again_ids.contains(&l.id));
    }
    assert_eq!(again.lines[3].id.occurrence, 3, "the appended copy is new");
}

/// Events of `EVENTS.LOG`: each named event's fields are checked; an unknown event is kept
/// as it is; a line longer than a camera writes is refused before anything else.
#[test]
fn events_are_typed_and_bounded() {
    let text = [
        line("2026-12-07T20:00:00Z;POWER_ON"),
        line("2026-12-07T20:00:05Z;CLOCK_SET;2026-12-07T20:10:00Z"),
        line("2026-12-07T20:01:00Z;STORAGE_ERROR;write failed;sector 1234"),
        line("2026-12-07T20:02:00Z;BATTERY;87"),
        line("2026-12-07T20:03:00Z;BATTERY;187"),
        line("2026-12-07T20:04:00Z;WIFI_OFF;x"),
        line(&format!(
            "2026-12-07T20:05:00Z;STORAGE_ERROR;{}",
            "x".repeat(600)
        )),
    ]
    .join("\n");
    let parsed = parse(text.as_bytes());
    let names: Vec<&str> = parsed.lines.iter().map(|l| l.event.name()).collect();
    assert_eq!(
        names,
        [
            "POWER_ON",
            "CLOCK_SET",
            "STORAGE_ERROR",
            "BATTERY",
            "WIFI_OFF"
        ]
    );
    assert_eq!(
        parsed.lines[1].event,
        CameraEvent::ClockSet {
            to: at("2026-12-07T20:10:00Z")
        }
    );
    assert_eq!(
        parsed.lines[2].event,
        CameraEvent::StorageError {
            detail: "write failed;sector 1234".into()
        }
    );
    let codes: Vec<&str> = parsed.rejected.iter().map(|r| r.problem.code()).collect();
    assert_eq!(codes, ["log-line-form", "log-line-too-long"]);
    assert!(parsed.rejected[1].shown.ends_with("more bytes)"));
}

/// Times are taken in their one exact form only.
#[test]
fn camera_times_have_one_form() {
    assert_eq!(
        camera_time("2026-12-07T21:14:03Z"),
        Some(at("2026-12-07T21:14:03Z"))
    );
    for bad in [
        "2026-12-07T21:14:03",
        "2026-12-07 21:14:03Z",
        "2026-02-30T21:14:03Z",
        "2026-12-07T24:00:00Z",
        "+026-12-07T21:14:03Z",
        "2026-12-07T21:14:3Z",
    ] {
        assert_eq!(camera_time(bad), None, "{bad}");
    }
    assert_eq!(hms(72), "00:01:12");
}
