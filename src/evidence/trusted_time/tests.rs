use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn rules(docked: &str) -> Rules {
    Rules {
        docked_at: at(docked),
        tolerance: Duration::minutes(2),
        retention: Duration::days(30),
        verified_until: None,
    }
}

/// A 60 s recording with 10 s of pre-recording, fixes from `fix_shift` after its start.
fn seen(start: &str, fix_shift: i64) -> Observed {
    let start = at(start);
    let first = start + Duration::seconds(fix_shift);
    Observed {
        start,
        prerecord_secs: 10,
        end: Some(start + Duration::seconds(60)),
        satellite: Some((first, first + Duration::seconds(59))),
    }
}

#[test]
fn a_sound_camera_is_trusted_whatever_the_gaps_in_its_fixes() {
    let r = rules("2026-12-04T18:00:00Z");
    let mut s = seen("2026-12-04T08:00:00Z", 0);
    let t = check(&s, &r);
    assert_eq!(t.source, TimeSource::Camera);
    assert_eq!(t.retention_from, at("2026-12-04T08:01:00Z"));
    assert_eq!(t.gps_offset, Some(Duration::zero()));
    assert!(t.camera_trusted());
    // The receiver found the satellites 40 s in and lost them 5 s before the end.
    s.satellite = Some((
        s.start + Duration::seconds(40),
        s.start + Duration::seconds(55),
    ));
    assert_eq!(check(&s, &r).gps_offset, Some(Duration::zero()));
}

#[test]
fn a_clock_three_hours_ahead_of_gps_drifts_and_counts_from_gps_time() {
    let r = rules("2026-12-04T18:00:00Z");
    // The camera says 11:00, the satellites 08:00.
    let s = seen("2026-12-04T11:00:00Z", -3 * 3600);
    let t = check(&s, &r);
    assert_eq!(t.flags, [ClockFlag::Drift(Duration::hours(3))]);
    assert_eq!(t.source, TimeSource::Gps);
    assert_eq!(t.gps_offset, Some(Duration::hours(3)));
    // The latest end the fixes allow: the first fix plus the 70 s window.
    assert_eq!(t.retention_from, at("2026-12-04T08:01:10Z"));
    assert_eq!(t.recorded_at, at("2026-12-04T08:00:10Z"));
    assert!(t.flags[0].to_string().contains("offset +10800 s"));
}

#[test]
fn a_reset_clock_with_fixes_counts_from_gps_and_without_from_the_docking() {
    let r = rules("2026-12-04T18:00:00Z");
    let mut s = seen("2000-01-01T00:00:00Z", 0);
    s.satellite = Some((at("2026-12-04T07:00:00Z"), at("2026-12-04T07:00:59Z")));
    let t = check(&s, &r);
    assert_eq!(t.source, TimeSource::Gps);
    assert_eq!(t.retention_from, at("2026-12-04T07:01:10Z"));
    assert_eq!(t.flags.len(), 1);
    assert_eq!(t.flags[0].code(), "clock-drift");

    s.satellite = None;
    let t = check(&s, &r);
    assert_eq!(t.source, TimeSource::Docking);
    assert_eq!(t.retention_from, r.docked_at);
    assert_eq!(t.flags[0].code(), "clock-behind");
}

#[test]
fn a_future_date_is_ahead_and_counts_from_the_docking_with_or_without_fixes() {
    let r = rules("2026-12-04T18:00:00Z");
    let mut s = seen("2031-06-01T08:00:00Z", 0);
    s.satellite = None;
    let t = check(&s, &r);
    assert_eq!(t.flags[0].code(), "clock-ahead");
    assert_eq!(
        (t.source, t.retention_from),
        (TimeSource::Docking, r.docked_at)
    );
    // Fixes dated after the docking too: the receiver is not believed either.
    let t = check(&seen("2031-06-01T08:00:00Z", 0), &r);
    assert_eq!(
        (t.source, t.retention_from),
        (TimeSource::Docking, r.docked_at)
    );
    assert_eq!(t.flags[0].code(), "clock-ahead");
}

#[test]
fn an_old_recording_without_fixes_is_trusted_inside_the_retention_only() {
    let r = rules("2026-12-04T18:00:00Z");
    let mut s = seen("2026-11-20T08:00:00Z", 0);
    s.satellite = None;
    assert_eq!(check(&s, &r).source, TimeSource::Camera);
    s.start = at("2026-10-20T08:00:00Z");
    s.end = Some(s.start + Duration::seconds(60));
    assert_eq!(check(&s, &r).flags[0].code(), "clock-behind");
    // Unless an earlier recording of this docking found the camera's clock right.
    let verified = Rules {
        verified_until: Some(at("2026-10-19T20:00:00Z")),
        ..r
    };
    assert_eq!(check(&s, &verified).source, TimeSource::Camera);
    s.start = at("2000-01-01T00:00:00Z");
    s.end = Some(s.start + Duration::seconds(60));
    assert_eq!(check(&s, &verified).flags[0].code(), "clock-behind");
}

#[test]
fn the_camera_clock_is_the_median_gps_offset_or_the_latest_against_the_docking() {
    let r = rules("2026-12-04T18:00:00Z");
    let drifting: Vec<_> = ["2026-12-04T11:00:00Z", "2026-12-04T12:00:00Z"]
        .iter()
        .map(|s| check(&seen(s, -3 * 3600), &r))
        .collect();
    let c = camera_clock("SNTL-00042", &drifting, &r).unwrap();
    assert_eq!(
        (c.offset_secs, c.basis, c.wrong, c.flagged),
        (10800, OffsetBasis::Gps, true, 2)
    );
    assert!(
        c.warning().unwrap().contains("3 h 0 min ahead"),
        "{:?}",
        c.warning()
    );

    let reset: Vec<_> = ["2000-01-01T00:00:00Z", "2000-01-01T01:00:00Z"]
        .iter()
        .map(|s| Observed {
            satellite: None,
            ..seen(s, 0)
        })
        .map(|s| check(&s, &r))
        .collect();
    let c = camera_clock("SNTL-00042", &reset, &r).unwrap();
    assert_eq!(c.basis, OffsetBasis::Docking);
    assert_eq!(
        c.offset_secs,
        (at("2000-01-01T01:01:00Z") - r.docked_at).num_seconds()
    );
    assert!(
        c.warning().unwrap().contains("26 year(s)"),
        "{:?}",
        c.warning()
    );

    let sound = [check(&seen("2026-12-04T08:00:00Z", 0), &r)];
    let c = camera_clock("SNTL-00042", &sound, &r).unwrap();
    assert_eq!((c.offset_secs, c.wrong), (0, false));
    assert_eq!(c.warning(), None);
}

#[test]
fn a_recording_ending_seconds_after_its_docking_keeps_its_camera_clock() {
    // The dock's and the camera's clocks a few seconds apart, the camera docked at once.
    let r = rules("2026-12-04T08:00:57Z");
    let t = check(&seen("2026-12-04T08:00:00Z", 0), &r);
    assert_eq!(
        (t.source, t.retention_from),
        (TimeSource::Camera, r.docked_at)
    );
    assert_eq!(t.recorded_at, at("2026-12-04T08:00:00Z"));
    assert!(t.camera_trusted());
}
