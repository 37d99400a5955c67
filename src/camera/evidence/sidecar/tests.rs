use super::*;
use crate::base::digest::hex;

/// One framed line: `$body*hh` and LF.
fn line(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |x, b| x ^ b);
    format!("${body}*{sum:02X}\n")
}

const SHA: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn header(start: &str, prerecord: u32) -> String {
    line(&format!(
        "PSNTL,HDR,1,SNTL-00042,2.1.0,SNTL-00042_20240315_120000_0001.MP4,{start},{prerecord}"
    ))
}

fn trailer(end: &str) -> String {
    line(&format!("PSNTL,END,{end},1234567,{SHA}"))
}

fn rmc(time: &str, date: &str, status: &str, lat: &str, lon: &str) -> String {
    line(&format!(
        "GPRMC,{time},{status},{lat},N,{lon},E,0.0,0.0,{date},,,A"
    ))
}

fn gga(time: &str, lat: &str, lon: &str, quality: u8) -> String {
    line(&format!(
        "GNGGA,{time},{lat},S,{lon},W,{quality},08,0.9,35.0,M,47.0,M,,"
    ))
}

fn good() -> String {
    [
        header("2024-03-15T12:00:00Z", 10),
        rmc("115952", "150324", "A", "4851.000", "00221.000"),
        rmc("120000.50", "150324", "A", "4852.500", "00222.000"),
        rmc("120001", "150324", "V", "", ""),
        gga("120002", "3351.000", "15112.000", 1),
        line("GPGSV,1,1,00"),
        trailer("2024-03-15T12:05:00Z"),
    ]
    .concat()
}

fn check(text: &str) -> SidecarReport {
    parse(&Profile::default(), text.as_bytes())
}

fn codes(report: &SidecarReport) -> Vec<&'static str> {
    report.problems.iter().map(SidecarProblem::code).collect()
}

#[test]
fn good_sidecar() {
    let r = check(&good());
    assert_eq!(r.problems, vec![]);
    let h = r.header.as_ref().unwrap();
    assert_eq!(h.serial, "SNTL-00042");
    assert_eq!(h.firmware, "2.1.0");
    assert_eq!(h.video_name, "SNTL-00042_20240315_120000_0001.MP4");
    assert_eq!(h.start.to_rfc3339(), "2024-03-15T12:00:00+00:00");
    assert_eq!(h.prerecord_secs, 10);
    let t = r.trailer.as_ref().unwrap();
    assert_eq!(
        (t.video_size, hex(&t.video_sha256)),
        (1_234_567, SHA.to_string())
    );
    assert_eq!(t.end.to_rfc3339(), "2024-03-15T12:05:00+00:00");
    let f = &r.fixes;
    assert_eq!(
        (
            f.count,
            f.no_fix,
            f.out_of_window,
            f.impossible,
            f.malformed
        ),
        (3, 1, 0, 0, 0)
    );
    assert_eq!(
        f.first.unwrap().time.to_rfc3339(),
        "2024-03-15T11:59:52+00:00"
    );
    assert!((f.first.unwrap().lat - 48.85).abs() < 1e-9);
    let last = f.last.unwrap();
    assert!((last.lat + 33.85).abs() < 1e-9 && (last.lon + 151.2).abs() < 1e-9);
    let bbox = f.bbox.unwrap();
    assert!((bbox.min_lat + 33.85).abs() < 1e-9 && (bbox.max_lat - 48.875).abs() < 1e-9);
    assert_eq!(
        r.flags,
        ["1 `$GPGSV` sentence(s) not used by the profile (first on line 6)"]
    );
}

#[test]
fn crlf_reads_like_lf() {
    let crlf = good().replace('\n', "\r\n");
    assert_eq!(check(&crlf), check(&good()));
    // Trailing empty lines after the trailer are harmless; inner ones are not.
    assert_eq!(check(&format!("{}\n\r\n", good())).problems, vec![]);
    let inner = good().replacen('\n', "\n\n", 1);
    assert_eq!(codes(&check(&inner)), ["sidecar-empty-line"]);
}

#[test]
fn bad_checksum_names_the_line() {
    let text = good().replace("4852.500", "4852.501");
    let r = check(&text);
    assert_eq!(codes(&r), ["sidecar-checksum"]);
    let message = r.problems[0].to_string();
    assert!(
        message.starts_with("line 3: checksum *")
            && message.contains("does not match the line's content (*"),
        "{message}"
    );
    let no_sum = good().replace('*', "+");
    let r = check(&no_sum);
    assert_eq!(r.problems.len(), 8);
    assert!(
        r.problems[..7]
            .iter()
            .all(|p| p.code() == "sidecar-no-checksum")
    );
}

