//! The NMEA sidecar parser on arbitrary bytes: no panic, bounded output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sentinel_dock::base::config::Profile;
use sentinel_dock::camera::evidence::sidecar;

fuzz_target!(|data: &[u8]| {
    let report = sidecar::parse(&Profile::default(), data);
    // Problems are capped (plus one "and N more"), flags are aggregated.
    assert!(report.problems.len() <= 201);
    assert!(report.flags.len() <= 32);
    for problem in &report.problems {
        let text = problem.to_string();
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(!problem.code().is_empty());
    }
});
