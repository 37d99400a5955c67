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
        lower_bound: None,
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

fn bound(at_: &str, source: BoundSource) -> Option<LowerBound> {
    Some(LowerBound {
        at: at(at_),
        source,
    })
}

/// One RMC fix a second from `gps` for the 60 s of a recording the camera dates `camera`.
fn seen_with_gps(camera: &str, gps: DateTime<Utc>) -> Observed {
    Observed {
        satellite: Some((gps, gps + Duration::seconds(59))),
        ..seen(camera, 0)
    }
}

#[test]
fn a_clock_and_gps_that_agree_on_2000_are_implausible_after_a_docking_and_count_from_this_one() {
    let r = Rules {
        lower_bound: bound("2026-12-03T18:00:00Z", BoundSource::PreviousDocking),
        ..rules("2026-12-04T18:00:00Z")
    };
    // A camera stamping its NMEA with its own reset clock: both say 2000-01-01.
    let s = seen("2000-01-01T00:00:00Z", 0);
    let t = check(&s, &r);
    assert_eq!(
        (t.source, t.retention_from, t.recorded_at),
        (TimeSource::Docking, r.docked_at, r.docked_at)
    );
    assert_eq!(t.gps_offset, None, "an implausible GPS measures nothing");
    let codes: Vec<_> = t.flags.iter().map(|f| f.code()).collect();
    assert_eq!(codes, ["gps-implausible", "clock-implausible"]);
    let text = t.flags[1].to_string();
    assert!(
        text.starts_with("clock-implausible: the camera's clock dates this recording 2000-01-01T00:00:00Z, before the camera's previous docking at 2026-12-03T18:00:00Z, and its GPS fixes 2000-01-01T00:00:00Z, before the camera's previous docking at 2026-12-03T18:00:00Z")
            && text.ends_with("retention counted from the docking"),
        "{text}"
    );
    assert!(!t.camera_trusted());

    // Without a bound (a camera never docked, enrolled or issued) the two clocks agreeing
    // is all there is: the collection brake is what keeps it (commands::purge).
    let t = check(&s, &rules("2026-12-04T18:00:00Z"));
    assert_eq!((t.source, t.flags.len()), (TimeSource::Camera, 0));
}

#[test]
fn the_bound_checks_only_what_it_can_contradict() {
    let r = Rules {
        lower_bound: bound("2026-12-04T06:00:00Z", BoundSource::Issue),
        ..rules("2026-12-04T18:00:00Z")
    };
    // Made during the issue: trusted as before.
    let t = check(&seen("2026-12-04T08:00:00Z", 0), &r);
    assert_eq!((t.source, t.flags.len()), (TimeSource::Camera, 0));
    // A minute before the issue's start, inside the 2 min tolerance: trusted.
    let t = check(&seen("2026-12-04T05:59:00Z", 0), &r);
    assert_eq!(t.source, TimeSource::Camera);
    // The clock before the issue, GPS during it: the clock drifts, GPS time counts.
    let t = check(
        &seen_with_gps("2026-11-01T08:00:00Z", at("2026-12-04T08:00:00Z")),
        &r,
    );
    assert_eq!(t.source, TimeSource::Gps);
    assert_eq!(t.flags[0].code(), "clock-drift");
    // No fix, and the clock before the issue (inside the retention): implausible.
    let blind = Observed {
        satellite: None,
        ..seen("2026-12-01T08:00:00Z", 0)
    };
    let t = check(&blind, &r);
    assert_eq!(
        (t.source, t.retention_from),
        (TimeSource::Docking, r.docked_at)
    );
    let text = t.flags[0].to_string();
    assert!(
        text.contains("before the start of the camera's current issue to an agent at 2026-12-04T06:00:00Z, and it has no real GPS fix"),
        "{text}"
    );
    // The GPS before the issue but the clock plausible: the GPS is not used.
    let t = check(
        &seen_with_gps("2026-12-04T08:00:00Z", at("2026-11-20T08:00:00Z")),
        &r,
    );
    assert_eq!((t.source, t.gps_offset), (TimeSource::Camera, None));
    assert_eq!(t.flags[0].code(), "gps-implausible");
    assert!(
        t.camera_trusted(),
        "the camera's clock is still the one used"
    );
}

#[test]
fn a_gps_date_1024_weeks_early_is_named_a_rollover_with_its_likely_date() {
    let cycle = Duration::weeks(1024);
    let truth = at("2026-12-04T08:00:00Z");
    let r = Rules {
        lower_bound: bound("2026-06-01T09:00:00Z", BoundSource::Enrolment),
        ..rules("2026-12-04T18:00:00Z")
    };
    // A camera setting its clock from the receiver: both 19.6 years early.
    let early = (truth - cycle).to_rfc3339();
    let t = check(&seen(&early, 0), &r);
    assert_eq!(
        (t.source, t.retention_from),
        (TimeSource::Docking, r.docked_at)
    );
    let codes: Vec<_> = t.flags.iter().map(|f| f.code()).collect();
    assert_eq!(codes, ["gps-rollover", "clock-implausible"]);
    let text = t.flags[0].to_string();
    assert!(
        text.contains(
            "2007-04-20T08:00:00Z, exactly 1024 weeks (19.6 years) before a plausible time"
        ) && text.contains("rollover")
            && text.contains("the likely true date is 2026-12-04T08:00:00Z"),
        "{text}"
    );

    // A right camera clock, the receiver a cycle behind: the camera is trusted, even with
    // no bound at all (the camera is the plausible time it is compared with).
    for r in [r, rules("2026-12-04T18:00:00Z")] {
        let t = check(&seen_with_gps("2026-12-04T08:00:00Z", truth - cycle), &r);
        assert_eq!((t.source, t.gps_offset), (TimeSource::Camera, None));
        assert_eq!(t.retention_from, at("2026-12-04T08:01:00Z"));
        assert_eq!(t.flags.len(), 1);
        assert!(matches!(
            t.flags[0],
            ClockFlag::GpsRollover(Rollover { cycles: 1, .. })
        ));
        assert!(t.camera_trusted());
    }

    // Two cycles (a receiver built before 1999): named too.
    let t = check(
        &seen_with_gps("2026-12-04T08:00:00Z", truth - cycle * 2),
        &r,
    );
    let text = t.flags[0].to_string();
    assert!(text.contains("2048 weeks, 2 × 1024 weeks"), "{text}");
    // Early, but not by whole cycles: not a rollover, only implausible.
    let t = check(
        &seen_with_gps("2026-12-04T08:00:00Z", truth - cycle + Duration::days(3)),
        &r,
    );
    assert_eq!(t.flags[0].code(), "gps-implausible");
}

#[test]
fn a_recording_after_its_docking_is_implausible_whatever_the_bound() {
    let r = rules("2026-12-04T18:00:00Z");
    let t = check(&seen("2031-06-01T08:00:00Z", 0), &r);
    let text = t.flags.last().unwrap().to_string();
    assert!(
        text.starts_with("clock-implausible:")
            && text.contains("more than the tolerance after its docking at 2026-12-04T18:00:00Z"),
        "{text}"
    );
}