#[test]
fn missing_trailer_is_an_interrupted_recording() {
    let text: String = good().lines().take(5).map(|l| format!("{l}\n")).collect();
    let r = check(&text);
    assert_eq!(codes(&r), ["sidecar-no-trailer"]);
    assert_eq!(r.fixes.count, 3);
    // A last line cut in the middle of its writing.
    let cut = format!("{text}$GPRMC,120003,A,48");
    assert_eq!(
        codes(&check(&cut)),
        ["sidecar-no-checksum", "sidecar-no-trailer"]
    );
    let nul = format!("{text}{}", "\0".repeat(4096));
    assert_eq!(
        codes(&check(&nul)),
        ["sidecar-line-too-long", "sidecar-no-trailer"]
    );
    let nul = format!("{text}{}", "\0".repeat(400));
    assert_eq!(
        codes(&check(&nul)),
        ["sidecar-not-ascii", "sidecar-no-trailer"]
    );
}

#[test]
fn header_problems() {
    let original = header("2024-03-15T12:00:00Z", 10);
    let v2 = good().replacen(&original, &line("PSNTL,HDR,2,X,Y"), 1);
    let r = check(&v2);
    assert_eq!(codes(&r), ["sidecar-header-version"]);
    assert!(r.header.is_none());
    assert_eq!(
        r.fixes.undated, 1,
        "the GGA fix cannot be dated without a header"
    );
    let long = good().replacen(&original, &header("2024-03-15T12:00:00Z", 61), 1);
    let r = check(&long);
    assert_eq!(codes(&r), ["sidecar-prerecord"]);
    assert!(r.header.is_some());
    let bad_start = good().replacen(&original, &header("2024-03-15 12:00:00", 10), 1);
    assert_eq!(codes(&check(&bad_start)), ["sidecar-bad-header"]);
    let headless: String = good().lines().skip(1).map(|l| format!("{l}\n")).collect();
    let r = check(&headless);
    assert_eq!(codes(&r), ["sidecar-no-header"]);
    let message = r.problems[0].to_string();
    assert!(
        message.contains("`$PSNTL,HDR` header but `$GPRMC"),
        "{message}"
    );
    let twice = format!("{original}{}", good());
    assert_eq!(codes(&check(&twice)), ["sidecar-header-not-first"]);
}

#[test]
fn trailer_problems() {
    let fix = rmc("120500", "150324", "A", "4851.000", "00221.000");
    let r = check(&format!("{}{fix}", good()));
    assert_eq!(codes(&r), ["sidecar-after-trailer"]);
    let message = r.problems[0].to_string();
    assert_eq!(message, "line 8: 1 line(s) follow the trailer of line 7");
    let original = trailer("2024-03-15T12:05:00Z");
    let upper = format!(
        "PSNTL,END,2024-03-15T12:05:00Z,1234567,{}",
        SHA.to_uppercase()
    );
    let r = check(&good().replace(&original, &line(&upper)));
    assert_eq!(codes(&r), ["sidecar-bad-trailer", "sidecar-no-trailer"]);
    let early = good().replace(&original, &trailer("2024-03-15T11:00:00Z"));
    let r = check(&early);
    assert_eq!(codes(&r), ["sidecar-end-before-start"]);
    assert_eq!(r.fixes.out_of_window, 3);
}

#[test]
fn gga_crosses_midnight() {
    let text = [
        header("2024-03-15T23:59:50Z", 10),
        gga("235955", "3351.000", "15112.000", 1),
        gga("000005", "3351.000", "15112.000", 1),
        trailer("2024-03-16T00:01:00Z"),
    ]
    .concat();
    let r = check(&text);
    assert_eq!((r.problems.clone(), r.fixes.out_of_window), (vec![], 0));
    let last = r.fixes.last.unwrap().time;
    assert_eq!(last.to_rfc3339(), "2024-03-16T00:00:05+00:00");
    // A pre-recording that began before midnight: the GGA belongs to the day before.
    let text = [
        header("2024-03-16T00:00:05Z", 10),
        gga("235958", "3351.000", "15112.000", 1),
        trailer("2024-03-16T00:01:00Z"),
    ]
    .concat();
    let r = check(&text);
    let first = r.fixes.first.unwrap().time;
    assert_eq!(first.to_rfc3339(), "2024-03-15T23:59:58+00:00");
    assert_eq!(r.fixes.out_of_window, 0);
}

#[test]
fn odd_fixes_are_flagged_not_problems() {
    let text = [
        header("2024-03-15T12:00:00Z", 10),
        rmc("110000", "150324", "A", "4851.000", "00221.000"),
        rmc("120000", "150324", "A", "9500.000", "00221.000"),
        rmc("120001", "150324", "A", "4851.000", "18100.000"),
        rmc("120002", "150324", "A", "4875.000", "00221.000"),
        rmc("120003", "150324", "A", "", ""),
        gga("120005", "3351.000", "15112.000", 0),
        trailer("2024-03-15T12:05:00Z"),
    ]
    .concat();
    let r = check(&text);
    assert_eq!(r.problems, vec![]);
    let f = &r.fixes;
    let counts = (
        f.count,
        f.out_of_window,
        f.impossible,
        f.malformed,
        f.no_fix,
    );
    assert_eq!(counts, (1, 1, 3, 1, 1));
    assert_eq!(r.flags.len(), 3, "{:?}", r.flags);
    assert!(r.flags[0].contains("outside the recording's time window (first on line 2)"));
    assert!(r.flags[1].contains("3 position fix(es) with impossible coordinates"));
}

/// A Garmin receiver in demo mode, the way gpsd's logs of one read: every second an RMC
/// marked void and simulated (status `V`, mode `S`), a GGA of quality 8 (simulation),
/// positions in Madrid, and the Garmin sentences around them.
fn garmin_demo(seconds: u32) -> String {
    let mut text = header("2024-03-15T12:00:00Z", 10);
    for s in 0..seconds {
        let hms = format!("1200{s:02}");
        let lat = format!("4024.{:03}", 600 + s);
        text += &line(&format!(
            "GPRMC,{hms},V,{lat},N,00341.300,W,000.0,000.0,150324,001.1,W,S"
        ));
        text += &line(&format!(
            "GPGGA,{hms},{lat},N,00341.300,W,8,06,1.2,667.0,M,51.6,M,,"
        ));
        text += &line("PGRMZ,2188,f,3");
    }
    text + &trailer("2024-03-15T12:05:00Z")
}

#[test]
fn a_receiver_in_demo_mode_records_no_fix_and_says_its_fixes_were_simulated() {
    let r = check(&garmin_demo(9));
    assert_eq!(r.problems, vec![]);
    let f = &r.fixes;
    assert_eq!((f.count, f.no_fix, f.not_real), (0, 0, 18));
    assert_eq!((f.first, f.bbox, f.satellite), (None, None, None));
    let flag = r
        .flags
        .iter()
        .find(|f| f.contains("set aside"))
        .unwrap_or_else(|| panic!("{:?}", r.flags));
    assert!(
        flag.starts_with("18 position fix(es) set aside as not real satellite fixes, simulated or estimated (18 simulated; first on line 2)"),
        "{flag}"
    );
}

#[test]
fn only_real_fixes_count_by_rmc_mode_and_gga_quality() {
    let rmc_mode = |time: &str, mode: &str| {
        line(&format!(
            "GPRMC,{time},A,4851.000,N,00221.000,E,0.0,0.0,150324,,,{mode}"
        ))
    };
    let text = [
        header("2024-03-15T12:00:00Z", 10),
        rmc_mode("120000", "A"),
        rmc_mode("120001", "D"),
        // NMEA 2.2 and earlier: no mode indicator, status A is a fix.
        line("GPRMC,120002,A,4851.000,N,00221.000,E,0.0,0.0,150324,,"),
        // NMEA 4.1: a navigational status after the mode.
        line("GNRMC,120003,A,4851.000,N,00221.000,E,0.0,0.0,150324,,,A,V"),
        rmc_mode("120004", "E"),
        rmc_mode("120005", "M"),
        rmc_mode("120006", "N"),
        rmc_mode("120007", "S"),
        gga("120008", "3351.000", "15112.000", 2),
        gga("120009", "3351.000", "15112.000", 6),
        gga("120010", "3351.000", "15112.000", 7),
        gga("120011", "3351.000", "15112.000", 8),
        gga("120012", "3351.000", "15112.000", 9),
        trailer("2024-03-15T12:05:00Z"),
    ]
    .concat();
    let r = check(&text);
    assert_eq!(r.problems, vec![]);
    let f = &r.fixes;
    assert_eq!((f.count, f.no_fix, f.not_real, f.malformed), (6, 0, 7, 0));
    // The satellites' clock is read from the real RMC fixes only.
    let (first, last) = f.satellite.unwrap();
    assert_eq!(
        (first.to_rfc3339(), last.to_rfc3339()),
        (
            "2024-03-15T12:00:00+00:00".to_string(),
            "2024-03-15T12:00:03+00:00".to_string()
        )
    );
    let flag = r.flags.iter().find(|f| f.contains("set aside")).unwrap();
    assert!(
        flag.contains("(2 simulated, 1 estimated, 2 manual, 2 marked not valid; first on line 6)"),
        "{flag}"
    );
}

#[test]
fn a_real_fix_log_records_every_fix() {
    let mut text = header("2024-03-15T12:00:00Z", 10);
    for s in 0..9 {
        let hms = format!("1200{s:02}");
        text += &rmc(&hms, "150324", "A", "4024.600", "00341.300");
        text += &gga(&hms, "4024.600", "00341.300", 1);
    }
    let r = check(&(text + &trailer("2024-03-15T12:05:00Z")));
    assert_eq!((r.fixes.count, r.fixes.not_real), (18, 0));
    assert!(r.flags.is_empty(), "{:?}", r.flags);
}

#[test]
fn garbage_is_bounded() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut garbage: Vec<u8> = (0..1 << 20)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[0]
        })
        .collect();
    garbage.extend(std::iter::repeat_n(b'$', 1 << 20));
    garbage.extend(std::iter::repeat_n(b'\n', 1 << 20));
    garbage.extend(b"x");
    let started = std::time::Instant::now();
    let r = parse(&Profile::default(), &garbage);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(r.problems.len(), MAX_PROBLEMS + 1);
    assert!(matches!(
        r.problems.last(),
        Some(SidecarProblem::More { .. })
    ));
    let many: String = (0..100).map(|i| line(&format!("X{i},1"))).collect();
    let start = header("2024-03-15T12:00:00Z", 1);
    let r = check(&format!("{start}{many}{}", trailer("2024-03-15T12:00:01Z")));
    assert_eq!(r.flags.len(), MAX_UNKNOWN_IDS);
    let other = &r.flags[MAX_UNKNOWN_IDS - 1];
    assert!(other.starts_with("85 `$(other sentences)`"), "{other}");
}

#[test]
fn empty_and_oversized_sidecars() {
    assert_eq!(codes(&check("")), ["sidecar-empty", "sidecar-no-trailer"]);
    assert_eq!(
        codes(&check("\n\r\n")),
        ["sidecar-empty", "sidecar-no-trailer"]
    );
    let profile = Profile {
        max_sidecar_bytes: crate::base::config::ByteSize(10),
        ..Profile::default()
    };
    assert_eq!(
        codes(&parse(&profile, good().as_bytes())),
        ["sidecar-too-large"]
    );
    let long = format!("{}{}", line(&"A".repeat(2000)), good());
    let expected = ["sidecar-line-too-long", "sidecar-header-not-first"];
    assert_eq!(codes(&check(&long)), expected);
}

mod stream {
    use crate::camera::evidence::sidecar::*;

    fn streamed(profile: &Profile, bytes: &[u8], chunk: usize) -> SidecarReport {
        let mut tail = TailScan::default();
        bytes.chunks(chunk).for_each(|c| tail.feed(c));
        let mut parse = StreamParse::new(profile, bytes.len() as u64, tail);
        bytes.chunks(chunk).for_each(|c| parse.feed(c));
        parse.finish()
    }

    #[test]
    fn a_streamed_sidecar_reads_as_the_whole_one_whatever_the_chunks() {
        let profile = Profile::default();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut samples: Vec<Vec<u8>> = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("nmea"))
                {
                    samples.push(std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        assert!(!samples.is_empty(), "no fixture sidecars found");
        let first = samples[0].clone();
        let crlf: Vec<u8> = String::from_utf8_lossy(&first)
            .replace('\n', "\r\n")
            .into_bytes();
        let mut trailing = first.clone();
        trailing.extend_from_slice(b"\n\n\n");
        let mut long = first.clone();
        long.extend(std::iter::repeat_n(b'$', 200_000));
        let mut no_final_newline = first.clone();
        no_final_newline.pop();
        samples.extend([
            crlf,
            trailing,
            long,
            no_final_newline,
            Vec::new(),
            b"\n\n".to_vec(),
        ]);
        for (i, bytes) in samples.iter().enumerate() {
            let whole = parse(&profile, bytes);
            for chunk in [1, 7, 4096, 1 << 20] {
                let mut s = streamed(&profile, bytes, chunk);
                let mut w = whole.clone();
                // A line past the stream's cap is reported at its kept length.
                for p in s.problems.iter_mut().chain(w.problems.iter_mut()) {
                    if let SidecarProblem::LineTooLong { len, .. } = p {
                        *len = (*len).min(STREAM_LINE_CAP + 1);
                    }
                }
                assert_eq!(s, w, "sample {i}, chunks of {chunk}");
            }
        }
    }
}
